//! Authorization from the supergraph: `@authenticated` and `@requiresScopes`
//! on fields and types, checked by the router for anonymous, user, moderator
//! and admin callers. Refused fields are never sent to the subgraph, come back
//! null with an error at their path, and the rest of the answer is kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::{
    EmptyMutation, EmptySubscription, Object, SDLExportOptions, Schema, SimpleObject,
};
use kit::auth::signing::KeyPair;
use kit::auth::{Claims, Role, Verifier};
use serde_json::{json, Value};

#[derive(SimpleObject, Clone)]
struct Movie {
    title: String,
    /// Moderators and admins only.
    #[graphql(requires_scopes = "moderator")]
    budget: Option<i32>,
    /// Any signed-in user (made `@authenticated` in the SDL below).
    notes: Option<String>,
}

#[derive(SimpleObject, Clone)]
struct Secret {
    code: String,
}

struct Query;

#[Object]
impl Query {
    async fn movies(&self) -> Vec<Movie> {
        vec![Movie {
            title: "Alien".into(),
            budget: Some(11),
            notes: Some("xeno".into()),
        }]
    }
    #[graphql(requires_scopes = "admin")]
    async fn admin_stats(&self) -> Option<i32> {
        Some(42)
    }
    /// Returns a type that is protected as a whole (`@authenticated` on `Secret`).
    async fn secret(&self) -> Option<Secret> {
        Some(Secret { code: "s3".into() })
    }
}

struct Subgraph {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    calls: Arc<AtomicUsize>,
}

async fn subgraph() -> (Subgraph, String) {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let sdl = schema
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
        .replace(
            "\"@requiresScopes\"",
            "\"@requiresScopes\", \"@authenticated\"",
        )
        .replace("notes: String", "notes: String @authenticated")
        .replace("type Secret", "type Secret @authenticated");
    assert!(sdl.contains("@authenticated"), "{sdl}");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (b, c) = (bodies.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(move |body: String| {
            let schema = schema.clone();
            let (b, c) = (b.clone(), c.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                b.lock().unwrap().push(body.clone());
                let request: async_graphql::Request = serde_json::from_str(&body).unwrap();
                axum::Json(schema.execute(request).await)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (Subgraph { url, bodies, calls }, sdl)
}

struct Router {
    url: String,
    keys: KeyPair,
    client: reqwest::Client,
    subgraph: Subgraph,
    _dir: tempfile::TempDir,
}

async fn router() -> Router {
    let (sub, sdl) = subgraph().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.graphql"), sdl).unwrap();
    let yaml = format!(
        "federation_version: =2.5.0\nsubgraphs:\n  catalog:\n    routing_url: {}\n    schema:\n      file: ./catalog.graphql\n",
        sub.url
    );
    std::fs::write(dir.path().join("supergraph.yaml"), yaml).unwrap();
    let mut config = kit::Config::default();
    config.router.reload_interval_secs = 0;
    config.router.rate_limit.enabled = false;
    let source = router::SupergraphSource::from_path(dir.path().join("supergraph.yaml"));
    let engine = router::engine(&config, &source).await.unwrap();
    let keys = KeyPair::generate("k1");
    let jwks = jsonwebtoken::jwk::JwkSet {
        keys: vec![keys.public_jwk()],
    };
    let cache = kit::cache::Cache::in_process(1000, "t");
    let mut policies = router::Policies::from_config(&config, &cache).unwrap();
    policies.verifier = Some(Arc::new(Verifier::with_keys(&config.auth, &jwks, None)));
    let app = router::routes(engine, policies);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    Router {
        url,
        keys,
        client: reqwest::Client::new(),
        subgraph: sub,
        _dir: dir,
    }
}

impl Router {
    fn token(&self, role: Role) -> String {
        let config = kit::Config::default();
        let now = chrono::Utc::now().timestamp();
        self.keys
            .sign(&Claims {
                sub: format!("{role:?}"),
                role,
                scopes: role.scopes(),
                sid: "s".into(),
                iss: config.auth.issuer.clone(),
                aud: config.auth.audience.clone(),
                exp: now + 600,
                iat: now,
                nbf: None,
                jti: "j".into(),
            })
            .unwrap()
    }

    async fn query(&self, role: Option<Role>, query: &str) -> Value {
        let mut r = self.client.post(&self.url).json(&json!({ "query": query }));
        if let Some(role) = role {
            r = r.bearer_auth(self.token(role));
        }
        r.send().await.unwrap().json().await.unwrap()
    }
}

fn codes_at(answer: &Value) -> Vec<(String, String)> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let path: Vec<String> = e["path"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), String::from))
                        .collect();
                    (
                        path.join("."),
                        e["extensions"]["code"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// (response path, error code) of the fields a caller is refused.
type Refusals = Vec<(&'static str, &'static str)>;

#[tokio::test]
async fn every_protected_field_against_every_role() {
    let r = router().await;
    let q = "{ movies { title budget notes } adminStats secret { code } }";
    // (role, expected refusals as (path, code))
    let matrix: [(Option<Role>, Refusals); 4] = [
        (
            None,
            vec![
                ("movies.budget", "UNAUTHENTICATED"),
                ("movies.notes", "UNAUTHENTICATED"),
                ("adminStats", "UNAUTHENTICATED"),
                ("secret", "UNAUTHENTICATED"),
            ],
        ),
        (
            Some(Role::User),
            vec![("movies.budget", "FORBIDDEN"), ("adminStats", "FORBIDDEN")],
        ),
        (Some(Role::Moderator), vec![("adminStats", "FORBIDDEN")]),
        (Some(Role::Admin), vec![]),
    ];
    for (role, refused) in matrix {
        r.subgraph.bodies.lock().unwrap().clear();
        let answer = r.query(role, q).await;
        let mut got = codes_at(&answer);
        got.sort();
        let mut want: Vec<(String, String)> = refused
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{role:?}: {answer}");
        // Everything else is answered.
        assert_eq!(answer["data"]["movies"][0]["title"], "Alien", "{role:?}");
        let movie = &answer["data"]["movies"][0];
        let allowed = |path: &str| !refused.iter().any(|(p, _)| *p == path);
        assert_eq!(
            movie["budget"].is_null(),
            !allowed("movies.budget"),
            "{role:?}"
        );
        assert_eq!(
            movie["notes"].is_null(),
            !allowed("movies.notes"),
            "{role:?}"
        );
        assert_eq!(
            answer["data"]["adminStats"].is_null(),
            !allowed("adminStats")
        );
        assert_eq!(answer["data"]["secret"].is_null(), !allowed("secret"));
        // Refused fields never reach the subgraph.
        let sent = r.subgraph.bodies.lock().unwrap().join("\n");
        for (path, _) in &refused {
            let field = path.rsplit('.').next().unwrap();
            assert!(
                !sent.contains(field),
                "{role:?}: `{field}` was sent: {sent}"
            );
        }
    }
}

#[tokio::test]
async fn fragments_do_not_smuggle_protected_fields() {
    let r = router().await;
    let answer = r
        .query(
            Some(Role::User),
            "{ movies { ...M } } fragment M on Movie { title budget }",
        )
        .await;
    assert_eq!(
        codes_at(&answer),
        vec![("movies.budget".to_string(), "FORBIDDEN".to_string())]
    );
    assert_eq!(answer["data"]["movies"][0]["title"], "Alien");
    assert!(answer["data"]["movies"][0]["budget"].is_null());
}

#[tokio::test]
async fn when_nothing_is_left_the_request_fails_without_calling_the_subgraph() {
    let r = router().await;
    let before = r.subgraph.calls.load(Ordering::SeqCst);
    let answer = r.query(None, "{ adminStats }").await;
    assert!(answer["data"].is_null(), "{answer}");
    assert_eq!(
        codes_at(&answer),
        vec![("adminStats".to_string(), "UNAUTHENTICATED".to_string())]
    );
    assert_eq!(r.subgraph.calls.load(Ordering::SeqCst), before);
}
