//! The GraphQL response the router writes: `data`, and `errors` whose `path`
//! points into the client's response (never the subgraph's) and whose
//! `extensions.code` comes from kit's one error code list.

use serde::Serialize;
use serde_json::{Map, Value};

/// One step of a response path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PathElem {
    Key(String),
    Index(usize),
}

impl PathElem {
    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(Self::Key(s.clone())),
            Value::Number(n) => n.as_u64().map(|i| Self::Index(i as usize)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphqlError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<Location>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathElem>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl GraphqlError {
    pub fn new(code: kit::ErrorCode, message: impl Into<String>) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(code.as_str().into()));
        Self {
            message: message.into(),
            locations: None,
            path: None,
            extensions,
        }
    }

    pub fn at(mut self, path: Vec<PathElem>) -> Self {
        self.path = Some(path);
        self
    }

    pub fn located(mut self, line: usize, column: usize) -> Self {
        self.locations = Some(vec![Location { line, column }]);
        self
    }

    pub fn service(mut self, name: &str) -> Self {
        self.extensions
            .insert("serviceName".into(), Value::String(name.into()));
        self
    }

    /// Adds `extensions.<key>`.
    pub fn extension(mut self, key: &str, value: Value) -> Self {
        self.extensions.insert(key.into(), value);
        self
    }

    pub fn code(&self) -> Option<&str> {
        self.extensions.get("code").and_then(Value::as_str)
    }
}

/// A complete GraphQL response. `data` is absent for request errors (parse,
/// validation), `null` when null propagation reached the root.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphqlResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<GraphqlError>,
}

impl GraphqlResponse {
    pub fn request_error(error: GraphqlError) -> Self {
        Self {
            data: None,
            errors: vec![error],
        }
    }

    /// A request error: the operation never ran (parse, validation, ...).
    pub fn is_request_error(&self) -> bool {
        self.data.is_none()
    }
}
