//! Logs, request ids, W3C trace context and Prometheus metrics. `observe` is the
//! one HTTP middleware every server wears: it names the request (reusing an
//! incoming `x-request-id` and `traceparent`), runs it inside a span, counts it,
//! times it and echoes the request id.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{HeaderName, HeaderValue};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Installs the global subscriber once; later calls do nothing.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder (installed on first use).
pub fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests); ours still renders
        // what it records through `metrics::with_local_recorder` callers, and
        // the handle stays valid.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// `GET /metrics` in Prometheus text format. Installs the recorder now, so
/// what is counted before the first scrape is kept.
pub fn metrics_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    prometheus();
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                prometheus().render(),
            )
        }),
    )
}

/// W3C trace context of a request: the trace it belongs to and this hop's span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    pub sampled: bool,
}

impl TraceContext {
    /// Parses a `traceparent` header (version 00).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        if version != "00"
            || !hex(trace_id, 32)
            || !hex(parent, 16)
            || !hex(flags, 2)
            || parts.next().is_some()
        {
            return None;
        }
        if trace_id.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
            return None;
        }
        Some(Self {
            trace_id: trace_id.to_string(),
            span_id: random_hex(8),
            sampled: u8::from_str_radix(flags, 16).ok()? & 1 == 1,
        })
    }

    pub fn new_root() -> Self {
        Self {
            trace_id: random_hex(16),
            span_id: random_hex(8),
            sampled: true,
        }
    }

    /// The `traceparent` to send downstream: same trace, this hop as parent.
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{}",
            self.trace_id,
            self.span_id,
            if self.sampled { "01" } else { "00" }
        )
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request id of the current request (set by `observe`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Names, traces, counts and times every request. Use with
/// `axum::middleware::from_fn_with_state(service_name, observe)`.
pub async fn observe(
    State(service): State<&'static str>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let trace = req
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .unwrap_or_else(TraceContext::new_root);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        service,
        request_id = %request_id,
        trace_id = %trace.trace_id,
        method = %method,
        route = %route,
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(trace);
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    let labels = [
        ("service", service.to_string()),
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("marquee_http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "marquee_http_request_duration_seconds",
        &[("service", service.to_string()), ("route", route)]
    )
    .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::debug!(
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

/// A 404 in the house error shape, for unknown routes.
pub async fn not_found() -> impl IntoResponse {
    crate::error::Error::new(crate::error::ErrorCode::NotFound, "no such route")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_keeps_the_trace_and_makes_a_new_span() {
        let t =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(t.span_id, "00f067aa0ba902b7");
        assert!(t.sampled);
        assert!(t
            .header()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    }

    #[test]
    fn malformed_traceparent_is_ignored() {
        assert!(
            TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .is_none()
        );
        assert!(
            TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
                .is_none()
        );
        assert!(TraceContext::parse("00-xyz-00f067aa0ba902b7-01").is_none());
        assert!(
            TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
                .is_none()
        );
    }
}
