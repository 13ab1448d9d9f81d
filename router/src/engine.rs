//! The engine behind `/graphql`: holds the current supergraph (swapped
//! atomically on reload), the plan cache and the subgraph client, and runs one
//! GraphQL request from text to response.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hive_router_query_planner::ast::normalization::normalize_operation;
use hive_router_query_planner::ast::operation::OperationDefinition;
use hive_router_query_planner::graph::PlannerOverrideContext;
use hive_router_query_planner::planner::plan_nodes::QueryPlan;
use hive_router_query_planner::utils::cancellation::CancellationToken;
use http::HeaderMap;
use kit::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::execute::Execution;
use crate::fetch::SubgraphClient;
use crate::introspection::{Ctx, Introspection};
use crate::operation::{OperationType, ParsedOperation};
use crate::project::Projection;
use crate::response::{GraphqlError, GraphqlResponse};
use crate::supergraph::Supergraph;

/// One GraphQL request as GraphQL over HTTP carries it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphqlRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// A supergraph with what is derived from it once.
pub(crate) struct Loaded {
    pub supergraph: Arc<Supergraph>,
    pub introspection: Introspection,
}

impl Loaded {
    pub fn new(supergraph: Arc<Supergraph>) -> Self {
        let introspection = Introspection::new(&supergraph.schema);
        Self {
            supergraph,
            introspection,
        }
    }
}

/// A planned operation: the normalized form the response is shaped by, and its plan.
pub(crate) struct Prepared {
    pub operation: OperationDefinition,
    pub plan: QueryPlan,
    /// The size of the last response written for it: the next one's buffer
    /// starts that large instead of growing (and copying) its way there.
    pub written_size: std::sync::atomic::AtomicUsize,
}

/// A document as sent, for the operation cache: a fast hash of its text
/// (the entry keeps the text and a hit compares it, so a crafted collision
/// finds nothing), the operation name and the supergraph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct OperationKey {
    pub text: u64,
    pub operation_name: Option<String>,
    pub supergraph: u64,
}

/// A parsed, valid operation within every limit and, once planned, its plan.
pub(crate) struct Validated {
    /// The document's text, compared on every cache hit.
    pub text: Box<str>,
    pub parsed: ParsedOperation,
    /// Its shape, fragments expanded (limits, rate classes, cost order).
    pub shape: crate::limits::OperationShape,
    /// Its cost, once computed, when no variable can change it.
    pub static_cost: std::sync::OnceLock<u64>,
    pub prepared: tokio::sync::OnceCell<Arc<Prepared>>,
    /// Whether any field it selects carries an authorization rule. Every
    /// rule refuses an anonymous caller, so an operation that loses nothing
    /// for one loses nothing for anybody and skips the per-request filter.
    pub guarded: std::sync::OnceLock<bool>,
}

/// A normalized operation as text (not a hash of it: two documents share a
/// plan only when they are the same).
/// An operation cleared to run.
pub(crate) struct Admitted {
    pub loaded: Arc<Loaded>,
    pub validated: Arc<Validated>,
    pub variables: Map<String, Value>,
    /// The operation without the fields the caller may not see, when any.
    pub filtered: Option<crate::authz::Filtered>,
    pub root_type: String,
    /// The estimated cost, when the client asked for it (`extensions.cost`).
    pub cost: Option<u64>,
    /// The rate limit's verdict, for the response headers.
    pub decision: Option<kit::cache::RateDecision>,
}

impl Admitted {
    pub fn kind(&self) -> OperationType {
        self.validated.parsed.kind()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PlanKey {
    document: String,
    operation_name: Option<String>,
    supergraph: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
enum PlanError {
    #[error("query planning took longer than {0:?}")]
    Timeout(Duration),
    #[error("query planning failed: {0}")]
    Failed(String),
}

pub struct EngineSettings {
    pub plan_cache_size: u64,
    pub planning_timeout: Duration,
    /// The breakers the client's transport consults, for health and metrics.
    pub breakers: Option<Arc<crate::breaker::Breakers>>,
    pub limits: kit::config::LimitsConfig,
    /// Whether `__schema`/`__type` are answered.
    pub introspection: bool,
    /// Root fields that count against the auth rate class, once per instance.
    pub auth_operations: Vec<String>,
}

pub struct Engine {
    pub(crate) current: ArcSwap<Loaded>,
    pub(crate) operations: moka::sync::Cache<OperationKey, Arc<Validated>>,
    plans: moka::future::Cache<PlanKey, Arc<Prepared>>,
    client: SubgraphClient,
    planning_timeout: Duration,
    breakers: Option<Arc<crate::breaker::Breakers>>,
    pub(crate) limits: kit::config::LimitsConfig,
    introspection: bool,
    pub(crate) auth_operations: Vec<String>,
}

impl Engine {
    pub fn new(supergraph: Supergraph, client: SubgraphClient, settings: EngineSettings) -> Self {
        Self {
            current: ArcSwap::from_pointee(Loaded::new(Arc::new(supergraph))),
            operations: moka::sync::Cache::new(settings.plan_cache_size),
            plans: moka::future::Cache::new(settings.plan_cache_size),
            client,
            planning_timeout: settings.planning_timeout,
            breakers: settings.breakers,
            limits: settings.limits,
            introspection: settings.introspection,
            auth_operations: settings.auth_operations,
        }
    }

    /// The per-subgraph circuit breakers, when the transport has them.
    pub fn breakers(&self) -> Option<&Arc<crate::breaker::Breakers>> {
        self.breakers.as_ref()
    }

    pub(crate) fn client(&self) -> &SubgraphClient {
        &self.client
    }

    pub(crate) fn limits(&self) -> &kit::config::LimitsConfig {
        &self.limits
    }

    pub fn supergraph(&self) -> Arc<Supergraph> {
        self.current.load().supergraph.clone()
    }

    /// Serves `supergraph` from now on. Requests already running finish on the
    /// one they started with; cached plans of the old one are never hit again
    /// (the supergraph hash is part of the key) and age out of the LRU.
    pub fn swap(&self, supergraph: Supergraph) {
        self.current
            .store(Arc::new(Loaded::new(Arc::new(supergraph))));
    }

    /// Runs an admitted operation (see `admission`): introspection, plan,
    /// fetches, response. `written` answers with `data` as JSON text (for
    /// the HTTP endpoint, which sends it on as it is: `GraphqlResponse::to_json`).
    pub(crate) async fn respond(
        &self,
        admitted: Admitted,
        headers: &HeaderMap,
        written: bool,
    ) -> GraphqlResponse {
        let Admitted {
            loaded,
            validated,
            variables,
            filtered,
            root_type,
            cost,
            ..
        } = admitted;
        let mut response = self
            .run(
                &loaded, &validated, variables, filtered, &root_type, headers, written,
            )
            .await;
        if let Some(cost) = cost {
            let mut extensions = Map::new();
            extensions.insert(
                "cost".into(),
                serde_json::json!({ "estimated": cost, "max": self.limits.max_cost }),
            );
            response.extensions = Some(extensions);
        }
        response
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        loaded: &Arc<Loaded>,
        validated: &Validated,
        variables: Map<String, Value>,
        filtered: Option<crate::authz::Filtered>,
        root_type: &str,
        headers: &HeaderMap,
        written: bool,
    ) -> GraphqlResponse {
        let parsed = &validated.parsed;
        let kind = parsed.kind();
        let supergraph = &loaded.supergraph;
        if kind == OperationType::Subscription {
            return GraphqlResponse::request_error(GraphqlError::new(
                ErrorCode::BadRequest,
                "subscriptions are served over WebSocket (graphql-transport-ws) or \
                 `Accept: text/event-stream` on /graphql",
            ));
        }

        let (intro_fields, only_introspection) = parsed.introspection_fields();
        if !self.introspection && !intro_fields.is_empty() {
            return GraphqlResponse::request_error(GraphqlError::new(
                ErrorCode::GraphqlValidationFailed,
                "introspection is turned off on this router",
            ));
        }
        let ctx = Ctx {
            variables: &variables,
            fragments: parsed.fragments(),
        };
        let intro_values: Vec<(String, Value)> = intro_fields
            .iter()
            .map(|f| {
                let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                (key, loaded.introspection.resolve_root(f, &ctx))
            })
            .collect();
        if only_introspection {
            let mut data = Map::new();
            for s in &parsed.operation_selections() {
                let key = s.alias.clone().unwrap_or_else(|| s.name.clone());
                let value = match s.name.as_str() {
                    "__typename" => Value::String(supergraph.schema.query.clone()),
                    _ => intro_values
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null),
                };
                data.insert(key, value);
            }
            return GraphqlResponse {
                data: Some(Value::Object(data)),
                ..Default::default()
            };
        }

        let prepared = match validated.prepared.get() {
            Some(p) => {
                metrics::counter!("marquee_router_plan_cache_hits_total").increment(1);
                p.clone()
            }
            None => {
                let planned = validated
                    .prepared
                    .get_or_try_init(|| self.prepare(loaded, parsed, intro_values.is_empty()))
                    .await;
                match planned {
                    Ok(p) => p.clone(),
                    Err(e) => return GraphqlResponse::request_error(e),
                }
            }
        };
        // Refused fields are planned away; the response is still shaped by
        // the whole operation, so they come back null.
        let (plan_of, auth_errors) = match filtered {
            None => (prepared.clone(), Vec::new()),
            Some(f) => {
                let reduced = ParsedOperation {
                    document: f.document,
                    index: 0,
                };
                match self
                    .prepare(loaded, &reduced, intro_values.is_empty())
                    .await
                {
                    Ok(p) => (p, f.errors),
                    Err(e) => return GraphqlResponse::request_error(e),
                }
            }
        };
        let bodies = crate::value::Bodies::default();
        let execution = Execution::new(
            supergraph,
            &self.client,
            &variables,
            headers,
            kind == OperationType::Query,
            &bodies,
        );
        if let Some(node) = &plan_of.plan.node {
            execution.run(node).await;
        }
        let raw = execution
            .data
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let mut errors = auth_errors;
        errors.extend(
            execution
                .errors
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let mut projection = Projection {
            schema: &supergraph.schema,
            variables: &variables,
            errors: &mut errors,
        };
        if written && intro_values.is_empty() {
            use std::sync::atomic::Ordering::Relaxed;
            let mut json = Vec::with_capacity(prepared.written_size.load(Relaxed).max(1024));
            json.extend_from_slice(crate::response::DATA_PREFIX);
            let selections = &prepared.operation.selection_set;
            if projection.write_root(selections, root_type, &raw, &mut json) {
                prepared.written_size.store(json.len() + 64, Relaxed);
                return GraphqlResponse {
                    errors,
                    data_json: Some(json),
                    ..Default::default()
                };
            }
        }
        let mut data = projection.root(&prepared.operation.selection_set, root_type, &raw);
        if let Value::Object(object) = &mut data {
            for (k, v) in intro_values {
                object.insert(k, v);
            }
        }
        GraphqlResponse {
            data: Some(data),
            errors,
            ..Default::default()
        }
    }

    /// Normalizes and plans, from the cache when the same normalized operation
    /// was planned against this supergraph before.
    pub(crate) async fn prepare(
        &self,
        loaded: &Arc<Loaded>,
        parsed: &ParsedOperation,
        whole_document: bool,
    ) -> Result<Arc<Prepared>, GraphqlError> {
        let supergraph = loaded.supergraph.clone();
        let stripped;
        let document = if whole_document {
            &parsed.document
        } else {
            stripped = parsed.without_introspection();
            &stripped
        };
        let normalized =
            normalize_operation(&supergraph.planner.supergraph, document, parsed.name()).map_err(
                |e| GraphqlError::new(ErrorCode::GraphqlValidationFailed, e.to_string()),
            )?;
        let operation = normalized.operation;
        let key = PlanKey {
            document: operation.to_string(),
            operation_name: normalized.operation_name,
            supergraph: supergraph.hash(),
        };
        let missed = AtomicBool::new(false);
        let timeout = self.planning_timeout;
        let result = self
            .plans
            .try_get_with(key, async {
                missed.store(true, Ordering::Relaxed);
                let planned = tokio::time::timeout(
                    timeout,
                    tokio::task::spawn_blocking(move || {
                        let token = CancellationToken::with_timeout(timeout);
                        let mut plan = supergraph
                            .planner
                            .plan_from_normalized_operation(
                                &operation,
                                PlannerOverrideContext::default(),
                                &token,
                            )
                            .map_err(|e| PlanError::Failed(e.to_string()))?;
                        if let Some(node) = plan.node.as_mut() {
                            supergraph.field_types.fix_plan(node);
                        }
                        Ok::<_, PlanError>(Arc::new(Prepared {
                            operation,
                            plan,
                            written_size: Default::default(),
                        }))
                    }),
                )
                .await;
                match planned {
                    Err(_) => Err(PlanError::Timeout(timeout)),
                    Ok(Err(join)) => Err(PlanError::Failed(join.to_string())),
                    Ok(Ok(result)) => result,
                }
            })
            .await;
        if missed.load(Ordering::Relaxed) {
            metrics::counter!("marquee_router_plan_cache_misses_total").increment(1);
        } else {
            metrics::counter!("marquee_router_plan_cache_hits_total").increment(1);
        }
        result.map_err(|e| {
            tracing::error!(error = %e, "query planning failed");
            match e.as_ref() {
                PlanError::Timeout(_) => GraphqlError::new(
                    ErrorCode::QueryTooComplex,
                    "the operation could not be planned in time",
                ),
                PlanError::Failed(_) => {
                    GraphqlError::new(ErrorCode::Internal, "the operation could not be planned")
                }
            }
        })
    }

    /// The plan the router would run for `query`, for tests and tooling.
    pub async fn plan(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, GraphqlError> {
        let loaded = self.current.load_full();
        let parsed = ParsedOperation::parse(query, operation_name)?;
        parsed
            .validate(&loaded.supergraph.schema)
            .map_err(|mut e| e.remove(0))?;
        Ok(self.prepare(&loaded, &parsed, true).await?.plan.clone())
    }
}
