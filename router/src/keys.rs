//! Entity keys by subgraph, read from the supergraph's `@join__type(key:)`.
//! A representation whose key fields are null (or missing) identifies no
//! entity: it is not sent, so a strict subgraph does not refuse the whole
//! batch for it, and the entity's fields from that subgraph stay null.

use graphql_tools::static_graphql::schema::{Definition, Document, TypeDefinition, Value as Sdl};
use rustc_hash::FxHashMap;

use crate::value::Value;

/// One field of a key's field set, with its own selection when it is an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyField {
    name: String,
    selection: Vec<KeyField>,
}

/// Subgraph name to type name to the type's keys in that subgraph.
#[derive(Debug, Default)]
pub(crate) struct EntityKeys(FxHashMap<String, FxHashMap<String, Vec<Vec<KeyField>>>>);

impl EntityKeys {
    pub fn new(doc: &Document) -> Self {
        let mut graphs = FxHashMap::default();
        for def in &doc.definitions {
            if let Definition::TypeDefinition(TypeDefinition::Enum(e)) = def {
                if e.name != "join__Graph" {
                    continue;
                }
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
        let mut keys = Self::default();
        for def in &doc.definitions {
            let Definition::TypeDefinition(def) = def else {
                continue;
            };
            let (name, directives) = match def {
                TypeDefinition::Object(o) => (&o.name, &o.directives),
                TypeDefinition::Interface(i) => (&i.name, &i.directives),
                _ => continue,
            };
            for d in directives.iter().filter(|d| d.name == "join__type") {
                let (Some(Sdl::Enum(graph)), Some(Sdl::String(fields))) = (
                    argument(&d.arguments, "graph"),
                    argument(&d.arguments, "key"),
                ) else {
                    continue;
                };
                let (Some(subgraph), Some(selection)) = (graphs.get(graph), parse(fields)) else {
                    continue;
                };
                keys.0
                    .entry(subgraph.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_default()
                    .push(selection);
            }
        }
        keys
    }

    /// Whether `representation` (of its `__typename`) carries, non-null,
    /// every field of one of the type's keys in `subgraph`; true when the
    /// subgraph has no key for it (nothing to check).
    pub fn identifies(&self, subgraph: &str, representation: &Value<'_>) -> bool {
        let Some(object) = representation.as_object() else {
            return false;
        };
        let Some(keys) = object.typename().and_then(|t| self.0.get(subgraph)?.get(t)) else {
            return true;
        };
        keys.is_empty() || keys.iter().any(|key| complete(key, representation))
    }
}

fn complete(fields: &[KeyField], value: &Value<'_>) -> bool {
    match value {
        Value::Object(o) => fields.iter().all(|f| {
            o.get(&f.name).is_some_and(|v| {
                !v.is_null() && (f.selection.is_empty() || complete(&f.selection, v))
            })
        }),
        Value::Array(items) => items.iter().all(|i| !i.is_null() && complete(fields, i)),
        _ => false,
    }
}

fn argument<'d>(arguments: &'d [(String, Sdl)], name: &str) -> Option<&'d Sdl> {
    arguments.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// A key's field set (`id`, `sku region`, `code country { iso }`); `None`
/// for what it cannot read (fragments, arguments), which is then not checked.
fn parse(fields: &str) -> Option<Vec<KeyField>> {
    let spaced = fields.replace('{', " { ").replace('}', " } ");
    let mut tokens = spaced.split_whitespace().filter(|t| !t.is_empty());
    let selection = parse_selection(&mut tokens)?;
    (!selection.is_empty()).then_some(selection)
}

fn parse_selection<'t>(tokens: &mut impl Iterator<Item = &'t str>) -> Option<Vec<KeyField>> {
    let mut out: Vec<KeyField> = Vec::new();
    while let Some(token) = tokens.next() {
        match token {
            "}" => return Some(out),
            "{" => {
                let last = out.last_mut()?;
                last.selection = parse_selection(tokens)?;
            }
            name if name.chars().all(|c| c.is_alphanumeric() || c == '_') => out.push(KeyField {
                name: name.to_string(),
                selection: Vec::new(),
            }),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPERGRAPH: &str = r#"
type Query { a: Int }
type Supplier @join__type(graph: CATALOG, key: "code country { iso }") @join__type(graph: REVIEWS, key: "code country { iso }") {
  code: String
}
type Product @join__type(graph: REVIEWS, key: "id") @join__type(graph: REVIEWS, key: "sku region") {
  id: ID
}
enum join__Graph {
  CATALOG @join__graph(name: "catalog", url: "http://c")
  REVIEWS @join__graph(name: "reviews", url: "http://r")
}
"#;

    fn keys() -> EntityKeys {
        EntityKeys::new(&crate::composition::parse_supergraph(SUPERGRAPH).unwrap())
    }

    fn rep(text: &str) -> Value<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn nested_keys_need_every_field_non_null() {
        let keys = keys();
        let ok = rep(r#"{"__typename":"Supplier","code":"A","country":{"iso":"DE"}}"#);
        assert!(keys.identifies("reviews", &ok));
        for bad in [
            r#"{"__typename":"Supplier","code":null,"country":{"iso":"DE"}}"#,
            r#"{"__typename":"Supplier","code":"A","country":null}"#,
            r#"{"__typename":"Supplier","code":"A","country":{"iso":null}}"#,
            r#"{"__typename":"Supplier","code":"A"}"#,
        ] {
            assert!(!keys.identifies("reviews", &rep(bad)), "{bad}");
        }
    }

    #[test]
    fn any_one_complete_key_identifies_the_entity() {
        let keys = keys();
        let by_second = rep(r#"{"__typename":"Product","sku":"S","region":"EU"}"#);
        assert!(keys.identifies("reviews", &by_second));
        let neither = rep(r#"{"__typename":"Product","id":null,"sku":"S","region":null}"#);
        assert!(!keys.identifies("reviews", &neither));
    }

    #[test]
    fn types_without_keys_in_the_subgraph_are_not_checked() {
        let keys = keys();
        let product = rep(r#"{"__typename":"Product","id":null}"#);
        assert!(keys.identifies("catalog", &product));
        assert!(keys.identifies("reviews", &rep(r#"{"__typename":"Other"}"#)));
    }

    #[test]
    fn key_field_sets_parse_nested_selections() {
        assert_eq!(
            parse("code country { iso }"),
            Some(vec![
                KeyField {
                    name: "code".into(),
                    selection: vec![]
                },
                KeyField {
                    name: "country".into(),
                    selection: vec![KeyField {
                        name: "iso".into(),
                        selection: vec![]
                    }]
                },
            ])
        );
        assert_eq!(parse("... on A { id }"), None);
    }
}
