//! Shapes the merged subgraph answers into the client's response: only the
//! fields the operation asked for, in its order, `@skip`/`@include` applied,
//! fragments matched on the runtime `__typename`, and nulls propagated to the
//! nearest nullable parent as the GraphQL spec requires.

use graphql_tools::static_graphql::schema::Type;
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use kit::ErrorCode;
use serde_json::Map;

use crate::response::{GraphqlError, Step};
use crate::schema::{Leaf, SchemaIndex};
use crate::value::{deep_merge, write_str, Object, Value};
use std::borrow::Cow;

/// The response's own JSON (what `root` builds).
type Json = serde_json::Value;

pub(crate) struct Projection<'a> {
    pub schema: &'a SchemaIndex,
    pub variables: &'a Map<String, Json>,
    pub errors: &'a mut Vec<GraphqlError>,
}

/// A non-null position became null: its parent must become null too.
struct NullBubble;

impl Projection<'_> {
    /// The response `data` for `selections` on the root type; `null` when null
    /// propagation reached the root. The tree is shaped in the executor's
    /// borrowed form (leaves are not copied) and turned into JSON once.
    pub fn root(&mut self, selections: &SelectionSet, root_type: &str, data: &Value<'_>) -> Json {
        let empty = Object::default();
        let object = data.as_object().unwrap_or(&empty);
        let mut out = Object::default();
        let mut path = Vec::new();
        match self.object(selections, root_type, object, &mut path, &mut out) {
            Ok(()) => Value::Object(out).to_serde(),
            Err(NullBubble) => Json::Null,
        }
    }

    fn included(&self, skip_if: &Option<String>, include_if: &Option<String>) -> bool {
        let flag = |name: &String| matches!(self.variables.get(name), Some(Json::Bool(true)));
        !skip_if.as_ref().is_some_and(flag) && include_if.as_ref().is_none_or(flag)
    }

    fn object<'t>(
        &mut self,
        selections: &'t SelectionSet,
        type_name: &str,
        object: &Object<'t>,
        path: &mut Vec<Step<'t>>,
        out: &mut Object<'t>,
    ) -> Result<(), NullBubble> {
        // One lookup of the type for all its fields.
        let fields = self.schema.types.get(type_name).map(|t| &t.fields);
        for item in &selections.items {
            match item {
                SelectionItem::Field(field) => {
                    if field.omit_from_response || !self.included(&field.skip_if, &field.include_if)
                    {
                        continue;
                    }
                    let key = field.selection_identifier();
                    if field.name == "__typename" {
                        let typename = object
                            .get("__typename")
                            .cloned()
                            .unwrap_or_else(|| Value::String(Cow::Owned(type_name.to_string())));
                        out.insert(Cow::Borrowed(key), typename);
                        continue;
                    }
                    let Some(field_type) = fields.and_then(|f| f.get(&field.name)) else {
                        // Not part of the API schema (validation keeps clients
                        // from asking): leave it out rather than guess.
                        continue;
                    };
                    let value = object.get(key).unwrap_or(&Value::Null);
                    path.push(Step::Key(key));
                    let completed = self.complete(field_type, value, &field.selections, path);
                    path.pop();
                    let v = completed?;
                    // Merged fields (the same key twice) fill in, never replace.
                    match out.get_mut(key) {
                        Some(existing) => deep_merge(existing, v),
                        None => out.insert(Cow::Borrowed(key), v),
                    }
                }
                SelectionItem::InlineFragment(fragment) => {
                    if !self.included(&fragment.skip_if, &fragment.include_if) {
                        continue;
                    }
                    let runtime = object.typename().unwrap_or(type_name);
                    if self.schema.type_applies(&fragment.type_condition, runtime) {
                        self.object(&fragment.selections, runtime, object, path, out)?;
                    }
                }
                // Normalization inlines every fragment spread.
                SelectionItem::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn complete<'t>(
        &mut self,
        ty: &Type,
        value: &Value<'t>,
        selections: &'t SelectionSet,
        path: &mut Vec<Step<'t>>,
    ) -> Result<Value<'t>, NullBubble> {
        match ty {
            Type::NonNullType(inner) => {
                let v = self
                    .complete(inner, value, selections, path)
                    .unwrap_or(Value::Null);
                if v.is_null() {
                    self.null_error(path);
                    return Err(NullBubble);
                }
                Ok(v)
            }
            _ if value.is_null() => Ok(Value::Null),
            Type::ListType(inner) => {
                let Value::Array(items) = value else {
                    return Ok(Value::Null);
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    let completed = self.complete(inner, item, selections, path);
                    path.pop();
                    match completed {
                        Ok(v) => out.push(v),
                        // A non-null item went null: the (nullable) list is null.
                        Err(NullBubble) => return Ok(Value::Null),
                    }
                }
                Ok(Value::Array(out))
            }
            Type::NamedType(name) => {
                if let Some(leaf) = self.schema.leaf(name) {
                    if self.valid_leaf(&leaf, value, name, path) {
                        return Ok(value.clone());
                    }
                    return Ok(Value::Null);
                }
                let Value::Object(object) = value else {
                    return Ok(Value::Null);
                };
                let runtime = object.typename().unwrap_or(name);
                let mut out = Object::default();
                match self.object(selections, runtime, object, path, &mut out) {
                    Ok(()) => Ok(Value::Object(out)),
                    Err(NullBubble) => Ok(Value::Null),
                }
            }
        }
    }

    /// Appends the response `data` for `selections` to `out` as JSON text
    /// (no response tree is built: leaves are copied from the subgraphs'
    /// answers); `false`, with nothing written, when the operation merges
    /// fields of the same response key (fragments), which only the tree form
    /// can do.
    pub fn write_root(
        &mut self,
        selections: &SelectionSet,
        root_type: &str,
        data: &Value<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        if merges_fields(selections, &mut Vec::new()) {
            return false;
        }
        let empty = Object::default();
        let object = data.as_object().unwrap_or(&empty);
        let start = out.len();
        let mut path = Vec::new();
        out.push(b'{');
        let mut first = true;
        match self.write_object(selections, root_type, object, &mut path, out, &mut first) {
            Ok(()) => out.push(b'}'),
            Err(NullBubble) => {
                out.truncate(start);
                out.extend_from_slice(b"null");
            }
        }
        true
    }

    fn write_object<'s>(
        &mut self,
        selections: &'s SelectionSet,
        type_name: &str,
        object: &Object<'_>,
        path: &mut Vec<Step<'s>>,
        out: &mut Vec<u8>,
        first: &mut bool,
    ) -> Result<(), NullBubble> {
        // One lookup of the type for all its fields.
        let fields = self.schema.types.get(type_name).map(|t| &t.fields);
        for item in &selections.items {
            match item {
                SelectionItem::Field(field) => {
                    if field.omit_from_response || !self.included(&field.skip_if, &field.include_if)
                    {
                        continue;
                    }
                    let key = field.selection_identifier();
                    let field_type = if field.name == "__typename" {
                        None
                    } else {
                        match fields.and_then(|f| f.get(&field.name)) {
                            Some(t) => Some(t),
                            // Not part of the API schema: left out, as in `object`.
                            None => continue,
                        }
                    };
                    if !*first {
                        out.push(b',');
                    }
                    *first = false;
                    write_key(out, key);
                    let Some(field_type) = field_type else {
                        match object.get("__typename") {
                            Some(t) => t.write_json(out),
                            None => write_str(out, type_name),
                        }
                        continue;
                    };
                    let value = object.get(key).unwrap_or(&Value::Null);
                    path.push(Step::Key(key));
                    let written =
                        self.write_complete(field_type, value, &field.selections, path, out);
                    path.pop();
                    written?;
                }
                SelectionItem::InlineFragment(fragment) => {
                    if !self.included(&fragment.skip_if, &fragment.include_if) {
                        continue;
                    }
                    let runtime = object.typename().unwrap_or(type_name);
                    if self.schema.type_applies(&fragment.type_condition, runtime) {
                        self.write_object(&fragment.selections, runtime, object, path, out, first)?;
                    }
                }
                SelectionItem::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    /// Writes `value` completed as `ty`; `Ok(true)` when it wrote `null`.
    fn write_complete<'s>(
        &mut self,
        ty: &Type,
        value: &Value<'_>,
        selections: &'s SelectionSet,
        path: &mut Vec<Step<'s>>,
        out: &mut Vec<u8>,
    ) -> Result<bool, NullBubble> {
        match ty {
            Type::NonNullType(inner) => {
                let start = out.len();
                let null = self
                    .write_complete(inner, value, selections, path, out)
                    .unwrap_or(true);
                if null {
                    out.truncate(start);
                    self.null_error(path);
                    return Err(NullBubble);
                }
                Ok(false)
            }
            _ if value.is_null() => {
                out.extend_from_slice(b"null");
                Ok(true)
            }
            Type::ListType(inner) => {
                let Value::Array(items) = value else {
                    out.extend_from_slice(b"null");
                    return Ok(true);
                };
                let start = out.len();
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    path.push(Step::Index(i));
                    let written = self.write_complete(inner, item, selections, path, out);
                    path.pop();
                    if written.is_err() {
                        // A non-null item went null: the (nullable) list is null.
                        out.truncate(start);
                        out.extend_from_slice(b"null");
                        return Ok(true);
                    }
                }
                out.push(b']');
                Ok(false)
            }
            Type::NamedType(name) => {
                if let Some(leaf) = self.schema.leaf(name) {
                    if self.valid_leaf(&leaf, value, name, path) {
                        value.write_json(out);
                        return Ok(false);
                    }
                    out.extend_from_slice(b"null");
                    return Ok(true);
                }
                let Value::Object(object) = value else {
                    out.extend_from_slice(b"null");
                    return Ok(true);
                };
                let runtime = object.typename().unwrap_or(name);
                let start = out.len();
                out.push(b'{');
                let mut first = true;
                match self.write_object(selections, runtime, object, path, out, &mut first) {
                    Ok(()) => {
                        out.push(b'}');
                        Ok(false)
                    }
                    Err(NullBubble) => {
                        out.truncate(start);
                        out.extend_from_slice(b"null");
                        Ok(true)
                    }
                }
            }
        }
    }

    /// Whether a subgraph's leaf `value` is one of `leaf`'s; when it is not
    /// (an enum value the API schema does not have: `@inaccessible`, or
    /// known to another subgraph only), the position becomes null with an
    /// error at its path, as the reference gateway does.
    fn valid_leaf(
        &mut self,
        leaf: &Leaf<'_>,
        value: &Value<'_>,
        name: &str,
        path: &[Step<'_>],
    ) -> bool {
        let Leaf::Enum(values) = leaf else {
            return true;
        };
        if value.as_str().is_some_and(|v| values.contains(v)) {
            return true;
        }
        self.errors.push(
            GraphqlError::new(
                ErrorCode::Internal,
                format!("Invalid value found for enum type {name}"),
            )
            .at(path.iter().map(|s| s.owned()).collect()),
        );
        false
    }

    /// Records why a non-null position is null, unless an error on the same
    /// branch (a subgraph error below, an unavailable entity above) explains it.
    fn null_error(&mut self, path: &[Step<'_>]) {
        // One path is a prefix of the other: they agree on the shorter one's length.
        let explained = self.errors.iter().any(|e| {
            e.path
                .as_ref()
                .is_some_and(|p| path.iter().zip(p).all(|(s, e)| s.is(e)))
        });
        if !explained {
            self.errors.push(
                GraphqlError::new(
                    ErrorCode::Internal,
                    "Cannot return null for non-nullable field",
                )
                .at(path.iter().map(|s| s.owned()).collect()),
            );
        }
    }
}

/// `"key":` (response keys are GraphQL names: nothing to escape).
fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Whether some response key is selected twice at one level (directly or
/// through inline fragments), which needs the answers merged.
fn merges_fields<'s>(selections: &'s SelectionSet, keys: &mut Vec<&'s str>) -> bool {
    let level = keys.len();
    let found = level_merges(selections, keys);
    keys.truncate(level);
    found
}

fn level_merges<'s>(selections: &'s SelectionSet, keys: &mut Vec<&'s str>) -> bool {
    for item in &selections.items {
        match item {
            SelectionItem::Field(field) => {
                let key = field.selection_identifier();
                if keys.contains(&key) {
                    return true;
                }
                keys.push(key);
                if merges_fields(&field.selections, &mut Vec::new()) {
                    return true;
                }
            }
            SelectionItem::InlineFragment(fragment) => {
                if level_merges(&fragment.selections, keys) {
                    return true;
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
    false
}
