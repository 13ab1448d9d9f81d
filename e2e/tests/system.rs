//! The whole system through the router, on every backend this run has:
//! every process is healthy, and the router's policies (authorization, the
//! authentication rate limit) hold end to end over the real subgraphs.

use e2e::System;
use serde_json::{json, Value};

#[tokio::test]
async fn every_process_is_healthy_and_the_router_is_ready() {
    for sys in System::all(false).await {
        for name in ["router", "users"] {
            let r = sys
                .client()
                .get(sys.process_url(name, "/health"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "[{}] {name}", sys.label);
        }
        let r = sys
            .client()
            .get(sys.url("/health/ready"))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "[{}] {body}", sys.label);
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_user_cannot_read_admin_fields_and_keeps_the_rest() {
    for sys in System::all(false).await {
        let (token, _) = sys.register("hicks").await;
        let r = sys
            .gql(
                Some(&token),
                "{ me { username } users(first: 5) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(r["data"]["me"]["username"], "hicks", "[{}] {r}", sys.label);
        assert!(r["data"]["users"].is_null(), "[{}] {r}", sys.label);
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{}] {r}",
            sys.label
        );
        let anonymous = sys
            .gql(None, "{ users(first: 5) { totalCount } }", json!({}))
            .await;
        assert_eq!(
            anonymous["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
        sys.stop().await;
    }
}

#[tokio::test]
async fn the_sixth_login_in_a_minute_gets_429_with_retry_after() {
    for sys in System::all(false).await {
        sys.register("vasquez").await;
        let login = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
        let body = json!({"query": login, "variables": {"input": {"login": "vasquez", "password": "wrong password 123456"}}});
        let mut statuses = Vec::new();
        let mut last = None;
        // `register` above was the first authentication operation.
        for _ in 0..5 {
            let r = sys
                .client()
                .post(sys.url("/graphql"))
                .json(&body)
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
            last = Some(r);
        }
        let last = last.unwrap();
        assert_eq!(statuses[..4], [200, 200, 200, 200], "[{}]", sys.label);
        assert_eq!(last.status(), 429, "[{}] {statuses:?}", sys.label);
        assert!(last.headers().contains_key("retry-after"));
        let answer: Value = last.json().await.unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        sys.stop().await;
    }
}

#[tokio::test]
async fn two_routers_on_one_redis_share_the_sign_in_limit() {
    for sys in System::all(false).await {
        let (Some(url), "redis") = (
            sys.stack.config.cache.url.clone(),
            sys.stack.backends.cache.kind(),
        ) else {
            // The in-process cache belongs to one router: nothing to share.
            sys.stop().await;
            continue;
        };
        // A second router, as another process would run it: its own Redis
        // connection on the same keys, in front of the same subgraphs.
        let cache = kit::cache::Cache::redis(&url, sys.stack.backends.cache.prefix())
            .await
            .expect("Redis answers");
        let source = router::SupergraphSource::Composed(sys.data_dir().join("supergraph.graphql"));
        let app = router::app(sys.stack.config.clone(), source, &cache)
            .await
            .expect("the second router starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = format!("http://{}/graphql", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });

        let login = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
        let body = json!({"query": login, "variables": {"input": {"login": "nobody", "password": "wrong password 123456"}}});
        let mut statuses = Vec::new();
        for i in 0..6 {
            // Alternate: first, second, first, ...
            let url = if i % 2 == 0 {
                sys.url("/graphql")
            } else {
                second.clone()
            };
            let r = sys.client().post(url).json(&body).send().await.unwrap();
            statuses.push(r.status().as_u16());
        }
        assert_eq!(
            statuses,
            [200, 200, 200, 200, 200, 429],
            "[{}] one budget for both routers",
            sys.label
        );
        server.abort();
        sys.stop().await;
    }
}
