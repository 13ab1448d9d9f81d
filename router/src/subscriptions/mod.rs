//! Subscriptions served from the event bus. A subscription is validated,
//! authorized and planned once when it starts; its root field's subject comes
//! from `@fromEvents` (see `fields`), and each event on that subject (shared
//! per router process by `hub`) becomes the root value: the entity its payload
//! names, fetched with `_entities` from the declaring subgraph with the
//! subscriber's token, or the payload itself. The rest of the plan (fields of
//! other subgraphs) then runs through the normal executor. Transports:
//! `ws` (graphql-transport-ws) and `sse` (GraphQL over SSE, distinct connections).

mod caps;
mod fields;
mod hub;
mod sse;
mod ws;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::planner::plan_nodes::{FetchNode, PlanNode};
use http::HeaderMap;
use kit::events::{Event, SharedBus};
use kit::ErrorCode;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::admission::{Admission, Rejection, Transport};
use crate::engine::{Engine, GraphqlRequest, Prepared};
use crate::execute::Execution;
use crate::fetch::SubgraphRequest;
use crate::operation::OperationType;
use crate::policy::Caller;
use crate::project::Projection;
use crate::response::{GraphqlError, GraphqlResponse, PathElem};
use crate::supergraph::Supergraph;

pub(crate) use fields::LiveField;
pub(crate) use sse::serve as serve_sse;
pub(crate) use ws::serve as serve_ws;

/// Most missed events a resuming subscription is sent before live ones.
const MAX_REPLAY: usize = 500;

type LiveFields = HashMap<String, LiveField>;

/// What serves subscriptions for one router: the engine, the bus fan-out and
/// the token verifier for `connection_init` payloads.
pub struct Live {
    engine: Arc<Engine>,
    bus: SharedBus,
    hub: hub::Hub,
    verifier: Option<Arc<kit::auth::Verifier>>,
    /// Operations over these transports count against the same limits as over HTTP.
    limiter: Option<crate::policy::RateLimiter>,
    /// Trusted-only mode and APQ hold here as over HTTP.
    persisted: Option<Arc<crate::persisted::Persisted>>,
    trusted_proxies: Vec<ipnet::IpNet>,
    prefix: String,
    /// `@fromEvents` fields of the supergraph with this hash.
    fields: Mutex<Option<(u64, Arc<LiveFields>)>>,
    /// Open sockets and streams, per client address and in all.
    connections: Arc<caps::Connections>,
    /// CSRF prevention as on `/graphql` over HTTP (`router.csrf_prevention`),
    /// and the browser origins a WebSocket may come from besides the router's own.
    csrf_prevention: bool,
    allowed_origins: Vec<String>,
    resolved: Resolved,
}

/// How an operation sent on a subscription transport starts.
pub(crate) enum Started {
    /// A query or mutation: its one response.
    Single(GraphqlResponse),
    Stream(Box<Subscription>),
}

impl Live {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: Arc<Engine>,
        bus: SharedBus,
        verifier: Option<Arc<kit::auth::Verifier>>,
        limiter: Option<crate::policy::RateLimiter>,
        persisted: Option<Arc<crate::persisted::Persisted>>,
        trusted_proxies: Vec<ipnet::IpNet>,
        subject_prefix: &str,
        limits: kit::config::LiveLimits,
    ) -> Self {
        Self {
            engine,
            limiter,
            persisted,
            trusted_proxies,
            hub: hub::Hub::new(bus.clone()),
            bus,
            verifier,
            prefix: subject_prefix.to_string(),
            fields: Mutex::new(None),
            resolved: Arc::new(Resolutions::default()),
            connections: caps::Connections::new(limits),
            csrf_prevention: false,
            allowed_origins: Vec::new(),
        }
    }

    /// Applies CSRF prevention to SSE (a simple request, one a cross-site
    /// page can send, is refused) and checks a WebSocket's `Origin` against
    /// the router's own host and `allowed_origins` (cross-site WebSocket hijacking).
    pub fn with_csrf_prevention(mut self, on: bool, allowed_origins: Vec<String>) -> Self {
        self.csrf_prevention = on;
        self.allowed_origins = allowed_origins;
        self
    }

    /// Whether a browser page of `origin` may open a socket here.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers
            .get(http::header::ORIGIN)
            .and_then(|o| o.to_str().ok())
        else {
            return true; // not a browser
        };
        if self.allowed_origins.iter().any(|o| o == "*" || o == origin) {
            return true;
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
    }

    pub(crate) fn verifier(&self) -> Option<&Arc<kit::auth::Verifier>> {
        self.verifier.as_ref()
    }

    /// The client's address as the rate limits count it.
    pub(crate) fn client_ip(
        &self,
        headers: &HeaderMap,
        peer: Option<std::net::SocketAddr>,
    ) -> Option<std::net::IpAddr> {
        crate::policy::client_ip(headers, peer, &self.trusted_proxies)
    }

    /// Subjects with at least one subscriber on this router.
    pub fn open_topics(&self) -> usize {
        self.hub.open_topics()
    }

    /// Open WebSockets and SSE streams on this router.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// The shared topic of `subject`; a new one only while this router
    /// holds fewer than `router.live.max_topics`.
    async fn join(&self, subject: &str) -> Result<Arc<hub::Topic>, Vec<GraphqlError>> {
        if self.hub.existing(subject).is_none()
            && self.hub.open_topics() >= self.connections.limits().max_topics
        {
            metrics::counter!("marquee_router_live_refused_total", "cap" => "topics").increment(1);
            return Err(vec![GraphqlError::new(
                ErrorCode::ServiceUnavailable,
                "the router follows as many live topics as it may; try again later",
            )]);
        }
        self.hub.join(subject).await.map_err(|e| {
            tracing::error!(error = %e, subject, "bus subscription failed");
            vec![GraphqlError::new(
                ErrorCode::ServiceUnavailable,
                "the event bus is unavailable",
            )]
        })
    }

    fn live_fields(&self, supergraph: &Supergraph) -> Arc<LiveFields> {
        let mut cached = self.fields.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some((hash, f)) if *hash == supergraph.hash() => f.clone(),
            _ => {
                let f = Arc::new(fields::live_fields(supergraph.sdl()));
                *cached = Some((supergraph.hash(), f.clone()));
                f
            }
        }
    }

    /// Validates, authorizes and plans `request` for `caller`; a subscription
    /// joins its subject's topic before returning, so no event published
    /// after this answer is missed.
    pub(crate) async fn start(
        &self,
        request: GraphqlRequest,
        caller: &Caller,
        headers: HeaderMap,
        transport: Transport,
    ) -> Result<Started, Rejection> {
        let gate = Admission {
            transport,
            caller: Some(caller),
            limiter: self.limiter.as_ref(),
            persisted: self.persisted.as_deref(),
        };
        let admitted = self.engine.admit(request, &gate).await?;
        if admitted.kind() != OperationType::Subscription {
            return Ok(Started::Single(
                self.engine.respond(admitted, &headers, false).await,
            ));
        }
        let refused = |errors| {
            Rejection::Refused(
                GraphqlResponse {
                    errors,
                    ..Default::default()
                },
                None,
            )
        };
        if let Some(f) = &admitted.filtered {
            if !f.errors.is_empty() {
                return Err(refused(f.errors.clone()));
            }
        }
        self.subscribe(admitted, caller, headers)
            .await
            .map_err(refused)
    }

    /// Joins an admitted subscription's topic (and its recheck subject),
    /// replays what a resuming subscriber missed, and shares resolutions
    /// with subscribers of the same operation.
    async fn subscribe(
        &self,
        admitted: crate::engine::Admitted,
        caller: &Caller,
        headers: HeaderMap,
    ) -> Result<Started, Vec<GraphqlError>> {
        let one = |e: GraphqlError| vec![e];
        let crate::engine::Admitted {
            loaded,
            validated,
            variables,
            root_type,
            ..
        } = admitted;
        let parsed = &validated.parsed;
        let supergraph = loaded.supergraph.clone();
        let roots = parsed.operation_selections();
        let [root] = roots.as_slice() else {
            return Err(one(GraphqlError::new(
                ErrorCode::GraphqlValidationFailed,
                "a subscription selects exactly one root field",
            )));
        };
        let live = self.live_fields(&supergraph);
        let field = live.get(&root.name).cloned().ok_or_else(|| {
            one(GraphqlError::new(
                ErrorCode::BadRequest,
                format!("`{}` is not served by this router", root.name),
            ))
        })?;
        let arguments: Map<String, Value> = root
            .arguments
            .iter()
            .map(|(k, v)| (k.clone(), crate::operation::value_to_json(v, &variables)))
            .collect();
        let viewer = caller.claims.as_ref().map(|c| c.sub.as_str());
        if field.needs_viewer() && viewer.is_none() {
            return Err(one(GraphqlError::new(
                ErrorCode::Unauthenticated,
                format!("`{}` needs a signed-in user", root.name),
            )));
        }
        let subject = field
            .subject_for(&self.prefix, viewer, &arguments)
            .map_err(one)?;
        // Checked before any topic is opened for it: a subscription the
        // caller may not have (a room it is not in, one made up) costs no
        // bus subscription.
        if let Some(check) = &field.check {
            run_check(&self.engine, check, &arguments, &headers, caller).await?;
        }
        let recheck = match (
            &field.check,
            field
                .recheck_for(&self.prefix, viewer, &arguments)
                .map_err(one)?,
        ) {
            (Some(query), Some(subject)) => {
                let topic = self.join(&subject).await?;
                // Checked again once the recheck subject is heard: a removal
                // between the first check and the join is not missed.
                run_check(&self.engine, query, &arguments, &headers, caller).await?;
                Some(Recheck {
                    receiver: topic.receiver(),
                    _topic: topic,
                    query: query.clone(),
                    arguments: arguments.clone(),
                    caller: caller.clone(),
                })
            }
            _ => None,
        };
        let prepared = self
            .engine
            .prepare(&loaded, parsed, true)
            .await
            .map_err(one)?;
        let plan = LivePlan::new(supergraph, prepared, variables, headers, field, root_type)
            .map_err(one)?;
        let topic = self.join(&subject).await?;
        let receiver = topic.receiver();
        // Joined first, replayed second: an event published in between is
        // both in the backlog and on the topic, and delivered once.
        let backlog = match resume_from(&plan.field, &arguments) {
            Some(cursor) => {
                let since = cursor_time(cursor);
                let missed = self
                    .bus
                    .replay(&subject, since, MAX_REPLAY)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, subject, "replay failed");
                        one(GraphqlError::new(
                            ErrorCode::ServiceUnavailable,
                            "the event bus is unavailable",
                        ))
                    })?;
                let mut missed = missed;
                // What the subscriber saw last and everything before it in
                // the stream's order (events of the cursor's millisecond may
                // come before it) are not sent again.
                if let Some(at) = missed.iter().position(|e| e.id == cursor) {
                    missed.drain(..=at);
                }
                missed.into_iter().map(Arc::new).collect()
            }
            None => VecDeque::new(),
        };
        let share_key = {
            let mut key = plan.prepared.operation.to_string();
            key.push('\n');
            key.push_str(&Value::Object(plan.variables.clone()).to_string());
            key.push('\n');
            if let Some(auth) = plan.headers.get(http::header::AUTHORIZATION) {
                key.push_str(&String::from_utf8_lossy(auth.as_bytes()));
            }
            // A cryptographic digest: subscribers of one key share answers,
            // so no one may craft another's key.
            <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()).into()
        };
        let plan = Arc::new(plan);
        let group = topic.group(share_key, || {
            Arc::new(Group {
                engine: self.engine.clone(),
                plan: plan.clone(),
                key: share_key,
                resolved: self.resolved.clone(),
            })
        });
        metrics::gauge!("marquee_router_subscriptions").increment(1.0);
        Ok(Started::Stream(Box::new(Subscription {
            engine: self.engine.clone(),
            plan,
            _group: group,
            _topic: topic,
            receiver,
            resolved: self.resolved.clone(),
            share_key,
            replayed: backlog.iter().map(|e| e.id).collect(),
            backlog,
            recheck,
        })))
    }
}

/// Runs a field's `check` query with the subscriber's token and the field's
/// arguments; its errors (without their paths, which mean nothing to the
/// subscriber) refuse or end the subscription.
async fn run_check(
    engine: &Engine,
    check: &str,
    arguments: &Map<String, Value>,
    headers: &HeaderMap,
    caller: &Caller,
) -> Result<(), Vec<GraphqlError>> {
    let gate = Admission {
        transport: Transport::Internal,
        caller: Some(caller),
        limiter: None,
        persisted: None,
    };
    let request = GraphqlRequest {
        query: Some(check.to_string()),
        variables: Some(arguments.clone()),
        ..Default::default()
    };
    let answer = match engine.admit(request, &gate).await {
        Ok(admitted) => engine.respond(admitted, headers, false).await,
        Err(rejection) => GraphqlResponse {
            errors: rejection.into_errors(),
            ..Default::default()
        },
    };
    if answer.errors.is_empty() {
        return Ok(());
    }
    Err(answer
        .errors
        .into_iter()
        .map(|mut e| {
            e.path = None;
            e.locations = None;
            e
        })
        .collect())
}

/// What a subscription with a `recheck` subject listens to besides its events.
struct Recheck {
    _topic: Arc<hub::Topic>,
    receiver: broadcast::Receiver<Arc<Event>>,
    query: String,
    arguments: Map<String, Value>,
    caller: Caller,
}

/// In front of `/graphql`: WebSocket upgrades and requests accepting
/// `text/event-stream` are subscription transports; anything else goes on to
/// GraphQL over HTTP.
pub(crate) async fn intercept(
    axum::extract::State(live): axum::extract::State<Arc<Live>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let headers = request.headers();
    let is_websocket = headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let wants_sse = headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    if !is_websocket && !wants_sse {
        return next.run(request).await;
    }
    if live.csrf_prevention {
        let refused = if is_websocket {
            (!live.origin_allowed(headers)).then_some((
                http::StatusCode::FORBIDDEN,
                "this origin may not open a WebSocket here",
            ))
        } else {
            let json = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
            let simple = request.method() == http::Method::GET || !json;
            (simple && !crate::policy::has_preflight_header(headers)).then_some((
                http::StatusCode::BAD_REQUEST,
                "SSE over GET, or POST without application/json, needs a `graphql-preflight: 1` header (CSRF prevention)",
            ))
        };
        if let Some((status, message)) = refused {
            let error = GraphqlError::new(
                if status == http::StatusCode::FORBIDDEN {
                    ErrorCode::Forbidden
                } else {
                    ErrorCode::BadRequest
                },
                message,
            );
            return (status, axum::Json(json!({ "errors": [error] }))).into_response();
        }
    }
    let mut forward = HeaderMap::new();
    if let Some(id) = request
        .extensions()
        .get::<kit::telemetry::RequestId>()
        .and_then(|r| http::HeaderValue::from_str(&r.0).ok())
    {
        forward.insert(kit::telemetry::REQUEST_ID, id);
    }
    if let Some(tp) = request
        .extensions()
        .get::<kit::telemetry::TraceContext>()
        .and_then(|t| http::HeaderValue::from_str(&t.header()).ok())
    {
        forward.insert(kit::telemetry::TRACEPARENT, tp);
    }
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| *a);
    let ip = live.client_ip(request.headers(), peer);
    if let Some(v) = ip.and_then(|ip| http::HeaderValue::from_str(&ip.to_string()).ok()) {
        forward.insert("x-forwarded-for", v);
    }
    // A place is taken before any work is done for the connection.
    let slot = live.connections.acquire(ip);
    if !is_websocket {
        let slot = match slot {
            Ok(s) => s,
            Err(full) => {
                let error = GraphqlError::new(
                    match full {
                        caps::Full::Client => ErrorCode::RateLimited,
                        caps::Full::Router => ErrorCode::ServiceUnavailable,
                    },
                    full.reason(),
                );
                return (
                    full.status(),
                    [(http::header::RETRY_AFTER, "5")],
                    axum::Json(json!({ "errors": [error] })),
                )
                    .into_response();
            }
        };
        let max_body = live.engine.limits().max_body_bytes;
        return serve_sse(live, request, forward, max_body, slot).await;
    }
    let (mut parts, _) = request.into_parts();
    let protocol_ok = parts
        .headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == ws::PROTOCOL);
    let upgrade =
        match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(u) => u,
            Err(rejection) => return rejection.into_response(),
        };
    // Only the upgrade's `Authorization` is kept, copied: the request's
    // header values are slices of the connection's read buffer (16 KiB),
    // which the socket would otherwise hold for as long as it is open.
    let mut headers = HeaderMap::new();
    if let Some(auth) = parts.headers.get(http::header::AUTHORIZATION) {
        headers.insert(http::header::AUTHORIZATION, detached(auth));
    }
    drop(parts);
    // Small buffers: most sockets idle, and a subscriber costs what they hold.
    // The read buffer grows for a large message; clients mostly send small ones.
    upgrade
        .protocols([ws::PROTOCOL])
        .read_buffer_size(1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(ws::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            match slot {
                Ok(slot) => serve_ws(live, socket, protocol_ok, headers, forward, ip, slot).await,
                Err(full) => ws::refuse(socket, full.close_code(), full.reason()).await,
            }
        })
}

/// A copy of `value` in its own allocation (a parsed request's values share
/// the connection's read buffer).
pub(crate) fn detached(value: &http::HeaderValue) -> http::HeaderValue {
    let mut copy =
        http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
    copy.set_sensitive(value.is_sensitive());
    copy
}

/// The cursor a resuming subscriber sent, when the field takes one.
fn resume_from(field: &LiveField, arguments: &Map<String, Value>) -> Option<Uuid> {
    let name = field.resume.as_ref()?;
    arguments
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// When the event `cursor` names happened: its UUIDv7 timestamp. The replay
/// starts there and skips up to the cursor itself.
fn cursor_time(cursor: Uuid) -> chrono::DateTime<chrono::Utc> {
    let (secs, nanos) = cursor
        .get_timestamp()
        .map(|t| t.to_unix())
        .unwrap_or((0, 0));
    let millis = (secs as i64) * 1000 + i64::from(nanos / 1_000_000);
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

/// The `_entities` fetch that turns an event into the root entity.
struct EntityStep {
    service: String,
    query: String,
    variable_usages: BTreeSet<String>,
}

/// A subscription planned once: what each event runs.
struct LivePlan {
    supergraph: Arc<Supergraph>,
    prepared: Arc<Prepared>,
    variables: Map<String, Value>,
    headers: HeaderMap,
    field: LiveField,
    root_type: String,
    response_key: String,
    entity: Option<EntityStep>,
}

impl LivePlan {
    /// The plan after its subscription fetch (fields of other subgraphs).
    fn rest(&self) -> &[PlanNode] {
        match &self.prepared.plan.node {
            Some(PlanNode::Sequence(seq)) => seq.nodes.get(1..).unwrap_or_default(),
            _ => &[],
        }
    }
}

impl LivePlan {
    fn new(
        supergraph: Arc<Supergraph>,
        prepared: Arc<Prepared>,
        variables: Map<String, Value>,
        headers: HeaderMap,
        field: LiveField,
        root_type: String,
    ) -> Result<Self, GraphqlError> {
        let unplannable =
            || GraphqlError::new(ErrorCode::Internal, "the subscription could not be planned");
        let primary = match &prepared.plan.node {
            Some(PlanNode::Subscription(s)) => &s.primary,
            Some(PlanNode::Sequence(seq)) => match seq.nodes.first() {
                Some(PlanNode::Subscription(s)) => &s.primary,
                _ => return Err(unplannable()),
            },
            _ => return Err(unplannable()),
        };
        let Some(SelectionItem::Field(root)) = primary
            .operation
            .document
            .operation
            .selection_set
            .items
            .first()
        else {
            return Err(unplannable());
        };
        let response_key = root.selection_identifier().to_string();
        let entity = match &field.source {
            fields::Source::Entity { .. } => Some(entity_step(primary, root, &field)?),
            fields::Source::Value { .. } => None,
        };
        Ok(Self {
            supergraph,
            prepared,
            variables,
            headers,
            field,
            root_type,
            response_key,
            entity,
        })
    }
}

/// `query { _entities(...) { ... on T { <the subscription fetch's selection> } } }`.
fn entity_step(
    primary: &FetchNode,
    root: &hive_router_query_planner::ast::selection_set::FieldSelection,
    field: &LiveField,
) -> Result<EntityStep, GraphqlError> {
    let document = &primary.operation.document;
    let mut usages = root.selections.variable_usages();
    for f in &document.fragments {
        usages.extend(f.selection_set.variable_usages());
    }
    let mut definitions = String::from("$representations: [_Any!]!");
    for def in document
        .operation
        .variable_definitions
        .iter()
        .flatten()
        .filter(|d| usages.contains(&d.name))
    {
        definitions.push_str(", ");
        definitions.push_str(&def.to_string());
    }
    let mut query = format!(
        "query({definitions}) {{ _entities(representations: $representations) {{ ... on {} {} }} }}",
        field.return_type, root.selections
    );
    for f in &document.fragments {
        query.push('\n');
        query.push_str(&f.to_string());
    }
    Ok(EntityStep {
        service: primary.service_name.clone(),
        query,
        variable_usages: usages,
    })
}

/// The subscribers of one share key, as their topic sees them: it resolves
/// their answer to each event before it wakes them.
struct Group {
    engine: Arc<Engine>,
    plan: Arc<LivePlan>,
    key: ShareKey,
    resolved: Resolved,
}

impl hub::Warm for Group {
    fn warm<'a>(&'a self, event: &'a Arc<Event>) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            let slot = self.resolved.slot((event.id, self.key));
            slot.get_or_init(|| self.plan.answer(&self.engine, event))
                .await;
        })
    }
}

/// One client's running subscription.
pub(crate) struct Subscription {
    engine: Arc<Engine>,
    plan: Arc<LivePlan>,
    /// Keeps its group warmed by the topic.
    _group: Arc<dyn hub::Warm>,
    _topic: Arc<hub::Topic>,
    receiver: broadcast::Receiver<Arc<Event>>,
    resolved: Resolved,
    /// Operation, variables and token: what `resolved` is shared by.
    share_key: ShareKey,
    /// Missed events of a resuming subscriber, sent before live ones.
    backlog: VecDeque<Arc<Event>>,
    recheck: Option<Recheck>,
    /// Ids in the backlog: the live events published between joining the
    /// topic and reading the backlog come again live, first, and are dropped.
    /// Emptied at the first live event that is new (the topic drops other
    /// repeats).
    replayed: HashSet<Uuid>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!("marquee_router_subscriptions").decrement(1.0);
    }
}

/// One delivered event: its `next` payload as JSON text (the response, with
/// the event id, the resume cursor, in `extensions.eventId`).
pub(crate) struct Delivered {
    pub payload: Arc<str>,
    /// The last one: the subscriber may no longer see this subscription (its
    /// recheck failed), the payload says why, and the stream completes.
    pub ends: bool,
}

/// What woke a subscription up.
enum Woken {
    Event(Result<Arc<Event>, broadcast::error::RecvError>),
    Recheck,
}

/// Subscribers whose operation, variables and token are the same see the same
/// answer to an event: it is resolved once for all of them, by their topic
/// before it wakes them (see `Group`), or by the first to ask when the topic
/// has too many groups to warm or the event comes from a resume's backlog
/// (the others wait for its answer). A plain locked map of the latest
/// `RESOLUTIONS` (event, share key) pairs: ten thousand subscribers of one
/// event take the lock ten thousand times, which costs far less than a
/// general cache's bookkeeping would; a subscriber so far behind that its
/// pair was dropped resolves again.
type Resolved = Arc<Resolutions>;

const RESOLUTIONS: usize = 4096;

/// One (event, share key) pair's answer, once resolved.
type Slot = Arc<tokio::sync::OnceCell<Option<Arc<str>>>>;

/// An event id and a share key.
type ResolutionKey = (Uuid, ShareKey);

/// What subscribers who may share one answer have in common: the SHA-256
/// of their operation, variables and token.
pub(crate) type ShareKey = [u8; 32];

#[derive(Default)]
pub(crate) struct Resolutions {
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    map: HashMap<ResolutionKey, Slot>,
    /// Oldest first, for dropping.
    order: VecDeque<ResolutionKey>,
}

impl Resolutions {
    fn slot(&self, key: ResolutionKey) -> Slot {
        let mut guard = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let Slots { map, order } = &mut *guard;
        if let Some(slot) = map.get(&key) {
            return slot.clone();
        }
        let slot = Slot::default();
        map.insert(key, slot.clone());
        order.push_back(key);
        if order.len() > RESOLUTIONS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        slot
    }
}

impl Subscription {
    /// The next event this subscriber may see, resolved; `None` when the
    /// topic closed.
    pub async fn next(&mut self) -> Option<Delivered> {
        loop {
            let from_backlog = !self.backlog.is_empty();
            let woken = match (self.backlog.pop_front(), &mut self.recheck) {
                (Some(e), _) => Woken::Event(Ok(e)),
                (None, None) => Woken::Event(self.receiver.recv().await),
                (None, Some(r)) => tokio::select! {
                    // A change of who may see this goes before the next event.
                    biased;
                    changed = r.receiver.recv() => match changed {
                        Err(broadcast::error::RecvError::Closed) => Woken::Event(Err(broadcast::error::RecvError::Closed)),
                        _ => Woken::Recheck,
                    },
                    e = self.receiver.recv() => Woken::Event(e),
                },
            };
            let received = match woken {
                Woken::Event(Ok(e)) if !self.replayed.is_empty() && !from_backlog => {
                    if self.replayed.remove(&e.id) {
                        continue;
                    }
                    self.replayed = HashSet::new();
                    Ok(e)
                }
                Woken::Event(e) => e,
                Woken::Recheck => {
                    let Some(r) = &self.recheck else { continue };
                    let checked = Box::pin(run_check(
                        &self.engine,
                        &r.query,
                        &r.arguments,
                        &self.plan.headers,
                        &r.caller,
                    ))
                    .await;
                    match checked {
                        Ok(()) => continue,
                        Err(errors) => {
                            let response = GraphqlResponse {
                                errors,
                                ..Default::default()
                            };
                            let payload = serde_json::to_string(&response)
                                .expect("responses always serialize");
                            return Some(Delivered {
                                payload: Arc::from(payload),
                                ends: true,
                            });
                        }
                    }
                }
            };
            let event = match received {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    metrics::counter!("marquee_router_subscription_lagged_total").increment(n);
                    tracing::warn!(skipped = n, "a slow subscriber skipped events");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let slot = self.resolved.slot((event.id, self.share_key));
            let answer = slot
                .get_or_init(|| self.plan.answer(&self.engine, &event))
                .await;
            if let Some(payload) = answer.clone() {
                metrics::counter!("marquee_router_subscription_deliveries_total").increment(1);
                return Some(Delivered {
                    payload,
                    ends: false,
                });
            }
        }
    }
}

/// What each event of a subscription runs, shared by the subscribers of one
/// share key.
impl LivePlan {
    /// The `next` payload for `event` as JSON text (the event id in
    /// `extensions.eventId`); `None` when the subscriber may not see it.
    async fn answer(&self, engine: &Engine, event: &Event) -> Option<Arc<str>> {
        // Boxed, so an idle subscription does not hold room for it.
        let response = Box::pin(self.resolve(engine, event)).await?;
        let mut payload = serde_json::to_value(&response).expect("responses always serialize");
        payload["extensions"] = json!({ "eventId": event.id });
        Some(Arc::from(payload.to_string()))
    }

    /// The response for `event`; `None` when the subscriber may not see it
    /// (its entity is hidden from them now) or it names no entity.
    async fn resolve(&self, engine: &Engine, event: &Event) -> Option<GraphqlResponse> {
        let plan = self;
        let mut errors = Vec::new();
        let root_value = match (&plan.field.source, &plan.entity) {
            (fields::Source::Entity { key }, Some(step)) => {
                let id = match event.payload.get(key) {
                    Some(Value::String(s)) => Value::String(s.clone()),
                    Some(Value::Number(n)) => Value::String(n.to_string()),
                    _ => {
                        tracing::warn!(event = %event.event_type, key, "an event without its entity key");
                        return None;
                    }
                };
                let representation = json!({ "__typename": plan.field.return_type, "id": id });
                self.fetch_entity(engine, step, representation, &mut errors)
                    .await?
            }
            (fields::Source::Value { member }, _) => match member {
                Some(m) => event.payload.get(m).cloned().unwrap_or(Value::Null),
                None => event.payload.clone(),
            },
            (fields::Source::Entity { .. }, None) => return None,
        };
        if root_value.is_null() {
            return None;
        }
        let supergraph = &plan.supergraph;
        let bodies = crate::value::Bodies::default();
        let execution = Execution::new(
            supergraph,
            engine.client(),
            &plan.variables,
            &plan.headers,
            true,
            &bodies,
        );
        let mut seed = crate::value::Object::with_capacity(1);
        seed.insert(
            std::borrow::Cow::Borrowed(plan.response_key.as_str()),
            crate::value::Value::from_serde(&root_value),
        );
        execution.seed(crate::value::Value::Object(seed));
        for node in plan.rest() {
            execution.run(node).await;
        }
        let raw = execution
            .data
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        errors.extend(
            execution
                .errors
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let data = Projection {
            schema: &supergraph.schema,
            variables: &plan.variables,
            errors: &mut errors,
        }
        .root(
            &plan.prepared.operation.selection_set,
            &plan.root_type,
            &raw,
        );
        Some(GraphqlResponse {
            data: Some(data),
            errors,
            ..Default::default()
        })
    }

    /// The entity `representation` names, as the subscriber may see it;
    /// `None` when the subgraph answers null for them (or cannot answer).
    async fn fetch_entity(
        &self,
        engine: &Engine,
        step: &EntityStep,
        representation: Value,
        errors: &mut Vec<GraphqlError>,
    ) -> Option<Value> {
        let plan = self;
        let mut variables = Map::new();
        for name in &step.variable_usages {
            if let Some(v) = plan.variables.get(name) {
                variables.insert(name.clone(), v.clone());
            }
        }
        variables.insert("representations".into(), json!([representation]));
        let body = serde_json::to_vec(&json!({ "query": step.query, "variables": variables }))
            .expect("JSON values always serialize");
        let request = SubgraphRequest {
            subgraph: step.service.clone(),
            url: plan
                .supergraph
                .endpoint(&step.service)
                .unwrap_or_default()
                .to_string(),
            body: body.into(),
            headers: plan.headers.clone(),
        };
        let response = match engine.client().fetch(request, true).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(subgraph = %step.service, error = %e, "an event's entity could not be fetched");
                return None;
            }
        };
        let Some((data, subgraph_errors)) = response.parse() else {
            tracing::warn!(subgraph = %step.service, "an event's entity fetch got no GraphQL response");
            return None;
        };
        let entity = data
            .as_ref()
            .and_then(|d| d.get("_entities"))
            .and_then(|e| e.get(0))
            .cloned()
            .filter(|e| !e.is_null())?;
        // Errors inside the entity keep their place under the root field.
        for e in &subgraph_errors {
            let rest: Vec<PathElem> = e
                .get("path")
                .and_then(Value::as_array)
                .map(|p| p.iter().skip(2).filter_map(PathElem::from_json).collect())
                .unwrap_or_default();
            let mut path = vec![PathElem::Key(plan.response_key.clone())];
            path.extend(rest);
            let mut error = GraphqlError::new(
                ErrorCode::Internal,
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("subgraph error"),
            )
            .at(path);
            if let Some(Value::Object(ext)) = e.get("extensions") {
                error.extensions = ext.clone();
            }
            errors.push(error.service(&step.service));
        }
        Some(entity)
    }
}
