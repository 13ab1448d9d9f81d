//! From a REST request to operation variables: path parameters, the query
//! string and the JSON body, each value checked against the GraphQL type it
//! lands on; anything malformed is a 400 that names the parameter. Also reads
//! `page`/`limit`/`sort`/`order` for list routes.

use graphql_tools::static_graphql::schema::Type;
use serde_json::{Map, Value};

use super::table::{Route, CONNECTION_VARIABLES};
use crate::schema::SchemaIndex;

pub(crate) const DEFAULT_LIMIT: u64 = 20;
pub(crate) const MAX_LIMIT: u64 = 100;
/// The deepest page: pages are reached by walking cursors 100 at a time
/// (fetching only cursors), so this bounds the walk to 49 steps at `limit=100`.
pub(crate) const MAX_PAGE: u64 = 50;

/// A request the route cannot take: 400, naming the parameter.
#[derive(Debug)]
pub(crate) struct BadInput {
    pub parameter: String,
    pub message: String,
}

fn bad(parameter: &str, message: impl Into<String>) -> BadInput {
    BadInput {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Where a list page sits and in which order it is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Paging {
    pub page: u64,
    pub limit: u64,
    /// The sort enum value to send, when the client chose one.
    pub sort: Option<String>,
    /// Read the connection backwards (`last`/`before`) and reverse each page:
    /// the order the client asked for is the opposite of an enum value.
    pub reversed: bool,
}

/// The variables and, for lists, the paging of one request.
pub(crate) fn bind(
    route: &Route,
    schema: &SchemaIndex,
    path: &[(String, String)],
    query: &[(String, String)],
    body: Option<Map<String, Value>>,
) -> Result<(Map<String, Value>, Option<Paging>), BadInput> {
    let mut variables = Map::new();
    let accepted = route.inputs();
    let paging_names = route.paging();
    for (name, text) in path.iter().chain(query.iter()) {
        if paging_names.contains(&name.as_str()) {
            continue;
        }
        if !accepted.contains(name) {
            return Err(bad(
                name,
                format!(
                    "unknown parameter `{name}`; this route takes: {}",
                    if accepted.is_empty() {
                        "nothing".to_string()
                    } else {
                        accepted.join(", ")
                    }
                ),
            ));
        }
        let (target, ty) = target(route, schema, name, false)
            .ok_or_else(|| bad(name, format!("`{name}` is not a parameter of this route")))?;
        let value = from_text(schema, &ty, text).map_err(|m| bad(name, format!("{name}: {m}")))?;
        // A plain list's size: the subgraphs' page bounds, refused here as a bad parameter.
        if target == ["first"]
            && !value
                .as_i64()
                .is_some_and(|n| n >= 1 && n as u64 <= MAX_LIMIT)
        {
            return Err(bad(
                name,
                format!("`{name}` must be an integer from 1 to {MAX_LIMIT}"),
            ));
        }
        set(&mut variables, &target, value, name)?;
    }
    if let Some(body) = body {
        for (name, value) in body {
            let (target, ty) = target(route, schema, &name, true)
                .ok_or_else(|| bad(&name, format!("the body has an unknown field `{name}`")))?;
            let value = normalize(schema, &ty, value);
            crate::variables::check(schema, &ty, &value, &name).map_err(|m| bad(&name, m))?;
            check_formats(schema, &ty, &value, &name).map_err(|m| bad(&name, m))?;
            set(&mut variables, &target, value, &name)?;
        }
    }
    if let Some(body) = &route.body {
        // An update with nothing to change still sends its (empty) input.
        variables
            .entry(body.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    // Required values, checked here so the message names what the client sends.
    for (name, ty, has_default) in &route.variables {
        let reserved = route.list && CONNECTION_VARIABLES.contains(&name.as_str());
        if reserved {
            continue;
        }
        let shown = rest_name(route, name);
        match variables.get(name) {
            None if matches!(ty, Type::NonNullType(_)) && !has_default => {
                return Err(bad(&shown, format!("`{shown}` is required")));
            }
            Some(v) => {
                crate::variables::check(schema, ty, v, &shown).map_err(|m| bad(&shown, m))?
            }
            None => {}
        }
    }
    let paging = if route.list {
        Some(paging(route, schema, query)?)
    } else {
        None
    };
    Ok((variables, paging))
}

/// What the client calls variable `name` (the body itself is `body`).
fn rest_name(route: &Route, name: &str) -> String {
    if route.body.as_deref() == Some(name) {
        return "body".into();
    }
    route
        .params
        .iter()
        .find(|(_, p)| p.len() == 1 && p[0] == name)
        .map_or_else(|| name.to_string(), |(rest, _)| rest.clone())
}

/// The variable path `name` fills and the GraphQL type there.
pub(crate) fn target(
    route: &Route,
    schema: &SchemaIndex,
    name: &str,
    in_body: bool,
) -> Option<(Vec<String>, Type)> {
    let path: Vec<String> = if let Some(p) = route.params.get(name) {
        p.clone()
    } else if route.direct(name) {
        vec![name.to_string()]
    } else if let (true, Some(body)) = (in_body, &route.body) {
        vec![body.clone(), name.to_string()]
    } else {
        return None;
    };
    let (_, mut ty, _) = route.variable(&path[0])?.clone();
    for field in &path[1..] {
        let input = named(&ty);
        let fields = schema.inputs.get(input)?;
        ty = fields.iter().find(|(f, _, _)| f == field)?.1.clone();
    }
    Some((path, ty))
}

/// The type (and whether it has a default) of the input field at `path` under `ty`.
pub(crate) fn field_of(schema: &SchemaIndex, ty: &Type, path: &[String]) -> Option<(Type, bool)> {
    let (first, rest) = path.split_first()?;
    let fields = schema.inputs.get(named(ty))?;
    let (_, fty, has_default) = fields.iter().find(|(f, _, _)| f == first)?;
    if rest.is_empty() {
        Some((fty.clone(), *has_default))
    } else {
        field_of(schema, fty, rest)
    }
}

fn named(ty: &Type) -> &str {
    match ty {
        Type::NonNullType(t) | Type::ListType(t) => named(t),
        Type::NamedType(n) => n,
    }
}

fn set(
    variables: &mut Map<String, Value>,
    path: &[String],
    value: Value,
    name: &str,
) -> Result<(), BadInput> {
    let mut at = variables;
    for key in &path[..path.len() - 1] {
        let slot = at
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        at = match slot {
            Value::Object(m) => m,
            _ => {
                return Err(bad(
                    name,
                    format!("`{name}` conflicts with another parameter"),
                ))
            }
        };
    }
    let last = &path[path.len() - 1];
    if at.contains_key(last) {
        return Err(bad(
            name,
            format!("`{name}` sets a value another parameter already set"),
        ));
    }
    at.insert(last.clone(), value);
    Ok(())
}

/// A path or query-string value as the JSON `ty` wants. Lists are
/// comma-separated; enum values are case-insensitive (`?kind=movie`).
fn from_text(schema: &SchemaIndex, ty: &Type, text: &str) -> Result<Value, String> {
    match ty {
        Type::NonNullType(inner) => from_text(schema, inner, text),
        Type::ListType(inner) => text
            .split(',')
            .map(|part| from_text(schema, inner, part.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Type::NamedType(name) => match name.as_str() {
            "Int" => text
                .parse::<i32>()
                .map(Value::from)
                .map_err(|_| format!("`{text}` is not an integer")),
            "Float" => match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::from(f)),
                _ => Err(format!("`{text}` is not a number")),
            },
            "Boolean" => match text {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("`{text}` is not true or false")),
            },
            // `?q=` says nothing: an empty value is refused rather than guessed at.
            "String" if text.is_empty() => Err("must not be empty".into()),
            "String" => Ok(Value::String(text.to_string())),
            "ID" | "NaiveDate" | "DateTime" => {
                format_error(name, text)?;
                Ok(Value::String(text.to_string()))
            }
            other => {
                if let Some(values) = schema.enums.get(other) {
                    let upper = text.to_ascii_uppercase();
                    return if values.contains(&upper) {
                        Ok(Value::String(upper))
                    } else {
                        Err(format!(
                            "`{text}` is not one of {}",
                            values
                                .iter()
                                .map(|v| v.to_ascii_lowercase())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    };
                }
                if schema.inputs.contains_key(other) {
                    return Err("cannot be given in the query string".into());
                }
                // Custom scalars (dates) travel as text; the subgraph parses them.
                Ok(Value::String(text.to_string()))
            }
        },
    }
}

/// Every id in this system is a UUID; dates are ISO 8601. Checked here so a
/// malformed one is the client's 400, not a subgraph's parse error.
fn format_error(scalar: &str, text: &str) -> Result<(), String> {
    let ok = match scalar {
        "ID" => uuid::Uuid::parse_str(text).is_ok(),
        "NaiveDate" => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        "DateTime" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    Err(match scalar {
        "ID" => format!("`{text}` is not an id (a UUID)"),
        "NaiveDate" => format!("`{text}` is not a date (YYYY-MM-DD)"),
        _ => format!("`{text}` is not a date and time (RFC 3339)"),
    })
}

/// `format_error` over every id and date inside a JSON value of type `ty`.
fn check_formats(schema: &SchemaIndex, ty: &Type, value: &Value, at: &str) -> Result<(), String> {
    match (ty, value) {
        (_, Value::Null) => Ok(()),
        (Type::NonNullType(inner), v) => check_formats(schema, inner, v, at),
        (Type::ListType(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_formats(schema, inner, v, &format!("{at}[{i}]"))),
        (Type::ListType(inner), v) => check_formats(schema, inner, v, at),
        (Type::NamedType(name), Value::String(s)) => {
            format_error(name, s).map_err(|m| format!("{at}: {m}"))
        }
        (Type::NamedType(name), _) if matches!(name.as_str(), "ID" | "NaiveDate" | "DateTime") => {
            Err(format!("{at}: expected a string"))
        }
        (Type::NamedType(name), Value::Object(fields)) => {
            let Some(declared) = schema.inputs.get(name) else {
                return Ok(());
            };
            for (k, v) in fields {
                if let Some((_, t, _)) = declared.iter().find(|(f, _, _)| f == k) {
                    check_formats(schema, t, v, &format!("{at}.{k}"))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Enum values in a body are case-insensitive too.
fn normalize(schema: &SchemaIndex, ty: &Type, value: Value) -> Value {
    match (ty, value) {
        (Type::NonNullType(inner), v) => normalize(schema, inner, v),
        (Type::ListType(inner), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| normalize(schema, inner, v))
                .collect(),
        ),
        (Type::ListType(inner), v) => normalize(schema, inner, v),
        // JSON has one number type: 3.0 is the integer 3.
        (Type::NamedType(name), Value::Number(n)) if name == "Int" => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i32::MIN as f64 && f <= i32::MAX as f64 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        (Type::NamedType(name), Value::String(s)) if schema.enums.contains_key(name) => {
            let upper = s.to_ascii_uppercase();
            if schema.enums[name].contains(&upper) {
                Value::String(upper)
            } else {
                Value::String(s)
            }
        }
        (Type::NamedType(name), Value::Object(fields)) if schema.inputs.contains_key(name) => {
            let declared = &schema.inputs[name];
            Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match declared.iter().find(|(f, _, _)| *f == k) {
                            Some((_, t, _)) => normalize(schema, t, v),
                            None => v,
                        };
                        (k, v)
                    })
                    .collect(),
            )
        }
        (_, v) => v,
    }
}

/// The sort names a list offers (`release_date`, ...) and the enum values
/// behind each: `RELEASE_DATE_DESC` is `release_date` descending.
pub(crate) fn sort_options(route: &Route, schema: &SchemaIndex) -> Vec<(String, Vec<String>)> {
    let Some((_, ty, _)) = route.variable("sort") else {
        return Vec::new();
    };
    let Some(values) = schema.enums.get(named(ty)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for v in values {
        let base = v
            .strip_suffix("_ASC")
            .or_else(|| v.strip_suffix("_DESC"))
            .unwrap_or(v)
            .to_ascii_lowercase();
        match out.iter_mut().find(|(b, _)| *b == base) {
            Some((_, vs)) => vs.push(v.clone()),
            None => out.push((base, vec![v.clone()])),
        }
    }
    out
}

fn paging(
    route: &Route,
    schema: &SchemaIndex,
    query: &[(String, String)],
) -> Result<Paging, BadInput> {
    let get = |name: &str| -> Result<Option<&str>, BadInput> {
        let mut found = query.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(bad(name, format!("`{name}` is given more than once")));
        }
        Ok(first)
    };
    let number = |name: &str, default: u64, max: u64| -> Result<u64, BadInput> {
        match get(name)? {
            None => Ok(default),
            Some(t) => match t.parse::<u64>() {
                Ok(n) if n >= 1 && n <= max => Ok(n),
                _ => Err(bad(
                    name,
                    format!("`{name}` must be an integer from 1 to {max}"),
                )),
            },
        }
    };
    let limit = number("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = number("page", 1, MAX_PAGE)?;
    let options = sort_options(route, schema);
    let sort = get("sort")?;
    let order = get("order")?;
    let order = match order {
        None => None,
        Some(o) if o.eq_ignore_ascii_case("asc") => Some("ASC"),
        Some(o) if o.eq_ignore_ascii_case("desc") => Some("DESC"),
        Some(_) => return Err(bad("order", "`order` must be asc or desc")),
    };
    let (sort, reversed) = match (sort, order) {
        (None, None) => (None, false),
        (None, Some(_)) if options.is_empty() => {
            return Err(bad("order", "this list has no order to choose"))
        }
        (sort, order) => {
            // Without `sort`, the first option is the subgraph's default order.
            let name = sort.unwrap_or_else(|| options.first().map_or("", |(b, _)| b.as_str()));
            let Some((base, values)) = options.iter().find(|(b, _)| b == name) else {
                return Err(bad(
                    "sort",
                    format!(
                        "`sort` must be one of {}",
                        options
                            .iter()
                            .map(|(b, _)| b.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let directed = values
                .iter()
                .any(|v| v.ends_with("_ASC") || v.ends_with("_DESC"));
            match (directed, order) {
                (false, None) => (Some(values[0].clone()), false),
                (false, Some(_)) => {
                    return Err(bad("order", format!("sort={base} has one order only")))
                }
                (true, order) => {
                    let wanted = order.unwrap_or_else(|| {
                        if values.iter().any(|v| v.ends_with("_DESC")) {
                            "DESC"
                        } else {
                            "ASC"
                        }
                    });
                    let exact = format!("{}_{wanted}", base.to_ascii_uppercase());
                    if values.contains(&exact) {
                        (Some(exact), false)
                    } else if route.reversible() {
                        (Some(values[0].clone()), true)
                    } else {
                        return Err(bad(
                            "order",
                            format!("sort={base} cannot be read in that order here"),
                        ));
                    }
                }
            }
        }
    };
    Ok(Paging {
        page,
        limit,
        sort,
        reversed,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rest::table::load_document;

    const SDL: &str = "
        type Query { things(filter: F, sort: S, first: Int, after: String, last: Int, before: String): C! thing(id: ID!): T }
        type Mutation { save(input: I!): T }
        type C { totalCount: Int! }
        type T { id: ID! }
        input F { kinds: [K!] year: Int min: Float }
        input I { name: String! size: Int kind: K }
        enum K { SMALL LARGE }
        enum S { POPULARITY_DESC TITLE_ASC DATE_ASC DATE_DESC }
    ";
    const DOC: &str = r#"
# @rest(method: GET, path: "/api/v1/things", list: true, params: {kind: "filter.kinds", year: "filter.year", min: "filter.min"})
query Things($filter: F, $sort: S, $first: Int, $after: String, $last: Int, $before: String) { things(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) { totalCount } }
# @rest(method: POST, path: "/api/v1/things", body: "input")
mutation Save($input: I!) { save(input: $input) { id } }
"#;

    fn schema() -> SchemaIndex {
        let doc = graphql_tools::parser::parse_schema::<String>(SDL)
            .unwrap()
            .into_static();
        SchemaIndex::new(Arc::new(doc))
    }

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_strings_become_typed_filter_variables() {
        let routes = load_document("t", DOC).unwrap();
        let (vars, paging) = bind(
            &routes[0],
            &schema(),
            &[],
            &pairs(&[
                ("kind", "small,LARGE"),
                ("year", "1979"),
                ("min", "7.5"),
                ("page", "2"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(
            Value::Object(vars),
            serde_json::json!({"filter": {"kinds": ["SMALL", "LARGE"], "year": 1979, "min": 7.5}})
        );
        let paging = paging.unwrap();
        assert_eq!(
            (paging.page, paging.limit, paging.sort),
            (2, DEFAULT_LIMIT, None)
        );
        let err = bind(&routes[0], &schema(), &[], &pairs(&[("year", "x")]), None).unwrap_err();
        assert_eq!(err.parameter, "year");
        let err = bind(
            &routes[0],
            &schema(),
            &[],
            &pairs(&[("kind", "huge")]),
            None,
        )
        .unwrap_err();
        assert!(
            err.message.contains("small, large") || err.message.contains("large, small"),
            "{}",
            err.message
        );
        let err = bind(&routes[0], &schema(), &[], &pairs(&[("first", "5")]), None).unwrap_err();
        assert_eq!(
            err.parameter, "first",
            "connection variables are not parameters"
        );
    }

    #[test]
    fn sorts_and_orders_map_onto_the_enum_or_a_backward_read() {
        let routes = load_document("t", DOC).unwrap();
        let page = |q: &[(&str, &str)]| {
            bind(&routes[0], &schema(), &[], &pairs(q), None).map(|(_, p)| p.unwrap())
        };
        let p = page(&[("sort", "date"), ("order", "asc")]).unwrap();
        assert_eq!((p.sort.as_deref(), p.reversed), (Some("DATE_ASC"), false));
        let p = page(&[("sort", "popularity"), ("order", "asc")]).unwrap();
        assert_eq!(
            (p.sort.as_deref(), p.reversed),
            (Some("POPULARITY_DESC"), true)
        );
        let p = page(&[("sort", "title")]).unwrap();
        assert_eq!((p.sort.as_deref(), p.reversed), (Some("TITLE_ASC"), false));
        let p = page(&[("sort", "date")]).unwrap();
        assert_eq!(
            p.sort.as_deref(),
            Some("DATE_DESC"),
            "descending unless only ascending exists"
        );
        assert_eq!(page(&[("sort", "size")]).unwrap_err().parameter, "sort");
        assert_eq!(page(&[("limit", "101")]).unwrap_err().parameter, "limit");
        assert_eq!(page(&[("page", "51")]).unwrap_err().parameter, "page");
        assert!(page(&[("page", "50"), ("limit", "100")]).is_ok());
    }

    #[test]
    fn bodies_are_checked_against_the_input_type() {
        let routes = load_document("t", DOC).unwrap();
        let body = |v: Value| bind(&routes[1], &schema(), &[], &[], v.as_object().cloned());
        let (vars, _) = body(serde_json::json!({"name": "a", "kind": "small"})).unwrap();
        assert_eq!(
            vars["input"],
            serde_json::json!({"name": "a", "kind": "SMALL"})
        );
        let err = body(serde_json::json!({"name": "a", "size": "big"})).unwrap_err();
        assert_eq!(err.parameter, "size");
        let err = body(serde_json::json!({"name": "a", "colour": 1})).unwrap_err();
        assert!(err.message.contains("unknown field `colour`"));
        let err = body(serde_json::json!({"size": 1})).unwrap_err();
        assert!(err.message.contains("name"), "{}", err.message);
    }
}
