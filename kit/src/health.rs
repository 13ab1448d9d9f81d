//! `/health` says the process is alive; `/health/ready` runs every readiness
//! check (database, cache, bus, ...) concurrently, each with a time limit, and
//! answers 503 when any fails, with each check's status and latency.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde::Serialize;

type CheckFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The readiness checks of one process.
#[derive(Clone, Default)]
pub struct Readiness {
    service: String,
    checks: Vec<(String, CheckFn)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    pub name: String,
    pub status: &'static str,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReadyReport {
    pub service: String,
    pub status: &'static str,
    pub checks: Vec<CheckReport>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Readiness {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            checks: Vec::new(),
        }
    }

    /// Adds a check; `f` returns `Err(reason)` when the dependency is not usable.
    pub fn check<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name.into(), Arc::new(move || Box::pin(f()))));
        self
    }

    pub async fn report(&self) -> ReadyReport {
        let runs = self.checks.iter().map(|(name, f)| async move {
            let start = Instant::now();
            let result = match tokio::time::timeout(CHECK_TIMEOUT, f()).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
            };
            CheckReport {
                name: name.clone(),
                status: if result.is_ok() { "ok" } else { "fail" },
                latency_ms: (start.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
                error: result.err(),
            }
        });
        let checks = futures::future::join_all(runs).await;
        let ok = checks.iter().all(|c| c.status == "ok");
        ReadyReport {
            service: self.service.clone(),
            status: if ok { "ok" } else { "fail" },
            checks,
        }
    }

    /// `/health` and `/health/ready`.
    pub fn routes<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let service = self.service.clone();
        Router::new()
            .route(
                "/health",
                get(move || {
                    let service = service.clone();
                    async move { Json(serde_json::json!({ "status": "ok", "service": service })) }
                }),
            )
            .route("/health/ready", get(ready).with_state(Arc::new(self)))
    }
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    let report = readiness.report().await;
    let status = if report.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_failing_check_fails_readiness() {
        let r = Readiness::new("t")
            .check("db", || async { Ok(()) })
            .check("bus", || async { Err("down".to_string()) });
        let report = r.report().await;
        assert_eq!(report.status, "fail");
        assert_eq!(report.checks[0].status, "ok");
        assert_eq!(report.checks[1].error.as_deref(), Some("down"));
    }
}
