//! The API schema as lookups the executor, projection, validation,
//! introspection and authorization read: each type's kind and field types,
//! the object types an abstract type may be, input fields and enum values.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use graphql_tools::static_graphql::schema::{Definition, Document, Type, TypeDefinition};

/// The schema is looked up for every field of every response: a hasher for
/// short keys (FxHash) rather than SipHash, which no client input reaches.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeKind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

pub(crate) struct TypeInfo {
    pub kind: TypeKind,
    pub fields: FastMap<String, Type>,
    /// Object types an interface or union may be at run time.
    pub possible_types: BTreeSet<String>,
    /// An enum's values clients may see (`@inaccessible` ones are not in
    /// the API schema): a subgraph's answer with another one is invalid.
    pub enum_values: rustc_hash::FxHashSet<String>,
}

/// What a leaf type accepts from a subgraph's answer.
pub(crate) enum Leaf<'s> {
    /// Any value (scalars, and names the schema does not know).
    Scalar,
    /// One of these names.
    Enum(&'s rustc_hash::FxHashSet<String>),
}

/// Lookups over the API schema (with the introspection types).
pub(crate) struct SchemaIndex {
    pub document: Arc<Document>,
    pub types: FastMap<String, TypeInfo>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
    /// Input object fields: name, type, whether a default exists.
    pub inputs: HashMap<String, Vec<(String, Type, bool)>>,
    pub enums: HashMap<String, BTreeSet<String>>,
}

impl SchemaIndex {
    pub fn new(document: Arc<Document>) -> Self {
        let mut types = FastMap::default();
        let mut implementers: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut inputs = HashMap::new();
        let mut enums = HashMap::new();
        for def in &document.definitions {
            let Definition::TypeDefinition(def) = def else {
                continue;
            };
            let (name, info) = match def {
                TypeDefinition::Scalar(s) => (&s.name, info(TypeKind::Scalar, [])),
                TypeDefinition::Enum(e) => {
                    enums.insert(
                        e.name.clone(),
                        e.values.iter().map(|v| v.name.clone()).collect(),
                    );
                    let mut t = info(TypeKind::Enum, []);
                    t.enum_values = e.values.iter().map(|v| v.name.clone()).collect();
                    (&e.name, t)
                }
                TypeDefinition::InputObject(i) => {
                    inputs.insert(
                        i.name.clone(),
                        i.fields
                            .iter()
                            .map(|f| {
                                (
                                    f.name.clone(),
                                    f.value_type.clone(),
                                    f.default_value.is_some(),
                                )
                            })
                            .collect(),
                    );
                    (&i.name, info(TypeKind::InputObject, []))
                }
                TypeDefinition::Object(o) => {
                    for interface in &o.implements_interfaces {
                        implementers
                            .entry(interface.clone())
                            .or_default()
                            .insert(o.name.clone());
                    }
                    let fields = o
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), f.field_type.clone()));
                    (&o.name, info(TypeKind::Object, fields))
                }
                TypeDefinition::Interface(i) => {
                    for interface in &i.implements_interfaces {
                        implementers
                            .entry(interface.clone())
                            .or_default()
                            .insert(i.name.clone());
                    }
                    let fields = i
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), f.field_type.clone()));
                    (&i.name, info(TypeKind::Interface, fields))
                }
                TypeDefinition::Union(u) => {
                    let mut t = info(TypeKind::Union, []);
                    t.possible_types = u.types.iter().cloned().collect();
                    (&u.name, t)
                }
            };
            types.insert(name.clone(), info);
        }
        for (interface, members) in implementers {
            if let Some(t) = types.get_mut(&interface) {
                t.possible_types.extend(members);
            }
        }
        // Interfaces implemented by interfaces: expand to the object types.
        let interfaces: Vec<String> = types
            .iter()
            .filter(|(_, t)| t.kind == TypeKind::Interface)
            .map(|(n, _)| n.clone())
            .collect();
        for name in interfaces {
            let objects = object_types_of(&types, &name);
            if let Some(t) = types.get_mut(&name) {
                t.possible_types = objects;
            }
        }
        for builtin in ["String", "Int", "Float", "Boolean", "ID"] {
            types
                .entry(builtin.to_string())
                .or_insert_with(|| info(TypeKind::Scalar, []));
        }
        let query = document
            .query_type_name()
            .cloned()
            .unwrap_or_else(|| "Query".into());
        let mutation = document.mutation_type_name().cloned();
        let subscription = document.subscription_type_name().cloned();
        Self {
            document,
            types,
            query,
            mutation,
            subscription,
            inputs,
            enums,
        }
    }

    pub fn field_type(&self, type_name: &str, field: &str) -> Option<&Type> {
        self.types.get(type_name)?.fields.get(field)
    }

    pub fn is_leaf(&self, type_name: &str) -> bool {
        self.types
            .get(type_name)
            .is_none_or(|t| matches!(t.kind, TypeKind::Scalar | TypeKind::Enum))
    }

    /// What a leaf type accepts; `None` for composite types.
    pub fn leaf(&self, type_name: &str) -> Option<Leaf<'_>> {
        match self.types.get(type_name) {
            None => Some(Leaf::Scalar),
            Some(t) => match t.kind {
                TypeKind::Scalar => Some(Leaf::Scalar),
                TypeKind::Enum => Some(Leaf::Enum(&t.enum_values)),
                _ => None,
            },
        }
    }

    /// Whether an object of type `concrete` matches a fragment on `condition`.
    pub fn type_applies(&self, condition: &str, concrete: &str) -> bool {
        condition == concrete
            || self
                .types
                .get(condition)
                .is_some_and(|t| t.possible_types.contains(concrete))
    }
}

fn info(kind: TypeKind, fields: impl IntoIterator<Item = (String, Type)>) -> TypeInfo {
    TypeInfo {
        kind,
        fields: fields.into_iter().collect(),
        possible_types: BTreeSet::new(),
        enum_values: Default::default(),
    }
}

fn object_types_of(types: &FastMap<String, TypeInfo>, name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![name.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(t) = types.get(&n) {
            for member in &t.possible_types {
                match types.get(member).map(|m| m.kind) {
                    Some(TypeKind::Object) => {
                        out.insert(member.clone());
                    }
                    Some(TypeKind::Interface) => stack.push(member.clone()),
                    _ => {}
                }
            }
        }
    }
    out
}
