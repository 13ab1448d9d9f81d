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

/// One step of the path being completed, borrowed from the operation: the
/// path is only turned into owned `PathElem`s when an error needs it, so a
/// response costs no allocation per field for it.
#[derive(Clone, Copy)]
pub(crate) enum Step<'s> {
    Key(&'s str),
    Index(usize),
}

impl Step<'_> {
    pub(crate) fn owned(self) -> PathElem {
        match self {
            Step::Key(k) => PathElem::Key(k.to_string()),
            Step::Index(i) => PathElem::Index(i),
        }
    }

    pub(crate) fn is(&self, elem: &PathElem) -> bool {
        match (self, elem) {
            (Step::Key(a), PathElem::Key(b)) => *a == b,
            (Step::Index(a), PathElem::Index(b)) => a == b,
            _ => false,
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

/// What a written response starts with.
pub(crate) const DATA_PREFIX: &[u8] = b"{\"data\":";

/// A complete GraphQL response. `data` is absent for request errors (parse,
/// validation), `null` when null propagation reached the root.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GraphqlResponse {
    pub data: Option<Value>,
    pub errors: Vec<GraphqlError>,
    /// `{"data":<data>` already written as JSON text (`DATA_PREFIX`, then
    /// `data`), set instead of `data` on the HTTP path (no response tree is
    /// built there); `into_json` closes it in place.
    pub(crate) data_json: Option<Vec<u8>>,
    /// Response `extensions` (the operation's cost, when the client asked).
    pub extensions: Option<Map<String, Value>>,
}

impl GraphqlResponse {
    pub fn request_error(error: GraphqlError) -> Self {
        Self {
            errors: vec![error],
            ..Default::default()
        }
    }

    /// A request error: the operation never ran (parse, validation, ...).
    pub fn is_request_error(&self) -> bool {
        self.data.is_none() && self.data_json.is_none()
    }

    /// The response as JSON text; written data is copied in, not parsed.
    pub fn to_json(&self) -> Vec<u8> {
        match &self.data_json {
            Some(data) => self.close(data.clone()),
            None => serde_json::to_vec(self).expect("responses always serialize"),
        }
    }

    /// `to_json`, finishing the written data's own buffer.
    pub fn into_json(mut self) -> Vec<u8> {
        match self.data_json.take() {
            Some(data) => self.close(data),
            None => serde_json::to_vec(&self).expect("responses always serialize"),
        }
    }

    fn close(&self, mut out: Vec<u8>) -> Vec<u8> {
        if !self.errors.is_empty() {
            out.extend_from_slice(b",\"errors\":");
            serde_json::to_writer(&mut out, &self.errors).expect("errors always serialize");
        }
        if let Some(extensions) = &self.extensions {
            out.extend_from_slice(b",\"extensions\":");
            serde_json::to_writer(&mut out, extensions).expect("extensions always serialize");
        }
        out.push(b'}');
        out
    }
}

impl Serialize for GraphqlResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(json) = &self.data_json {
            // Only where `to_json` is not used (rare): read back once.
            let data: Value = serde_json::from_slice(&json[DATA_PREFIX.len()..])
                .map_err(serde::ser::Error::custom)?;
            map.serialize_entry("data", &data)?;
        } else if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        if !self.errors.is_empty() {
            map.serialize_entry("errors", &self.errors)?;
        }
        if let Some(extensions) = &self.extensions {
            map.serialize_entry("extensions", extensions)?;
        }
        map.end()
    }
}
