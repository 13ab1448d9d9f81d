//! Circuit breakers in the request path: a failing subgraph's breaker opens,
//! its fields then fail at once with SUBGRAPH_UNAVAILABLE while every other
//! subgraph still answers, and `/health/ready` names the open breaker.

mod common;

use common::Stack;
use router::breaker::State;
use serde_json::{json, Value};

async fn breaker_stack() -> Stack {
    Stack::start_with(|c| {
        c.router.breaker.all.min_calls = 3;
        c.router.breaker.all.failure_ratio = 0.5;
        c.router.breaker.all.cooldown_secs = 60;
    })
    .await
}

#[tokio::test]
async fn a_failing_subgraph_opens_its_breaker_and_the_rest_still_answers() {
    let stack = breaker_stack().await;
    let breakers = stack
        .engine
        .breakers()
        .expect("the router has breakers")
        .clone();
    assert_eq!(breakers.state("inventory"), State::Closed);

    stack.inventory.stop();
    for _ in 0..3 {
        let r = stack.query("{ movies { title inStock } }").await;
        assert_eq!(r["data"]["movies"][0]["title"], "Alien");
        assert_eq!(r["errors"][0]["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
    }
    assert_eq!(breakers.state("inventory"), State::Open);
    assert_eq!(breakers.state("catalog"), State::Closed);

    // Open: the answer is immediate and shaped exactly as for a down subgraph.
    let r = stack.query("{ movies { title inStock } }").await;
    assert_eq!(
        r["data"],
        json!({"movies": [
            {"title": "Alien", "inStock": null},
            {"title": "Heat", "inStock": null},
            {"title": "Arrival", "inStock": null}
        ]})
    );
    assert_eq!(r["errors"][0]["extensions"]["serviceName"], "inventory");

    let ready = stack
        .client()
        .get(stack.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let report: Value = ready.json().await.unwrap();
    let text = report.to_string();
    assert!(text.contains("circuit breaker is open"), "{text}");

    let metrics = stack
        .client()
        .get(stack.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("marquee_breaker_rejected_total{subgraph=\"inventory\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_disabled_breaker_keeps_calling() {
    let stack = Stack::start_with(|c| {
        c.router.breaker.all.min_calls = 1;
        c.router.breaker.subgraphs.insert(
            "inventory".into(),
            kit::config::BreakerOverride {
                enabled: Some(false),
                ..Default::default()
            },
        );
    })
    .await;
    stack.inventory.stop();
    for _ in 0..5 {
        stack.query("{ movies { inStock } }").await;
    }
    let breakers = stack.engine.breakers().unwrap();
    assert_eq!(breakers.state("inventory"), State::Closed);
}

#[tokio::test]
async fn an_open_breaker_half_opens_after_the_cooldown_and_closes_once_the_subgraph_is_back() {
    let stack = Stack::start_with(|c| {
        c.router.breaker.all.min_calls = 3;
        c.router.breaker.all.failure_ratio = 0.5;
        c.router.breaker.all.cooldown_secs = 1;
        c.router.breaker.all.probes = 2;
    })
    .await;
    let breakers = stack.engine.breakers().expect("breakers").clone();
    stack.inventory.stop();
    for _ in 0..3 {
        let r = stack.query("{ movies { title inStock } }").await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
    }
    assert_eq!(breakers.state("inventory"), State::Open);
    let ready = |stack: &Stack| {
        let request = stack.client().get(stack.url("/health/ready")).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&stack).await, 503, "readiness shows the open breaker");

    stack.inventory.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(breakers.state("inventory"), State::HalfOpen);
    for _ in 0..2 {
        let r = stack.query("{ movies { title inStock } }").await;
        assert!(
            r.get("errors").is_none(),
            "a probe reaches the subgraph: {r}"
        );
        assert_eq!(r["data"]["movies"][0]["inStock"], true, "{r}");
    }
    assert_eq!(
        breakers.state("inventory"),
        State::Closed,
        "the probes closed it"
    );
    assert_eq!(ready(&stack).await, 200, "ready again");
}
