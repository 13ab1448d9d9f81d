//! Runs a query plan: walks its nodes (sequence, parallel, condition, fetch,
//! flatten, batch fetch), sends each fetch to its subgraph once per step with
//! every entity representation of that step batched (and deduplicated), and
//! merges the answers into one response tree. The tree borrows its text from
//! the subgraphs' response bodies (`value`); response shaping (fragments,
//! null propagation) happens afterwards in `project`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use futures::future::{join_all, BoxFuture, FutureExt};
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::{
    FetchNodePathSegment, FetchRewrite, FlattenNodePath, FlattenNodePathSegment, PlanNode,
};
use http::HeaderMap;
use kit::ErrorCode;
use serde_json::Map;
use std::borrow::Cow;

use crate::fetch::{SubgraphClient, SubgraphRequest};
use crate::response::{GraphqlError, PathElem, Step};
use crate::supergraph::Supergraph;
use crate::value::{deep_merge, write_str, Answer, Bodies, Object, Value};

/// The state of one operation's execution.
pub(crate) struct Execution<'a> {
    pub supergraph: &'a Supergraph,
    pub client: &'a SubgraphClient,
    pub variables: &'a Map<String, serde_json::Value>,
    pub headers: &'a HeaderMap,
    /// Queries may share identical in-flight fetches; mutations never do.
    pub share_fetches: bool,
    /// The subgraphs' response bodies, which `data` borrows from.
    bodies: &'a Bodies,
    pub data: Mutex<Value<'a>>,
    pub errors: Mutex<Vec<GraphqlError>>,
}

/// One `_entities` selection of a fetch: where its entities live in the
/// response, what each representation holds, and where answers go.
struct EntityGroup<'p> {
    response_key: &'p str,
    variable: &'p str,
    paths: Vec<&'p FlattenNodePath>,
    requires: &'p SelectionSet,
    input_rewrites: Option<&'p Vec<FetchRewrite>>,
    output_rewrites: Option<&'p Vec<FetchRewrite>>,
}

/// A group's representations as JSON text (`a,b,...`, each distinct one
/// once) and, for each entity the group reaches, in walking order, which of
/// them it sent.
#[derive(Default)]
struct Representations {
    text: Vec<u8>,
    /// Where each distinct representation lies in `text`.
    spans: Vec<(usize, usize)>,
    by_hash: HashMap<u64, u32>,
    sent: Vec<u32>,
    /// Each entity's route from the root (member places and list indexes,
    /// all routes end to end, `route_ends` marking where each one stops), so
    /// the answers go back without looking a key up again.
    routes: Vec<u32>,
    route_ends: Vec<usize>,
}

/// In `Representations::sent`: the entity was not sent (its key is null).
const NOT_SENT: u32 = u32::MAX;

impl Representations {
    /// Records that the next entity is not sent.
    fn skip(&mut self) {
        self.sent.push(NOT_SENT);
    }

    /// Adds the representation `write` produces for the next entity.
    fn add(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let mark = self.text.len();
        if !self.spans.is_empty() {
            self.text.push(b',');
        }
        let start = self.text.len();
        write(&mut self.text);
        let hash = xxhash_rust::xxh3::xxh3_64(&self.text[start..]);
        if let Some(&i) = self.by_hash.get(&hash) {
            let (s, e) = self.spans[i as usize];
            if self.text[s..e] == self.text[start..] {
                self.text.truncate(mark);
                self.sent.push(i);
                return;
            }
        }
        let i = self.spans.len() as u32;
        self.spans.push((start, self.text.len()));
        self.by_hash.entry(hash).or_insert(i);
        self.sent.push(i);
    }
}

/// Where an entity is in the response, and which representation it was sent as.
type EntityPath = (Vec<PathElem>, u32);

struct FetchSpec<'p> {
    service: &'p str,
    query: &'p str,
    variable_usages: Option<&'p BTreeSet<String>>,
}

impl<'a> Execution<'a> {
    pub fn new(
        supergraph: &'a Supergraph,
        client: &'a SubgraphClient,
        variables: &'a Map<String, serde_json::Value>,
        headers: &'a HeaderMap,
        share_fetches: bool,
        bodies: &'a Bodies,
    ) -> Self {
        Self {
            supergraph,
            client,
            variables,
            headers,
            share_fetches,
            bodies,
            data: Mutex::new(Value::Object(Object::default())),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Starts from `data` instead of an empty object (a subscription's event).
    pub fn seed(&self, data: Value<'a>) {
        *self.data.lock().unwrap_or_else(|p| p.into_inner()) = data;
    }

    pub fn run<'s>(&'s self, node: &'s PlanNode) -> BoxFuture<'s, ()> {
        async move {
            match node {
                PlanNode::Sequence(s) => {
                    for n in &s.nodes {
                        self.run(n).await;
                    }
                }
                PlanNode::Parallel(p) => {
                    join_all(p.nodes.iter().map(|n| self.run(n))).await;
                }
                PlanNode::Condition(c) => {
                    let on = matches!(
                        self.variables.get(&c.condition),
                        Some(serde_json::Value::Bool(true))
                    );
                    let branch = if on { &c.if_clause } else { &c.else_clause };
                    if let Some(branch) = branch {
                        self.run(branch).await;
                    }
                }
                PlanNode::Fetch(f) => {
                    let spec = FetchSpec {
                        service: &f.service_name,
                        query: &f.operation.document_str,
                        variable_usages: f.variable_usages.as_ref(),
                    };
                    match &f.requires {
                        // A fetch with `requires` outside a flatten starts at the root.
                        Some(requires) => {
                            let root = root_path();
                            self.entity_fetch(
                                spec,
                                vec![EntityGroup {
                                    response_key: "_entities",
                                    variable: "representations",
                                    paths: vec![&root],
                                    requires,
                                    input_rewrites: f.input_rewrites.as_ref(),
                                    output_rewrites: f.output_rewrites.as_ref(),
                                }],
                            )
                            .await
                        }
                        None => {
                            self.root_fetch(spec, &f.operation, f.output_rewrites.as_deref())
                                .await
                        }
                    }
                }
                PlanNode::Flatten(flatten) => match flatten.node.as_ref() {
                    PlanNode::Fetch(f) => {
                        let Some(requires) = &f.requires else {
                            self.fail_unsupported("a flattened fetch without `requires`");
                            return;
                        };
                        let spec = FetchSpec {
                            service: &f.service_name,
                            query: &f.operation.document_str,
                            variable_usages: f.variable_usages.as_ref(),
                        };
                        self.entity_fetch(
                            spec,
                            vec![EntityGroup {
                                response_key: "_entities",
                                variable: "representations",
                                paths: vec![&flatten.path],
                                requires,
                                input_rewrites: f.input_rewrites.as_ref(),
                                output_rewrites: f.output_rewrites.as_ref(),
                            }],
                        )
                        .await
                    }
                    other => self.run(other).await,
                },
                PlanNode::BatchFetch(b) => {
                    let spec = FetchSpec {
                        service: &b.service_name,
                        query: &b.operation.document_str,
                        variable_usages: b.variable_usages.as_ref(),
                    };
                    let groups = b
                        .entity_batch
                        .aliases
                        .iter()
                        .map(|a| EntityGroup {
                            response_key: &a.alias,
                            variable: &a.representations_variable_name,
                            paths: a.merge_paths.iter().collect(),
                            requires: &a.requires,
                            input_rewrites: a.input_rewrites.as_ref(),
                            output_rewrites: a.output_rewrites.as_ref(),
                        })
                        .collect();
                    self.entity_fetch(spec, groups).await
                }
                PlanNode::Subscription(_) => self.fail_unsupported("subscriptions"),
                PlanNode::Defer(_) => self.fail_unsupported("@defer"),
            }
        }
        .boxed()
    }

    fn fail_unsupported(&self, what: &str) {
        self.push_errors([GraphqlError::new(
            ErrorCode::BadRequest,
            format!("{what} are not supported by this router yet"),
        )]);
    }

    fn push_errors(&self, errors: impl IntoIterator<Item = GraphqlError>) {
        self.errors
            .lock()
            .expect("errors lock is never poisoned")
            .extend(errors);
    }

    /// The `{query, variables}` body, written as text: the operation's own
    /// variables, then each `(name, representations)` list.
    fn request(&self, spec: &FetchSpec<'_>, lists: &[(&str, &[u8])]) -> SubgraphRequest {
        let extra: usize = lists.iter().map(|(_, l)| l.len() + 24).sum();
        let mut body = Vec::with_capacity(spec.query.len() + 64 + extra);
        body.extend_from_slice(b"{\"query\":");
        write_str(&mut body, spec.query);
        body.extend_from_slice(b",\"variables\":{");
        let mut first = true;
        let mut comma = |body: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                body.push(b',');
            }
        };
        for name in spec.variable_usages.into_iter().flatten() {
            if let Some(v) = self.variables.get(name) {
                comma(&mut body);
                write_str(&mut body, name);
                body.push(b':');
                serde_json::to_writer(&mut body, v).expect("JSON values always serialize");
            }
        }
        for (name, list) in lists {
            comma(&mut body);
            write_str(&mut body, name);
            body.extend_from_slice(b":[");
            body.extend_from_slice(list);
            body.push(b']');
        }
        body.extend_from_slice(b"}}");
        SubgraphRequest {
            subgraph: spec.service.to_string(),
            url: self
                .supergraph
                .endpoint(spec.service)
                .unwrap_or_default()
                .to_string(),
            body: body.into(),
            headers: self.headers.clone(),
        }
    }

    /// Sends `request` and parses the answer into a tree borrowing from the
    /// kept body; `Err` (already logged) when the subgraph did not answer
    /// with a GraphQL response.
    async fn send(&self, service: &str, request: SubgraphRequest) -> Result<Answer<'a>, ()> {
        let response = match self.client.fetch(request, self.share_fetches).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(subgraph = service, error = %e, "subgraph fetch failed");
                return Err(());
            }
        };
        let bodies: &'a Bodies = self.bodies;
        match Answer::parse(bodies.keep(response.body)) {
            Some(answer) => Ok(answer),
            None => {
                tracing::warn!(
                    subgraph = service,
                    "subgraph answered without a GraphQL response"
                );
                Err(())
            }
        }
    }

    async fn root_fetch(
        &self,
        spec: FetchSpec<'_>,
        document: &hive_router_query_planner::ast::operation::SubgraphFetchOperation,
        output_rewrites: Option<&[FetchRewrite]>,
    ) {
        let request = self.request(&spec, &[]);
        match self.send(spec.service, request).await {
            Ok(Answer { data, errors }) => {
                if let Some(mut fields @ Value::Object(_)) = data {
                    // Fields the planner aliased (the same response key with
                    // types the subgraph cannot merge) get their key back.
                    if let Some(rewrites) = output_rewrites {
                        let is_a = |c: &str, t: &str| self.type_matches(c, t);
                        apply_rewrites(&mut fields, rewrites, &is_a);
                    }
                    let mut root = self.data.lock().expect("data lock is never poisoned");
                    deep_merge(&mut root, fields);
                }
                self.push_errors(errors.iter().map(|e| {
                    let path = e
                        .get("path")
                        .and_then(serde_json::Value::as_array)
                        .map(|p| p.iter().filter_map(PathElem::from_json).collect());
                    subgraph_error(e, spec.service, path)
                }));
            }
            Err(()) => {
                let keys = document.document.operation.selection_set.items.iter();
                self.push_errors(keys.filter_map(|item| match item {
                    SelectionItem::Field(f) => Some(unavailable(
                        spec.service,
                        vec![PathElem::Key(f.selection_identifier().to_string())],
                    )),
                    _ => None,
                }));
            }
        }
    }

    /// Calls `f` with every entity `group` reaches in `data` that its
    /// `requires` applies to, in walking order, with its path.
    fn each_entity<'v>(
        &self,
        data: &'v Value<'a>,
        group: &EntityGroup<'_>,
        f: &mut dyn FnMut(&'v Object<'a>, &[Placed<'_>]),
    ) {
        let is_a = |condition: &str, typename: &str| self.type_matches(condition, typename);
        let mut path = Vec::new();
        for flatten in &group.paths {
            walk(
                data,
                flatten.as_slice(),
                &is_a,
                &mut path,
                &mut |object, path| {
                    if self.applies(group.requires, object) {
                        f(object, path)
                    }
                },
            );
        }
    }

    /// Each entity's path, by the representation it was sent as.
    fn entity_paths(&self, group: &EntityGroup<'_>, sent: &[u32]) -> Vec<EntityPath> {
        let data = self.data.lock().expect("data lock is never poisoned");
        let mut out = Vec::new();
        let mut sent = sent.iter();
        self.each_entity(&data, group, &mut |_, path| {
            if let Some(&i) = sent.next().filter(|&&i| i != NOT_SENT) {
                out.push((path.iter().map(|(s, _)| s.owned()).collect(), i));
            }
        });
        out
    }

    async fn entity_fetch(&self, spec: FetchSpec<'_>, groups: Vec<EntityGroup<'_>>) {
        let is_a = |condition: &str, typename: &str| self.type_matches(condition, typename);
        // Each group's (deduplicated) representations, written as text.
        let mut located: Vec<Representations> = Vec::with_capacity(groups.len());
        {
            let data = self.data.lock().expect("data lock is never poisoned");
            for group in &groups {
                let mut reps = Representations::default();
                self.each_entity(&data, group, &mut |entity, path| {
                    reps.routes.extend(path.iter().map(|&(_, place)| place));
                    reps.route_ends.push(reps.routes.len());
                    let mut rep = self.representation(group.requires, entity);
                    if let Some(rewrites) = group.input_rewrites {
                        apply_rewrites(&mut rep, rewrites, &is_a);
                    }
                    if self.supergraph.keys.identifies(spec.service, &rep) {
                        reps.add(|out| rep.write_json(out));
                    } else {
                        reps.skip();
                    }
                });
                located.push(reps);
            }
        }
        if located.iter().all(|r| r.spans.is_empty()) {
            return;
        }
        let lists: Vec<(&str, &[u8])> = groups
            .iter()
            .zip(&located)
            .map(|(g, r)| (g.variable, r.text.as_slice()))
            .collect();
        let request = self.request(&spec, &lists);
        let Ok(Answer { mut data, errors }) = self.send(spec.service, request).await else {
            let mut failed = Vec::new();
            for (group, reps) in groups.iter().zip(&located) {
                let paths = self.entity_paths(group, &reps.sent);
                failed.extend(paths.into_iter().map(|(p, _)| unavailable(spec.service, p)));
            }
            self.push_errors(failed);
            return;
        };
        if !errors.is_empty() {
            let rewritten = self.entity_errors(&spec, &groups, &located, data.as_ref(), &errors);
            self.push_errors(rewritten);
        }
        let mut root = self.data.lock().expect("data lock is never poisoned");
        for (group, reps) in groups.iter().zip(&located) {
            let Some(Value::Array(entities)) = data
                .as_mut()
                .and_then(Value::as_object_mut)
                .and_then(|d| d.remove(group.response_key))
            else {
                continue;
            };
            // Each answer moves into the response; one sent for several
            // entities (deduplicated) is copied for all but the last.
            let mut uses = vec![0usize; entities.len()];
            for &i in &reps.sent {
                if let Some(u) = uses.get_mut(i as usize) {
                    *u += 1;
                }
            }
            let mut answers: Vec<Option<Value<'a>>> = entities.into_iter().map(Some).collect();
            let mut start = 0;
            for (&idx, &end) in reps.sent.iter().zip(&reps.route_ends) {
                let route = &reps.routes[start..end];
                start = end;
                let Some(target @ Value::Object(_)) = at_route(&mut root, route) else {
                    continue;
                };
                let idx = idx as usize;
                let (Some(slot), Some(left)) = (answers.get_mut(idx), uses.get_mut(idx)) else {
                    continue;
                };
                *left -= 1;
                let answer = if *left == 0 {
                    slot.take()
                } else {
                    slot.clone()
                };
                let Some(mut answer) = answer else {
                    continue;
                };
                if let Some(rewrites) = group.output_rewrites {
                    apply_rewrites(&mut answer, rewrites, &is_a);
                }
                deep_merge(target, answer);
            }
        }
    }

    /// `["_entities", i, ...rest]` becomes `<path of every entity sent as i> ++ rest`.
    fn entity_errors(
        &self,
        spec: &FetchSpec<'_>,
        groups: &[EntityGroup<'_>],
        located: &[Representations],
        data: Option<&Value<'a>>,
        errors: &[serde_json::Value],
    ) -> Vec<GraphqlError> {
        let mut paths_of: Vec<Option<Vec<EntityPath>>> = vec![None; groups.len()];
        let mut rewritten = Vec::new();
        for e in errors {
            let path = e.get("path").and_then(serde_json::Value::as_array);
            let target = path.and_then(|p| {
                let key = p.first()?.as_str()?;
                let gi = groups.iter().position(|g| g.response_key == key)?;
                Some(match p.get(1).and_then(serde_json::Value::as_u64) {
                    Some(idx) => (gi, Some(idx as usize), &p[2..]),
                    None => (gi, None, &p[1..]),
                })
            });
            let Some((gi, idx, rest)) = target else {
                rewritten.push(subgraph_error(e, spec.service, None));
                continue;
            };
            let paths = paths_of[gi]
                .get_or_insert_with(|| self.entity_paths(&groups[gi], &located[gi].sent));
            let answers = data
                .and_then(Value::as_object)
                .and_then(|d| d.get(groups[gi].response_key))
                .and_then(|a| match a {
                    Value::Array(items) => Some(items),
                    _ => None,
                });
            // Some subgraphs (async-graphql) drop the index from `_entities`
            // error paths and null the failed entity: the null answers say
            // which entities the error belongs to.
            let belongs = |r: usize| match idx {
                Some(i) => r == i,
                None => answers.is_some_and(|a| a.get(r).is_none_or(Value::is_null)),
            };
            let mut placed = false;
            for (path, _) in paths.iter().filter(|(_, r)| belongs(*r as usize)) {
                let mut full = path.clone();
                full.extend(rest.iter().filter_map(PathElem::from_json));
                rewritten.push(subgraph_error(e, spec.service, Some(full)));
                placed = true;
            }
            if !placed {
                rewritten.push(subgraph_error(e, spec.service, Some(common_prefix(paths))));
            }
        }
        rewritten
    }

    /// The representation of `entity` for a fetch whose `requires` selection is
    /// given: the key (and `@requires`) fields of the matching type fragments.
    fn representation<'r>(&self, requires: &'r SelectionSet, entity: &Object<'r>) -> Value<'r> {
        let typename = entity.typename().unwrap_or_default();
        let mut out = Object::with_capacity(4);
        for item in &requires.items {
            if let SelectionItem::InlineFragment(f) = item {
                if self.type_matches(&f.type_condition, typename) {
                    let is_a = |c: &str, t: &str| self.type_matches(c, t);
                    copy_selection(&f.selections, entity, &mut out, &is_a);
                }
            }
        }
        if out.get("__typename").is_none() {
            out.insert(
                Cow::Borrowed("__typename"),
                Value::String(Cow::Owned(typename.to_string())),
            );
        }
        Value::Object(out)
    }

    /// Whether `requires` has a type fragment for the entity's `__typename`.
    fn applies(&self, requires: &SelectionSet, entity: &Object<'_>) -> bool {
        let Some(typename) = entity.typename() else {
            return false;
        };
        requires.items.iter().any(|item| {
            matches!(item, SelectionItem::InlineFragment(f)
                if self.type_matches(&f.type_condition, typename))
        })
    }

    fn type_matches(&self, condition: &str, typename: &str) -> bool {
        condition == typename
            || self.supergraph.schema.type_applies(condition, typename)
            || self
                .supergraph
                .planner
                .supergraph
                .interface_members(condition)
                .is_some_and(|m| m.contains(typename))
    }
}

/// Whether an object of the second type is an instance of the first.
type TypeMatcher<'a> = dyn Fn(&str, &str) -> bool + 'a;

/// The longest path every entity's path starts with.
fn common_prefix(paths: &[EntityPath]) -> Vec<PathElem> {
    let Some((first, _)) = paths.first() else {
        return Vec::new();
    };
    let mut len = first.len();
    for (p, _) in &paths[1..] {
        len = len.min(first.iter().zip(p).take_while(|(a, b)| a == b).count());
    }
    first[..len].to_vec()
}

fn root_path() -> FlattenNodePath {
    serde_json::from_value(serde_json::Value::Array(vec![])).expect("an empty path deserializes")
}

fn unavailable(service: &str, path: Vec<PathElem>) -> GraphqlError {
    GraphqlError::new(
        ErrorCode::SubgraphUnavailable,
        format!("subgraph `{service}` is unavailable"),
    )
    .service(service)
    .at(path)
}

/// A subgraph's error, moved to the client's path; its own code is kept (the
/// subgraph speaks kit's list too), `serviceName` says where it came from.
fn subgraph_error(
    e: &serde_json::Value,
    service: &str,
    path: Option<Vec<PathElem>>,
) -> GraphqlError {
    let message = e
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("subgraph error")
        .to_string();
    let mut extensions = e
        .get("extensions")
        .and_then(serde_json::Value::as_object)
        .cloned()
        .unwrap_or_default();
    extensions
        .entry("code")
        .or_insert_with(|| serde_json::Value::String(ErrorCode::Internal.as_str().into()));
    extensions.insert(
        "serviceName".into(),
        serde_json::Value::String(service.into()),
    );
    GraphqlError {
        message,
        locations: None,
        path,
        extensions,
    }
}

/// Copies the fields `selections` names from `object` into `out`, as
/// representations are keyed. A required field the planner had to fetch
/// under an internal alias (the same field with other arguments was
/// selected too) reads `alias: name` here: it is read from the response
/// under `name` and written under `alias`, the field's own name.
fn copy_selection<'r>(
    selections: &'r SelectionSet,
    object: &Object<'r>,
    out: &mut Object<'r>,
    is_a: &TypeMatcher<'_>,
) {
    for item in &selections.items {
        match item {
            SelectionItem::Field(f) => {
                let Some(v) = object.get(&f.name) else {
                    continue;
                };
                let v = if f.selections.items.is_empty() {
                    v.clone()
                } else {
                    copy_nested(&f.selections, v, is_a)
                };
                out.insert(Cow::Borrowed(f.selection_identifier()), v);
            }
            SelectionItem::InlineFragment(frag) => {
                // The condition may be abstract (`... on Media` inside a
                // `@requires` selection): it applies to its implementations.
                let applies = object
                    .typename()
                    .is_none_or(|t| is_a(&frag.type_condition, t));
                if applies {
                    copy_selection(&frag.selections, object, out, is_a);
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
}

fn copy_nested<'r>(
    selections: &'r SelectionSet,
    value: &Value<'r>,
    is_a: &TypeMatcher<'_>,
) -> Value<'r> {
    match value {
        Value::Object(o) => {
            let mut out = Object::with_capacity(o.len());
            copy_selection(selections, o, &mut out, is_a);
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| copy_nested(selections, i, is_a))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn apply_rewrites(value: &mut Value<'_>, rewrites: &[FetchRewrite], is_a: &TypeMatcher<'_>) {
    for rewrite in rewrites {
        match rewrite {
            FetchRewrite::ValueSetter(s) => rewrite_at(value, &s.path, is_a, &mut |parent, key| {
                parent.insert(
                    Cow::Owned(key.to_string()),
                    Value::String(Cow::Owned(s.set_value_to.clone())),
                );
            }),
            FetchRewrite::KeyRenamer(r) => rewrite_at(value, &r.path, is_a, &mut |parent, key| {
                if let Some(v) = parent.remove(key) {
                    parent.insert(Cow::Owned(r.rename_key_to.clone()), v);
                }
            }),
        }
    }
}

/// Calls `f(parent, last_key)` at every place `path` reaches in `value`.
fn rewrite_at<'a>(
    value: &mut Value<'a>,
    path: &[FetchNodePathSegment],
    is_a: &TypeMatcher<'_>,
    f: &mut dyn FnMut(&mut Object<'a>, &str),
) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_at(i, path, is_a, f)),
        Value::Object(object) => rewrite_object(object, path, is_a, f),
        _ => {}
    }
}

fn rewrite_object<'a>(
    object: &mut Object<'a>,
    path: &[FetchNodePathSegment],
    is_a: &TypeMatcher<'_>,
    f: &mut dyn FnMut(&mut Object<'a>, &str),
) {
    match path {
        [] => {}
        [FetchNodePathSegment::TypenameEquals(types), rest @ ..] => {
            let matches = object
                .typename()
                .is_some_and(|t| types.iter().any(|c| is_a(c, t)));
            if matches {
                rewrite_object(object, rest, is_a, f);
            }
        }
        [FetchNodePathSegment::Key(key)] => f(object, key),
        [FetchNodePathSegment::Key(key), rest @ ..] => {
            if let Some(child) = object.get_mut(key) {
                rewrite_at(child, rest, is_a, f);
            }
        }
    }
}

/// One step of a path, with its place (see `walk`).
type Placed<'p> = (Step<'p>, u32);

/// Calls `f` with every object `flatten` reaches in `value` (keys, list
/// items, type conditions), with its path: each step with its place (the
/// member's place in its object, the item's index in its list).
fn walk<'v, 'a, 'p>(
    value: &'v Value<'a>,
    flatten: &'p [FlattenNodePathSegment],
    is_a: &TypeMatcher<'_>,
    path: &mut Vec<Placed<'p>>,
    f: &mut dyn FnMut(&'v Object<'a>, &[Placed<'p>]),
) {
    match (flatten, value) {
        ([], Value::Object(o)) => f(o, path),
        ([FlattenNodePathSegment::Field(name), rest @ ..], Value::Object(o)) => {
            if let Some((place, child)) = o.get_at(name) {
                path.push((Step::Key(name), place as u32));
                walk(child, rest, is_a, path, f);
                path.pop();
            }
        }
        ([FlattenNodePathSegment::TypeCondition(types), rest @ ..], Value::Object(o))
            if o.typename()
                .is_some_and(|t| types.iter().any(|c| is_a(c, t))) =>
        {
            walk(value, rest, is_a, path, f);
        }
        // `@` walks a list's items; a list where the path expects an object
        // (or a path that ends on a list) means each of its items too.
        (_, Value::Array(items)) => {
            let rest = match flatten {
                [FlattenNodePathSegment::List, rest @ ..] => rest,
                _ => flatten,
            };
            for (i, item) in items.iter().enumerate() {
                path.push((Step::Index(i), i as u32));
                walk(item, rest, is_a, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The value `route` (places, from `walk`) leads to.
fn at_route<'t, 'a>(mut value: &'t mut Value<'a>, route: &[u32]) -> Option<&'t mut Value<'a>> {
    for &place in route {
        value = match value {
            Value::Object(o) => o.member_mut(place as usize)?,
            Value::Array(items) => items.get_mut(place as usize)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representations_are_sent_once_each_and_remembered_per_entity() {
        let mut reps = Representations::default();
        for text in [
            r#"{"id":"1"}"#,
            r#"{"id":"2"}"#,
            r#"{"id":"1"}"#,
            r#"{"id":"3"}"#,
        ] {
            reps.add(|out| out.extend_from_slice(text.as_bytes()));
        }
        assert_eq!(
            std::str::from_utf8(&reps.text).unwrap(),
            r#"{"id":"1"},{"id":"2"},{"id":"3"}"#
        );
        assert_eq!(reps.sent, vec![0, 1, 0, 2]);
        assert_eq!(reps.spans.len(), 3);
    }

    #[test]
    fn flatten_paths_walk_lists_and_type_conditions() {
        let text = r#"{"feed": [
            {"__typename": "Movie", "id": 1},
            {"__typename": "Series", "id": 2},
            null,
            {"__typename": "Movie", "id": 3}
        ]}"#;
        let data: Value = serde_json::from_str(text).unwrap();
        let path: FlattenNodePath = serde_json::from_value(
            serde_json::json!([{"Field": "feed"}, "@", {"TypeCondition": ["Movie"]}]),
        )
        .unwrap();
        let exact = |c: &str, t: &str| c == t;
        let mut found = Vec::new();
        let mut routes = Vec::new();
        walk(
            &data,
            path.as_slice(),
            &exact,
            &mut Vec::new(),
            &mut |o, p| {
                found.push((
                    p.iter().map(|(s, _)| s.owned()).collect::<Vec<_>>(),
                    o.get("id").cloned(),
                ));
                routes.push(p.iter().map(|&(_, place)| place).collect::<Vec<_>>());
            },
        );
        assert_eq!(
            found,
            vec![
                (
                    vec![PathElem::Key("feed".into()), PathElem::Index(0)],
                    Some(Value::Number(1.into()))
                ),
                (
                    vec![PathElem::Key("feed".into()), PathElem::Index(3)],
                    Some(Value::Number(3.into()))
                ),
            ]
        );
        assert_eq!(routes, vec![vec![0, 0], vec![0, 3]]);
        let mut data = data;
        let target = at_route(&mut data, &routes[1]).unwrap();
        deep_merge(target, serde_json::from_str(r#"{"t": "x"}"#).unwrap());
        assert!(at_route(&mut data, &[0, 9]).is_none());
        assert_eq!(
            data.to_serde()["feed"][3],
            serde_json::json!({"__typename": "Movie", "id": 3, "t": "x"})
        );
    }
}
