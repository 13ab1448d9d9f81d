//! From request text to an executable operation: parse, pick the operation by
//! name, validate against the API schema, coerce variables (defaults, required
//! ones present), and split off the introspection fields the router answers.

use graphql_tools::static_graphql::query::{
    Definition, Document, Field, OperationDefinition, Selection, SelectionSet, Value as QueryValue,
    VariableDefinition,
};
use graphql_tools::static_graphql::schema::Type;
use graphql_tools::validation::rules::default_rules_validation_plan;
use kit::ErrorCode;
use serde_json::{Map, Value};

use crate::response::GraphqlError;
use crate::schema::SchemaIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    Query,
    Mutation,
    Subscription,
}

/// A parsed document with its selected operation.
pub(crate) struct ParsedOperation {
    pub document: Document,
    /// Index of the selected operation in `document.definitions`.
    pub index: usize,
}

impl ParsedOperation {
    pub fn parse(query: &str, operation_name: Option<&str>) -> Result<Self, GraphqlError> {
        let document = graphql_tools::parser::parse_query::<String>(query)
            .map_err(|e| {
                GraphqlError::new(
                    ErrorCode::GraphqlParseFailed,
                    e.to_string().trim().to_string(),
                )
            })?
            .into_static();
        let operations: Vec<(usize, Option<&str>)> = document
            .definitions
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                Definition::Operation(op) => Some((i, operation_name_of(op))),
                _ => None,
            })
            .collect();
        let index =
            match operation_name {
                Some(name) => operations
                    .iter()
                    .find(|(_, n)| *n == Some(name))
                    .map(|(i, _)| *i)
                    .ok_or_else(|| {
                        GraphqlError::new(
                            ErrorCode::GraphqlValidationFailed,
                            format!("Unknown operation named \"{name}\"."),
                        )
                    })?,
                None => match operations.as_slice() {
                    [(i, _)] => *i,
                    [] => {
                        return Err(GraphqlError::new(
                            ErrorCode::GraphqlValidationFailed,
                            "The document contains no operation.",
                        ))
                    }
                    _ => return Err(GraphqlError::new(
                        ErrorCode::GraphqlValidationFailed,
                        "The document contains several operations: name one with `operationName`.",
                    )),
                },
            };
        Ok(Self { document, index })
    }

    pub fn operation(&self) -> &OperationDefinition {
        match &self.document.definitions[self.index] {
            Definition::Operation(op) => op,
            Definition::Fragment(_) => unreachable!("index points at an operation"),
        }
    }

    pub fn name(&self) -> Option<&str> {
        operation_name_of(self.operation())
    }

    pub fn kind(&self) -> OperationType {
        match self.operation() {
            OperationDefinition::Mutation(_) => OperationType::Mutation,
            OperationDefinition::Subscription(_) => OperationType::Subscription,
            _ => OperationType::Query,
        }
    }

    pub fn selection_set(&self) -> &SelectionSet {
        selection_set_of(self.operation())
    }

    /// Whether the operation declares variables.
    pub fn has_variables(&self) -> bool {
        !self.variable_definitions().is_empty()
    }

    fn variable_definitions(&self) -> &[VariableDefinition] {
        match self.operation() {
            OperationDefinition::SelectionSet(_) => &[],
            OperationDefinition::Query(q) => &q.variable_definitions,
            OperationDefinition::Mutation(m) => &m.variable_definitions,
            OperationDefinition::Subscription(s) => &s.variable_definitions,
        }
    }

    /// Validates the whole document against the API schema.
    pub fn validate(&self, schema: &SchemaIndex) -> Result<(), Vec<GraphqlError>> {
        let plan = default_rules_validation_plan();
        let errors =
            graphql_tools::validation::validate::validate(&schema.document, &self.document, &plan);
        if errors.is_empty() {
            return Ok(());
        }
        Err(errors
            .into_iter()
            .map(|e| {
                let mut err = GraphqlError::new(ErrorCode::GraphqlValidationFailed, e.message);
                if let Some(pos) = e.locations.first() {
                    err = err.located(pos.line, pos.column);
                }
                err
            })
            .collect())
    }

    /// The request's variables with defaults filled in; a missing required
    /// variable is a request error.
    pub fn coerce_variables(
        &self,
        given: Map<String, Value>,
        schema: &SchemaIndex,
    ) -> Result<Map<String, Value>, GraphqlError> {
        let mut out = given;
        for def in self.variable_definitions() {
            let present = out.get(&def.name).is_some_and(|v| !v.is_null());
            if present {
                continue;
            }
            if let Some(default) = &def.default_value {
                if !out.contains_key(&def.name) {
                    out.insert(def.name.clone(), value_to_json(default, &Map::new()));
                    continue;
                }
            }
            if matches!(def.var_type, Type::NonNullType(_)) {
                return Err(GraphqlError::new(
                    ErrorCode::BadUserInput,
                    format!(
                        "Variable \"${}\" of required type \"{}\" was not provided.",
                        def.name, def.var_type
                    ),
                ));
            }
        }
        crate::variables::check_all(
            schema,
            self.variable_definitions()
                .iter()
                .map(|d| (d.name.as_str(), &d.var_type)),
            &out,
        )?;
        Ok(out)
    }

    /// The root fields the router answers itself (`__schema`, `__type`), and
    /// whether they are all the operation asks (then no subgraph is called).
    pub fn introspection_fields(&self) -> (Vec<&Field>, bool) {
        let mut intro = Vec::new();
        let mut only = true;
        for s in &self.selection_set().items {
            match s {
                Selection::Field(f) if f.name == "__schema" || f.name == "__type" => intro.push(f),
                Selection::Field(f) if f.name == "__typename" => {}
                _ => only = false,
            }
        }
        (intro, only)
    }

    /// The root fields selected directly (not through fragments).
    pub fn operation_selections(&self) -> Vec<&Field> {
        self.selection_set()
            .items
            .iter()
            .filter_map(|s| match s {
                Selection::Field(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    /// The document without the root introspection fields, for the planner.
    pub fn without_introspection(&self) -> Document {
        let mut document = self.document.clone();
        if let Definition::Operation(op) = &mut document.definitions[self.index] {
            selection_set_of_mut(op).items.retain(
                |s| !matches!(s, Selection::Field(f) if f.name == "__schema" || f.name == "__type"),
            );
        }
        document
    }

    pub fn fragments(
        &self,
    ) -> std::collections::HashMap<&str, &graphql_tools::static_graphql::query::FragmentDefinition>
    {
        self.document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::Fragment(f) => Some((f.name.as_str(), f)),
                _ => None,
            })
            .collect()
    }
}

fn operation_name_of(op: &OperationDefinition) -> Option<&str> {
    match op {
        OperationDefinition::SelectionSet(_) => None,
        OperationDefinition::Query(q) => q.name.as_deref(),
        OperationDefinition::Mutation(m) => m.name.as_deref(),
        OperationDefinition::Subscription(s) => s.name.as_deref(),
    }
}

fn selection_set_of(op: &OperationDefinition) -> &SelectionSet {
    match op {
        OperationDefinition::SelectionSet(s) => s,
        OperationDefinition::Query(q) => &q.selection_set,
        OperationDefinition::Mutation(m) => &m.selection_set,
        OperationDefinition::Subscription(s) => &s.selection_set,
    }
}

pub(crate) fn selection_set_of_mut(op: &mut OperationDefinition) -> &mut SelectionSet {
    match op {
        OperationDefinition::SelectionSet(s) => s,
        OperationDefinition::Query(q) => &mut q.selection_set,
        OperationDefinition::Mutation(m) => &mut m.selection_set,
        OperationDefinition::Subscription(s) => &mut s.selection_set,
    }
}

/// A GraphQL literal as JSON, variables substituted.
pub(crate) fn value_to_json(value: &QueryValue, variables: &Map<String, Value>) -> Value {
    match value {
        QueryValue::Variable(name) => variables.get(name).cloned().unwrap_or(Value::Null),
        QueryValue::Int(n) => n.as_i64().map(Value::from).unwrap_or(Value::Null),
        QueryValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        QueryValue::String(s) => Value::String(s.clone()),
        QueryValue::Boolean(b) => Value::Bool(*b),
        QueryValue::Null => Value::Null,
        QueryValue::Enum(e) => Value::String(e.clone()),
        QueryValue::List(items) => {
            Value::Array(items.iter().map(|i| value_to_json(i, variables)).collect())
        }
        QueryValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json(v, variables)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_name_picks_among_several_operations() {
        let doc = "query A { a } query B { b }";
        assert_eq!(
            ParsedOperation::parse(doc, Some("B")).unwrap().name(),
            Some("B")
        );
        let err = ParsedOperation::parse(doc, None).err().unwrap();
        assert_eq!(err.code(), Some("GRAPHQL_VALIDATION_FAILED"));
        let err = ParsedOperation::parse(doc, Some("C")).err().unwrap();
        assert!(err.message.contains("\"C\""));
    }

    #[test]
    fn unparsable_documents_are_parse_errors() {
        let err = ParsedOperation::parse("{ a ", None).err().unwrap();
        assert_eq!(err.code(), Some("GRAPHQL_PARSE_FAILED"));
    }

    #[test]
    fn variables_get_defaults_and_required_ones_must_be_given() {
        let op =
            ParsedOperation::parse("query Q($a: Int = 3, $b: String!, $c: Boolean) { x }", None)
                .unwrap();
        let schema = test_schema();
        let given = json!({"b": "hi"}).as_object().unwrap().clone();
        assert_eq!(
            Value::Object(op.coerce_variables(given, &schema).unwrap()),
            json!({"b": "hi", "a": 3})
        );
        let err = op.coerce_variables(Map::new(), &schema).unwrap_err();
        assert_eq!(err.code(), Some("BAD_USER_INPUT"));
        assert!(err.message.contains("$b"));
    }

    fn test_schema() -> SchemaIndex {
        let sdl = "type Query { x(f: F, e: E, n: [Int!]): Int }
            input F { a: Int!, b: String = \"d\", inner: F }
            enum E { ONE TWO }
            scalar JSON";
        let doc = graphql_tools::parser::parse_schema::<String>(sdl)
            .unwrap()
            .into_static();
        SchemaIndex::new(std::sync::Arc::new(doc))
    }

    #[test]
    fn variables_of_the_wrong_shape_are_refused_with_their_path() {
        let schema = test_schema();
        let op = ParsedOperation::parse(
            "query Q($i: Int, $id: ID, $f: F, $e: E, $n: [Int!], $j: JSON) { x }",
            None,
        )
        .unwrap();
        let ok = json!({"i": 1, "id": 7, "f": {"a": 1, "inner": {"a": 2}}, "e": "TWO", "n": 3, "j": {"any": [1]}});
        assert!(op
            .coerce_variables(ok.as_object().unwrap().clone(), &schema)
            .is_ok());
        let bad = [
            (json!({"i": "1"}), "$i"),
            (json!({"i": 3_000_000_000u64}), "$i"),
            (json!({"id": {"x": 1}}), "$id"),
            (json!({"f": {"b": "x"}}), "$f.a"),
            (json!({"f": {"a": 1, "zzz": 1}}), "zzz"),
            (json!({"f": {"a": 1, "inner": {"a": "no"}}}), "$f.inner.a"),
            (json!({"e": "THREE"}), "THREE"),
            (json!({"n": [1, null]}), "$n[1]"),
        ];
        for (given, mention) in bad {
            let err = op
                .coerce_variables(given.as_object().unwrap().clone(), &schema)
                .unwrap_err();
            assert_eq!(err.code(), Some("BAD_USER_INPUT"), "{given}");
            assert!(err.message.contains(mention), "{given}: {}", err.message);
        }
    }

    #[test]
    fn mutation_and_subscription_kinds_are_recognised() {
        assert_eq!(
            ParsedOperation::parse("mutation { a }", None)
                .unwrap()
                .kind(),
            OperationType::Mutation
        );
        assert_eq!(
            ParsedOperation::parse("{ a }", None).unwrap().kind(),
            OperationType::Query
        );
    }
}
