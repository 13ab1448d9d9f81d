//! A loaded supergraph: its SDL and hash, the query planner built over it, the
//! API schema clients see (federation internals and `@inaccessible` removed)
//! and a type index the executor and introspection read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hive_router_query_planner::planner::{Planner, QueryPlannerOptions};

use crate::composition::{self, CompositionError, SupergraphConfig};
use crate::schema::SchemaIndex;

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
    pub(crate) keys: crate::keys::EntityKeys,
    pub(crate) field_types: crate::aliases::FieldTypes,
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
        let keys = crate::keys::EntityKeys::new(&doc);
        let field_types = crate::aliases::FieldTypes::new(&doc);
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
            keys,
            field_types,
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
