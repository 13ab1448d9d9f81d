//! A whole Marquee system in one test: every subgraph of this build and the
//! router in front of them, on free ports, on the embedded backends or on
//! PostgreSQL, Redis and NATS (see `kit::testing::TestSystem`). Tests talk to
//! it only over HTTP, as clients do.

use std::sync::Arc;
use std::time::Duration;

use kit::testing::TestSystem;
use serde_json::{json, Value};

pub struct System {
    pub label: &'static str,
    pub stack: marquee::Stack,
    router: String,
    client: reqwest::Client,
    _test: TestSystem,
}

impl System {
    /// Starts every subgraph (seeded when `seed`) and the router over them.
    pub async fn start(test: TestSystem, seed: bool) -> Self {
        Self::start_with(test, seed, |_| {}).await
    }

    /// `start` with `tweak` applied to the configuration first.
    pub async fn start_with(
        mut test: TestSystem,
        seed: bool,
        tweak: impl Fn(&mut kit::Config),
    ) -> Self {
        // Tests poll; the API limit is not what they measure (the auth one stays 5/min).
        test.config.router.rate_limit.api.per_minute = 10_000;
        tweak(&mut test.config);
        let specs = marquee::subgraphs();
        // Ports come from `free_port`; a parallel test may take one before it
        // is bound. Then start again on fresh ports.
        let mut attempt = 0;
        let (stack, addr) = loop {
            attempt += 1;
            let config = Arc::new(test.config.clone());
            let started = match marquee::start(config, &specs, seed).await {
                Ok(mut stack) => match stack.start_router_over_self(&specs).await {
                    Ok(addr) => Ok((stack, addr)),
                    Err(e) => {
                        stack.stop().await;
                        Err(e)
                    }
                },
                Err(e) => Err(e),
            };
            match started {
                Ok(up) => break up,
                Err(e) if attempt < 5 && format!("{e:#}").contains("already in use") => {
                    kit::testing::new_ports(&mut test.config);
                }
                Err(e) => panic!("[{}] the system starts: {e:#}", test.label),
            }
        };
        Self {
            label: test.label,
            stack,
            router: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a client"),
            _test: test,
        }
    }

    /// Every backend this run has: embedded, then the services when set.
    pub async fn all(seed: bool) -> Vec<Self> {
        let mut out = Vec::new();
        for test in TestSystem::all() {
            out.push(Self::start(test, seed).await);
        }
        out
    }

    /// Like `all`, with `tweak` applied to each configuration.
    pub async fn all_with(seed: bool, tweak: impl Fn(&mut kit::Config)) -> Vec<Self> {
        let mut out = Vec::new();
        for test in TestSystem::all() {
            out.push(Self::start_with(test, seed, &tweak).await);
        }
        out
    }

    /// The data directory (dev mailbox, seed credentials).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.stack.config.data_dir
    }

    /// The seeded account with `role` (ADMIN, MODERATOR, USER): username and password.
    pub fn seeded_account(&self, role: &str) -> (String, String) {
        let text = std::fs::read_to_string(self.data_dir().join("seed-accounts.txt"))
            .expect("the seed wrote its accounts (start the system with seed = true)");
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!(" {role}")))
            .expect("a seeded account with that role");
        let parts: Vec<&str> = line.split(' ').collect();
        (parts[0].to_string(), parts[2].to_string())
    }

    /// An access token of the seeded account with `role`, signed in through the router.
    pub async fn token_of(&self, role: &str) -> String {
        let (login, password) = self.seeded_account(role);
        let d = self
            .data(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                json!({"i": {"login": login, "password": password}}),
            )
            .await;
        d["login"]["accessToken"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    /// Registers `username` through the router; returns its access token and id.
    pub async fn register(&self, username: &str) -> (String, String) {
        let d = self
            .data(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
                json!({"i": {
                    "email": format!("{username}@example.com"),
                    "username": username,
                    "password": "correct horse battery staple 42",
                    "displayName": username.to_uppercase(),
                }}),
            )
            .await;
        let token = d["register"]["accessToken"].as_str().expect("a token");
        let id = d["register"]["user"]["id"].as_str().expect("an id");
        (token.to_string(), id.to_string())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.router)
    }

    /// `url` of process `name` (a subgraph), for checks that bypass the router.
    pub fn process_url(&self, name: &str, path: &str) -> String {
        format!("{}{path}", self.stack.url(name).expect("a running process"))
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// POSTs a GraphQL request to the router, as `token` when given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("the router answers");
        response.json().await.expect("a JSON answer")
    }

    /// Like `gql`, failing the test when the answer has errors; returns `data`.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        assert!(
            r.get("errors").is_none(),
            "[{}] {query}\nanswered errors: {}",
            self.label,
            r["errors"]
        );
        r["data"].clone()
    }

    /// Waits (up to 10 s) until `check` holds for the answer to `query`:
    /// for effects that travel by events between subgraphs.
    pub async fn eventually(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            last = self.gql(token, query, variables.clone()).await;
            if check(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "[{}] never held for {query}; last answer: {last}",
            self.label
        )
    }

    /// Stops one process (a subgraph) and waits until it no longer serves.
    pub async fn stop_process(&mut self, name: &str) {
        let i = self
            .stack
            .processes
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process named {name}"));
        let p = self.stack.processes.remove(i);
        p.stop.cancel();
        let _ = p.server.await;
    }

    /// Stops the router and starts a new one on the same address, over the
    /// same subgraphs and bus (what a deploy does).
    pub async fn restart_router(&mut self) {
        self.stop_process("router").await;
        let addr = self
            .stack
            .start_router_over_self(&marquee::subgraphs())
            .await
            .unwrap_or_else(|e| panic!("[{}] the router starts again: {e:#}", self.label));
        self.router = format!("http://{addr}");
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

/// The single-use code in the newest mail to `to` whose subject contains
/// `subject`, read from the dev mailbox in `data_dir`.
pub fn mailed_code(data_dir: &std::path::Path, to: &str, subject: &str) -> Option<String> {
    let dir = data_dir.join("mailbox");
    let mut mails: Vec<_> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    mails.sort();
    mails.iter().rev().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        let to_line = format!("To: {to}\r\n");
        if !text.contains(&to_line)
            || !text
                .lines()
                .any(|l| l.starts_with("Subject:") && l.contains(subject))
        {
            return None;
        }
        text.lines()
            .map(str::trim)
            .find(|l| {
                l.len() == 43
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .map(str::to_string)
    })
}
