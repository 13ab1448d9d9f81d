//! Hot reload: a changed supergraph is swapped in without a restart; one that
//! fails to load is refused and the previous one keeps serving.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Stack;
use serde_json::{json, Value};

async fn post(client: &reqwest::Client, url: &str, query: &str) -> Value {
    client
        .post(url)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `check` (every 100 ms, at most 30 s) until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn a_new_supergraph_is_swapped_in_and_a_broken_one_refused() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("supergraph.graphql");
    std::fs::write(&path, stack.engine.supergraph().sdl()).unwrap();

    let mut config = kit::Config::default();
    config.router.reload_interval_secs = 1;
    let cache = kit::cache::Cache::in_process(1000, "t");
    let app = router::app(
        Arc::new(config),
        router::SupergraphSource::from_path(&path),
        &cache,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let url = format!("{base}/graphql");
    assert_eq!(
        post(&client, &url, "{ restockCount }").await,
        json!({"data": {"restockCount": 3}})
    );

    // A broken supergraph: refused, the old one still answers.
    std::fs::write(&path, "type Query {").unwrap();
    client.get(format!("{base}/metrics")).send().await.unwrap();
    eventually("the broken supergraph is refused", || async {
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics.contains("marquee_router_supergraph_reload_failures_total")
    })
    .await;
    assert_eq!(
        post(&client, &url, "{ restockCount }").await,
        json!({"data": {"restockCount": 3}})
    );

    // Without inventory: `restockCount` is gone, the rest still served.
    let without_inventory: Vec<router::SubgraphSdl> =
        [&stack.catalog, &stack.reviews, &stack.users]
            .iter()
            .map(|s| router::SubgraphSdl {
                name: s.name.into(),
                routing_url: s.url(),
                sdl: s.sdl.clone(),
            })
            .collect();
    std::fs::write(&path, router::compose(&without_inventory).unwrap()).unwrap();
    eventually("the new supergraph serves", || async {
        let r = post(&client, &url, "{ restockCount }").await;
        r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    })
    .await;
    assert_eq!(
        post(
            &client,
            &url,
            r#"{ movie(id: "m1") { title reviews { body } } }"#
        )
        .await,
        json!({"data": {"movie": {"title": "Alien", "reviews": [{"body": "Terrifying."}, {"body": "A classic."}]}}})
    );
}
