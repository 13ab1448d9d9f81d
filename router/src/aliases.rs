//! Fields a subgraph cannot merge: one response key under inline fragments
//! of different types whose types differ in that subgraph (`title: String!`
//! on `Book`, `title: String` on `Movie`, members of one union). GraphQL
//! refuses such a selection; the query planner aliases these between the
//! implementations of an interface but not between the members of a union.
//! This pass, run once per plan, aliases the rest and adds the output
//! rewrite that gives each its key back, as the reference planner does.

use graphql_tools::static_graphql::schema::{Definition, Document, TypeDefinition, Value as Sdl};
use hive_router_query_planner::ast::operation::SubgraphFetchOperation;
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::{
    FetchNodePathSegment, FetchRewrite, KeyRenamer, PlanNode,
};
use rustc_hash::FxHashMap;

/// Each object and interface field's type, by subgraph where a subgraph
/// declares it otherwise than the supergraph (`@join__field(type:)`).
#[derive(Debug, Default)]
pub(crate) struct FieldTypes {
    fields: FxHashMap<String, FxHashMap<String, FieldType>>,
    /// Object, interface and union names: two of them with the same list
    /// and null wrapping merge (their selections are merged instead).
    composites: rustc_hash::FxHashSet<String>,
}

#[derive(Debug)]
struct FieldType {
    supergraph: String,
    /// Subgraph name to its type, where it differs.
    by_subgraph: Vec<(String, String)>,
}

impl FieldTypes {
    pub fn new(doc: &Document) -> Self {
        let mut graphs: FxHashMap<String, String> = FxHashMap::default();
        for def in &doc.definitions {
            if let Definition::TypeDefinition(TypeDefinition::Enum(e)) = def {
                if e.name == "join__Graph" {
                    for value in &e.values {
                        let name = value
                            .directives
                            .iter()
                            .filter(|d| d.name == "join__graph")
                            .find_map(|d| argument(&d.arguments, "name"));
                        if let Some(Sdl::String(name)) = name {
                            graphs.insert(value.name.clone(), name.clone());
                        }
                    }
                }
            }
        }
        let mut out = Self::default();
        for def in &doc.definitions {
            let Definition::TypeDefinition(def) = def else {
                continue;
            };
            let (name, fields) = match def {
                TypeDefinition::Object(o) => (&o.name, &o.fields),
                TypeDefinition::Interface(i) => (&i.name, &i.fields),
                TypeDefinition::Union(u) => {
                    out.composites.insert(u.name.clone());
                    continue;
                }
                _ => continue,
            };
            out.composites.insert(name.clone());
            let entry = out.fields.entry(name.clone()).or_default();
            for field in fields {
                let by_subgraph = field
                    .directives
                    .iter()
                    .filter(|d| d.name == "join__field")
                    .filter_map(|d| {
                        let (Some(Sdl::Enum(graph)), Some(Sdl::String(ty))) = (
                            argument(&d.arguments, "graph"),
                            argument(&d.arguments, "type"),
                        ) else {
                            return None;
                        };
                        Some((graphs.get(graph)?.clone(), ty.replace(' ', "")))
                    })
                    .collect();
                entry.insert(
                    field.name.clone(),
                    FieldType {
                        supergraph: field.field_type.to_string().replace(' ', ""),
                        by_subgraph,
                    },
                );
            }
        }
        out
    }

    fn type_in(&self, subgraph: &str, type_name: &str, field: &str) -> Option<&str> {
        let t = self.fields.get(type_name)?.get(field)?;
        Some(
            t.by_subgraph
                .iter()
                .find(|(s, _)| s == subgraph)
                .map_or(t.supergraph.as_str(), |(_, ty)| ty.as_str()),
        )
    }

    /// Whether two types of one response key merge (GraphQL's
    /// SameResponseShape): the same wrapping, and the same named type
    /// unless both are composite.
    fn merge(&self, a: &str, b: &str) -> bool {
        let named = |t: &str| {
            t.trim_matches(|c| c == '[' || c == ']' || c == '!')
                .to_string()
        };
        let shape = |t: &str| t.replace(|c: char| c.is_alphanumeric() || c == '_', "");
        let (na, nb) = (named(a), named(b));
        shape(a) == shape(b)
            && (na == nb || (self.composites.contains(&na) && self.composites.contains(&nb)))
    }

    /// Aliases the conflicting fields of every fetch of `node`.
    pub fn fix_plan(&self, node: &mut PlanNode) {
        match node {
            PlanNode::Sequence(s) => s.nodes.iter_mut().for_each(|n| self.fix_plan(n)),
            PlanNode::Parallel(p) => p.nodes.iter_mut().for_each(|n| self.fix_plan(n)),
            PlanNode::Flatten(f) => self.fix_plan(&mut f.node),
            PlanNode::Condition(c) => {
                for branch in [&mut c.if_clause, &mut c.else_clause].into_iter().flatten() {
                    self.fix_plan(branch);
                }
            }
            PlanNode::Fetch(f) => {
                let entity = f.requires.is_some();
                let mut rewrites = Vec::new();
                let mut document = f.operation.document.clone();
                let root = &mut document.operation.selection_set;
                let changed = if entity {
                    let mut changed = false;
                    for item in &mut root.items {
                        if let SelectionItem::Field(field) = item {
                            changed |= self.fix_entities(
                                &f.service_name,
                                &mut field.selections,
                                &mut rewrites,
                            );
                        }
                    }
                    changed
                } else {
                    self.fix(&f.service_name, root, &mut rewrites)
                };
                if changed {
                    f.output_rewrites.get_or_insert_default().extend(rewrites);
                    f.operation = SubgraphFetchOperation::from_anonymous_operation(document);
                }
            }
            PlanNode::BatchFetch(b) => {
                let mut document = b.operation.document.clone();
                let mut changed = false;
                for item in &mut document.operation.selection_set.items {
                    let SelectionItem::Field(field) = item else {
                        continue;
                    };
                    let mut rewrites = Vec::new();
                    if !self.fix_entities(&b.service_name, &mut field.selections, &mut rewrites) {
                        continue;
                    }
                    changed = true;
                    let key = field.selection_identifier().to_string();
                    if let Some(alias) = b.entity_batch.aliases.iter_mut().find(|a| a.alias == key)
                    {
                        alias
                            .output_rewrites
                            .get_or_insert_default()
                            .extend(rewrites);
                    }
                }
                if changed {
                    b.operation = SubgraphFetchOperation::from_anonymous_operation(document);
                }
            }
            PlanNode::Subscription(_) | PlanNode::Defer(_) => {}
        }
    }

    /// Aliases the conflicts in `set` and below; whether it changed anything.
    fn fix(
        &self,
        subgraph: &str,
        set: &mut SelectionSet,
        rewrites: &mut Vec<FetchRewrite>,
    ) -> bool {
        self.fix_at(subgraph, set, &mut Vec::new(), rewrites, &mut 0, false)
    }

    /// `fix` for an `_entities` selection: its rewrites apply to each entity's
    /// answer, which has no `__typename` to match its type condition on.
    fn fix_entities(
        &self,
        subgraph: &str,
        set: &mut SelectionSet,
        rewrites: &mut Vec<FetchRewrite>,
    ) -> bool {
        self.fix_at(subgraph, set, &mut Vec::new(), rewrites, &mut 0, true)
    }

    fn fix_at(
        &self,
        subgraph: &str,
        set: &mut SelectionSet,
        path: &mut Vec<FetchNodePathSegment>,
        rewrites: &mut Vec<FetchRewrite>,
        counter: &mut usize,
        entities: bool,
    ) -> bool {
        let mut changed = false;
        // Response key to the type it has in the first fragment that selects it.
        let mut seen: FxHashMap<String, String> = FxHashMap::default();
        for item in &mut set.items {
            let SelectionItem::InlineFragment(fragment) = item else {
                continue;
            };
            for inner in &mut fragment.selections.items {
                let SelectionItem::Field(field) = inner else {
                    continue;
                };
                if field.name.starts_with("__") {
                    continue;
                }
                let Some(ty) = self.type_in(subgraph, &fragment.type_condition, &field.name) else {
                    continue;
                };
                let key = field.selection_identifier().to_string();
                match seen.get(&key) {
                    None => {
                        seen.insert(key, ty.to_string());
                    }
                    Some(first) if self.merge(first, ty) => {}
                    Some(_) => {
                        let alias = format!("_marquee_alias_{counter}");
                        *counter += 1;
                        let mut at = path.clone();
                        if !entities {
                            at.push(FetchNodePathSegment::typename_equals_from_type(
                                fragment.type_condition.clone(),
                            ));
                        }
                        at.push(FetchNodePathSegment::Key(alias.clone()));
                        rewrites.push(FetchRewrite::KeyRenamer(KeyRenamer {
                            path: at,
                            rename_key_to: key,
                        }));
                        field.alias = Some(alias);
                        changed = true;
                    }
                }
            }
        }
        for item in &mut set.items {
            match item {
                SelectionItem::Field(field) => {
                    path.push(FetchNodePathSegment::Key(
                        field.selection_identifier().to_string(),
                    ));
                    changed |= self.fix_at(
                        subgraph,
                        &mut field.selections,
                        path,
                        rewrites,
                        counter,
                        false,
                    );
                    path.pop();
                }
                SelectionItem::InlineFragment(fragment) => {
                    let segment = !entities;
                    if segment {
                        path.push(FetchNodePathSegment::typename_equals_from_type(
                            fragment.type_condition.clone(),
                        ));
                    }
                    for inner in &mut fragment.selections.items {
                        if let SelectionItem::Field(field) = inner {
                            path.push(FetchNodePathSegment::Key(
                                field.selection_identifier().to_string(),
                            ));
                            changed |= self.fix_at(
                                subgraph,
                                &mut field.selections,
                                path,
                                rewrites,
                                counter,
                                false,
                            );
                            path.pop();
                        }
                    }
                    if !entities {
                        path.pop();
                    }
                }
                SelectionItem::FragmentSpread(_) => {}
            }
        }
        changed
    }
}

fn argument<'d>(arguments: &'d [(String, Sdl)], name: &str) -> Option<&'d Sdl> {
    arguments.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPERGRAPH: &str = r#"
type Query { search: [Result] }
union Result = Book | Movie
type Book @join__type(graph: CATALOG) {
  title: String @join__field(graph: CATALOG, type: "String!") @join__field(graph: REVIEWS)
  author: Person
}
type Movie @join__type(graph: CATALOG) {
  title: String @join__field(graph: CATALOG)
  author: Studio
}
type Person { name: String }
type Studio { name: String }
enum join__Graph {
  CATALOG @join__graph(name: "catalog", url: "http://c")
  REVIEWS @join__graph(name: "reviews", url: "http://r")
}
"#;

    fn types() -> FieldTypes {
        FieldTypes::new(&crate::composition::parse_supergraph(SUPERGRAPH).unwrap())
    }

    #[test]
    fn a_subgraphs_own_field_type_wins_over_the_supergraphs() {
        let types = types();
        assert_eq!(types.type_in("catalog", "Book", "title"), Some("String!"));
        assert_eq!(types.type_in("reviews", "Book", "title"), Some("String"));
        assert_eq!(types.type_in("catalog", "Movie", "title"), Some("String"));
    }

    #[test]
    fn leaves_merge_only_when_equal_and_composites_by_wrapping() {
        let types = types();
        assert!(!types.merge("String!", "String"));
        assert!(!types.merge("String", "Int"));
        assert!(types.merge("[String]", "[String]"));
        assert!(types.merge("Person", "Studio"));
        assert!(!types.merge("Person!", "Studio"));
        assert!(!types.merge("[Person]", "Person"));
    }
}
