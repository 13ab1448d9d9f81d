//! The route table: every `# @rest(method: ..., path: "...")` header in
//! `router/rest/*.graphql` (compiled into the binary) bound to the named
//! operation under it, with the header's mapping arguments read once.

use std::collections::BTreeMap;
use std::sync::Arc;

use graphql_tools::static_graphql::query::{
    Definition, Document, Field, OperationDefinition, Selection, Value as QueryValue,
};
use graphql_tools::static_graphql::schema::Type;
use http::Method;

/// The route documents, by group (the OpenAPI tag). A unit test checks that
/// every file in `router/rest/` is listed.
pub(crate) const DOCUMENTS: [(&str, &str); 10] = [
    ("auth", include_str!("../../rest/auth.graphql")),
    ("users", include_str!("../../rest/users.graphql")),
    ("movies", include_str!("../../rest/movies.graphql")),
    ("series", include_str!("../../rest/series.graphql")),
    ("seasons", include_str!("../../rest/seasons.graphql")),
    ("episodes", include_str!("../../rest/episodes.graphql")),
    ("categories", include_str!("../../rest/categories.graphql")),
    ("social", include_str!("../../rest/social.graphql")),
    ("reviews", include_str!("../../rest/reviews.graphql")),
    ("moderation", include_str!("../../rest/moderation.graphql")),
];

/// Query-string names a list route reserves for paging and ordering.
pub(crate) const PAGING: [&str; 4] = ["page", "limit", "sort", "order"];

/// Variables a list route's operation declares for the connection; the REST
/// layer fills them from `page`/`limit`, clients never name them.
pub(crate) const CONNECTION_VARIABLES: [&str; 6] =
    ["first", "after", "last", "before", "walk", "sort"];

/// One legacy route.
#[derive(Debug)]
pub(crate) struct Route {
    pub method: Method,
    /// As documented, `:name` for parameters: `/api/v1/movies/:id`.
    pub path: String,
    pub group: &'static str,
    pub operation: String,
    /// The whole file: the engine validates and caches it once.
    pub document: Arc<str>,
    pub parsed: Arc<Document>,
    pub mutation: bool,
    /// Declared variables: name, type, whether a default exists.
    pub variables: Vec<(String, Type, bool)>,
    /// The response key of the operation's one root field.
    pub root: String,
    /// Keys under the root value that hold the route's data.
    pub data: Vec<String>,
    /// Answer status on success (201 for creations).
    pub status: u16,
    /// The variable that receives the JSON body's fields no `params` entry names.
    pub body: Option<String>,
    /// REST name (path, query or body) to variable path.
    pub params: BTreeMap<String, Vec<String>>,
    /// A connection, paged with `page`/`limit` (and `sort`/`order` when the
    /// operation declares `$sort`).
    pub list: bool,
    /// This route serves the path only when the query string has this parameter.
    pub when: Option<String>,
    /// Anonymous callers get 401 before the operation runs.
    pub auth: bool,
    pub summary: String,
}

impl Route {
    /// Path parameter names, in order.
    pub fn path_params(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix(':'))
            .collect()
    }

    /// The path in axum's (and OpenAPI's) `{name}` syntax.
    pub fn template(&self) -> String {
        self.path
            .split('/')
            .map(|s| match s.strip_prefix(':') {
                Some(p) => format!("{{{p}}}"),
                None => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    pub fn variable(&self, name: &str) -> Option<&(String, Type, bool)> {
        self.variables.iter().find(|(n, _, _)| n == name)
    }

    /// The operation's root field.
    pub fn root_field(&self) -> &Field {
        let op = find_operation(&self.parsed, &self.operation)
            .expect("the route was built from this operation");
        match selection_set(op).items.first() {
            Some(Selection::Field(f)) => f,
            _ => unreachable!("the table accepts only operations whose root is one field"),
        }
    }

    /// The names a client may send: path parameters, mapped names, the
    /// variables themselves (less the connection's), for lists the paging ones.
    pub fn inputs(&self) -> Vec<String> {
        let mut out: Vec<String> = self.params.keys().cloned().collect();
        for (name, _, _) in &self.variables {
            if self.direct(name) {
                out.push(name.clone());
            }
        }
        if self.list {
            out.extend(self.paging().iter().map(|s| s.to_string()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether a client names variable `name` itself: not when the REST
    /// layer fills it (connections, the body) or `params` maps names into it.
    pub fn direct(&self, name: &str) -> bool {
        self.variable(name).is_some()
            && !(self.list && CONNECTION_VARIABLES.contains(&name))
            && self.body.as_deref() != Some(name)
            && !self.params.values().any(|p| p[0] == name)
    }

    /// The paging names this list takes (`sort`/`order` only with `$sort`).
    pub fn paging(&self) -> Vec<&'static str> {
        if !self.list {
            return Vec::new();
        }
        PAGING
            .into_iter()
            .filter(|p| !matches!(*p, "sort" | "order") || self.variable("sort").is_some())
            .collect()
    }

    /// Whether the list can be read backwards (`last`/`before`), for the
    /// orders its sort enum lacks.
    pub fn reversible(&self) -> bool {
        self.variable("last").is_some() && self.variable("before").is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum TableError {
    #[error("router/rest/{0}.graphql does not parse: {1}")]
    Parse(&'static str, String),
    #[error("router/rest/{0}.graphql: {1}")]
    Header(&'static str, String),
}

/// Reads every route of `DOCUMENTS`.
pub(crate) fn load() -> Result<Vec<Route>, TableError> {
    let mut routes = Vec::new();
    for (group, text) in DOCUMENTS {
        routes.extend(load_document(group, text)?);
    }
    Ok(routes)
}

pub(crate) fn load_document(group: &'static str, text: &str) -> Result<Vec<Route>, TableError> {
    let parsed = graphql_tools::parser::parse_query::<String>(text)
        .map_err(|e| TableError::Parse(group, e.to_string()))?
        .into_static();
    let parsed = Arc::new(parsed);
    let document: Arc<str> = Arc::from(text);
    let mut routes = Vec::new();
    let mut pending: Vec<(usize, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(args) = trimmed.strip_prefix("# @rest(") {
            pending.push((n + 1, args.trim_end().trim_end_matches(')').to_string()));
            continue;
        }
        let name = ["query ", "mutation "]
            .iter()
            .find_map(|k| line.strip_prefix(k))
            .map(|rest| {
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_string()
            });
        let Some(name) = name else {
            continue;
        };
        let headers = std::mem::take(&mut pending);
        for (line_no, args) in headers {
            let at = |m: String| TableError::Header(group, format!("line {line_no}: {m}"));
            let route = route(group, &document, &parsed, &name, &args).map_err(at)?;
            routes.push(route);
        }
    }
    if let Some((line_no, _)) = pending.first() {
        return Err(TableError::Header(
            group,
            format!("line {line_no}: a @rest header with no operation under it"),
        ));
    }
    Ok(routes)
}

fn route(
    group: &'static str,
    document: &Arc<str>,
    parsed: &Arc<Document>,
    name: &str,
    args: &str,
) -> Result<Route, String> {
    // The header is a directive: let the GraphQL parser read its arguments.
    let probe = format!("query Header @rest({args}) {{ __typename }}");
    let header = graphql_tools::parser::parse_query::<String>(&probe)
        .map_err(|e| format!("the @rest arguments do not parse: {e}"))?
        .into_static();
    let arguments = match header.definitions.first() {
        Some(Definition::Operation(OperationDefinition::Query(q))) => q
            .directives
            .first()
            .map(|d| d.arguments.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let op = find_operation(parsed, name).ok_or_else(|| format!("no operation `{name}`"))?;
    let (mutation, variable_definitions) = match op {
        OperationDefinition::Query(q) => (false, &q.variable_definitions),
        OperationDefinition::Mutation(m) => (true, &m.variable_definitions),
        _ => return Err(format!("`{name}` must be a query or a mutation")),
    };
    let root = match selection_set(op).items.as_slice() {
        [Selection::Field(f)] => f.alias.clone().unwrap_or_else(|| f.name.clone()),
        _ => return Err(format!("`{name}` must select exactly one root field")),
    };
    let mut route = Route {
        method: Method::GET,
        path: String::new(),
        group,
        operation: name.to_string(),
        document: document.clone(),
        parsed: parsed.clone(),
        mutation,
        variables: variable_definitions
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.var_type.clone(),
                    d.default_value.is_some(),
                )
            })
            .collect(),
        root,
        data: Vec::new(),
        status: 200,
        body: None,
        params: BTreeMap::new(),
        list: false,
        when: None,
        auth: false,
        summary: String::new(),
    };
    for (key, value) in arguments {
        let text = || match &value {
            QueryValue::String(s) | QueryValue::Enum(s) => Ok(s.clone()),
            _ => Err(format!("`{key}` takes a string")),
        };
        match key.as_str() {
            "method" => {
                route.method = match text()?.as_str() {
                    "GET" => Method::GET,
                    "POST" => Method::POST,
                    "PUT" => Method::PUT,
                    "PATCH" => Method::PATCH,
                    "DELETE" => Method::DELETE,
                    other => return Err(format!("unsupported method {other}")),
                }
            }
            "path" => route.path = text()?,
            "summary" => route.summary = text()?,
            "body" => route.body = Some(text()?),
            "when" => route.when = Some(text()?),
            "data" => route.data = text()?.split('.').map(str::to_string).collect(),
            "status" => {
                route.status = match value {
                    QueryValue::Int(n) => n
                        .as_i64()
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or("`status` is not a status")?,
                    _ => return Err("`status` takes an integer".into()),
                }
            }
            "list" | "auth" => {
                let QueryValue::Boolean(b) = value else {
                    return Err(format!("`{key}` takes a boolean"));
                };
                if key == "list" {
                    route.list = b;
                } else {
                    route.auth = b;
                }
            }
            "params" => {
                let QueryValue::Object(map) = value else {
                    return Err("`params` takes an object".into());
                };
                for (rest, target) in map {
                    let QueryValue::String(target) = target else {
                        return Err(format!("params.{rest} takes a string"));
                    };
                    route
                        .params
                        .insert(rest, target.split('.').map(str::to_string).collect());
                }
            }
            other => return Err(format!("unknown @rest argument `{other}`")),
        }
    }
    if !route.path.starts_with("/api/v1/") {
        return Err("`path` must start with /api/v1/".into());
    }
    for (rest, target) in &route.params {
        if route.variable(&target[0]).is_none() {
            return Err(format!(
                "params.{rest} names `${}`, which `{name}` does not declare",
                target[0]
            ));
        }
    }
    if let Some(body) = &route.body {
        if route.variable(body).is_none() {
            return Err(format!(
                "`body` names `${body}`, which `{name}` does not declare"
            ));
        }
    }
    for p in route.path_params() {
        if !route.params.contains_key(p) && route.variable(p).is_none() {
            return Err(format!("path parameter `{p}` maps to no variable"));
        }
    }
    if (route.method == Method::GET) == route.mutation {
        return Err("GET routes run queries and every other method a mutation".into());
    }
    if (route.method == Method::GET) == route.mutation {
        return Err("GET routes run queries and every other method a mutation".into());
    }
    if route.list && (route.variable("first").is_none() || route.variable("after").is_none()) {
        return Err(format!(
            "list route `{name}` must declare $first and $after"
        ));
    }
    Ok(route)
}

pub(crate) fn find_operation<'a>(doc: &'a Document, name: &str) -> Option<&'a OperationDefinition> {
    doc.definitions.iter().find_map(|d| match d {
        Definition::Operation(op @ OperationDefinition::Query(q))
            if q.name.as_deref() == Some(name) =>
        {
            Some(op)
        }
        Definition::Operation(op @ OperationDefinition::Mutation(m))
            if m.name.as_deref() == Some(name) =>
        {
            Some(op)
        }
        _ => None,
    })
}

fn selection_set(op: &OperationDefinition) -> &graphql_tools::static_graphql::query::SelectionSet {
    match op {
        OperationDefinition::SelectionSet(s) => s,
        OperationDefinition::Query(q) => &q.selection_set,
        OperationDefinition::Mutation(m) => &m.selection_set,
        OperationDefinition::Subscription(s) => &s.selection_set,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_document_is_compiled_in_and_loads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rest");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".graphql"))
            .collect();
        files.sort();
        let mut listed: Vec<String> = DOCUMENTS
            .iter()
            .map(|(g, _)| format!("{g}.graphql"))
            .collect();
        listed.sort();
        assert_eq!(files, listed, "router/rest/ and DOCUMENTS disagree");
        let routes = load().unwrap();
        assert!(routes.len() > 40, "{} routes", routes.len());
        // One method and path (and `when`) names one route.
        let mut seen = std::collections::BTreeSet::new();
        for r in &routes {
            assert!(
                seen.insert((r.method.to_string(), r.path.clone(), r.when.clone())),
                "{} {} is declared twice",
                r.method,
                r.path
            );
        }
    }

    /// Every route stays within the default limits at its largest page
    /// (`first`/`last`/`limit` of 100), so the cost limit never refuses REST.
    #[test]
    fn every_route_fits_the_default_limits_at_its_largest_page() {
        let sdl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql"),
        )
        .unwrap();
        let supergraph = crate::supergraph::Supergraph::from_sdl(&sdl).unwrap();
        let limits = kit::config::LimitsConfig::default();
        let mut highest = (0, String::new());
        for route in load().unwrap() {
            let op =
                crate::operation::ParsedOperation::parse(&route.document, Some(&route.operation))
                    .unwrap();
            let shape = crate::limits::shape(&op, &[]);
            crate::limits::check_shape(&shape, &limits)
                .unwrap_or_else(|e| panic!("{}: {}", route.operation, e.message));
            let variables: serde_json::Map<String, serde_json::Value> = route
                .variables
                .iter()
                .filter(|(name, _, _)| ["first", "last", "limit"].contains(&name.as_str()))
                .map(|(name, _, _)| (name.clone(), serde_json::json!(100)))
                .collect();
            let root = if route.mutation {
                supergraph.schema.mutation.clone().unwrap()
            } else {
                supergraph.schema.query.clone()
            };
            let cost =
                crate::limits::cost(&op, &shape, &supergraph.schema, &root, &variables, &limits);
            crate::limits::check_cost(cost, &limits)
                .unwrap_or_else(|e| panic!("{}: {}", route.operation, e.message));
            if cost > highest.0 {
                highest = (cost, route.operation.clone());
            }
        }
        assert!(highest.0 > 100, "costs are counted: {highest:?}");
        println!("most costly route: {highest:?}");
    }

    #[test]
    fn headers_are_read_as_directive_arguments() {
        let doc = r#"
# @rest(method: GET, path: "/api/v1/things", list: true, params: {kind: "filter.kind"}, summary: "Things")
query Things($filter: F, $first: Int, $after: String) { things(filter: $filter, first: $first, after: $after) { totalCount } }
# @rest(method: POST, path: "/api/v1/things", body: "input", status: 201)
# @rest(method: PUT, path: "/api/v1/things/:id", body: "input")
mutation SaveThing($id: ID, $input: I!) { saveThing(id: $id, input: $input) { id } }
"#;
        let routes = load_document("t", doc).unwrap();
        assert_eq!(routes.len(), 3);
        assert!(routes[0].list);
        assert_eq!(routes[0].params["kind"], vec!["filter", "kind"]);
        assert_eq!(routes[0].root, "things");
        assert_eq!(routes[1].status, 201);
        assert_eq!(routes[2].method, Method::PUT);
        assert_eq!(routes[2].template(), "/api/v1/things/{id}");
        assert!(routes[1].mutation);
    }

    #[test]
    fn a_header_naming_what_the_operation_lacks_is_refused() {
        let doc = "# @rest(method: GET, path: \"/api/v1/x/:id\")\nquery X { x }\n";
        let e = load_document("t", doc).unwrap_err().to_string();
        assert!(e.contains("path parameter `id`"), "{e}");
        let doc = "# @rest(method: GET, path: \"/api/v1/x\", bogus: 1)\nquery X { x }\n";
        assert!(load_document("t", doc)
            .unwrap_err()
            .to_string()
            .contains("bogus"));
        let doc = "# @rest(method: GET, path: \"/api/v1/x\")\nquery X { a b }\n";
        assert!(load_document("t", doc)
            .unwrap_err()
            .to_string()
            .contains("exactly one root field"));
    }
}
