//! One social graph per backend (SQLite with the in-process bus, and
//! PostgreSQL with Redis and NATS when their URLs are set), driven through
//! the subgraph's own GraphQL schema as a signed-in caller would drive it.

#![allow(dead_code)]

use std::sync::Arc;

use async_graphql::{Request, Variables};
use kit::auth::{Claims, Role, Viewer};
use kit::testing::TestBackend;
use serde_json::{json, Value};
use social::graphql::{self as schema, SocialSchema};
use social::store::Social;
use uuid::Uuid;

/// A caller: an account id and its role.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    pub id: Uuid,
    pub role: Role,
}

impl Person {
    pub fn claims(&self) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: self.id.to_string(),
            role: self.role,
            scopes: Vec::new(),
            sid: Uuid::new_v4().to_string(),
            iss: "marquee".into(),
            aud: "marquee".into(),
            exp: now + 900,
            iat: now,
            nbf: None,
            jti: Uuid::new_v4().to_string(),
        }
    }
}

pub struct Net {
    pub label: &'static str,
    pub social: Arc<Social>,
    pub schema: SocialSchema,
    pub backend: TestBackend,
}

/// The social graph on every backend of this run.
pub async fn nets() -> Vec<Net> {
    let mut out = Vec::new();
    for backend in TestBackend::all("social").await {
        let services = backend.services_for(&social::spec()).await;
        let social = Social::new(services);
        let schema = schema::build(social.clone());
        out.push(Net {
            label: backend.label,
            social,
            schema,
            backend,
        });
    }
    out
}

impl Net {
    /// A new account called `username` with `role`, known to the social graph
    /// as the users subgraph's `user_registered` event would make it known.
    pub async fn person(&self, username: &str, role: Role) -> Person {
        let id = Uuid::now_v7();
        self.social
            .upsert_profile(&self.social.services.db, id, Some(username))
            .await
            .expect("the profile is stored");
        Person { id, role }
    }

    pub async fn user(&self, username: &str) -> Person {
        self.person(username, Role::User).await
    }

    /// Runs `query` as `who` (anonymous with `None`).
    pub async fn run(&self, who: Option<&Person>, query: &str, vars: Value) -> Value {
        let mut request = Request::new(query).variables(Variables::from_json(vars));
        request = request.data(Viewer(who.map(Person::claims)));
        let r = self
            .schema
            .execute(schema::with_loaders(&self.social, request))
            .await;
        serde_json::to_value(&r).expect("a response serializes")
    }

    /// `run`, failing the test on errors; returns `data`.
    pub async fn ok(&self, who: Option<&Person>, query: &str, vars: Value) -> Value {
        let r = self.run(who, query, vars).await;
        assert!(
            r.get("errors").is_none(),
            "[{}] {query}\nanswered errors: {}",
            self.label,
            r["errors"]
        );
        r["data"].clone()
    }

    /// `run`, expecting an error; returns its `extensions.code`.
    pub async fn code(&self, who: Option<&Person>, query: &str, vars: Value) -> String {
        let r = self.run(who, query, vars).await;
        let code = r["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("[{}] {query}\nexpected an error, got {r}", self.label))
            .to_string();
        code
    }

    pub async fn post(&self, who: &Person, body: &str) -> String {
        let d = self
            .ok(
                Some(who),
                "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
                json!({"i": {"body": body}}),
            )
            .await;
        d["createPost"]["id"].as_str().expect("a post id").into()
    }

    pub async fn comment(&self, who: &Person, post: &str, parent: Option<&str>) -> String {
        let d = self
            .ok(
                Some(who),
                "mutation($i: AddCommentInput!) { addComment(input: $i) { id } }",
                json!({"i": {"postId": post, "parentId": parent, "body": "a comment"}}),
            )
            .await;
        d["addComment"]["id"].as_str().expect("a comment id").into()
    }

    pub async fn follow(&self, who: &Person, whom: &Person) {
        self.ok(
            Some(who),
            "mutation($u: ID!) { follow(userId: $u) { id } }",
            json!({"u": whom.id}),
        )
        .await;
    }
}
