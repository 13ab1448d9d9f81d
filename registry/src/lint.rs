//! `NON_NULL_ACROSS_SUBGRAPHS`: design for failure, checked. A field that one
//! subgraph adds to an entity owned by another, and a field whose type is an
//! entity owned by another subgraph, must be nullable (lists too): the
//! subgraph that answers it can fail alone, and a non-null field would carry
//! its failure up to the parent (often `data` itself) and blank the owner's page.
//!
//! The owner of an entity (a type or interface with `@key`) is the one
//! subgraph that defines it other than as an `@interfaceObject` or an
//! unresolvable stub (`resolvable: false`); where several do (users and
//! social both resolve `User`), `schema/owners.yaml` names it, as DESIGN.md's
//! ownership list does. Federation itself has no notion of an owner.

use std::collections::{BTreeMap, BTreeSet};

use apollo_compiler::ast::{FieldDefinition, Type};
use apollo_compiler::schema::{DirectiveList, ExtendedType};
use apollo_compiler::{Node, Schema};
use serde::Serialize;

use crate::check::SubgraphSdl;

/// One non-null field the failure of another subgraph would propagate through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `Type.field`.
    pub coordinate: String,
    /// The subgraph that defines the field.
    pub subgraph: String,
    /// The field's type as written, e.g. `User!`.
    #[serde(rename = "type")]
    pub ty: String,
    pub message: String,
}

/// What one subgraph says about one object or interface type.
struct Definition<'a> {
    subgraph: usize,
    fields: Vec<&'a Node<FieldDefinition>>,
    keys: BTreeSet<String>,
    entity: bool,
    /// Defined here as an `@interfaceObject` or a `resolvable: false` stub:
    /// it never owns the type.
    borrowed: bool,
}

/// Every finding over `subgraphs`, in coordinate order; `declared` names
/// the owner of each entity that more than one subgraph could own (the
/// contents of `schema/owners.yaml`). Errors name the entities whose owner is
/// unknown.
pub fn non_null_across_subgraphs(
    subgraphs: &[SubgraphSdl],
    declared: &BTreeMap<String, String>,
) -> Result<Vec<Finding>, Vec<String>> {
    let schemas: Vec<Schema> = subgraphs
        .iter()
        .map(
            |s| match Schema::parse(&s.sdl, format!("{}.graphql", s.name)) {
                Ok(schema) => schema,
                // Federation directives are used without their definitions; what
                // parses is all the lint needs (syntax errors fail composition).
                Err(with_errors) => with_errors.partial,
            },
        )
        .collect();

    let mut definitions: BTreeMap<&str, Vec<Definition<'_>>> = BTreeMap::new();
    for (i, schema) in schemas.iter().enumerate() {
        for (name, ty) in &schema.types {
            let (fields, directives): (Vec<_>, &DirectiveList) = match ty {
                ExtendedType::Object(o) => {
                    (o.fields.values().map(|f| &f.node).collect(), &o.directives)
                }
                ExtendedType::Interface(o) => {
                    (o.fields.values().map(|f| &f.node).collect(), &o.directives)
                }
                _ => continue,
            };
            let mut keys = BTreeSet::new();
            let mut entity = false;
            let mut borrowed = directives.get("interfaceObject").is_some();
            for key in directives.get_all("key") {
                entity = true;
                if let Some(fields) = key.specified_argument_by_name("fields") {
                    if let Some(text) = fields.as_str() {
                        keys.extend(top_level_names(text));
                    }
                }
                if key
                    .specified_argument_by_name("resolvable")
                    .and_then(|v| v.to_bool())
                    == Some(false)
                {
                    borrowed = true;
                }
            }
            definitions
                .entry(name.as_str())
                .or_default()
                .push(Definition {
                    subgraph: i,
                    fields,
                    keys,
                    entity,
                    borrowed,
                });
        }
    }

    // The owner of each entity: the one subgraph that can own it, or the
    // one `owners` names.
    let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unowned = Vec::new();
    for (name, defs) in &definitions {
        if !defs.iter().any(|d| d.entity) {
            continue;
        }
        let candidates: Vec<usize> = defs
            .iter()
            .filter(|d| !d.borrowed)
            .map(|d| d.subgraph)
            .collect();
        let named = declared.get(*name).map(String::as_str);
        let owner = match (named, candidates.as_slice()) {
            (Some(n), _) => match subgraphs.iter().position(|s| s.name == n) {
                Some(i) if defs.iter().any(|d| d.subgraph == i) => Some(i),
                _ => {
                    unowned.push(format!(
                        "schema/owners.yaml names {n} as the owner of {name}, which {n} does not define"
                    ));
                    None
                }
            },
            (None, [one]) => Some(*one),
            (None, []) => None,
            (None, many) => {
                let names: Vec<&str> = many.iter().map(|i| subgraphs[*i].name.as_str()).collect();
                unowned.push(format!(
                    "entity {name} is defined by {}: name its owner in schema/owners.yaml",
                    names.join(", ")
                ));
                None
            }
        };
        if let Some(owner) = owner {
            owners.insert(name, owner);
        }
    }
    if !unowned.is_empty() {
        return Err(unowned);
    }

    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    for (type_name, defs) in &definitions {
        let owner = owners.get(type_name).copied();
        let owner_fields: BTreeSet<&str> = owner
            .and_then(|o| defs.iter().find(|d| d.subgraph == o))
            .map(|d| d.fields.iter().map(|f| f.name.as_str()).collect())
            .unwrap_or_default();
        for def in defs {
            let here = &subgraphs[def.subgraph].name;
            for field in &def.fields {
                if is_external(field) || !is_non_null(&field.ty) {
                    continue;
                }
                let coordinate = format!("{type_name}.{}", field.name);
                // (a) added to another subgraph's entity.
                if let Some(o) = owner.filter(|o| *o != def.subgraph) {
                    if !def.keys.contains(field.name.as_str())
                        && !owner_fields.contains(field.name.as_str())
                    {
                        findings.entry(coordinate.clone()).or_insert_with(|| Finding {
                            coordinate: coordinate.clone(),
                            subgraph: here.clone(),
                            ty: field.ty.to_string(),
                            message: format!(
                                "{here} adds this field to {}'s entity {type_name}: make it nullable, \
                                 or an outage of {here} nulls the whole {type_name}",
                                subgraphs[o].name
                            ),
                        });
                        continue;
                    }
                }
                // (b) typed as another subgraph's entity. A failed entity
                // fetch nulls each entity's position; the null stops at the
                // first nullable level on its way out (`[User]!` holds it in
                // the list, `[User!]` at the field).
                let target = field.ty.inner_named_type().as_str();
                if let Some(o) = owners
                    .get(target)
                    .copied()
                    .filter(|o| *o != def.subgraph && non_null_all_the_way(&field.ty))
                {
                    findings.entry(coordinate.clone()).or_insert_with(|| Finding {
                        coordinate: coordinate.clone(),
                        subgraph: here.clone(),
                        ty: field.ty.to_string(),
                        message: format!(
                            "its type is {}'s entity {target}: make it nullable, or an outage of {} \
                             nulls the {type_name} that holds it",
                            subgraphs[o].name, subgraphs[o].name
                        ),
                    });
                }
            }
        }
    }
    Ok(findings.into_values().collect())
}

fn is_external(field: &FieldDefinition) -> bool {
    field.directives.get("external").is_some()
}

fn is_non_null(ty: &Type) -> bool {
    matches!(ty, Type::NonNullNamed(_) | Type::NonNullList(_))
}

fn non_null_all_the_way(ty: &Type) -> bool {
    match ty {
        Type::NonNullNamed(_) => true,
        Type::NonNullList(inner) => non_null_all_the_way(inner),
        Type::Named(_) | Type::List(_) => false,
    }
}

/// The top-level field names of a `@key(fields:)` selection: `id`, or `id
/// sku`, or `id owner { id }` (gives `id`, `owner`).
fn top_level_names(selection: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    let mut flush = |word: &mut String, depth: usize| {
        if depth == 0 && !word.is_empty() {
            names.push(std::mem::take(word));
        }
        word.clear();
    };
    for c in selection.chars() {
        match c {
            '{' => {
                flush(&mut word, depth);
                depth += 1;
            }
            '}' => {
                flush(&mut word, depth);
                depth = depth.saturating_sub(1);
            }
            c if c.is_alphanumeric() || c == '_' => word.push(c),
            _ => flush(&mut word, depth),
        }
    }
    flush(&mut word, depth);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(name: &str, sdl: &str) -> SubgraphSdl {
        SubgraphSdl {
            name: name.into(),
            sdl: sdl.into(),
        }
    }

    fn coordinates(subs: &[SubgraphSdl]) -> Vec<String> {
        let owners = [("User", "users")]
            .into_iter()
            .map(|(t, s)| (t.to_string(), s.to_string()))
            .collect();
        non_null_across_subgraphs(subs, &owners)
            .unwrap()
            .into_iter()
            .map(|f| f.coordinate)
            .collect()
    }

    const USERS: &str = r#"
        type User @key(fields: "id") { id: ID! name: String! email: String! }
        type Query { me: User }
    "#;

    #[test]
    fn a_field_added_to_another_subgraphs_entity_must_be_nullable() {
        let social = r#"
            type User @key(fields: "id") { id: ID! followerCount: Int! posts: [Post!]! bio: String }
            type Post @key(fields: "id") { id: ID! body: String! }
        "#;
        assert_eq!(
            coordinates(&[sub("users", USERS), sub("social", social)]),
            ["User.followerCount", "User.posts"]
        );
    }

    #[test]
    fn a_field_typed_as_another_subgraphs_entity_must_be_nullable() {
        let social = r#"
            type User @key(fields: "id", resolvable: false) { id: ID! }
            type Post @key(fields: "id") {
                id: ID! author: User! editors: [User] likers: [User!]! readers: [User]! tags: [[User!]!]!
            }
            type Query { post(id: ID!): Post whoAmI: User! }
            type Mutation { follow(id: ID!): User! }
        "#;
        assert_eq!(
            coordinates(&[sub("users", USERS), sub("social", social)]),
            [
                "Mutation.follow",
                "Post.author",
                "Post.likers",
                "Post.tags",
                "Query.whoAmI"
            ]
        );
    }

    #[test]
    fn the_owners_own_fields_keys_and_externals_pass() {
        let reviews = r#"
            type User @key(fields: "id") { id: ID! name: String! @external reviewCount: Int @requires(fields: "name") }
            type Review @key(fields: "id") { id: ID! author: User }
        "#;
        assert!(coordinates(&[sub("users", USERS), sub("reviews", reviews)]).is_empty());
    }

    #[test]
    fn an_interface_object_never_owns_its_interface() {
        let content = r#"
            interface Title @key(fields: "id") { id: ID! title: String! }
            type Movie implements Title @key(fields: "id") { id: ID! title: String! }
        "#;
        let social = r#"
            type Title @key(fields: "id") @interfaceObject { id: ID! reviewCount: Int! }
            type WatchlistEntry { addedAt: String! title: Title! maybe: Title }
        "#;
        assert_eq!(
            coordinates(&[sub("content", content), sub("social", social)]),
            ["Title.reviewCount", "WatchlistEntry.title"]
        );
    }

    #[test]
    fn an_entity_several_subgraphs_resolve_needs_a_named_owner() {
        let a = r#"type Thing @key(fields: "id") { id: ID! x: Int! }"#;
        let b = r#"type Thing @key(fields: "id") { id: ID! y: Int! }"#;
        let subs = [sub("a", a), sub("b", b)];
        let errors = non_null_across_subgraphs(&subs, &BTreeMap::new()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("entity Thing is defined by a, b"),
            "{errors:?}"
        );
        let owners = BTreeMap::from([("Thing".to_string(), "b".to_string())]);
        let found = non_null_across_subgraphs(&subs, &owners).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].coordinate, "Thing.x");
        assert_eq!(found[0].subgraph, "a");
        let wrong = BTreeMap::from([("Thing".to_string(), "c".to_string())]);
        assert!(non_null_across_subgraphs(&subs, &wrong).is_err());
    }

    #[test]
    fn key_selections_give_their_top_level_names() {
        assert_eq!(top_level_names("id"), ["id"]);
        assert_eq!(top_level_names("id sku"), ["id", "sku"]);
        assert_eq!(
            top_level_names("id owner { id org { id } } kind"),
            ["id", "owner", "kind"]
        );
    }
}
