//! The router's HTTP policies over the conformance subgraphs: JWT checks,
//! rate limits with their headers, request limits, CSRF prevention, CORS and
//! security headers, and a barrage of hostile requests.

mod common;

use std::sync::Arc;

use common::Stack;
use kit::auth::signing::KeyPair;
use kit::auth::{Claims, Role, Verifier};
use serde_json::{json, Value};

fn claims(config: &kit::Config, exp_in: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: "u1".into(),
        role: Role::User,
        scopes: Role::User.scopes(),
        sid: "s1".into(),
        iss: config.auth.issuer.clone(),
        aud: config.auth.audience.clone(),
        exp: now + exp_in,
        iat: now,
        nbf: None,
        jti: "j1".into(),
    }
}

/// A stack whose router trusts `keys`.
async fn with_keys(keys: &KeyPair, adjust: impl FnOnce(&mut kit::Config)) -> Stack {
    let jwks = jsonwebtoken::jwk::JwkSet {
        keys: vec![keys.public_jwk()],
    };
    Stack::start_with_policies(adjust, |p| {
        let config = kit::Config::default();
        p.verifier = Some(Arc::new(Verifier::with_keys(&config.auth, &jwks, None)));
    })
    .await
}

async fn post(stack: &Stack, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut r = stack.client().post(stack.url("/graphql")).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn valid_tokens_pass_and_each_bad_kind_is_refused_with_its_code() {
    let keys = KeyPair::generate("k1");
    let stack = with_keys(&keys, |_| {}).await;
    let config = kit::Config::default();
    let q = json!({"query": "{ movies { title } }"});

    let good = keys.sign(&claims(&config, 600)).unwrap();
    let r = post(&stack, Some(&good), q.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["data"]["movies"][0]["title"],
        "Alien"
    );
    // No token: anonymous, not an error.
    assert_eq!(post(&stack, None, q.clone()).await.status(), 200);

    let other = KeyPair::generate("k1");
    let mut wrong_iss = claims(&config, 600);
    wrong_iss.iss = "someone-else".into();
    let mut wrong_aud = claims(&config, 600);
    wrong_aud.aud = "another-api".into();
    let mut future = claims(&config, 600);
    future.nbf = Some(chrono::Utc::now().timestamp() + 3600);
    let unsigned = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(serde_json::to_vec(&claims(&config, 600)).unwrap())
        )
    };
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(&config, 600),
        &jsonwebtoken::EncodingKey::from_secret(b"public key bytes used as a secret"),
    )
    .unwrap();
    let bad = [
        ("expired", keys.sign(&claims(&config, -3600)).unwrap()),
        (
            "wrong signature",
            other.sign(&claims(&config, 600)).unwrap(),
        ),
        (
            "unknown kid",
            KeyPair::generate("k9").sign(&claims(&config, 600)).unwrap(),
        ),
        ("wrong iss", keys.sign(&wrong_iss).unwrap()),
        ("wrong aud", keys.sign(&wrong_aud).unwrap()),
        ("nbf in the future", keys.sign(&future).unwrap()),
        ("alg none", unsigned),
        ("HMAC", hmac),
        ("malformed", "not.a.jwt".into()),
    ];
    for (what, token) in bad {
        let r = post(&stack, Some(&token), q.clone()).await;
        assert_eq!(r.status(), 401, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}"
        );
        assert!(body["data"].is_null(), "{what}");
    }
}

#[tokio::test]
async fn the_sixth_login_in_a_minute_gets_429_with_retry_after() {
    // `login` is not in the test supergraph, so classify by the configured
    // list: make `movies` an authentication operation for this router.
    let stack = Stack::start_with(|c| {
        c.router.rate_limit.auth.operations = vec!["movies".into()];
    })
    .await;
    let q = json!({"query": "{ movies { title } }"});
    for i in 0..5 {
        let r = post(&stack, None, q.clone()).await;
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.headers()["ratelimit-limit"], "5");
        assert_eq!(
            r.headers()["ratelimit-remaining"].to_str().unwrap(),
            (4 - i).to_string()
        );
    }
    let r = post(&stack, None, q.clone()).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    // Other operations have their own budget.
    let r = post(
        &stack,
        None,
        json!({"query": "{ movie(id: \"m1\") { title } }"}),
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn each_limit_answers_with_its_code() {
    let stack = Stack::start_with(|c| {
        c.router.limits.max_depth = 3;
        c.router.limits.max_aliases = 2;
        c.router.limits.max_root_fields = 2;
        c.router.limits.max_body_bytes = 2_000;
        c.router.batching = true;
        c.router.limits.max_batch = 2;
    })
    .await;
    let cases = [
        ("{ movies { director { movies { title } } } }", "depth"),
        (
            "{ a: movies { title } b: movies { title } c: movies { title } }",
            "aliases",
        ),
        (
            "{ movies { title } movie(id: \"m1\") { title } __typename }",
            "root_fields",
        ),
    ];
    for (q, limit) in cases {
        let r = post(&stack, None, json!({ "query": q })).await;
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
            "{q}"
        );
        assert_eq!(body["errors"][0]["extensions"]["limit"], limit, "{q}");
    }
    let huge = json!({ "query": format!("{{ movies {{ title }} }} # {}", "x".repeat(5_000)) });
    let r = post(&stack, None, huge).await;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
    let batch = json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]);
    let r = post(&stack, None, batch).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["limit"], "batch");
}

#[tokio::test]
async fn browsers_get_csrf_prevention_cors_and_security_headers() {
    let stack = Stack::start_with(|c| {
        c.router.cors_allow_origins = vec!["https://app.example.com".into()];
        c.router.hsts_max_age_secs = 31_536_000;
    })
    .await;
    // A simple GET (what an <img> or a form could send cross-site) is refused.
    let r = stack
        .client()
        .get(stack.url("/graphql"))
        .query(&[("query", "{ movies { title } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A simple POST (form content type) is refused too.
    let r = stack
        .client()
        .post(stack.url("/graphql"))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ movies { title } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let preflight = stack
        .client()
        .request(reqwest::Method::OPTIONS, stack.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));

    let r = stack
        .client()
        .post(stack.url("/graphql"))
        .header("origin", "https://evil.example.net")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    assert!(h.get("access-control-allow-origin").is_none());
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(
        h["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert!(h.contains_key("x-request-id"));
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let stack = Stack::start_with(|c| c.router.introspection = false).await;
    let r = post(
        &stack,
        None,
        json!({"query": "{ __schema { queryType { name } } }"}),
    )
    .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let r = post(
        &stack,
        None,
        json!({"query": "{ __typename movies { title } }"}),
    )
    .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["movies"][0]["title"], "Alien");
}

/// Generated hostile requests: none may panic the router or get a 5xx, and
/// each is answered with a documented error code.
#[tokio::test]
async fn a_thousand_hostile_requests_get_4xx_answers_with_codes() {
    let keys = KeyPair::generate("k1");
    let stack = with_keys(&keys, |c| {
        c.router.batching = true;
        c.router.limits.max_body_bytes = 64 * 1024;
        c.router.rate_limit.enabled = false;
    })
    .await;
    let config = kit::Config::default();
    let known = [
        "BAD_REQUEST",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "QUERY_TOO_COMPLEX",
        "PAYLOAD_TOO_LARGE",
        "UNAUTHENTICATED",
        "BAD_USER_INPUT",
    ];
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut sent = 0;
    for i in 0..1000u64 {
        let n = next();
        let depth = 5 + (n % 300) as usize;
        let (body, token): (Vec<u8>, Option<String>) = match i % 10 {
            0 => (b"{ not json".to_vec(), None),
            1 => (
                format!(r#"{{"query": "{}{}"}}"#, "{ movies ".repeat(depth), "}".repeat(depth)).into_bytes(),
                None,
            ),
            2 => {
                let aliases: String = (0..(50 + n % 500)).map(|k| format!("a{k}: movies {{ title }} ")).collect();
                (json!({ "query": format!("{{ {aliases} }}") }).to_string().into_bytes(), None)
            }
            3 => (vec![b'['; 70 * 1024], None),
            4 => (
                json!({"query": "query($id: ID!) { movie(id: $id) { title } }", "variables": {"id": {"nested": [n]}}})
                    .to_string()
                    .into_bytes(),
                None,
            ),
            5 => (
                json!({"query": "{ movies { title } }"}).to_string().into_bytes(),
                Some(format!("{}.{}.{}", n, n.wrapping_mul(31), "sig")),
            ),
            6 => (
                json!({"query": "{ movies { title } }"}).to_string().into_bytes(),
                Some(keys.sign(&claims(&config, -((n % 10_000) as i64) - 100)).unwrap()),
            ),
            7 => (
                json!({"query": format!("{{ movies {{ {} }} }}", "title @skip(if: true) ".repeat(100 + (n % 100) as usize))})
                    .to_string()
                    .into_bytes(),
                None,
            ),
            8 => (json!({"query": 42, "variables": "x"}).to_string().into_bytes(), None),
            _ => (
                json!({"query": format!("{{ movies {{ {} }}", "title ".repeat((n % 50) as usize))})
                    .to_string()
                    .into_bytes(),
                None,
            ),
        };
        let mut request = stack
            .client()
            .post(stack.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let r = request
            .send()
            .await
            .expect("the router answers every request");
        let status = r.status();
        assert!(status.is_client_error(), "request {i}: status {status}");
        let answer: Value = r.json().await.expect("every refusal is a GraphQL response");
        let code = answer["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("");
        assert!(
            known.contains(&code),
            "request {i}: code {code:?} in {answer}"
        );
        sent += 1;
    }
    assert_eq!(sent, 1000);
    // Still serving.
    assert_eq!(
        post(&stack, None, json!({"query": "{ movies { title } }"}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_router_serves_the_signing_keys_of_the_users_subgraph() {
    let keys = KeyPair::generate("k7");
    let jwks = serde_json::to_string(&jsonwebtoken::jwk::JwkSet {
        keys: vec![keys.public_jwk()],
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = jwks.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let body = served.clone();
                async move { body }
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    let stack = Stack::start_with_policies(
        |_| {},
        |p| {
            p.jwks_url = Some(
                format!("http://{addr}/.well-known/jwks.json")
                    .parse()
                    .unwrap(),
            )
        },
    )
    .await;
    let r = stack
        .client()
        .get(stack.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["keys"][0]["kid"], "k7");
    assert!(
        body["keys"][0].get("d").is_none(),
        "no private key material"
    );
}

#[tokio::test]
async fn automatic_persisted_queries_register_once_then_run_by_hash() {
    let stack = Stack::start().await;
    let q = "{ movies { title } }";
    let hash = router::persisted::sha256_hex(q);
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let r: Value = post(&stack, None, json!({"extensions": ext}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let r: Value = post(&stack, None, json!({"query": q, "extensions": ext}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["movies"][0]["title"], "Alien");
    // By hash alone, over GET as CDNs like it.
    let r: Value = stack
        .client()
        .get(stack.url("/graphql"))
        .header("graphql-preflight", "1")
        .query(&[("extensions", ext.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["movies"][2]["title"], "Arrival", "{r}");
}
