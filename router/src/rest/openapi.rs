//! The OpenAPI 3.1 document of the legacy REST API, generated from the route
//! table and the supergraph it runs on: parameters and request bodies from the
//! variables' GraphQL types, response schemas from each operation's selection
//! set, so the document cannot drift from what the routes answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use graphql_tools::static_graphql::query::{Definition, Document, Field, Selection, SelectionSet};
use graphql_tools::static_graphql::schema::Type;
use http::Method;
use kit::ErrorCode;
use serde_json::{json, Map, Value};

use super::input::{self, DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE};
use super::table::Route;
use crate::schema::SchemaIndex;

/// Error statuses every route may answer, with the codes behind them.
const ERRORS: [(&str, &str, &str); 9] = [
    (
        "400",
        "BadRequest",
        "A malformed request: bad JSON, an unknown or ill-typed parameter",
    ),
    (
        "401",
        "Unauthenticated",
        "No valid credentials were presented",
    ),
    ("403", "Forbidden", "The credentials do not allow this"),
    ("404", "NotFound", "Nothing is there"),
    (
        "409",
        "Conflict",
        "The change conflicts with existing data (a duplicate)",
    ),
    ("413", "PayloadTooLarge", "The body is larger than allowed"),
    (
        "422",
        "Unprocessable",
        "A well-formed value a domain rule refuses; `details.field` names it",
    ),
    (
        "429",
        "RateLimited",
        "Too many requests; retry after `Retry-After` seconds",
    ),
    (
        "503",
        "Unavailable",
        "The service that owns the data is down",
    ),
];

/// The document for `routes` over `schema`.
pub(crate) fn document(routes: &[Arc<Route>], schema: &SchemaIndex) -> Value {
    let mut generator = Generator {
        schema,
        components: BTreeMap::new(),
    };
    // One OpenAPI operation per method and path: a `when` route (the search
    // behind `?q=`) folds into the plain one.
    let mut grouped: BTreeMap<(String, String), Vec<&Arc<Route>>> = BTreeMap::new();
    for r in routes {
        grouped
            .entry((r.template(), r.method.as_str().to_ascii_lowercase()))
            .or_default()
            .push(r);
    }
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for ((template, method), mut group) in grouped {
        group.sort_by_key(|r| r.when.is_some());
        let op = generator.operation(&group, &template, &method);
        paths.entry(template).or_default().insert(method, op);
    }
    let tags: BTreeSet<&str> = routes.iter().map(|r| r.group).collect();
    let mut schemas: Map<String, Value> = generator.components.into_iter().collect();
    schemas.insert("Pagination".into(), pagination_schema());
    schemas.insert("Error".into(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Marquee legacy REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The REST API of the previous platform, served by the router over the GraphQL supergraph. \
    Every answer is an envelope: `{ \"success\": true, \"data\": ... }` (lists add `pagination`: `page`, `limit`, `total`, `pages`; \
    `total` and `pages` are null for lists whose service does not count) or `{ \"success\": false, \"error\": { \"code\", \"message\", \"details\" } }`. \
    Lists take `page` (from 1), `limit` (1 to 100, default 20), `page` up to 50 and, where offered, `sort` and `order`. \
    Sign in with `POST /api/v1/auth/login` and send the `accessToken` as `Authorization: Bearer <token>`. \
    Sign-in routes (register, login, refresh, password reset) allow 5 requests a minute per client, the rest 100.",
        },
        "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": ERRORS.iter().map(|(status, name, description)| {
                let mut response = json!({
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                });
                if *status == "429" {
                    response["headers"] = json!({
                        "Retry-After": {"description": "Seconds until a request is allowed again", "schema": {"type": "integer"}},
                    });
                }
                (name.to_string(), response)
            }).collect::<Map<_, _>>(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The `accessToken` of a sign-in"},
            },
        },
    })
}

fn pagination_schema() -> Value {
    json!({
        "type": "object",
        "required": ["page", "limit", "total", "pages"],
        "properties": {
            "page": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "total": {"type": ["integer", "null"], "minimum": 0, "description": "Items in the whole list (null when the service does not count)"},
            "pages": {"type": ["integer", "null"], "minimum": 0},
        },
        "additionalProperties": false,
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": {"const": false},
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>()},
                    "message": {"type": "string"},
                    "details": {"type": ["object", "null"], "description": "What the error is about: `parameter`, `field`, `retryAfter`, ..."},
                },
            },
        },
    })
}

struct Generator<'a> {
    schema: &'a SchemaIndex,
    components: BTreeMap<String, Value>,
}

impl Generator<'_> {
    fn operation(&mut self, group: &[&Arc<Route>], template: &str, method: &str) -> Value {
        let route = group[0];
        let mut parameters: Vec<Value> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let path_params = route.path_params();
        for p in &path_params {
            let schema = self.target_schema(route, p, false);
            parameters.push(json!({"name": p, "in": "path", "required": true, "schema": schema}));
            seen.insert(p.to_string());
        }
        let has_body = matches!(route.method, Method::POST | Method::PUT | Method::PATCH);
        for (i, r) in group.iter().enumerate() {
            if has_body {
                break;
            }
            for name in r.inputs() {
                if seen.contains(&name) || r.paging().contains(&name.as_str()) {
                    continue;
                }
                let schema = match input::target(r, self.schema, &name, false) {
                    Some((path, _)) if path == ["first"] => {
                        json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})
                    }
                    _ => query_schema(self.target_schema(r, &name, false)),
                };
                // Parameters of a `when` route are optional on the shared path.
                let required = i == 0 && self.required(r, &name);
                let mut p =
                    json!({"name": name, "in": "query", "required": required, "schema": schema});
                if schema_is_array(&p["schema"]) {
                    p["style"] = json!("form");
                    p["explode"] = json!(false);
                }
                if let Some(when) = &r.when {
                    p["description"] = json!(format!("With `{when}`: {}", r.summary));
                }
                parameters.push(p);
                seen.insert(name);
            }
        }
        if route.list {
            parameters.push(json!({"name": "page", "in": "query", "required": false,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}}));
            parameters.push(json!({"name": "limit", "in": "query", "required": false,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}));
            let sorts = input::sort_options(route, self.schema);
            if !sorts.is_empty() {
                let names: Vec<&str> = sorts.iter().map(|(b, _)| b.as_str()).collect();
                let mut sort = json!({"name": "sort", "in": "query", "required": false,
                    "schema": {"type": "string", "enum": names}});
                if let Some(when) = group.iter().find_map(|r| r.when.as_ref()) {
                    sort["description"] = json!(format!(
                        "Not with `{when}`: its results come best match first (400)"
                    ));
                }
                parameters.push(sort);
                let directed = sorts.iter().any(|(_, vs)| {
                    vs.iter()
                        .any(|v| v.ends_with("_ASC") || v.ends_with("_DESC"))
                });
                if directed {
                    parameters.push(json!({"name": "order", "in": "query", "required": false,
                        "description": "Default: descending, except for orders only offered ascending (title)",
                        "schema": {"type": "string", "enum": ["asc", "desc"]}}));
                }
            }
        }
        let mut data = self.data_schema(route);
        for r in &group[1..] {
            let other = self.data_schema(r);
            if other != data {
                data = if data["type"] == "array" && other["type"] == "array" {
                    json!({"type": "array", "items": {"anyOf": [data["items"], other["items"]]}})
                } else {
                    json!({"anyOf": [data, other]})
                };
            }
        }
        let mut success_properties = json!({"success": {"const": true}, "data": data});
        let mut success_required = vec!["success", "data"];
        if route.list {
            success_properties["pagination"] = json!({"$ref": "#/components/schemas/Pagination"});
            success_required.push("pagination");
        }
        let mut responses = Map::new();
        responses.insert(
            route.status.to_string(),
            json!({
                "description": if route.status == 201 { "Created" } else { "OK" },
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": success_required,
                    "properties": success_properties,
                }}},
            }),
        );
        for (status, name, _) in ERRORS {
            if status == "413" && !has_body {
                continue;
            }
            responses.insert(
                status.into(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
        let mut summary = route.summary.clone();
        if summary.is_empty() {
            summary = route.operation.clone();
        }
        let mut op = json!({
            "operationId": operation_id(method, template),
            "summary": summary,
            "description": format!("Runs the GraphQL operation `{}` (router/rest/{}.graphql).", route.operation, route.group),
            "tags": [route.group],
            "parameters": parameters,
            "responses": responses,
            "security": if route.auth { json!([{"bearerAuth": []}]) } else { json!([{}, {"bearerAuth": []}]) },
        });
        if has_body {
            let body = self.body_schema(route, &path_params);
            let required = body["required"].as_array().is_some_and(|r| !r.is_empty());
            let example = example_of(&body, self);
            op["requestBody"] = json!({
                "required": required,
                "content": {"application/json": {"schema": body, "example": example}},
            });
        }
        op
    }

    /// Whether the client must send `name`.
    fn required(&self, route: &Route, name: &str) -> bool {
        let Some((path, _)) = input::target(route, self.schema, name, true) else {
            return false;
        };
        let Some((_, ty, has_default)) = route.variable(&path[0]) else {
            return false;
        };
        if path.len() == 1 {
            return matches!(ty, Type::NonNullType(_)) && !has_default;
        }
        // A field another name also fills (login: email or username) is
        // required of neither.
        let shared = route
            .inputs()
            .iter()
            .filter(|other| {
                input::target(route, self.schema, other, true).is_some_and(|(p, _)| p == path)
            })
            .count()
            > 1;
        !shared
            && input::field_of(self.schema, ty, &path[1..])
                .is_some_and(|(t, d)| matches!(t, Type::NonNullType(_)) && !d)
    }

    fn target_schema(&mut self, route: &Route, name: &str, in_body: bool) -> Value {
        match input::target(route, self.schema, name, in_body) {
            Some((_, ty)) => self.input_schema(&ty),
            None => json!({}),
        }
    }

    fn body_schema(&mut self, route: &Route, path_params: &[&str]) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut filled: BTreeSet<Vec<String>> = BTreeSet::new();
        let mut sharing: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for p in path_params {
            if let Some((path, _)) = input::target(route, self.schema, p, false) {
                filled.insert(path);
            }
        }
        for name in route.inputs() {
            if path_params.contains(&name.as_str()) {
                continue;
            }
            if let Some((path, ty)) = input::target(route, self.schema, &name, true) {
                properties.insert(name.clone(), self.body_field(&ty));
                if self.required(route, &name) {
                    required.push(name.clone());
                }
                sharing.entry(path.clone()).or_default().push(name.clone());
                filled.insert(path);
            }
        }
        if let Some(body) = &route.body {
            if let Some((_, ty, _)) = route.variable(body) {
                let input = named(ty).to_string();
                for (field, fty, has_default) in
                    self.schema.inputs.get(&input).cloned().unwrap_or_default()
                {
                    if filled.contains(&vec![body.clone(), field.clone()]) {
                        continue;
                    }
                    properties.insert(field.clone(), self.body_field(&fty));
                    if matches!(fty, Type::NonNullType(_)) && !has_default {
                        required.push(field);
                    }
                }
            }
        }
        let mut body = json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        });
        // Names filling one field (login: email or username) take one of them.
        let exclusive: Vec<String> = sharing
            .into_values()
            .filter(|names| names.len() > 1)
            .map(|names| format!("give one of {}", names.join(", ")))
            .collect();
        if !exclusive.is_empty() {
            body["description"] = json!(exclusive.join("; "));
        }
        body
    }

    /// A JSON body field: nullable types take `null` too.
    fn body_field(&mut self, ty: &Type) -> Value {
        match ty {
            Type::NonNullType(inner) => self.input_schema(inner),
            other => nullable(self.input_schema(other)),
        }
    }

    fn input_schema(&mut self, ty: &Type) -> Value {
        match ty {
            Type::NonNullType(inner) => self.input_schema(inner),
            Type::ListType(inner) => json!({"type": "array", "items": self.input_schema(inner)}),
            Type::NamedType(name) => {
                if name == "ID" {
                    // Every id in this system is a UUID (the REST layer checks).
                    return json!({"type": "string", "format": "uuid"});
                }
                if let Some(s) = scalar(name) {
                    return s;
                }
                if let Some(values) = self.schema.enums.get(name) {
                    self.components
                        .entry(name.clone())
                        .or_insert_with(|| json!({"type": "string", "enum": values}));
                    return reference(name);
                }
                if let Some(fields) = self.schema.inputs.get(name).cloned() {
                    if !self.components.contains_key(name) {
                        // Reserve the name first: input types may be recursive.
                        self.components.insert(name.clone(), json!({}));
                        let mut properties = Map::new();
                        let mut required = Vec::new();
                        for (field, fty, has_default) in fields {
                            properties.insert(field.clone(), self.body_field(&fty));
                            if matches!(fty, Type::NonNullType(_)) && !has_default {
                                required.push(field);
                            }
                        }
                        self.components.insert(
                            name.clone(),
                            json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false}),
                        );
                    }
                    return reference(name);
                }
                json!({})
            }
        }
    }

    /// The schema of the route's `data`.
    fn data_schema(&mut self, route: &Route) -> Value {
        let root = route.root_field();
        let root_type = if route.mutation {
            self.schema.mutation.clone().unwrap_or_default()
        } else {
            self.schema.query.clone()
        };
        let Some(ty) = self.schema.field_type(&root_type, &root.name).cloned() else {
            return json!({});
        };
        let fragments = fragments(&route.parsed);
        let mut schema = self.output_schema(&ty, &[&root.selection_set], &fragments);
        // The envelope never carries a null: a null value is a 404.
        schema = non_null(schema);
        for key in &route.data {
            schema = non_null(property(&schema, key));
        }
        if route.list {
            let node = property(&items(&non_null(property(&schema, "edges"))), "node");
            return json!({"type": "array", "items": non_null(node)});
        }
        schema
    }

    fn output_schema(
        &mut self,
        ty: &Type,
        selections: &[&SelectionSet],
        fragments: &BTreeMap<String, (String, SelectionSet)>,
    ) -> Value {
        match ty {
            Type::NonNullType(inner) => non_null(self.output_schema(inner, selections, fragments)),
            Type::ListType(inner) => nullable(json!({
                "type": "array",
                "items": self.output_schema(inner, selections, fragments),
            })),
            Type::NamedType(name) => {
                if let Some(s) = scalar(name) {
                    return nullable(s);
                }
                if let Some(values) = self.schema.enums.get(name) {
                    self.components
                        .entry(name.clone())
                        .or_insert_with(|| json!({"type": "string", "enum": values}));
                    return nullable(reference(name));
                }
                let mut fields: Vec<(String, Vec<&Field>, bool)> = Vec::new();
                for s in selections {
                    collect(self.schema, name, s, fragments, false, &mut fields);
                }
                let mut properties = Map::new();
                let mut required = Vec::new();
                for (key, same, conditional) in fields {
                    let first = same[0];
                    if first.name == "__typename" {
                        properties.insert(key.clone(), json!({"type": "string"}));
                        required.push(key);
                        continue;
                    }
                    let owner = owner_of(self.schema, name, &first.name);
                    let Some(fty) = owner
                        .and_then(|o| self.schema.field_type(&o, &first.name))
                        .cloned()
                    else {
                        continue;
                    };
                    let subs: Vec<&SelectionSet> = same.iter().map(|f| &f.selection_set).collect();
                    let value = self.output_schema(&fty, &subs, fragments);
                    if !conditional {
                        required.push(key.clone());
                    }
                    properties.insert(key, value);
                }
                nullable(json!({"type": "object", "properties": properties, "required": required}))
            }
        }
    }
}

/// The type that declares `field` as seen from `parent` (an interface's
/// implementations for fields selected in a type condition).
fn owner_of(schema: &SchemaIndex, parent: &str, field: &str) -> Option<String> {
    if schema.field_type(parent, field).is_some() {
        return Some(parent.to_string());
    }
    schema
        .types
        .get(parent)?
        .possible_types
        .iter()
        .find(|t| schema.field_type(t, field).is_some())
        .cloned()
}

/// Fields by response key, as GraphQL's CollectFields groups them; a field is
/// `conditional` when it may be absent (a type condition narrower than the
/// parent, or `@skip`/`@include`).
fn collect<'a>(
    schema: &SchemaIndex,
    parent: &str,
    set: &'a SelectionSet,
    fragments: &'a BTreeMap<String, (String, SelectionSet)>,
    conditional: bool,
    out: &mut Vec<(String, Vec<&'a Field>, bool)>,
) {
    let narrower = |condition: &str| !schema.type_applies(condition, parent);
    for item in &set.items {
        match item {
            Selection::Field(f) => {
                let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                let maybe = conditional || !f.directives.is_empty();
                match out.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, fields, c)) => {
                        fields.push(f);
                        *c = *c && maybe;
                    }
                    None => out.push((key, vec![f], maybe)),
                }
            }
            Selection::InlineFragment(i) => {
                let condition = i.type_condition.as_ref().map(|c| match c {
                    graphql_tools::static_graphql::query::TypeCondition::On(n) => n.clone(),
                });
                let maybe = conditional
                    || !i.directives.is_empty()
                    || condition.as_deref().is_some_and(narrower);
                collect(schema, parent, &i.selection_set, fragments, maybe, out);
            }
            Selection::FragmentSpread(s) => {
                if let Some((condition, set)) = fragments.get(&s.fragment_name) {
                    let maybe = conditional || !s.directives.is_empty() || narrower(condition);
                    collect(schema, parent, set, fragments, maybe, out);
                }
            }
        }
    }
}

fn fragments(doc: &Document) -> BTreeMap<String, (String, SelectionSet)> {
    doc.definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => {
                let graphql_tools::static_graphql::query::TypeCondition::On(on) = &f.type_condition;
                Some((f.name.clone(), (on.clone(), f.selection_set.clone())))
            }
            _ => None,
        })
        .collect()
}

fn scalar(name: &str) -> Option<Value> {
    Some(match name {
        "Int" => {
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        "Float" => json!({"type": "number"}),
        "String" => json!({"type": "string"}),
        "Boolean" => json!({"type": "boolean"}),
        "ID" => json!({"type": "string"}),
        "DateTime" => json!({"type": "string", "format": "date-time"}),
        "NaiveDate" => json!({"type": "string", "format": "date"}),
        "JSON" => json!({}),
        _ => return None,
    })
}

/// A query-string parameter: an empty value counts as absent, so a given
/// string has at least one character.
fn query_schema(mut schema: Value) -> Value {
    let target = if schema["type"] == "array" {
        &mut schema["items"]
    } else {
        &mut schema
    };
    if target["type"] == "string" && target.get("format").is_none() && target.get("enum").is_none()
    {
        target["minLength"] = json!(1);
    }
    schema
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn named(ty: &Type) -> &str {
    match ty {
        Type::NonNullType(t) | Type::ListType(t) => named(t),
        Type::NamedType(n) => n,
    }
}

/// `schema` or null. Built nullable, narrowed by `non_null`.
fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn non_null(schema: Value) -> Value {
    match schema.get("anyOf").and_then(Value::as_array) {
        Some(options) if options.len() == 2 && options[1] == json!({"type": "null"}) => {
            options[0].clone()
        }
        _ => schema,
    }
}

fn property(schema: &Value, key: &str) -> Value {
    non_null(schema.clone())["properties"][key].clone()
}

fn items(schema: &Value) -> Value {
    non_null(schema.clone())["items"].clone()
}

fn schema_is_array(schema: &Value) -> bool {
    schema["type"] == "array"
}

fn operation_id(method: &str, template: &str) -> String {
    let mut id = method.to_string();
    for segment in template.trim_start_matches("/api/v1/").split('/') {
        let word = segment.trim_start_matches('{').trim_end_matches('}');
        let by = if segment.starts_with('{') { "By" } else { "" };
        let mut chars = word.chars().filter(|c| c.is_alphanumeric());
        if let Some(first) = chars.next() {
            id.push_str(by);
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// A request example from a body schema: plausible values by field name.
fn example_of(body: &Value, generator: &Generator<'_>) -> Value {
    let mut out = Map::new();
    if let Some(props) = body["properties"].as_object() {
        for (name, schema) in props {
            out.insert(name.clone(), example_value(name, schema, generator));
        }
    }
    Value::Object(out)
}

fn example_value(name: &str, schema: &Value, generator: &Generator<'_>) -> Value {
    let by_name = match name {
        "email" => Some(json!("ripley@example.com")),
        "username" => Some(json!("ripley")),
        "password" | "newPassword" => Some(json!("correct horse battery staple")),
        "displayName" => Some(json!("Ellen Ripley")),
        "refreshToken" | "token" => Some(json!("the token you were given")),
        "title" => Some(json!("Alien")),
        "overview" => Some(json!("The crew of a space tug answers a distress call.")),
        "releaseDate" | "airDate" => Some(json!("1979-05-25")),
        "language" => Some(json!("en")),
        "genres" => Some(json!(["horror", "science-fiction"])),
        "score" => Some(json!(8)),
        "body" => Some(json!("In space no one can hear you scream.")),
        "name" => Some(json!("Season 1")),
        "bio" => Some(json!("Warrant officer.")),
        _ => None,
    };
    if let Some(v) = by_name {
        return v;
    }
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        if let Some(c) = generator.components.get(name) {
            if let Some(first) = c["enum"].as_array().and_then(|e| e.first()) {
                return first.clone();
            }
            return example_of(c, generator);
        }
    }
    match schema["type"].as_str() {
        Some("integer") => json!(1),
        Some("number") => json!(7.5),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("string") if schema["format"] == "date" => json!("2024-04-04"),
        Some("string") if schema["format"] == "date-time" => json!("2024-04-04T20:00:00Z"),
        _ => json!("string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document over the committed supergraph.
    fn generated() -> Value {
        let sdl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql"),
        )
        .unwrap();
        let supergraph = crate::supergraph::Supergraph::from_sdl(&sdl).unwrap();
        let routes: Vec<Arc<Route>> = super::super::table::load()
            .unwrap()
            .into_iter()
            .map(Arc::new)
            .collect();
        document(&routes, &supergraph.schema)
    }

    #[test]
    fn response_schemas_follow_the_selection_sets() {
        let doc = generated();
        if let Ok(path) = std::env::var("MARQUEE_OPENAPI_OUT") {
            std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        }
        let movie = &doc["paths"]["/api/v1/movies/{id}"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["properties"]["data"];
        assert_eq!(
            movie["properties"]["title"],
            json!({"type": "string"}),
            "{movie}"
        );
        assert_eq!(
            movie["properties"]["tagline"],
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        assert!(movie["required"]
            .as_array()
            .unwrap()
            .contains(&json!("credits")));
        let list = &doc["paths"]["/api/v1/movies"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["properties"];
        assert_eq!(
            list["pagination"],
            json!({"$ref": "#/components/schemas/Pagination"})
        );
        assert_eq!(list["data"]["type"], "array", "{list}");
    }

    #[test]
    fn every_method_and_path_is_one_operation() {
        let doc = generated();
        let routes = super::super::table::load().unwrap();
        let distinct: BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.template(), r.method.as_str().to_ascii_lowercase()))
            .collect();
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, distinct.len());
        for (template, method) in distinct {
            let op = &doc["paths"][&template][&method];
            let path_params: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let expected: Vec<&str> = template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(path_params, expected, "{method} {template}");
        }
    }

    #[test]
    fn operation_ids_read_like_the_path() {
        assert_eq!(operation_id("get", "/api/v1/movies/{id}"), "getMoviesById");
        assert_eq!(
            operation_id("post", "/api/v1/auth/verify-email"),
            "postAuthVerifyemail"
        );
    }
}
