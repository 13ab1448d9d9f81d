//! The executor's JSON: subgraph answers parsed in place. Strings and keys
//! borrow from the response bodies (kept alive in `Bodies` for the length of
//! one execution) unless they held escapes, and objects are small vectors of
//! (key, value) pairs searched in order, which for the handful of fields a
//! GraphQL object carries beats hashing every key. The merged tree is shaped
//! into the client's response by `project`; `serde_json::Value` is only what
//! comes in (variables, events) and what goes out where a tree is wanted.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON value borrowing its text from `'a`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Value<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its members in order. A key given twice (never seen from
/// a GraphQL server) resolves to its last value, as in `serde_json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'a> Object<'a> {
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().rposition(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.position(key).map(|i| &self.0[i].1)
    }

    /// The member under `key` and its place among the members (which stays
    /// its place: members are only ever added at the end or set in place).
    pub fn get_at(&self, key: &str) -> Option<(usize, &Value<'a>)> {
        self.position(key).map(|i| (i, &self.0[i].1))
    }

    /// The value of the member at `place` (from `get_at`).
    pub fn member_mut(&mut self, place: usize) -> Option<&mut Value<'a>> {
        self.0.get_mut(place).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value<'a>> {
        self.position(key).map(|i| &mut self.0[i].1)
    }

    /// Sets `key` to `value`, in place when it is there already.
    pub fn insert(&mut self, key: Cow<'a, str>, value: Value<'a>) {
        match self.position(&key) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value<'a>> {
        self.position(key).map(|i| self.0.remove(i).1)
    }

    pub fn typename(&self) -> Option<&str> {
        self.get("__typename").and_then(Value::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for Object<'a> {
    type Item = (Cow<'a, str>, Value<'a>);
    type IntoIter = std::vec::IntoIter<(Cow<'a, str>, Value<'a>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> Value<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Object<'a>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The value (an owned copy) as `serde_json` has it.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Self::to_serde).collect())
            }
            Value::Object(o) => serde_json::Value::Object(
                o.0.iter()
                    .map(|(k, v)| (k.to_string(), v.to_serde()))
                    .collect(),
            ),
        }
    }

    /// `value`, borrowed.
    pub fn from_serde(value: &'a serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(Cow::Borrowed(s)),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().map(Self::from_serde).collect())
            }
            serde_json::Value::Object(o) => Value::Object(Object(
                o.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Self::from_serde(v)))
                    .collect(),
            )),
        }
    }

    /// Appends the value as compact JSON text.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => {
                serde_json::to_writer(&mut *out, n).expect("numbers always serialize")
            }
            Value::String(s) => write_str(out, s),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Value::Object(o) => {
                out.push(b'{');
                for (i, (k, v)) in o.0.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, k);
                    out.push(b':');
                    v.write_json(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Appends `s` as a JSON string; text that needs no escape (nearly all of
/// it) is copied as it is.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("strings always serialize");
    }
}

/// Whether `text` holds a byte JSON must escape (a control character, `"`
/// or `\\`): eight bytes at a time, each test setting a byte's high bit
/// where it matches (the classic "has a zero / less-than byte" tricks).
fn needs_escape(text: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = text.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if below_space | zero(x ^ (ONES * b'"' as u64)) | zero(x ^ (ONES * b'\\' as u64)) != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

impl<'de: 'a, 'a> Deserialize<'de> for Value<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push((key, map.next_value()?));
        }
        Ok(Value::Object(Object(members)))
    }
}

/// An object key, borrowed when the text allows.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A subgraph's answer, parsed from its body.
#[derive(Debug, Deserialize)]
pub(crate) struct Answer<'a> {
    #[serde(default, borrow)]
    pub data: Option<Value<'a>>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

impl<'a> Answer<'a> {
    /// The answer in `body`; `None` when it is no GraphQL response (neither
    /// `data` nor `errors`). sonic-rs parses it (SIMD string scanning; it
    /// hands unescaped strings over borrowed, as serde_json does).
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        sonic_rs::from_slice::<Answer<'a>>(body)
            .ok()
            .filter(|a| a.data.is_some() || !a.errors.is_empty())
    }
}

/// The response bodies one execution has read, kept until its response is
/// written so the values parsed from them can borrow their text.
#[derive(Default)]
pub(crate) struct Bodies(boxcar::Vec<Bytes>);

impl Bodies {
    pub fn keep(&self, body: Bytes) -> &[u8] {
        let i = self.0.push(body);
        &self.0[i]
    }
}

/// Merges `source` into `target`: objects field by field, lists item by item;
/// a null never erases data an earlier fetch gave.
pub(crate) fn deep_merge<'a>(target: &mut Value<'a>, source: Value<'a>) {
    match (target, source) {
        (Value::Object(t), Value::Object(s)) => {
            if t.is_empty() {
                *t = s;
                return;
            }
            for (k, v) in s {
                match t.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => t.0.push((k, v)),
                }
            }
        }
        (Value::Array(t), Value::Array(s)) if t.len() == s.len() => {
            for (ti, si) in t.iter_mut().zip(s) {
                deep_merge(ti, si);
            }
        }
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

    fn parse(text: &str) -> Value<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn parses_borrowing_text_without_escapes_and_writes_it_back() {
        let text = r#"{"a":"plain","b":"tab\there","c":[1,-2,2.5,true,null],"d":{"e":"\u00e9"}}"#;
        let v = parse(text);
        let o = v.as_object().unwrap();
        assert!(matches!(
            o.get("a"),
            Some(Value::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(o.get("b"), Some(Value::String(Cow::Owned(s))) if s == "tab\there"));
        let mut out = Vec::new();
        v.write_json(&mut out);
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert_eq!(v.to_serde(), back);
        assert_eq!(Value::from_serde(&back), v);
    }

    #[test]
    fn escapes_are_found_anywhere_in_a_string() {
        for len in 0..20 {
            let plain = "é".repeat(len / 2) + &"a".repeat(len % 2);
            assert!(!needs_escape(plain.as_bytes()), "{plain:?}");
            for at in 0..=plain.len() {
                if !plain.is_char_boundary(at) {
                    continue;
                }
                for special in ["\"", "\\", "\n", "\u{1f}", "\0"] {
                    let text = format!("{}{special}{}", &plain[..at], &plain[at..]);
                    assert!(needs_escape(text.as_bytes()), "{text:?}");
                    let mut out = Vec::new();
                    write_str(&mut out, &text);
                    let back: String = serde_json::from_slice(&out).unwrap();
                    assert_eq!(back, text);
                }
            }
        }
        // Bytes just above the limits are plain.
        assert!(!needs_escape(b" !#[]~\x7f abcdefgh"));
    }

    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let v = parse(r#"{"k":1,"k":2}"#);
        assert_eq!(
            v.as_object().unwrap().get("k"),
            Some(&Value::Number(2.into()))
        );
    }

    #[test]
    fn deep_merge_joins_objects_and_lists_and_keeps_data_over_null() {
        let mut a = parse(r#"{"a":{"x":1},"l":[{"id":1},{"id":2}],"n":{"k":1}}"#);
        deep_merge(
            &mut a,
            parse(r#"{"a":{"y":2},"l":[{"t":"a"},{"t":"b"}],"n":null}"#),
        );
        assert_eq!(
            a,
            parse(r#"{"a":{"x":1,"y":2},"l":[{"id":1,"t":"a"},{"id":2,"t":"b"}],"n":{"k":1}}"#)
        );
    }

    #[test]
    fn answers_without_data_or_errors_are_refused() {
        assert!(Answer::parse(br#"{"data":{"a":1}}"#).is_some());
        assert!(Answer::parse(br#"{"errors":[{"message":"x"}]}"#).is_some());
        assert!(Answer::parse(br#"{"hello":1}"#).is_none());
        assert!(Answer::parse(b"<html>").is_none());
    }

    #[test]
    fn kept_bodies_outlive_their_producers() {
        let bodies = Bodies::default();
        let a = bodies.keep(Bytes::from_static(b"one"));
        let b = bodies.keep(Bytes::from(b"two".to_vec()));
        assert_eq!((a, b), (&b"one"[..], &b"two"[..]));
    }
}
