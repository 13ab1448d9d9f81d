//! Turns subgraph SDLs into a supergraph: reads rover's `supergraph.yaml`,
//! fetches or reads each subgraph's SDL, composes them with
//! `graphql-composition`, and patches the result so the query planner can
//! route root fields (see `add_root_join_types`) and clients see fields in
//! the order the subgraphs define them (see `DefinitionOrder`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use graphql_tools::static_graphql::schema::{
    Definition, Directive, Document, TypeDefinition, Value,
};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum CompositionError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid supergraph config: {message}")]
    Config { path: PathBuf, message: String },
    #[error("subgraph `{subgraph}`: cannot fetch its SDL from {url}: {message}")]
    Introspect {
        subgraph: String,
        url: String,
        message: String,
    },
    #[error("subgraph `{subgraph}`: its SDL does not parse: {message}")]
    Parse { subgraph: String, message: String },
    /// Composition diagnostics; each names the subgraph, type and field concerned.
    #[error("composition failed:\n  {}", .0.join("\n  "))]
    Compose(Vec<String>),
    #[error("the supergraph SDL is invalid: {0}")]
    Supergraph(String),
}

/// rover's `supergraph.yaml`.
#[derive(Debug, Clone, Deserialize)]
pub struct SupergraphConfig {
    /// e.g. `=2.3.2`; informational: composition follows each subgraph's `@link`.
    #[serde(default)]
    pub federation_version: Option<String>,
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphConfig {
    pub routing_url: String,
    pub schema: SchemaSource,
}

/// Where a subgraph's SDL comes from (rover's `schema:` block).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SchemaSource {
    File { file: PathBuf },
    SubgraphUrl { subgraph_url: String },
    Sdl { sdl: String },
}

/// One subgraph ready to compose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphSdl {
    pub name: String,
    pub routing_url: String,
    pub sdl: String,
}

impl SupergraphConfig {
    pub fn read(path: &Path) -> Result<Self, CompositionError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompositionError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_yaml::from_str(&text).map_err(|e| CompositionError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The files this config reads (itself excluded), for change detection.
    pub fn schema_files(&self, base: &Path) -> Vec<PathBuf> {
        self.subgraphs
            .values()
            .filter_map(|s| match &s.schema {
                SchemaSource::File { file } => Some(base.join(file)),
                _ => None,
            })
            .collect()
    }

    /// Every subgraph's SDL: files are read relative to `base` (the config's
    /// directory); `subgraph_url`s are asked for `_service { sdl }`.
    pub async fn load(&self, base: &Path) -> Result<Vec<SubgraphSdl>, CompositionError> {
        let mut out = Vec::with_capacity(self.subgraphs.len());
        for (name, subgraph) in &self.subgraphs {
            let sdl = match &subgraph.schema {
                SchemaSource::File { file } => {
                    let path = base.join(file);
                    std::fs::read_to_string(&path)
                        .map_err(|source| CompositionError::Read { path, source })?
                }
                SchemaSource::Sdl { sdl } => sdl.clone(),
                SchemaSource::SubgraphUrl { subgraph_url } => fetch_service_sdl(subgraph_url)
                    .await
                    .map_err(|message| CompositionError::Introspect {
                        subgraph: name.clone(),
                        url: subgraph_url.clone(),
                        message,
                    })?,
            };
            out.push(SubgraphSdl {
                name: name.clone(),
                routing_url: subgraph.routing_url.clone(),
                sdl,
            });
        }
        Ok(out)
    }
}

async fn fetch_service_sdl(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let body: serde_json::Value = client
        .post(url)
        .json(&serde_json::json!({ "query": "{ _service { sdl } }" }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    body.pointer("/data/_service/sdl")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("no `data._service.sdl` in the answer: {body}"))
}

/// Composes Federation v2 subgraphs into a supergraph SDL (join v0.3), with
/// root types patched by [`add_root_join_types`]. This is what
/// `marquee schema compose` writes.
pub fn compose(subgraphs: &[SubgraphSdl]) -> Result<String, CompositionError> {
    let mut ingested = graphql_composition::Subgraphs::default();
    for s in subgraphs {
        ingested
            .ingest_str(&s.sdl, &s.name, Some(&s.routing_url))
            .map_err(|e| CompositionError::Parse {
                subgraph: s.name.clone(),
                message: e.to_string(),
            })?;
    }
    let result = graphql_composition::compose(&mut ingested);
    let graph = result.into_result().map_err(|diagnostics| {
        CompositionError::Compose(diagnostics.iter_errors().map(str::to_string).collect())
    })?;
    let sdl = graphql_composition::render_federated_sdl(&graph)
        .map_err(|e| CompositionError::Supergraph(e.to_string()))?;
    let mut doc = parse_supergraph(&sdl)?;
    DefinitionOrder::of(subgraphs).apply(&mut doc);
    dedupe_directive_arguments(&mut doc);
    add_root_join_types(&mut doc);
    Ok(doc.to_string())
}

/// A directive two subgraphs compose (`@composeDirective`) comes out of
/// `graphql-composition` with each subgraph's arguments one after the other
/// (`@d(a: Int, a: Int)`), which no GraphQL parser accepts: each argument
/// is kept once, where it first appears.
fn dedupe_directive_arguments(doc: &mut Document) {
    for definition in &mut doc.definitions {
        if let Definition::DirectiveDefinition(d) = definition {
            let mut seen = BTreeSet::new();
            d.arguments.retain(|a| seen.insert(a.name.clone()));
        }
    }
}

/// The order the subgraphs define fields, arguments, input fields and enum
/// values in. `graphql-composition` writes them alphabetically; the reference
/// composition (Apollo's) keeps definition order, which introspection shows
/// and clients rely on (code generators, GraphiQL's docs): the subgraphs in
/// the order given (by name, as `supergraph.yaml` is read), each one's
/// definitions and extensions in its order, a name first seen earlier
/// keeping its place.
#[derive(Debug, Default)]
struct DefinitionOrder {
    /// Type name to its members' ranks (fields, input fields, enum values).
    members: HashMap<String, HashMap<String, usize>>,
    /// `Type.field` to its arguments' ranks.
    arguments: HashMap<String, HashMap<String, usize>>,
}

impl DefinitionOrder {
    fn of(subgraphs: &[SubgraphSdl]) -> Self {
        use apollo_compiler::ast::{self, Definition as D};
        let mut order = Self::default();
        for subgraph in subgraphs {
            // Composition parsed it already; a document with errors still
            // orders what it has.
            let doc = ast::Document::parse(subgraph.sdl.as_str(), "subgraph.graphql")
                .unwrap_or_else(|invalid| invalid.partial);
            for definition in &doc.definitions {
                match definition {
                    D::ObjectTypeDefinition(o) => order.fields(&o.name, &o.fields),
                    D::ObjectTypeExtension(o) => order.fields(&o.name, &o.fields),
                    D::InterfaceTypeDefinition(i) => order.fields(&i.name, &i.fields),
                    D::InterfaceTypeExtension(i) => order.fields(&i.name, &i.fields),
                    D::InputObjectTypeDefinition(i) => {
                        order.names(&i.name, i.fields.iter().map(|f| f.name.as_str()))
                    }
                    D::InputObjectTypeExtension(i) => {
                        order.names(&i.name, i.fields.iter().map(|f| f.name.as_str()))
                    }
                    D::EnumTypeDefinition(e) => {
                        order.names(&e.name, e.values.iter().map(|v| v.value.as_str()))
                    }
                    D::EnumTypeExtension(e) => {
                        order.names(&e.name, e.values.iter().map(|v| v.value.as_str()))
                    }
                    _ => {}
                }
            }
        }
        order
    }

    fn fields(
        &mut self,
        type_name: &str,
        fields: &[apollo_compiler::Node<apollo_compiler::ast::FieldDefinition>],
    ) {
        self.names(type_name, fields.iter().map(|f| f.name.as_str()));
        for field in fields {
            let ranks = self
                .arguments
                .entry(format!("{type_name}.{}", field.name))
                .or_default();
            for argument in &field.arguments {
                let next = ranks.len();
                ranks.entry(argument.name.to_string()).or_insert(next);
            }
        }
    }

    fn names<'n>(&mut self, type_name: &str, names: impl Iterator<Item = &'n str>) {
        let ranks = self.members.entry(type_name.to_string()).or_default();
        for name in names {
            let next = ranks.len();
            ranks.entry(name.to_string()).or_insert(next);
        }
    }

    /// Sorts the supergraph's members by their rank; what no subgraph
    /// defines (added by composition) keeps its place after them.
    fn apply(&self, doc: &mut Document) {
        fn rank(ranks: Option<&HashMap<String, usize>>, name: &str) -> usize {
            ranks
                .and_then(|r| r.get(name))
                .copied()
                .unwrap_or(usize::MAX)
        }
        for definition in &mut doc.definitions {
            let Definition::TypeDefinition(definition) = definition else {
                continue;
            };
            let (name, fields) = match definition {
                TypeDefinition::Object(o) => (&o.name, &mut o.fields),
                TypeDefinition::Interface(i) => (&i.name, &mut i.fields),
                TypeDefinition::InputObject(i) => {
                    let ranks = self.members.get(&i.name);
                    i.fields.sort_by_key(|f| rank(ranks, &f.name));
                    continue;
                }
                TypeDefinition::Enum(e) => {
                    let ranks = self.members.get(&e.name);
                    e.values.sort_by_key(|v| rank(ranks, &v.name));
                    continue;
                }
                _ => continue,
            };
            let ranks = self.members.get(name.as_str());
            fields.sort_by_key(|f| rank(ranks, &f.name));
            for field in fields {
                let ranks = self.arguments.get(&format!("{name}.{}", field.name));
                field.arguments.sort_by_key(|a| rank(ranks, &a.name));
            }
        }
    }
}

pub(crate) fn parse_supergraph(sdl: &str) -> Result<Document, CompositionError> {
    graphql_tools::parser::parse_schema(sdl)
        .map(|d| d.into_static())
        .map_err(|e| CompositionError::Supergraph(e.to_string()))
}

/// Gives each root type (`Query`, `Mutation`, `Subscription`, or their renamed
/// forms) an `@join__type(graph: G)` for every subgraph `G` that resolves one of
/// its fields. `graphql-composition` leaves them out, and without them
/// `hive-router-query-planner` sees no subgraph that can start an operation
/// (`NoPathsFound`). Supergraphs composed by Apollo's tools already carry them,
/// so existing directives are kept and none is duplicated.
pub fn add_root_join_types(doc: &mut Document) {
    let roots: BTreeSet<String> = [
        doc.query_type_name(),
        doc.mutation_type_name(),
        doc.subscription_type_name(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    for def in &mut doc.definitions {
        let Definition::TypeDefinition(TypeDefinition::Object(object)) = def else {
            continue;
        };
        if !roots.contains(&object.name) {
            continue;
        }
        let mut graphs = BTreeSet::new();
        for field in &object.fields {
            for d in field.directives.iter().filter(|d| d.name == "join__field") {
                let external = argument(d, "external") == Some(&Value::Boolean(true));
                if let (Some(Value::Enum(graph)), false) = (argument(d, "graph"), external) {
                    graphs.insert(graph.clone());
                }
            }
        }
        let present: BTreeSet<String> = object
            .directives
            .iter()
            .filter(|d| d.name == "join__type")
            .filter_map(|d| match argument(d, "graph") {
                Some(Value::Enum(g)) => Some(g.clone()),
                _ => None,
            })
            .collect();
        for graph in graphs.difference(&present) {
            object.directives.push(Directive {
                position: Default::default(),
                name: "join__type".into(),
                arguments: vec![("graph".into(), Value::Enum(graph.clone()))],
            });
        }
    }
}

fn argument<'d>(directive: &'d Directive, name: &str) -> Option<&'d Value> {
    directive
        .arguments
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSED: &str = r#"
schema @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query mutation: Mutation }
directive @join__field(graph: join__Graph, external: Boolean, override: String) repeatable on FIELD_DEFINITION
directive @join__type(graph: join__Graph, key: String) repeatable on OBJECT
type Query {
  movie: String @join__field(graph: CONTENT)
  me: String @join__field(graph: USERS)
  both: String @join__field(graph: USERS) @join__field(graph: CONTENT)
}
type Mutation { like: Boolean @join__field(graph: SOCIAL) }
type Movie @join__type(graph: CONTENT, key: "id") { id: ID! }
enum join__Graph { CONTENT USERS SOCIAL }
"#;

    fn root_graphs(doc: &Document, name: &str) -> Vec<String> {
        doc.definitions
            .iter()
            .find_map(|d| match d {
                Definition::TypeDefinition(TypeDefinition::Object(o)) if o.name == name => Some(
                    o.directives
                        .iter()
                        .filter(|d| d.name == "join__type")
                        .map(|d| match argument(d, "graph") {
                            Some(Value::Enum(g)) => g.clone(),
                            other => panic!("unexpected graph argument {other:?}"),
                        })
                        .collect(),
                ),
                _ => None,
            })
            .expect("type exists")
    }

    #[test]
    fn root_types_get_a_join_type_for_every_contributing_subgraph() {
        let mut doc = parse_supergraph(COMPOSED).unwrap();
        add_root_join_types(&mut doc);
        assert_eq!(root_graphs(&doc, "Query"), ["CONTENT", "USERS"]);
        assert_eq!(root_graphs(&doc, "Mutation"), ["SOCIAL"]);
        assert_eq!(root_graphs(&doc, "Movie"), ["CONTENT"]);
    }

    #[test]
    fn existing_root_join_types_are_not_duplicated() {
        let mut doc = parse_supergraph(
            &COMPOSED.replace("type Query {", "type Query @join__type(graph: USERS) {"),
        )
        .unwrap();
        add_root_join_types(&mut doc);
        add_root_join_types(&mut doc);
        assert_eq!(root_graphs(&doc, "Query"), ["USERS", "CONTENT"]);
    }

    #[test]
    fn external_root_fields_do_not_make_a_subgraph_a_root_owner() {
        let mut doc = parse_supergraph(
            &COMPOSED
                .replace(
                    "me: String @join__field(graph: USERS)",
                    "me: String @join__field(graph: USERS, external: true)",
                )
                .replace(
                    "@join__field(graph: USERS) @join__field(graph: CONTENT)",
                    "@join__field(graph: CONTENT)",
                ),
        )
        .unwrap();
        add_root_join_types(&mut doc);
        assert_eq!(root_graphs(&doc, "Query"), ["CONTENT"]);
    }

    #[test]
    fn renamed_root_types_are_patched() {
        let mut doc = parse_supergraph(
            &COMPOSED
                .replace("query: Query", "query: RootQuery")
                .replace("type Query {", "type RootQuery {"),
        )
        .unwrap();
        add_root_join_types(&mut doc);
        assert_eq!(root_graphs(&doc, "RootQuery"), ["CONTENT", "USERS"]);
    }

    #[test]
    fn composition_keeps_the_subgraphs_definition_order() {
        let sdl = |name: &str, text: &str| SubgraphSdl {
            name: name.into(),
            routing_url: format!("http://{name}"),
            sdl: format!(
                r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
                {text}"#
            ),
        };
        let a = sdl(
            "a",
            r#"type Query { zeta(first: Int, after: String, filter: Filter): [Movie] alpha: Int }
               type Movie @key(fields: "id") { id: ID! year: Int title: String }
               input Filter { year: Int genre: Genre name: String }
               enum Genre { SCIFI DRAMA ACTION }"#,
        );
        let b = sdl(
            "b",
            r#"type Query { mid: Int }
               type Movie @key(fields: "id") { id: ID! rating: Int budget: Int }"#,
        );
        let composed = compose(&[a, b]).unwrap();
        let doc = parse_supergraph(&composed).unwrap();
        let members = |name: &str| -> Vec<String> {
            doc.definitions
                .iter()
                .find_map(|d| match d {
                    Definition::TypeDefinition(TypeDefinition::Object(o)) if o.name == name => {
                        Some(o.fields.iter().map(|f| f.name.clone()).collect())
                    }
                    Definition::TypeDefinition(TypeDefinition::InputObject(i))
                        if i.name == name =>
                    {
                        Some(i.fields.iter().map(|f| f.name.clone()).collect())
                    }
                    Definition::TypeDefinition(TypeDefinition::Enum(e)) if e.name == name => {
                        Some(e.values.iter().map(|v| v.name.clone()).collect())
                    }
                    _ => None,
                })
                .expect("type exists")
        };
        assert_eq!(members("Query"), ["zeta", "alpha", "mid"]);
        assert_eq!(
            members("Movie"),
            ["id", "year", "title", "rating", "budget"]
        );
        assert_eq!(members("Filter"), ["year", "genre", "name"]);
        assert_eq!(members("Genre"), ["SCIFI", "DRAMA", "ACTION"]);
        assert!(
            composed.contains("zeta(first: Int, after: String, filter: Filter)"),
            "{composed}"
        );
    }

    #[test]
    fn a_directive_composed_from_two_subgraphs_keeps_each_argument_once() {
        let mut doc = parse_supergraph(
            "directive @d(a: Int, b: String, a: Int, b: String) on FIELD_DEFINITION\ntype Query { x: Int }",
        )
        .unwrap();
        dedupe_directive_arguments(&mut doc);
        assert!(
            doc.to_string()
                .contains("directive @d(a: Int, b: String) on"),
            "{doc}"
        );
    }

    #[test]
    fn composition_errors_name_the_subgraph_type_and_field() {
        let a = SubgraphSdl {
            name: "a".into(),
            routing_url: "http://a".into(),
            sdl: r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
                type Query { movie: Movie }
                type Movie @key(fields: "id") { id: ID! title: String }"#
                .into(),
        };
        let b = SubgraphSdl {
            name: "b".into(),
            routing_url: "http://b".into(),
            sdl: r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
                type Query { other: Int }
                type Movie @key(fields: "id") { id: ID! title: Int }"#
                .into(),
        };
        let err = compose(&[a, b]).unwrap_err().to_string();
        assert!(err.contains("Movie.title"), "{err}");
        assert!(
            err.contains("\"a\"") || err.contains("`a`") || err.contains(" a"),
            "{err}"
        );
    }

    #[test]
    fn rover_config_reads_files_urls_and_inline_sdl() {
        let config: SupergraphConfig = serde_yaml::from_str(
            r#"
federation_version: =2.3.2
subgraphs:
  users:
    routing_url: http://localhost:3002/graphql
    schema:
      file: ./schema/users.graphql
  content:
    routing_url: http://localhost:3003/graphql
    schema:
      subgraph_url: http://localhost:3003/graphql
  inline:
    routing_url: http://localhost:3009/graphql
    schema:
      sdl: "type Query { a: Int }"
"#,
        )
        .unwrap();
        assert!(matches!(
            config.subgraphs["users"].schema,
            SchemaSource::File { .. }
        ));
        assert!(matches!(
            config.subgraphs["content"].schema,
            SchemaSource::SubgraphUrl { .. }
        ));
        assert!(matches!(
            config.subgraphs["inline"].schema,
            SchemaSource::Sdl { .. }
        ));
        assert_eq!(
            config.schema_files(Path::new("/x")),
            [PathBuf::from("/x/./schema/users.graphql")]
        );
    }
}
