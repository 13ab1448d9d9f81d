//! Coercion of request variables to their declared types (GraphQL spec,
//! "CoerceVariableValues"): a value of the wrong shape is a request error
//! naming the variable and the path inside it, before any subgraph is called.

use graphql_tools::static_graphql::schema::Type;
use kit::ErrorCode;
use serde_json::{Map, Value};

use crate::response::GraphqlError;
use crate::schema::SchemaIndex;

/// Checks `value` against `ty`; `Err` says what is wrong and where.
pub(crate) fn check(
    schema: &SchemaIndex,
    ty: &Type,
    value: &Value,
    at: &str,
) -> Result<(), String> {
    match ty {
        Type::NonNullType(inner) => {
            if value.is_null() {
                return Err(format!("{at}: a value is required"));
            }
            check(schema, inner, value, at)
        }
        _ if value.is_null() => Ok(()),
        Type::ListType(inner) => match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| check(schema, inner, v, &format!("{at}[{i}]"))),
            // A single value stands for a list of one.
            single => check(schema, inner, single, at),
        },
        Type::NamedType(name) => named(schema, name, value, at),
    }
}

fn named(schema: &SchemaIndex, name: &str, value: &Value, at: &str) -> Result<(), String> {
    let wrong = |expected: &str| Err(format!("{at}: expected {expected}, got {}", kind(value)));
    match name {
        "Int" => match value.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => Ok(()),
            _ => wrong("Int (a 32-bit integer)"),
        },
        "Float" => match value {
            Value::Number(_) => Ok(()),
            _ => wrong("Float"),
        },
        "String" => match value {
            Value::String(_) => Ok(()),
            _ => wrong("String"),
        },
        "Boolean" => match value {
            Value::Bool(_) => Ok(()),
            _ => wrong("Boolean"),
        },
        "ID" => match value {
            Value::String(_) => Ok(()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            _ => wrong("ID (a string or an integer)"),
        },
        _ => {
            if let Some(values) = schema.enums.get(name) {
                return match value.as_str() {
                    Some(v) if values.contains(v) => Ok(()),
                    Some(v) => Err(format!("{at}: `{v}` is not a value of enum {name}")),
                    None => wrong(&format!("a value of enum {name}")),
                };
            }
            if let Some(fields) = schema.inputs.get(name) {
                let Value::Object(given) = value else {
                    return wrong(&format!("input object {name}"));
                };
                if let Some(unknown) = given
                    .keys()
                    .find(|k| !fields.iter().any(|(f, _, _)| f == *k))
                {
                    return Err(format!("{at}: {name} has no field `{unknown}`"));
                }
                for (field, ty, has_default) in fields {
                    let path = format!("{at}.{field}");
                    match given.get(field) {
                        Some(v) => check(schema, ty, v, &path)?,
                        None if matches!(ty, Type::NonNullType(_)) && !has_default => {
                            return Err(format!("{path}: a value is required"))
                        }
                        None => {}
                    }
                }
                return Ok(());
            }
            // Custom scalars accept any JSON; the owning subgraph parses them.
            Ok(())
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Checks every declared variable in `values`.
pub(crate) fn check_all<'a>(
    schema: &SchemaIndex,
    declared: impl IntoIterator<Item = (&'a str, &'a Type)>,
    values: &Map<String, Value>,
) -> Result<(), GraphqlError> {
    for (name, ty) in declared {
        if let Some(v) = values.get(name) {
            check(schema, ty, v, &format!("${name}")).map_err(|m| {
                GraphqlError::new(
                    ErrorCode::BadUserInput,
                    format!("Variable \"${name}\" got an invalid value: {m}"),
                )
            })?;
        }
    }
    Ok(())
}
