//! A loaded supergraph: its SDL and hash, the query planner built over it, the
//! API schema clients see (federation internals and `@inaccessible` removed)
//! and a type index the executor and introspection read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The schema is looked up for every field of every response: a hasher for
/// short keys (FxHash) rather than SipHash, which no client input reaches.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use graphql_tools::static_graphql::schema::{Definition, Document, Type, TypeDefinition};
use hive_router_query_planner::planner::{Planner, QueryPlannerOptions};

use crate::composition::{self, CompositionError, SupergraphConfig};

/// What the router serves: a rover `supergraph.yaml` to compose, or an already
/// composed supergraph SDL (ours or Apollo's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupergraphSource {
    Config(PathBuf),
    Composed(PathBuf),
}

impl SupergraphSource {
    /// `.yaml`/`.yml` is a rover config; anything else a composed SDL.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Self::Config(path),
            _ => Self::Composed(path),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Self::Config(p) | Self::Composed(p) => p,
        }
    }

    /// Every file whose change means the supergraph must be rebuilt.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path().to_path_buf()];
        if let Self::Config(path) = self {
            if let Ok(config) = SupergraphConfig::read(path) {
                files.extend(config.schema_files(base_dir(path)));
            }
        }
        files
    }

    /// Reads (and for a config, composes) the supergraph SDL.
    pub async fn load_sdl(&self) -> Result<String, CompositionError> {
        match self {
            Self::Composed(path) => {
                std::fs::read_to_string(path).map_err(|source| CompositionError::Read {
                    path: path.clone(),
                    source,
                })
            }
            Self::Config(path) => {
                let config = SupergraphConfig::read(path)?;
                let subgraphs = config.load(base_dir(path)).await?;
                composition::compose(&subgraphs)
            }
        }
    }
}

fn base_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

#[derive(Debug, thiserror::Error)]
pub enum SupergraphError {
    #[error(transparent)]
    Composition(#[from] CompositionError),
    #[error("the query planner refuses the supergraph: {0}")]
    Planner(String),
}

/// A supergraph ready to plan and execute against.
pub struct Supergraph {
    sdl: String,
    hash: u64,
    pub(crate) planner: Planner,
    pub(crate) schema: SchemaIndex,
    pub(crate) auth: crate::authz::AuthIndex,
}

impl std::fmt::Debug for Supergraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supergraph")
            .field("hash", &self.hash)
            .field("subgraphs", &self.subgraphs())
            .finish()
    }
}

impl Supergraph {
    /// Builds from a composed supergraph SDL. Blocking and CPU-heavy for large
    /// schemas: call it off the async runtime.
    pub fn from_sdl(sdl: &str) -> Result<Self, SupergraphError> {
        let mut doc = composition::parse_supergraph(sdl)?;
        composition::add_root_join_types(&mut doc);
        let auth = crate::authz::AuthIndex::new(&doc);
        let sdl = doc.to_string();
        let hash = xxhash_rust::xxh3::xxh3_64(sdl.as_bytes());
        // The planner's schema analysis panics on some malformed supergraphs
        // (missing join__Graph values, ...); a refused schema must not take the
        // process down, so the panic becomes an error.
        let planner = std::panic::catch_unwind(|| {
            Planner::new_from_supergraph(&doc, QueryPlannerOptions::default())
        })
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the planner panicked".into());
            SupergraphError::Planner(message)
        })?
        .map_err(|e| SupergraphError::Planner(e.to_string()))?;
        let schema = SchemaIndex::new(planner.consumer_schema.document.clone());
        Ok(Self {
            sdl,
            hash,
            planner,
            schema,
            auth,
        })
    }

    /// Loads `source` (composing when it is a config) and builds the planner.
    pub async fn load(source: &SupergraphSource) -> Result<Self, SupergraphError> {
        let sdl = source.load_sdl().await?;
        tokio::task::spawn_blocking(move || Self::from_sdl(&sdl))
            .await
            .map_err(|e| SupergraphError::Planner(e.to_string()))?
    }

    /// The supergraph SDL as planned (with root `@join__type`s added).
    pub fn sdl(&self) -> &str {
        &self.sdl
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Subgraph name to routing URL.
    pub fn subgraphs(&self) -> BTreeMap<String, String> {
        self.planner
            .supergraph
            .subgraph_endpoint_map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub(crate) fn endpoint(&self, subgraph: &str) -> Option<&str> {
        self.planner
            .supergraph
            .subgraph_endpoint_map
            .get(subgraph)
            .map(String::as_str)
    }
}

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
                    (&e.name, info(TypeKind::Enum, []))
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
