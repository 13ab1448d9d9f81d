//! Runs a query plan: walks its nodes (sequence, parallel, condition, fetch,
//! flatten, batch fetch), sends each fetch to its subgraph once per step with
//! every entity representation of that step batched, and merges the answers
//! into one response tree. Response shaping (aliases already applied by the
//! planner, fragments, null propagation) happens afterwards in `project`.

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
use serde_json::{Map, Value};

use crate::fetch::{SubgraphClient, SubgraphRequest, SubgraphResponse};
use crate::response::{GraphqlError, PathElem};
use crate::supergraph::Supergraph;

/// The state of one operation's execution.
pub(crate) struct Execution<'a> {
    pub supergraph: &'a Supergraph,
    pub client: &'a SubgraphClient,
    pub variables: &'a Map<String, Value>,
    pub headers: &'a HeaderMap,
    /// Queries may share identical in-flight fetches; mutations never do.
    pub share_fetches: bool,
    pub data: Mutex<Value>,
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

struct FetchSpec<'p> {
    service: &'p str,
    query: &'p str,
    variable_usages: Option<&'p BTreeSet<String>>,
}

impl<'a> Execution<'a> {
    pub fn new(
        supergraph: &'a Supergraph,
        client: &'a SubgraphClient,
        variables: &'a Map<String, Value>,
        headers: &'a HeaderMap,
        share_fetches: bool,
    ) -> Self {
        Self {
            supergraph,
            client,
            variables,
            headers,
            share_fetches,
            data: Mutex::new(Value::Object(Map::new())),
            errors: Mutex::new(Vec::new()),
        }
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
                    let on = matches!(self.variables.get(&c.condition), Some(Value::Bool(true)));
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
                        None => self.root_fetch(spec, &f.operation).await,
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

    fn request(&self, spec: &FetchSpec<'_>, extra: Map<String, Value>) -> SubgraphRequest {
        let mut variables = extra;
        if let Some(usages) = spec.variable_usages {
            for name in usages {
                if let Some(v) = self.variables.get(name) {
                    variables.insert(name.clone(), v.clone());
                }
            }
        }
        #[derive(serde::Serialize)]
        struct Body<'b> {
            query: &'b str,
            variables: &'b Map<String, Value>,
        }
        let body = serde_json::to_vec(&Body {
            query: spec.query,
            variables: &variables,
        })
        .expect("JSON values always serialize");
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

    async fn root_fetch(
        &self,
        spec: FetchSpec<'_>,
        document: &hive_router_query_planner::ast::operation::SubgraphFetchOperation,
    ) {
        let request = self.request(&spec, Map::new());
        match self.client.fetch(request, self.share_fetches).await {
            Ok(response) => {
                let SubgraphResponse { data, errors } = owned(response);
                if let Some(fields @ Value::Object(_)) = data {
                    let mut root = self.data.lock().expect("data lock is never poisoned");
                    deep_merge(&mut root, fields);
                }
                self.push_errors(errors.iter().map(|e| {
                    let path = e
                        .get("path")
                        .and_then(Value::as_array)
                        .map(|p| p.iter().filter_map(PathElem::from_json).collect());
                    subgraph_error(e, spec.service, path)
                }));
            }
            Err(e) => {
                tracing::warn!(subgraph = spec.service, error = %e, "subgraph fetch failed");
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

    async fn entity_fetch(&self, spec: FetchSpec<'_>, groups: Vec<EntityGroup<'_>>) {
        // Gather each group's entities and their (deduplicated) representations.
        let mut located: Vec<(Vec<Vec<PathElem>>, Vec<usize>)> = Vec::new();
        let mut variables = Map::new();
        let mut any = false;
        let is_a = |condition: &str, typename: &str| self.type_matches(condition, typename);
        {
            let data = self.data.lock().expect("data lock is never poisoned");
            for group in &groups {
                let mut paths = Vec::new();
                for flatten_path in &group.paths {
                    collect_paths(
                        &data,
                        flatten_path.as_slice(),
                        &is_a,
                        &mut Vec::new(),
                        &mut paths,
                    );
                }
                let mut representations: Vec<Value> = Vec::new();
                let mut index_of: HashMap<String, usize> = HashMap::new();
                let mut kept_paths = Vec::new();
                let mut rep_index = Vec::new();
                for (path, entity) in paths {
                    let Some(mut rep) = self.representation(group.requires, entity) else {
                        continue;
                    };
                    if let Some(rewrites) = group.input_rewrites {
                        apply_rewrites(&mut rep, rewrites, &is_a);
                    }
                    let key = rep.to_string();
                    let idx = *index_of.entry(key).or_insert_with(|| {
                        representations.push(rep);
                        representations.len() - 1
                    });
                    kept_paths.push(path);
                    rep_index.push(idx);
                }
                any |= !representations.is_empty();
                variables.insert(group.variable.to_string(), Value::Array(representations));
                located.push((kept_paths, rep_index));
            }
        }
        if !any {
            return;
        }
        let request = self.request(&spec, variables);
        let response = match self.client.fetch(request, self.share_fetches).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(subgraph = spec.service, error = %e, "subgraph fetch failed");
                self.push_errors(
                    located
                        .iter()
                        .flat_map(|(paths, _)| paths.iter())
                        .map(|p| unavailable(spec.service, p.clone())),
                );
                return;
            }
        };
        let SubgraphResponse { mut data, errors } = owned(response);
        // `["_entities", i, ...rest]` becomes `<path of every entity sent as i> ++ rest`.
        let mut rewritten = Vec::new();
        for e in &errors {
            let path = e.get("path").and_then(Value::as_array);
            let target = path.and_then(|p| {
                let key = p.first()?.as_str()?;
                let gi = groups.iter().position(|g| g.response_key == key)?;
                Some(match p.get(1).and_then(Value::as_u64) {
                    Some(idx) => (gi, Some(idx as usize), &p[2..]),
                    None => (gi, None, &p[1..]),
                })
            });
            let Some((gi, idx, rest)) = target else {
                rewritten.push(subgraph_error(e, spec.service, None));
                continue;
            };
            let (paths, rep_index) = &located[gi];
            let answers = data
                .as_ref()
                .and_then(|d| d.get(groups[gi].response_key))
                .and_then(Value::as_array);
            // Some subgraphs (async-graphql) drop the index from `_entities`
            // error paths and null the failed entity: the null answers say
            // which entities the error belongs to.
            let belongs = |r: usize| match idx {
                Some(i) => r == i,
                None => answers.is_some_and(|a| a.get(r).is_none_or(Value::is_null)),
            };
            let mut placed = false;
            for (path, _) in paths.iter().zip(rep_index).filter(|(_, &r)| belongs(r)) {
                let mut full = path.clone();
                full.extend(rest.iter().filter_map(PathElem::from_json));
                rewritten.push(subgraph_error(e, spec.service, Some(full)));
                placed = true;
            }
            if !placed {
                rewritten.push(subgraph_error(e, spec.service, Some(common_prefix(paths))));
            }
        }
        self.push_errors(rewritten);
        {
            let mut root = self.data.lock().expect("data lock is never poisoned");
            for (group, (paths, rep_index)) in groups.iter().zip(&located) {
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
                for &i in rep_index {
                    if let Some(u) = uses.get_mut(i) {
                        *u += 1;
                    }
                }
                let mut answers: Vec<Option<Value>> = entities.into_iter().map(Some).collect();
                for (path, &idx) in paths.iter().zip(rep_index) {
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
                    if let Some(target) = value_at_mut(&mut root, path) {
                        deep_merge(target, answer);
                    }
                }
            }
        }
    }

    /// The representation of `entity` for a fetch whose `requires` selection is
    /// given: the key (and `@requires`) fields of the matching type fragment.
    fn representation(&self, requires: &SelectionSet, entity: &Value) -> Option<Value> {
        let object = entity.as_object()?;
        let typename = object.get("__typename").and_then(Value::as_str)?;
        let mut out = Map::new();
        let mut matched = false;
        for item in &requires.items {
            if let SelectionItem::InlineFragment(f) = item {
                if self.type_matches(&f.type_condition, typename) {
                    matched = true;
                    copy_selection(&f.selections, object, &mut out);
                }
            }
        }
        if !matched {
            return None;
        }
        out.entry("__typename")
            .or_insert_with(|| Value::String(typename.to_string()));
        Some(Value::Object(out))
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

/// The subgraph's answer to keep: moved out when this fetch is its only
/// reader, copied when an identical in-flight fetch shares it.
fn owned(response: std::sync::Arc<SubgraphResponse>) -> SubgraphResponse {
    std::sync::Arc::try_unwrap(response).unwrap_or_else(|shared| SubgraphResponse {
        data: shared.data.clone(),
        errors: shared.errors.clone(),
    })
}

/// Whether an object of the second type is an instance of the first.
type TypeMatcher<'a> = dyn Fn(&str, &str) -> bool + 'a;

fn common_prefix(paths: &[Vec<PathElem>]) -> Vec<PathElem> {
    let Some(first) = paths.first() else {
        return Vec::new();
    };
    let mut len = first.len();
    for p in &paths[1..] {
        len = len.min(first.iter().zip(p).take_while(|(a, b)| a == b).count());
    }
    first[..len].to_vec()
}

fn root_path() -> FlattenNodePath {
    serde_json::from_value(Value::Array(vec![])).expect("an empty path deserializes")
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
fn subgraph_error(e: &Value, service: &str, path: Option<Vec<PathElem>>) -> GraphqlError {
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("subgraph error")
        .to_string();
    let mut extensions = e
        .get("extensions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    extensions
        .entry("code")
        .or_insert_with(|| Value::String(ErrorCode::Internal.as_str().into()));
    extensions.insert("serviceName".into(), Value::String(service.into()));
    GraphqlError {
        message,
        locations: None,
        path,
        extensions,
    }
}

/// Copies the fields `selections` names from `object` (by response key) into
/// `out` (by field name, as representations are keyed).
fn copy_selection(
    selections: &SelectionSet,
    object: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    for item in &selections.items {
        match item {
            SelectionItem::Field(f) => {
                let Some(v) = object.get(f.selection_identifier()) else {
                    continue;
                };
                let v = if f.selections.items.is_empty() {
                    v.clone()
                } else {
                    copy_nested(&f.selections, v)
                };
                out.insert(f.name.clone(), v);
            }
            SelectionItem::InlineFragment(frag) => {
                let applies = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == frag.type_condition);
                if applies {
                    copy_selection(&frag.selections, object, out);
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
}

fn copy_nested(selections: &SelectionSet, value: &Value) -> Value {
    match value {
        Value::Object(o) => {
            let mut out = Map::new();
            copy_selection(selections, o, &mut out);
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| copy_nested(selections, i)).collect())
        }
        other => other.clone(),
    }
}

fn apply_rewrites(value: &mut Value, rewrites: &[FetchRewrite], is_a: &TypeMatcher<'_>) {
    for rewrite in rewrites {
        match rewrite {
            FetchRewrite::ValueSetter(s) => rewrite_at(value, &s.path, is_a, &mut |parent, key| {
                parent.insert(key.to_string(), Value::String(s.set_value_to.clone()));
            }),
            FetchRewrite::KeyRenamer(r) => rewrite_at(value, &r.path, is_a, &mut |parent, key| {
                if let Some(v) = parent.remove(key) {
                    parent.insert(r.rename_key_to.clone(), v);
                }
            }),
        }
    }
}

/// Calls `f(parent, last_key)` at every place `path` reaches in `value`.
fn rewrite_at(
    value: &mut Value,
    path: &[FetchNodePathSegment],
    is_a: &TypeMatcher<'_>,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_at(i, path, is_a, f)),
        Value::Object(object) => match path {
            [] => {}
            [FetchNodePathSegment::TypenameEquals(types), rest @ ..] => {
                let matches = object
                    .get("__typename")
                    .and_then(Value::as_str)
                    .is_some_and(|t| types.iter().any(|c| is_a(c, t)));
                if matches {
                    let mut v = Value::Object(std::mem::take(object));
                    rewrite_at(&mut v, rest, is_a, f);
                    if let Value::Object(o) = v {
                        *object = o;
                    }
                }
            }
            [FetchNodePathSegment::Key(key)] => f(object, key),
            [FetchNodePathSegment::Key(key), rest @ ..] => {
                if let Some(child) = object.get_mut(key) {
                    rewrite_at(child, rest, is_a, f);
                }
            }
        },
        _ => {}
    }
}

/// Every concrete path (keys and list indexes) `flatten` reaches in `value`,
/// with the object found there (so it is not looked up again).
fn collect_paths<'v>(
    value: &'v Value,
    flatten: &[FlattenNodePathSegment],
    is_a: &TypeMatcher<'_>,
    prefix: &mut Vec<PathElem>,
    out: &mut Vec<(Vec<PathElem>, &'v Value)>,
) {
    match (flatten, value) {
        (_, Value::Null) => {}
        ([], Value::Object(_)) => out.push((prefix.clone(), value)),
        ([], Value::Array(items)) => {
            // A flatten path that ends on a list means each of its items.
            for (i, item) in items.iter().enumerate() {
                prefix.push(PathElem::Index(i));
                collect_paths(item, flatten, is_a, prefix, out);
                prefix.pop();
            }
        }
        ([FlattenNodePathSegment::List, rest @ ..], Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(PathElem::Index(i));
                collect_paths(item, rest, is_a, prefix, out);
                prefix.pop();
            }
        }
        ([FlattenNodePathSegment::Field(name), rest @ ..], Value::Object(o)) => {
            if let Some(child) = o.get(name) {
                prefix.push(PathElem::Key(name.clone()));
                collect_paths(child, rest, is_a, prefix, out);
                prefix.pop();
            }
        }
        ([FlattenNodePathSegment::TypeCondition(types), rest @ ..], Value::Object(o)) => {
            let matches = o
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|t| types.iter().any(|c| is_a(c, t)));
            if matches {
                collect_paths(value, rest, is_a, prefix, out);
            }
        }
        // A list where the path expects an object (or the reverse): walk its items.
        (_, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                prefix.push(PathElem::Index(i));
                collect_paths(item, flatten, is_a, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn value_at_mut<'v>(mut value: &'v mut Value, path: &[PathElem]) -> Option<&'v mut Value> {
    for elem in path {
        value = match elem {
            PathElem::Key(k) => value.get_mut(k)?,
            PathElem::Index(i) => value.get_mut(i)?,
        };
    }
    Some(value)
}

/// Merges `source` into `target`: objects field by field, lists item by item.
pub(crate) fn deep_merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(t), Value::Object(s)) => {
            for (k, v) in s {
                match t.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(s)) if t.len() == s.len() => {
            for (ti, si) in t.iter_mut().zip(s) {
                deep_merge(ti, si);
            }
        }
        // A null from a later fetch must not erase data an earlier one gave.
        (t, s) => {
            if !s.is_null() || t.is_null() {
                *t = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_merge_joins_objects_and_lists_and_keeps_data_over_null() {
        let mut a = json!({"a": {"x": 1}, "l": [{"id": 1}, {"id": 2}], "n": {"k": 1}});
        deep_merge(
            &mut a,
            json!({"a": {"y": 2}, "l": [{"t": "a"}, {"t": "b"}], "n": null}),
        );
        assert_eq!(
            a,
            json!({"a": {"x": 1, "y": 2}, "l": [{"id": 1, "t": "a"}, {"id": 2, "t": "b"}], "n": {"k": 1}})
        );
    }

    #[test]
    fn flatten_paths_walk_lists_and_type_conditions() {
        let data = json!({"feed": [
            {"__typename": "Movie", "id": 1},
            {"__typename": "Series", "id": 2},
            null,
            {"__typename": "Movie", "id": 3}
        ]});
        let path: FlattenNodePath =
            serde_json::from_value(json!([{"Field": "feed"}, "@", {"TypeCondition": ["Movie"]}]))
                .unwrap();
        let mut out = Vec::new();
        let exact = |c: &str, t: &str| c == t;
        collect_paths(&data, path.as_slice(), &exact, &mut Vec::new(), &mut out);
        assert_eq!(out[1].1["id"], 3);
        assert_eq!(
            out.into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
            vec![
                vec![PathElem::Key("feed".into()), PathElem::Index(0)],
                vec![PathElem::Key("feed".into()), PathElem::Index(3)],
            ]
        );
    }
}
