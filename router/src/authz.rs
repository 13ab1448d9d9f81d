//! Authorization from the supergraph: `@authenticated` and
//! `@requiresScopes(scopes: [[...]])` on fields and on the types fields return.
//! Fields the caller may not see are removed from the operation before
//! planning (no subgraph is asked for them); they come back as `null` with an
//! error at their path, `UNAUTHENTICATED` for anonymous callers and `FORBIDDEN`
//! for signed-in ones. Scopes come from the caller's token (roles map to
//! scopes: user < moderator < admin).

use std::collections::HashMap;

use graphql_tools::static_graphql::query::{
    Definition as QueryDefinition, Document as QueryDocument, Selection, SelectionSet,
    TypeCondition, Value as QueryValue,
};
use graphql_tools::static_graphql::schema::{Definition, Directive, Document, TypeDefinition};
use kit::auth::Claims;
use kit::ErrorCode;

use crate::response::{GraphqlError, PathElem};
use crate::schema::SchemaIndex;

/// What a field or type demands of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rule {
    pub authenticated: bool,
    /// Any one of these sets, each of which must be held entirely.
    pub scopes: Option<Vec<Vec<String>>>,
}

impl Rule {
    fn from_directives(directives: &[Directive]) -> Option<Rule> {
        let mut rule = Rule::default();
        for d in directives {
            match d.name.as_str() {
                "authenticated" => rule.authenticated = true,
                "requiresScopes" => {
                    let sets = d
                        .arguments
                        .iter()
                        .find(|(n, _)| n == "scopes")
                        .map(|(_, v)| scope_sets(v))
                        .unwrap_or_default();
                    rule.scopes = Some(sets);
                }
                _ => {}
            }
        }
        (rule != Rule::default()).then_some(rule)
    }

    /// `None` when `claims` satisfy the rule, else the error code.
    fn refuses(&self, claims: Option<&Claims>) -> Option<ErrorCode> {
        let Some(claims) = claims else {
            return Some(ErrorCode::Unauthenticated);
        };
        match &self.scopes {
            Some(sets)
                if !sets
                    .iter()
                    .any(|set| set.iter().all(|s| claims.has_scope(s))) =>
            {
                Some(ErrorCode::Forbidden)
            }
            _ => None,
        }
    }
}

fn scope_sets(v: &QueryValue) -> Vec<Vec<String>> {
    let QueryValue::List(outer) = v else {
        return Vec::new();
    };
    outer
        .iter()
        .map(|inner| match inner {
            QueryValue::List(items) => items
                .iter()
                .filter_map(|s| match s {
                    QueryValue::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            QueryValue::String(s) => vec![s.clone()],
            _ => Vec::new(),
        })
        .collect()
}

/// Every protected field and type of a supergraph.
#[derive(Debug, Default)]
pub(crate) struct AuthIndex {
    fields: HashMap<(String, String), Rule>,
    types: HashMap<String, Rule>,
}

impl AuthIndex {
    pub fn new(doc: &Document) -> Self {
        let mut index = AuthIndex::default();
        for def in &doc.definitions {
            let Definition::TypeDefinition(def) = def else {
                continue;
            };
            let (name, directives, fields) = match def {
                TypeDefinition::Object(o) => (&o.name, &o.directives, Some(&o.fields)),
                TypeDefinition::Interface(i) => (&i.name, &i.directives, Some(&i.fields)),
                TypeDefinition::Scalar(s) => (&s.name, &s.directives, None),
                TypeDefinition::Enum(e) => (&e.name, &e.directives, None),
                TypeDefinition::Union(u) => (&u.name, &u.directives, None),
                TypeDefinition::InputObject(_) => continue,
            };
            if let Some(rule) = Rule::from_directives(directives) {
                index.types.insert(name.clone(), rule);
            }
            for f in fields.into_iter().flatten() {
                if let Some(rule) = Rule::from_directives(&f.directives) {
                    index.fields.insert((name.clone(), f.name.clone()), rule);
                }
            }
        }
        index
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.types.is_empty()
    }

    /// The rules a selection of `parent.field` (returning `returns`) must pass.
    fn rules<'a>(
        &'a self,
        parent: &str,
        field: &str,
        returns: Option<&str>,
    ) -> impl Iterator<Item = &'a Rule> {
        self.fields
            .get(&(parent.to_string(), field.to_string()))
            .into_iter()
            .chain(returns.and_then(|t| self.types.get(t)))
    }
}

/// The outcome for one operation and caller.
pub(crate) struct Filtered {
    /// The document with the refused fields removed.
    pub document: QueryDocument,
    pub errors: Vec<GraphqlError>,
    /// Every root field was refused: nothing is left to run.
    pub nothing_left: bool,
}

struct Walk<'a> {
    index: &'a AuthIndex,
    schema: &'a SchemaIndex,
    claims: Option<&'a Claims>,
    errors: Vec<GraphqlError>,
    seen: std::collections::HashSet<String>,
}

impl Walk<'_> {
    /// Removes refused fields from `set` (of type `parent`); `path` is the
    /// response path so far (list positions are not known before execution).
    fn filter(&mut self, set: &mut SelectionSet, parent: &str, path: &mut Vec<String>) {
        set.items.retain_mut(|item| match item {
            Selection::Field(f) => {
                if f.name.starts_with("__") {
                    return true;
                }
                let returns = self
                    .schema
                    .field_type(parent, &f.name)
                    .map(|t| named(t).to_string());
                let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                let refused = self
                    .index
                    .rules(parent, &f.name, returns.as_deref())
                    .find_map(|r| r.refuses(self.claims));
                path.push(key);
                let keep = match refused {
                    Some(code) => {
                        self.refuse(code, parent, &f.name, path);
                        false
                    }
                    None => {
                        if let Some(t) = &returns {
                            if !f.selection_set.items.is_empty() {
                                self.filter(&mut f.selection_set, t, path);
                                keep_valid(&mut f.selection_set);
                            }
                        }
                        true
                    }
                };
                path.pop();
                keep
            }
            Selection::InlineFragment(i) => {
                let on = match &i.type_condition {
                    Some(TypeCondition::On(t)) => t.clone(),
                    None => parent.to_string(),
                };
                self.filter(&mut i.selection_set, &on, path);
                !i.selection_set.items.is_empty()
            }
            // Fragment definitions are filtered on their own (below).
            Selection::FragmentSpread(_) => true,
        });
    }

    fn refuse(&mut self, code: ErrorCode, parent: &str, field: &str, path: &[String]) {
        if !self.seen.insert(path.join("/")) {
            return;
        }
        metrics::counter!("marquee_router_authz_refused_total", "code" => code.as_str())
            .increment(1);
        let message = match code {
            ErrorCode::Unauthenticated => format!("`{parent}.{field}` needs a signed-in user"),
            _ => format!("`{parent}.{field}` is not allowed for this user"),
        };
        let path = path.iter().map(|k| PathElem::Key(k.clone())).collect();
        self.errors.push(GraphqlError::new(code, message).at(path));
    }
}

/// A selection set emptied by filtering still needs one field to be valid.
fn keep_valid(set: &mut SelectionSet) {
    if set.items.is_empty() {
        set.items.push(Selection::Field(
            graphql_tools::static_graphql::query::Field {
                position: Default::default(),
                alias: None,
                name: "__typename".into(),
                arguments: Vec::new(),
                directives: Vec::new(),
                selection_set: SelectionSet {
                    span: Default::default(),
                    items: Vec::new(),
                },
            },
        ));
    }
}

fn named(t: &graphql_tools::static_graphql::schema::Type) -> &str {
    use graphql_tools::static_graphql::schema::Type;
    match t {
        Type::NamedType(n) => n,
        Type::ListType(inner) | Type::NonNullType(inner) => named(inner),
    }
}

/// Replaces every fragment spread in `set` with the fragment's selections as
/// an inline fragment (validation has ruled out cycles), so every selection
/// has one response path.
fn inline_spreads(
    set: &mut SelectionSet,
    fragments: &HashMap<String, (TypeCondition, SelectionSet)>,
) {
    for item in &mut set.items {
        match item {
            Selection::FragmentSpread(spread) => {
                if let Some((on, selections)) = fragments.get(&spread.fragment_name) {
                    let mut selection_set = selections.clone();
                    inline_spreads(&mut selection_set, fragments);
                    *item = Selection::InlineFragment(
                        graphql_tools::static_graphql::query::InlineFragment {
                            position: spread.position,
                            type_condition: Some(on.clone()),
                            directives: spread.directives.clone(),
                            selection_set,
                        },
                    );
                }
            }
            Selection::Field(f) => inline_spreads(&mut f.selection_set, fragments),
            Selection::InlineFragment(i) => inline_spreads(&mut i.selection_set, fragments),
        }
    }
}

/// Filters the operation at `op_index` of `document` (on `root`) for
/// `claims`; `None` when nothing is refused (the common case: plan as is).
/// The filtered document holds that one operation, fragments inlined.
pub(crate) fn filter(
    index: &AuthIndex,
    schema: &SchemaIndex,
    document: &QueryDocument,
    op_index: usize,
    root: &str,
    claims: Option<&Claims>,
) -> Option<Filtered> {
    if index.is_empty() {
        return None;
    }
    let fragments: HashMap<String, (TypeCondition, SelectionSet)> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            QueryDefinition::Fragment(f) => Some((
                f.name.clone(),
                (f.type_condition.clone(), f.selection_set.clone()),
            )),
            _ => None,
        })
        .collect();
    let QueryDefinition::Operation(op) = &document.definitions[op_index] else {
        return None;
    };
    let mut op = op.clone();
    let set = crate::operation::selection_set_of_mut(&mut op);
    inline_spreads(set, &fragments);
    let mut walk = Walk {
        index,
        schema,
        claims,
        errors: Vec::new(),
        seen: Default::default(),
    };
    walk.filter(set, root, &mut Vec::new());
    if walk.errors.is_empty() {
        return None;
    }
    let nothing_left = set.items.iter().all(|s| match s {
        Selection::Field(f) => f.name == "__typename",
        _ => false,
    });
    keep_valid(set);
    Some(Filtered {
        document: QueryDocument {
            definitions: vec![QueryDefinition::Operation(op)],
        },
        errors: walk.errors,
        nothing_left,
    })
}
