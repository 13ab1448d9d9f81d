//! The router against the reference gateway (@apollo/gateway 2.x): every
//! operation of `differential/cases.yaml` goes to both, over the same
//! @apollo/subgraph subgraphs, and `data`, the number of errors and their
//! paths must agree. `differential/README.md` tells how to run it and what a
//! failure looks like.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde::Deserialize;
use serde_json::{json, Value};

/// Issue #20's classes: each needs this many cases at least.
const CLASSES: [&str; 7] = [
    "1-types",
    "2-enums",
    "3-null-keys",
    "4-requires",
    "5-inaccessible",
    "6-introspection-order",
    "7-entity-errors",
];
const MIN_CASES_PER_CLASS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    class: String,
    query: String,
    #[serde(default)]
    variables: Option<Value>,
    /// Where the reference is wrong by the spec: why, and (`spec`) what the
    /// spec's answer has instead.
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    spec: Option<SpecAnswer>,
    /// Where the router is known to answer otherwise, and why: the case must
    /// still differ (once it matches, the marker has to go), and is listed.
    #[serde(default)]
    router_gap: Option<String>,
}

/// The parts of the spec's answer that differ from the reference's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecAnswer {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    error_paths: Option<Vec<Value>>,
}

/// What the comparison looks at in an answer.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// `None` when the answer has no `data` (a request error).
    data: Option<Value>,
    /// Each error's path (`null` for none), sorted.
    error_paths: Vec<Value>,
}

impl Outcome {
    /// `self` (the reference's outcome) with what the spec answers instead.
    fn corrected(&self, spec: &SpecAnswer) -> Self {
        let mut error_paths = spec
            .error_paths
            .clone()
            .unwrap_or_else(|| self.error_paths.clone());
        error_paths.sort_by_key(Value::to_string);
        Self {
            data: spec.data.clone().or_else(|| self.data.clone()),
            error_paths,
        }
    }

    /// The router's answer.
    fn of_router(body: &Value) -> Self {
        Self::new(body, &[])
    }

    /// The reference's answer. It reports the errors it finds shaping the
    /// response (a non-null field that is null, an enum value the schema does
    /// not have) under `extensions.valueCompletion` instead of `errors`, for
    /// its own backward compatibility; by the spec they are field errors, and
    /// the router reports them in `errors`, so they count as errors here.
    fn of_reference(body: &Value) -> Self {
        let completion = body["extensions"]["valueCompletion"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        Self::new(body, completion)
    }

    fn new(body: &Value, more_errors: &[Value]) -> Self {
        let errors = body["errors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut error_paths: Vec<Value> = errors
            .iter()
            .chain(more_errors)
            .map(|e| e.get("path").cloned().unwrap_or(Value::Null))
            .collect();
        error_paths.sort_by_key(Value::to_string);
        Self {
            data: body.get("data").cloned(),
            error_paths,
        }
    }
}

/// The Node side (subgraphs and gateway), ended with the test.
struct Reference {
    child: Child,
    /// Held open: the harness exits when it closes.
    _stdin: Option<ChildStdin>,
    gateway: String,
    supergraph: PathBuf,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn differential_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

/// Whether a missing Node setup fails the test (CI, or a run that demands
/// every service) rather than skipping it.
fn required() -> bool {
    let set =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    set("CI") || set("MARQUEE_REQUIRE_SERVICES")
}

/// Why the Node side cannot run here, if it cannot.
fn missing_setup(dir: &Path) -> Option<String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("`node` is not installed".into());
    }
    for package in ["@apollo/gateway", "@apollo/subgraph", "@apollo/composition"] {
        if !dir.join("node_modules").join(package).exists() {
            return Some(format!(
                "{package} is not installed: run `npm ci` in {}",
                dir.display()
            ));
        }
    }
    None
}

fn start_reference(dir: &Path, out: &Path) -> Reference {
    let mut child = Command::new("node")
        .arg("harness.mjs")
        .arg(out)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the harness's output is readable");
    let Ok(ready) = serde_json::from_str::<Value>(&line) else {
        let _ = child.kill();
        panic!("the harness did not start (its errors are above); it printed {line:?}");
    };
    Reference {
        gateway: ready["gateway"]
            .as_str()
            .expect("a gateway url")
            .to_string(),
        supergraph: PathBuf::from(ready["supergraph"].as_str().expect("a supergraph path")),
        child,
        _stdin: stdin,
    }
}

async fn start_router(supergraph: &Path) -> (SocketAddr, std::sync::Arc<router::Engine>) {
    let mut config = kit::Config::default();
    config.router.reload_interval_secs = 0;
    let source = router::SupergraphSource::from_path(supergraph);
    let engine = router::engine(&config, &source)
        .await
        .unwrap_or_else(|e| panic!("the router loads the differential supergraph: {e:#}"));
    let cache = kit::cache::Cache::in_process(10_000, "differential");
    let mut policies = router::Policies::from_config(&config, &cache).expect("default policies");
    policies.verifier = None;
    let app = router::routes(engine.clone(), policies);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("the router serves");
    });
    (addr, engine)
}

async fn post(client: &reqwest::Client, url: &str, case: &Case) -> Value {
    let mut body = json!({ "query": case.query });
    if let Some(variables) = &case.variables {
        body["variables"] = variables.clone();
    }
    let response = client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url} answers: {e}"));
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|_| json!({ "not JSON": text }))
}

#[tokio::test]
async fn router_answers_like_the_reference_gateway() {
    let dir = differential_dir();
    if let Some(why) = missing_setup(&dir) {
        if required() {
            panic!("the differential test cannot run: {why}");
        }
        eprintln!("SKIPPED: the differential test cannot run: {why}");
        return;
    }
    let cases: Vec<Case> = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("cases.yaml")).expect("cases.yaml is readable"),
    )
    .expect("cases.yaml parses");
    for class in CLASSES {
        let n = cases.iter().filter(|c| c.class == class).count();
        assert!(
            n >= MIN_CASES_PER_CLASS,
            "class {class} has {n} cases; it needs {MIN_CASES_PER_CLASS}"
        );
    }

    let out = tempfile::tempdir().expect("a temporary directory");
    let reference = start_reference(&dir, out.path());
    let (router, engine) = start_router(&reference.supergraph).await;
    let router_url = format!("http://{router}/graphql");
    let client = reqwest::Client::new();

    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    // One at a time, router first: mutation cases reset what they count.
    for case in &cases {
        let ours = post(&client, &router_url, case).await;
        let theirs = post(&client, &reference.gateway, case).await;
        let (got, reference) = (Outcome::of_router(&ours), Outcome::of_reference(&theirs));
        let tally = per_class.entry(&case.class).or_default();
        tally.1 += 1;
        let want = match &case.spec {
            None => reference,
            Some(spec) => {
                assert!(
                    case.note.is_some(),
                    "[{}] a case with a `spec` answer says why in a `note`",
                    case.name
                );
                let want = reference.corrected(spec);
                // The note must stay true: once the reference answers as the
                // spec does, the case compares with it again.
                if want == reference {
                    failures.push(format!(
                        "[{}] {}\n  the reference now answers as the spec does: drop the case's `spec` and `note`\n  reference: {}",
                        case.class, case.name, theirs
                    ));
                    continue;
                }
                want
            }
        };
        if let Some(gap) = &case.router_gap {
            if got == want {
                failures.push(format!(
                    "[{}] {}\n  the router now answers like the reference: drop the case's `router_gap`",
                    case.class, case.name
                ));
            } else {
                gaps.push(format!("  [{}] {}: {gap}", case.class, case.name));
            }
            continue;
        }
        if got == want {
            tally.0 += 1;
        } else {
            let plan = match engine.plan(&case.query, None).await {
                Ok(plan) => plan.to_string(),
                Err(e) => format!("(not planned: {})", e.message),
            };
            failures.push(format!(
                "[{}] {}\n  query:     {}\n  router:    {}\n  reference: {}\n  the router's plan:\n{}",
                case.class, case.name, case.query, ours, theirs, plan
            ));
        }
    }

    let summary: Vec<String> = per_class
        .iter()
        .map(|(class, (same, all))| format!("  {class}: {same}/{all}"))
        .collect();
    let same: usize = per_class.values().map(|(s, _)| s).sum();
    eprintln!(
        "differential: {same}/{} cases answered like the reference\n{}",
        cases.len(),
        summary.join("\n")
    );
    if !gaps.is_empty() {
        eprintln!("known gaps (still differing):\n{}", gaps.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the reference:\n\n{}\n",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
