//! The one admission stage every transport calls (HTTP POST and GET,
//! WebSocket, SSE, REST): persisted-operation lookup, text limits, parse,
//! operation limits, validation, the transport's method rule, variables,
//! cost, rate classes, APQ registration and authorization, in that order.
//! Transports differ only in framing; what an operation may do is decided here.

use std::sync::Arc;

use http::StatusCode;
use kit::cache::RateDecision;
use kit::ErrorCode;

use crate::engine::{Admitted, Engine, Loaded, OperationKey, Validated};
use crate::operation::{OperationType, ParsedOperation};
use crate::persisted::Persisted;
use crate::policy::{Caller, RateLimiter};
use crate::response::{GraphqlError, GraphqlResponse};

/// How an operation reached the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Post,
    /// GraphQL over HTTP GET: queries only.
    Get,
    WebSocket,
    /// SSE over GET: queries and subscriptions, never mutations.
    SseGet,
    SsePost,
    /// A legacy REST route (the router's own documents).
    Rest,
    /// A query the router runs for itself (a subscription's check).
    Internal,
}

impl Transport {
    /// Whether an operation of `kind` may arrive this way: a GET is a simple
    /// request (links, prefetch, cross-site pages), so it never changes anything.
    fn allows(self, kind: OperationType) -> bool {
        match self {
            Transport::Get => kind == OperationType::Query,
            Transport::SseGet => kind != OperationType::Mutation,
            _ => true,
        }
    }
}

/// What the admission stage needs from the caller's transport.
pub(crate) struct Admission<'a> {
    pub transport: Transport,
    pub caller: Option<&'a Caller>,
    /// `None` for the router's own documents (REST, checks) and for steps of
    /// a request that was already counted.
    pub limiter: Option<&'a RateLimiter>,
    pub persisted: Option<&'a Persisted>,
}

/// Why an operation was not admitted.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // the cold path, as errors are (see lib.rs)
pub enum Rejection {
    /// Answered with these errors (and the rate limit's verdict, when it
    /// was what refused).
    Refused(GraphqlResponse, Option<RateDecision>),
    /// A mutation (or a subscription over plain GET) on a GET transport: 405.
    MethodNotAllowed,
}

impl Rejection {
    fn error(e: GraphqlError) -> Self {
        Rejection::Refused(GraphqlResponse::request_error(e), None)
    }

    /// The status an HTTP transport answers with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Refused(_, Some(d)) if !d.allowed => StatusCode::TOO_MANY_REQUESTS,
            Rejection::Refused(r, _) => r
                .errors
                .first()
                .and_then(|e| e.code())
                .and_then(ErrorCode::parse)
                .map_or(StatusCode::BAD_REQUEST, |c| c.http_status()),
        }
    }

    /// The errors of a refusal, for transports that frame them themselves.
    pub(crate) fn into_errors(self) -> Vec<GraphqlError> {
        match self {
            Rejection::Refused(r, _) => r.errors,
            Rejection::MethodNotAllowed => vec![GraphqlError::new(
                ErrorCode::BadRequest,
                "mutations are sent with POST",
            )],
        }
    }
}

impl Engine {
    /// Admits `request` or says why not (see the module's header for the order).
    pub(crate) async fn admit(
        &self,
        mut request: crate::engine::GraphqlRequest,
        gate: &Admission<'_>,
    ) -> Result<Admitted, Rejection> {
        let registration = match gate.persisted {
            Some(p) => p.resolve(&mut request).await.map_err(Rejection::error)?,
            None => None,
        };
        let loaded = self.current.load_full();
        let Some(query) = request.query.as_deref().filter(|q| !q.trim().is_empty()) else {
            return Err(Rejection::error(GraphqlError::new(
                ErrorCode::BadRequest,
                "the request has no `query`",
            )));
        };
        let validated = self.validated(
            &loaded,
            query,
            request.operation_name.as_deref(),
            gate.transport,
        )?;
        let parsed = &validated.parsed;
        let kind = parsed.kind();
        let supergraph = &loaded.supergraph;
        let root_type = match kind {
            OperationType::Mutation => supergraph.schema.mutation.clone().unwrap_or_default(),
            OperationType::Subscription => {
                supergraph.schema.subscription.clone().unwrap_or_default()
            }
            OperationType::Query => supergraph.schema.query.clone(),
        };
        let variables = parsed
            .coerce_variables(request.variables.unwrap_or_default(), &supergraph.schema)
            .map_err(Rejection::error)?;
        let wants_cost = request
            .extensions
            .as_ref()
            .and_then(|e| e.get("cost"))
            .is_some_and(|v| v.as_bool() == Some(true));
        let cost = if self.limits.max_cost > 0 || wants_cost {
            let compute = || {
                crate::limits::cost(
                    parsed,
                    &validated.shape,
                    &supergraph.schema,
                    &root_type,
                    &variables,
                    &self.limits,
                )
            };
            // Without variables the cost is the document's: computed once.
            let cost = if parsed.has_variables() {
                compute()
            } else {
                *validated.static_cost.get_or_init(compute)
            };
            crate::limits::check_cost(cost, &self.limits).map_err(Rejection::error)?;
            Some(cost)
        } else {
            None
        };
        let mut decision = None;
        if let (Some(limiter), Some(caller)) = (gate.limiter, gate.caller) {
            let shape = &validated.shape;
            // Every operation that is not only sign-in fields pays one API
            // token; remembering its text (APQ) pays another.
            let api = usize::from(shape.other_root_fields > 0 || shape.auth_fields == 0)
                + usize::from(registration.is_some());
            decision = limiter.charge(caller, shape.auth_fields, api).await;
            if let Some(d) = decision.filter(|d| !d.allowed) {
                return Err(Rejection::Refused(
                    GraphqlResponse::request_error(crate::policy::rate_limited(&d)),
                    Some(d),
                ));
            }
        }
        if let (Some(p), Some(r)) = (gate.persisted, registration) {
            p.register(r).await;
        }
        let authz = |claims| {
            crate::authz::filter(
                &supergraph.auth,
                &supergraph.schema,
                &parsed.document,
                parsed.index,
                &root_type,
                claims,
            )
        };
        let guarded = *validated.guarded.get_or_init(|| authz(None).is_some());
        let filtered = if guarded {
            authz(gate.caller.and_then(|c| c.claims.as_ref()))
        } else {
            None
        };
        if let Some(f) = filtered.as_ref().filter(|f| f.nothing_left) {
            return Err(Rejection::Refused(
                GraphqlResponse {
                    errors: f.errors.clone(),
                    ..Default::default()
                },
                decision,
            ));
        }
        Ok(Admitted {
            loaded,
            validated: validated.clone(),
            variables,
            filtered,
            root_type,
            cost: cost.filter(|_| wants_cost),
            decision,
        })
    }

    /// The parsed, checked and validated document for `query`, once per
    /// distinct text: only documents within every limit and valid are
    /// remembered, and a hit is a hit only when the text is the same.
    fn validated(
        &self,
        loaded: &Loaded,
        query: &str,
        operation_name: Option<&str>,
        transport: Transport,
    ) -> Result<Arc<Validated>, Rejection> {
        let key = OperationKey {
            text: xxhash_rust::xxh3::xxh3_64(query.as_bytes()),
            operation_name: operation_name.map(str::to_string),
            supergraph: loaded.supergraph.hash(),
        };
        if let Some(v) = self.operations.get(&key).filter(|v| *v.text == *query) {
            if !transport.allows(v.parsed.kind()) {
                return Err(Rejection::MethodNotAllowed);
            }
            return Ok(v);
        }
        crate::limits::check_text(query, &self.limits).map_err(Rejection::error)?;
        let parsed = ParsedOperation::parse(query, operation_name).map_err(Rejection::error)?;
        let shape = crate::limits::shape(&parsed, &self.auth_operations);
        crate::limits::check_shape(&shape, &self.limits).map_err(Rejection::error)?;
        // The transport's method rule, before validation: a mutation sent
        // with GET is refused as such, valid or not (GraphQL over HTTP).
        if !transport.allows(parsed.kind()) {
            return Err(Rejection::MethodNotAllowed);
        }
        if let Err(errors) = parsed.validate(&loaded.supergraph.schema) {
            return Err(Rejection::Refused(
                GraphqlResponse {
                    errors,
                    ..Default::default()
                },
                None,
            ));
        }
        let v = Arc::new(Validated {
            text: query.into(),
            parsed,
            shape,
            static_cost: std::sync::OnceLock::new(),
            prepared: tokio::sync::OnceCell::new(),
            guarded: std::sync::OnceLock::new(),
        });
        self.operations.insert(key, v.clone());
        Ok(v)
    }
}
