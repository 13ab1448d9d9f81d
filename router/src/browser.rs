//! What browsers need from the router: CORS for the configured origins (with
//! credentials; preflights answered here), and security headers on every
//! response, with a content security policy GraphiQL works under (its scripts
//! are served by the router itself, none inline).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use crate::policies::Policies;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'self'";

const EXPOSED: &str =
    "ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, x-request-id";

pub struct Browser {
    origins: Vec<String>,
    any_origin: bool,
    hsts: Option<HeaderValue>,
}

impl Browser {
    fn allowed(&self, origin: &str) -> bool {
        self.any_origin || self.origins.iter().any(|o| o == origin)
    }

    /// CORS headers for an allowed `origin`.
    fn cors(&self, origin: &HeaderValue, out: &mut HeaderMap) {
        if self.any_origin && !self.origins.iter().any(|o| origin == o.as_str()) {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        } else {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// The middleware's state for `policies`.
pub(crate) fn state(policies: &Policies) -> Arc<Browser> {
    Arc::new(Browser {
        origins: policies
            .cors_allow_origins
            .iter()
            .filter(|o| *o != "*")
            .cloned()
            .collect(),
        any_origin: policies.cors_allow_origins.iter().any(|o| o == "*"),
        hsts: (policies.hsts_max_age_secs > 0).then(|| {
            HeaderValue::from_str(&format!(
                "max-age={}; includeSubDomains",
                policies.hsts_max_age_secs
            ))
            .expect("a number is a valid header value")
        }),
    })
}

pub(crate) async fn apply(
    State(browser): State<Arc<Browser>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|o| o.to_str().is_ok_and(|o| browser.allowed(o)))
        .cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut r = (StatusCode::NO_CONTENT, Body::empty()).into_response();
        if origin.is_some() {
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            let requested = request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or(HeaderValue::from_static("content-type, authorization"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        r
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    if let Some(origin) = &origin {
        browser.cors(origin, h);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if let Some(hsts) = &browser.hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    response
}
