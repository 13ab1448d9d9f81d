//! Answers `__schema` and `__type` from the API schema itself, so clients
//! (GraphiQL, codegen) see exactly what they may query: no `join__*`, `link__*`,
//! `_entities`, `_service` or `@inaccessible` members, and no subgraph is asked.

use std::collections::HashMap;

use graphql_tools::static_graphql::query::{
    Directive as QueryDirective, FragmentDefinition, Selection, SelectionSet, TypeCondition,
    Value as QueryValue,
};
use graphql_tools::static_graphql::schema::{
    Definition, Directive, DirectiveDefinition, EnumValue, Field, InputValue, Type, TypeDefinition,
};
use serde_json::{Map, Value};

use crate::schema::SchemaIndex;

/// Built-in directives every schema has, shown when the SDL does not declare them.
const BUILTIN_DIRECTIVES: &str = r#"
"Directs the executor to include this field or fragment only when the `if` argument is true."
directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
"Directs the executor to skip this field or fragment when the `if` argument is true."
directive @skip(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
"Marks an element of a GraphQL schema as no longer supported."
directive @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
"Exposes a URL that specifies the behavior of this scalar."
directive @specifiedBy(url: String!) on SCALAR
"#;

const BUILTIN_SCALARS: [(&str, &str); 5] = [
    (
        "String",
        "The `String` scalar type represents textual data.",
    ),
    (
        "Int",
        "The `Int` scalar type represents non-fractional signed whole numeric values.",
    ),
    (
        "Float",
        "The `Float` scalar type represents signed double-precision fractional values.",
    ),
    (
        "Boolean",
        "The `Boolean` scalar type represents `true` or `false`.",
    ),
    ("ID", "The `ID` scalar type represents a unique identifier."),
];

/// The schema as introspection sees it, built once per supergraph.
pub(crate) struct Introspection {
    types: Vec<(String, TypeDefinition)>,
    by_name: HashMap<String, usize>,
    directives: Vec<DirectiveDefinition>,
    query: String,
    mutation: Option<String>,
    subscription: Option<String>,
}

impl Introspection {
    pub fn new(schema: &SchemaIndex) -> Self {
        let mut types = Vec::new();
        let mut directives = Vec::new();
        for def in &schema.document.definitions {
            match def {
                Definition::TypeDefinition(t) => types.push((type_name(t).to_string(), t.clone())),
                Definition::DirectiveDefinition(d) => directives.push(d.clone()),
                _ => {}
            }
        }
        for (name, description) in BUILTIN_SCALARS {
            if !types.iter().any(|(n, _)| n == name) {
                let mut scalar =
                    graphql_tools::static_graphql::schema::ScalarType::new(name.into());
                scalar.description = Some(description.into());
                types.push((name.to_string(), TypeDefinition::Scalar(scalar)));
            }
        }
        let builtin = graphql_tools::parser::parse_schema::<String>(BUILTIN_DIRECTIVES)
            .expect("the built-in directive SDL parses")
            .into_static();
        for def in builtin.definitions {
            if let Definition::DirectiveDefinition(d) = def {
                if !directives.iter().any(|x| x.name == d.name) {
                    directives.push(d);
                }
            }
        }
        types.sort_by(|a, b| a.0.cmp(&b.0));
        let by_name = types
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        Self {
            types,
            by_name,
            directives,
            query: schema.query.clone(),
            mutation: schema.mutation.clone(),
            subscription: schema.subscription.clone(),
        }
    }

    fn get(&self, name: &str) -> Option<&TypeDefinition> {
        self.by_name.get(name).map(|&i| &self.types[i].1)
    }

    /// Resolves the introspection field `field` (`__schema`, `__type`,
    /// `__typename`) of the root type.
    pub fn resolve_root(
        &self,
        field: &graphql_tools::static_graphql::query::Field,
        ctx: &Ctx<'_>,
    ) -> Value {
        let node = match field.name.as_str() {
            "__schema" => Node::Schema,
            "__type" => match ctx.argument(&field.arguments, "name") {
                Some(Value::String(name)) if self.get(&name).is_some() => {
                    Node::Type(TypeRef::Named(name))
                }
                _ => return Value::Null,
            },
            "__typename" => return Value::String(self.query.clone()),
            _ => return Value::Null,
        };
        self.select(&node, &field.selection_set, ctx)
    }

    fn select(&self, node: &Node<'_>, selection_set: &SelectionSet, ctx: &Ctx<'_>) -> Value {
        let mut out = Map::new();
        self.select_into(node, selection_set, ctx, &mut out);
        Value::Object(out)
    }

    fn select_into(
        &self,
        node: &Node<'_>,
        selection_set: &SelectionSet,
        ctx: &Ctx<'_>,
        out: &mut Map<String, Value>,
    ) {
        for selection in &selection_set.items {
            match selection {
                Selection::Field(f) => {
                    if !ctx.included(&f.directives) {
                        continue;
                    }
                    let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                    let value = if f.name == "__typename" {
                        Value::String(node.typename().into())
                    } else {
                        match self.field(node, &f.name, &f.arguments, ctx) {
                            Resolved::Leaf(v) => v,
                            Resolved::Node(n) => self.select(&n, &f.selection_set, ctx),
                            Resolved::List(nodes) => Value::Array(
                                nodes
                                    .iter()
                                    .map(|n| self.select(n, &f.selection_set, ctx))
                                    .collect(),
                            ),
                        }
                    };
                    out.insert(key, value);
                }
                Selection::InlineFragment(i) => {
                    let applies = match &i.type_condition {
                        Some(TypeCondition::On(t)) => t == node.typename(),
                        None => true,
                    };
                    if applies && ctx.included(&i.directives) {
                        self.select_into(node, &i.selection_set, ctx, out);
                    }
                }
                Selection::FragmentSpread(s) => {
                    let Some(fragment) = ctx.fragments.get(s.fragment_name.as_str()) else {
                        continue;
                    };
                    let TypeCondition::On(t) = &fragment.type_condition;
                    if t == node.typename() && ctx.included(&s.directives) {
                        self.select_into(node, &fragment.selection_set, ctx, out);
                    }
                }
            }
        }
    }

    fn field<'s>(
        &'s self,
        node: &Node<'s>,
        name: &str,
        arguments: &[(String, QueryValue)],
        ctx: &Ctx<'_>,
    ) -> Resolved<'s> {
        let include_deprecated = matches!(
            ctx.argument(arguments, "includeDeprecated"),
            Some(Value::Bool(true))
        );
        let named = |n: &str| Resolved::Node(Node::Type(TypeRef::Named(n.to_string())));
        let opt_named = |n: &Option<String>| match n {
            Some(n) => named(n),
            None => Resolved::Leaf(Value::Null),
        };
        match node {
            Node::Schema => match name {
                "description" => Resolved::Leaf(Value::Null),
                "types" => Resolved::List(
                    self.types
                        .iter()
                        .map(|(n, _)| Node::Type(TypeRef::Named(n.clone())))
                        .collect(),
                ),
                "queryType" => named(&self.query),
                "mutationType" => opt_named(&self.mutation),
                "subscriptionType" => opt_named(&self.subscription),
                "directives" => {
                    Resolved::List(self.directives.iter().map(Node::Directive).collect())
                }
                _ => Resolved::Leaf(Value::Null),
            },
            Node::Type(TypeRef::NonNull(inner)) | Node::Type(TypeRef::List(inner)) => match name {
                "kind" => Resolved::Leaf(Value::String(
                    if matches!(node, Node::Type(TypeRef::NonNull(_))) {
                        "NON_NULL"
                    } else {
                        "LIST"
                    }
                    .into(),
                )),
                "ofType" => Resolved::Node(Node::Type((**inner).clone())),
                _ => Resolved::Leaf(Value::Null),
            },
            Node::Type(TypeRef::Named(type_name)) => {
                let Some(def) = self.get(type_name) else {
                    return Resolved::Leaf(Value::Null);
                };
                self.type_field(def, name, include_deprecated)
            }
            Node::Field(f) => match name {
                "name" => Resolved::Leaf(Value::String(f.name.clone())),
                "description" => Resolved::Leaf(opt_string(&f.description)),
                "args" => Resolved::List(
                    f.arguments
                        .iter()
                        .filter(|a| include_deprecated || deprecation(&a.directives).is_none())
                        .map(Node::InputValue)
                        .collect(),
                ),
                "type" => Resolved::Node(Node::Type(TypeRef::from(&f.field_type))),
                "isDeprecated" => Resolved::Leaf(Value::Bool(deprecation(&f.directives).is_some())),
                "deprecationReason" => {
                    Resolved::Leaf(deprecation(&f.directives).unwrap_or(Value::Null))
                }
                _ => Resolved::Leaf(Value::Null),
            },
            Node::InputValue(v) => match name {
                "name" => Resolved::Leaf(Value::String(v.name.clone())),
                "description" => Resolved::Leaf(opt_string(&v.description)),
                "type" => Resolved::Node(Node::Type(TypeRef::from(&v.value_type))),
                "defaultValue" => Resolved::Leaf(
                    v.default_value
                        .as_ref()
                        .map(|d| Value::String(d.to_string()))
                        .unwrap_or(Value::Null),
                ),
                "isDeprecated" => Resolved::Leaf(Value::Bool(deprecation(&v.directives).is_some())),
                "deprecationReason" => {
                    Resolved::Leaf(deprecation(&v.directives).unwrap_or(Value::Null))
                }
                _ => Resolved::Leaf(Value::Null),
            },
            Node::EnumValue(v) => match name {
                "name" => Resolved::Leaf(Value::String(v.name.clone())),
                "description" => Resolved::Leaf(opt_string(&v.description)),
                "isDeprecated" => Resolved::Leaf(Value::Bool(deprecation(&v.directives).is_some())),
                "deprecationReason" => {
                    Resolved::Leaf(deprecation(&v.directives).unwrap_or(Value::Null))
                }
                _ => Resolved::Leaf(Value::Null),
            },
            Node::Directive(d) => match name {
                "name" => Resolved::Leaf(Value::String(d.name.clone())),
                "description" => Resolved::Leaf(opt_string(&d.description)),
                "isRepeatable" => Resolved::Leaf(Value::Bool(d.repeatable)),
                "locations" => Resolved::Leaf(Value::Array(
                    d.locations
                        .iter()
                        .map(|l| Value::String(l.as_str().into()))
                        .collect(),
                )),
                "args" => Resolved::List(d.arguments.iter().map(Node::InputValue).collect()),
                _ => Resolved::Leaf(Value::Null),
            },
        }
    }

    fn type_field<'s>(
        &'s self,
        def: &'s TypeDefinition,
        name: &str,
        include_deprecated: bool,
    ) -> Resolved<'s> {
        let leaf = Resolved::Leaf;
        let named_list = |names: &[String]| {
            Resolved::List(
                names
                    .iter()
                    .map(|n| Node::Type(TypeRef::Named(n.clone())))
                    .collect(),
            )
        };
        let fields = |fs: &'s [Field]| {
            Resolved::List(
                fs.iter()
                    .filter(|f| !f.name.starts_with("__"))
                    .filter(|f| include_deprecated || deprecation(&f.directives).is_none())
                    .map(Node::Field)
                    .collect(),
            )
        };
        match (name, def) {
            ("kind", _) => leaf(Value::String(kind(def).into())),
            ("name", _) => leaf(Value::String(type_name(def).into())),
            ("description", _) => leaf(opt_string(description(def))),
            ("specifiedByURL", TypeDefinition::Scalar(s)) => {
                leaf(directive_argument(&s.directives, "specifiedBy", "url").unwrap_or(Value::Null))
            }
            ("fields", TypeDefinition::Object(o)) => fields(&o.fields),
            ("fields", TypeDefinition::Interface(i)) => fields(&i.fields),
            ("interfaces", TypeDefinition::Object(o)) => named_list(&o.implements_interfaces),
            ("interfaces", TypeDefinition::Interface(i)) => named_list(&i.implements_interfaces),
            ("possibleTypes", TypeDefinition::Union(u)) => named_list(&u.types),
            ("possibleTypes", TypeDefinition::Interface(i)) => {
                let implementers: Vec<String> = self
                    .types
                    .iter()
                    .filter_map(|(n, t)| match t {
                        TypeDefinition::Object(o) if o.implements_interfaces.contains(&i.name) => {
                            Some(n.clone())
                        }
                        _ => None,
                    })
                    .collect();
                Resolved::List(
                    implementers
                        .into_iter()
                        .map(|n| Node::Type(TypeRef::Named(n)))
                        .collect(),
                )
            }
            ("enumValues", TypeDefinition::Enum(e)) => Resolved::List(
                e.values
                    .iter()
                    .filter(|v| include_deprecated || deprecation(&v.directives).is_none())
                    .map(Node::EnumValue)
                    .collect(),
            ),
            ("inputFields", TypeDefinition::InputObject(i)) => Resolved::List(
                i.fields
                    .iter()
                    .filter(|f| include_deprecated || deprecation(&f.directives).is_none())
                    .map(Node::InputValue)
                    .collect(),
            ),
            ("isOneOf", TypeDefinition::InputObject(i)) => {
                leaf(Value::Bool(i.directives.iter().any(|d| d.name == "oneOf")))
            }
            _ => leaf(Value::Null),
        }
    }
}

/// What introspection needs from the request: variables and fragments.
pub(crate) struct Ctx<'a> {
    pub variables: &'a Map<String, Value>,
    pub fragments: HashMap<&'a str, &'a FragmentDefinition>,
}

impl Ctx<'_> {
    fn argument(&self, arguments: &[(String, QueryValue)], name: &str) -> Option<Value> {
        let (_, v) = arguments.iter().find(|(n, _)| n == name)?;
        Some(crate::operation::value_to_json(v, self.variables))
    }

    fn included(&self, directives: &[QueryDirective]) -> bool {
        directives.iter().all(|d| match d.name.as_str() {
            "skip" => self.argument(&d.arguments, "if") != Some(Value::Bool(true)),
            "include" => self.argument(&d.arguments, "if") == Some(Value::Bool(true)),
            _ => true,
        })
    }
}

enum Resolved<'s> {
    Leaf(Value),
    Node(Node<'s>),
    List(Vec<Node<'s>>),
}

enum Node<'s> {
    Schema,
    Type(TypeRef),
    Field(&'s Field),
    InputValue(&'s InputValue),
    EnumValue(&'s EnumValue),
    Directive(&'s DirectiveDefinition),
}

impl Node<'_> {
    fn typename(&self) -> &'static str {
        match self {
            Node::Schema => "__Schema",
            Node::Type(_) => "__Type",
            Node::Field(_) => "__Field",
            Node::InputValue(_) => "__InputValue",
            Node::EnumValue(_) => "__EnumValue",
            Node::Directive(_) => "__Directive",
        }
    }
}

#[derive(Clone)]
enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl From<&Type> for TypeRef {
    fn from(t: &Type) -> Self {
        match t {
            Type::NamedType(n) => Self::Named(n.clone()),
            Type::ListType(inner) => Self::List(Box::new(Self::from(inner.as_ref()))),
            Type::NonNullType(inner) => Self::NonNull(Box::new(Self::from(inner.as_ref()))),
        }
    }
}

fn type_name(def: &TypeDefinition) -> &str {
    match def {
        TypeDefinition::Scalar(t) => &t.name,
        TypeDefinition::Object(t) => &t.name,
        TypeDefinition::Interface(t) => &t.name,
        TypeDefinition::Union(t) => &t.name,
        TypeDefinition::Enum(t) => &t.name,
        TypeDefinition::InputObject(t) => &t.name,
    }
}

fn description(def: &TypeDefinition) -> &Option<String> {
    match def {
        TypeDefinition::Scalar(t) => &t.description,
        TypeDefinition::Object(t) => &t.description,
        TypeDefinition::Interface(t) => &t.description,
        TypeDefinition::Union(t) => &t.description,
        TypeDefinition::Enum(t) => &t.description,
        TypeDefinition::InputObject(t) => &t.description,
    }
}

fn kind(def: &TypeDefinition) -> &'static str {
    match def {
        TypeDefinition::Scalar(_) => "SCALAR",
        TypeDefinition::Object(_) => "OBJECT",
        TypeDefinition::Interface(_) => "INTERFACE",
        TypeDefinition::Union(_) => "UNION",
        TypeDefinition::Enum(_) => "ENUM",
        TypeDefinition::InputObject(_) => "INPUT_OBJECT",
    }
}

fn opt_string(s: &Option<String>) -> Value {
    s.as_ref()
        .map(|s| Value::String(s.clone()))
        .unwrap_or(Value::Null)
}

/// `Some(reason)` when `@deprecated` is present.
fn deprecation(directives: &[Directive]) -> Option<Value> {
    let d = directives.iter().find(|d| d.name == "deprecated")?;
    Some(
        d.arguments
            .iter()
            .find(|(n, _)| n == "reason")
            .and_then(|(_, v)| match v {
                graphql_tools::static_graphql::schema::Value::String(s) => {
                    Some(Value::String(s.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| Value::String("No longer supported".into())),
    )
}

fn directive_argument(directives: &[Directive], directive: &str, argument: &str) -> Option<Value> {
    let d = directives.iter().find(|d| d.name == directive)?;
    d.arguments
        .iter()
        .find(|(n, _)| n == argument)
        .and_then(|(_, v)| match v {
            graphql_tools::static_graphql::schema::Value::String(s) => {
                Some(Value::String(s.clone()))
            }
            _ => None,
        })
}
