//! The client-facing shape of a schema, reduced to what change classification
//! and operation checks need. Built from a subgraph SDL or a supergraph: the
//! federation machinery (`join__*`, `link__*`, `_entities`, `_service`, type-system
//! directives) and everything marked `@inaccessible` are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::Schema;

/// A type reference: `Named`, `[T]`, `T!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Named(String),
    List(Box<Ty>),
    NonNull(Box<Ty>),
}

impl Ty {
    fn from_ast(t: &apollo_compiler::ast::Type) -> Self {
        use apollo_compiler::ast::Type as T;
        match t {
            T::Named(n) => Ty::Named(n.to_string()),
            T::NonNullNamed(n) => Ty::NonNull(Box::new(Ty::Named(n.to_string()))),
            T::List(inner) => Ty::List(Box::new(Ty::from_ast(inner))),
            T::NonNullList(inner) => Ty::NonNull(Box::new(Ty::List(Box::new(Ty::from_ast(inner))))),
        }
    }

    pub fn is_non_null(&self) -> bool {
        matches!(self, Ty::NonNull(_))
    }

    pub fn named(&self) -> &str {
        match self {
            Ty::Named(n) => n,
            Ty::List(t) | Ty::NonNull(t) => t.named(),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Named(n) => f.write_str(n),
            Ty::List(t) => write!(f, "[{t}]"),
            Ty::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Object => "type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::InputObject => "input",
        }
    }
}

/// An argument or an input field.
#[derive(Debug, Clone, PartialEq)]
pub struct InputValue {
    pub ty: Ty,
    /// The default as GraphQL source text.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub ty: Ty,
    pub args: BTreeMap<String, InputValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    pub kind: Kind,
    /// Object and interface fields.
    pub fields: BTreeMap<String, Field>,
    pub interfaces: BTreeSet<String>,
    /// Union members.
    pub members: BTreeSet<String>,
    /// Enum values.
    pub values: BTreeSet<String>,
    /// Input object fields.
    pub inputs: BTreeMap<String, InputValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub args: BTreeMap<String, InputValue>,
    pub repeatable: bool,
    pub locations: BTreeSet<String>,
}

/// The client-facing schema.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiSchema {
    pub types: BTreeMap<String, TypeDef>,
    pub directives: BTreeMap<String, Directive>,
    pub query: Option<String>,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: the schema does not parse: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];
const FEDERATION_TYPES: [&str; 4] = ["_Any", "_Entity", "_Service", "FieldSet"];
const EXECUTABLE_LOCATIONS: [&str; 8] = [
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
];

fn hidden_type(name: &str) -> bool {
    name.starts_with("__")
        || name.starts_with("join__")
        || name.starts_with("link__")
        || name.starts_with("federation__")
        || BUILT_IN_SCALARS.contains(&name)
        || FEDERATION_TYPES.contains(&name)
}

/// True when `@inaccessible` is among the directive names.
fn inaccessible<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| n == "inaccessible" || n == "federation__inaccessible")
}

fn input_values<'a>(
    values: impl Iterator<Item = &'a apollo_compiler::Node<apollo_compiler::ast::InputValueDefinition>>,
) -> BTreeMap<String, InputValue> {
    values
        .filter(|v| !inaccessible(v.directives.iter().map(|d| d.name.as_str())))
        .map(|v| {
            (
                v.name.to_string(),
                InputValue {
                    ty: Ty::from_ast(&v.ty),
                    default: v.default_value.as_ref().map(|d| d.to_string()),
                },
            )
        })
        .collect()
}

fn fields<'a>(
    fields: impl Iterator<
        Item = (
            &'a apollo_compiler::Name,
            &'a apollo_compiler::schema::Component<apollo_compiler::ast::FieldDefinition>,
        ),
    >,
    root: bool,
) -> BTreeMap<String, Field> {
    fields
        .filter(|(name, f)| {
            !inaccessible(f.directives.iter().map(|d| d.name.as_str()))
                && !(root && (name.as_str() == "_entities" || name.as_str() == "_service"))
        })
        .map(|(name, f)| {
            (
                name.to_string(),
                Field {
                    ty: Ty::from_ast(&f.ty),
                    args: input_values(f.arguments.iter()),
                },
            )
        })
        .collect()
}

impl ApiSchema {
    /// Parses SDL (a subgraph's or a supergraph) without validating it: a
    /// supergraph uses directives whose definitions we do not need.
    pub fn parse(sdl: &str, path: &str) -> Result<Self, ParseError> {
        let schema = match Schema::parse(sdl, path) {
            Ok(s) => s,
            Err(with_errors) => {
                // Unknown directives and the like are fine for our purpose;
                // only syntax errors leave nothing to work with.
                let syntax = with_errors
                    .errors
                    .iter()
                    .filter(|e| e.error.to_string().contains("syntax error"))
                    .map(|e| e.error.to_string())
                    .collect::<Vec<_>>();
                if !syntax.is_empty() {
                    return Err(ParseError {
                        path: path.to_string(),
                        message: syntax.join("; "),
                    });
                }
                with_errors.partial
            }
        };
        Ok(Self::from_schema(&schema))
    }

    fn from_schema(schema: &Schema) -> Self {
        let root = |op: &Option<apollo_compiler::schema::ComponentName>| {
            op.as_ref().map(|n| n.name.to_string())
        };
        let def = &schema.schema_definition;
        let mut api = ApiSchema {
            query: root(&def.query)
                .or_else(|| schema.types.contains_key("Query").then(|| "Query".into())),
            mutation: root(&def.mutation).or_else(|| {
                schema
                    .types
                    .contains_key("Mutation")
                    .then(|| "Mutation".into())
            }),
            subscription: root(&def.subscription).or_else(|| {
                schema
                    .types
                    .contains_key("Subscription")
                    .then(|| "Subscription".into())
            }),
            ..Default::default()
        };
        let roots: BTreeSet<String> = [&api.query, &api.mutation, &api.subscription]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for (name, ty) in &schema.types {
            if hidden_type(name) {
                continue;
            }
            let blank = |kind| TypeDef {
                kind,
                fields: BTreeMap::new(),
                interfaces: BTreeSet::new(),
                members: BTreeSet::new(),
                values: BTreeSet::new(),
                inputs: BTreeMap::new(),
            };
            let is_root = roots.contains(name.as_str());
            let def = match ty {
                ExtendedType::Scalar(s)
                    if !inaccessible(s.directives.iter().map(|d| d.name.as_str())) =>
                {
                    blank(Kind::Scalar)
                }
                ExtendedType::Object(o)
                    if !inaccessible(o.directives.iter().map(|d| d.name.as_str())) =>
                {
                    TypeDef {
                        fields: fields(o.fields.iter(), is_root),
                        interfaces: o
                            .implements_interfaces
                            .iter()
                            .map(|i| i.name.to_string())
                            .collect(),
                        ..blank(Kind::Object)
                    }
                }
                ExtendedType::Interface(i)
                    if !inaccessible(i.directives.iter().map(|d| d.name.as_str())) =>
                {
                    TypeDef {
                        fields: fields(i.fields.iter(), false),
                        interfaces: i
                            .implements_interfaces
                            .iter()
                            .map(|i| i.name.to_string())
                            .collect(),
                        ..blank(Kind::Interface)
                    }
                }
                ExtendedType::Union(u)
                    if !inaccessible(u.directives.iter().map(|d| d.name.as_str())) =>
                {
                    TypeDef {
                        members: u.members.iter().map(|m| m.name.to_string()).collect(),
                        ..blank(Kind::Union)
                    }
                }
                ExtendedType::Enum(e)
                    if !inaccessible(e.directives.iter().map(|d| d.name.as_str())) =>
                {
                    TypeDef {
                        values: e
                            .values
                            .iter()
                            .filter(|(_, v)| {
                                !inaccessible(v.directives.iter().map(|d| d.name.as_str()))
                            })
                            .map(|(n, _)| n.to_string())
                            .collect(),
                        ..blank(Kind::Enum)
                    }
                }
                ExtendedType::InputObject(i)
                    if !inaccessible(i.directives.iter().map(|d| d.name.as_str())) =>
                {
                    TypeDef {
                        inputs: input_values(i.fields.values().map(|c| &c.node)),
                        ..blank(Kind::InputObject)
                    }
                }
                _ => continue,
            };
            if is_root && def.fields.is_empty() {
                continue;
            }
            api.types.insert(name.to_string(), def);
        }
        // Hidden types may still be named by members and interfaces: drop those references.
        let names: BTreeSet<String> = api.types.keys().cloned().collect();
        for def in api.types.values_mut() {
            def.members.retain(|m| names.contains(m));
            def.interfaces.retain(|i| names.contains(i));
        }
        for root in [&mut api.query, &mut api.mutation, &mut api.subscription] {
            if root.as_ref().is_some_and(|r| !names.contains(r)) {
                *root = None;
            }
        }
        for (name, d) in &schema.directive_definitions {
            let locations: BTreeSet<String> =
                d.locations.iter().map(|l| l.name().to_string()).collect();
            let built_in = matches!(
                name.as_str(),
                "skip" | "include" | "deprecated" | "specifiedBy" | "oneOf" | "defer" | "stream"
            );
            if built_in
                || !locations
                    .iter()
                    .any(|l| EXECUTABLE_LOCATIONS.contains(&l.as_str()))
            {
                continue;
            }
            api.directives.insert(
                name.to_string(),
                Directive {
                    args: input_values(d.arguments.iter()),
                    repeatable: d.repeatable,
                    locations,
                },
            );
        }
        api
    }

    /// The schema as SDL, for validating operations against it.
    pub fn to_sdl(&self) -> String {
        let mut out = String::new();
        let roots = [
            ("query", &self.query),
            ("mutation", &self.mutation),
            ("subscription", &self.subscription),
        ];
        out.push_str("schema {\n");
        for (op, name) in roots {
            if let Some(name) = name {
                let _ = writeln!(out, "  {op}: {name}");
            }
        }
        out.push_str("}\n\n");
        let args = |args: &BTreeMap<String, InputValue>| {
            if args.is_empty() {
                return String::new();
            }
            let list: Vec<String> = args
                .iter()
                .map(|(n, a)| match &a.default {
                    Some(d) => format!("{n}: {} = {d}", a.ty),
                    None => format!("{n}: {}", a.ty),
                })
                .collect();
            format!("({})", list.join(", "))
        };
        for (name, d) in &self.directives {
            let locations: Vec<&str> = d.locations.iter().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "directive @{name}{}{} on {}\n",
                args(&d.args),
                if d.repeatable { " repeatable" } else { "" },
                locations.join(" | ")
            );
        }
        for (name, t) in &self.types {
            let implements = if t.interfaces.is_empty() {
                String::new()
            } else {
                format!(
                    " implements {}",
                    t.interfaces.iter().cloned().collect::<Vec<_>>().join(" & ")
                )
            };
            match t.kind {
                Kind::Scalar => {
                    let _ = writeln!(out, "scalar {name}\n");
                }
                Kind::Object | Kind::Interface => {
                    let _ = writeln!(out, "{} {name}{implements} {{", t.kind.as_str());
                    for (f, field) in &t.fields {
                        let _ = writeln!(out, "  {f}{}: {}", args(&field.args), field.ty);
                    }
                    out.push_str("}\n\n");
                }
                Kind::Union => {
                    let _ = writeln!(
                        out,
                        "union {name} = {}\n",
                        t.members.iter().cloned().collect::<Vec<_>>().join(" | ")
                    );
                }
                Kind::Enum => {
                    let _ = writeln!(
                        out,
                        "enum {name} {{\n  {}\n}}\n",
                        t.values.iter().cloned().collect::<Vec<_>>().join("\n  ")
                    );
                }
                Kind::InputObject => {
                    let _ = writeln!(out, "input {name} {{");
                    for (f, v) in &t.inputs {
                        match &v.default {
                            Some(d) => {
                                let _ = writeln!(out, "  {f}: {} = {d}", v.ty);
                            }
                            None => {
                                let _ = writeln!(out, "  {f}: {}", v.ty);
                            }
                        }
                    }
                    out.push_str("}\n\n");
                }
            }
        }
        out
    }
}
