//! Request limits on the operation text and its shape, checked before
//! validation and planning: tokens and nesting on the raw text (so a hostile
//! document never reaches the recursive parser), then depth, aliases, root
//! fields, directives, expanded fields and static cost on the parsed
//! operation, each fragment measured once (linear in the document's size).

use std::collections::HashMap;

use graphql_tools::static_graphql::query::{
    Definition, Field, FragmentDefinition, Selection, SelectionSet, TypeCondition,
    Value as QueryValue,
};
use graphql_tools::static_graphql::schema::Type;
use kit::config::LimitsConfig;
use kit::ErrorCode;
use serde_json::{json, Map, Value};

use crate::operation::ParsedOperation;
use crate::response::GraphqlError;
use crate::schema::SchemaIndex;

/// What the lexer saw in a document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TextShape {
    pub tokens: usize,
    /// Deepest `{`/`(`/`[` nesting.
    pub nesting: usize,
}

/// Counts GraphQL tokens and bracket nesting without parsing. Strings (block
/// strings too) and comments are skipped; names and numbers count once.
pub fn scan(text: &str) -> TextShape {
    let bytes = text.as_bytes();
    let mut shape = TextShape::default();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                shape.tokens += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'{' | b'(' | b'[' => {
                shape.tokens += 1;
                depth += 1;
                shape.nesting = shape.nesting.max(depth);
                i += 1;
            }
            b'}' | b')' | b']' => {
                shape.tokens += 1;
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                shape.tokens += 1;
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                shape.tokens += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => {
                shape.tokens += 1;
                i += 1;
            }
        }
    }
    shape
}

/// The shape of the selected operation, fragments expanded (counts saturate).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OperationShape {
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
    pub directives: usize,
    /// Field selections with every fragment expanded where it is spread.
    pub fields: usize,
    /// Root field instances named in `auth` (sign-in and friends), fragments
    /// and aliases expanded: each takes one token of the auth rate class.
    pub auth_fields: usize,
    /// Root field instances of any other name.
    pub other_root_fields: usize,
    /// Selections visited to compute all of this: linear in the document.
    pub visits: usize,
    /// Fragment definitions (indices into the document) so that each comes
    /// after every fragment it spreads: the cost walk's order.
    pub fragment_order: Vec<usize>,
}

/// What one selection set amounts to once its fragments are expanded.
#[derive(Debug, Default, Clone, Copy)]
struct Summary {
    height: usize,
    fields: usize,
    aliases: usize,
    directives: usize,
    /// Fields at this set's own level (through inline fragments and spreads).
    top_fields: usize,
    top_auth: usize,
}

impl Summary {
    /// Adds a fragment's summary at the same level as this set.
    fn absorb(&mut self, other: &Summary) {
        self.height = self.height.max(other.height);
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.directives = self.directives.saturating_add(other.directives);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.top_auth = self.top_auth.saturating_add(other.top_auth);
    }
}

type Fragments<'a> = HashMap<&'a str, (usize, &'a FragmentDefinition)>;

/// One pass over a document. Each fragment is summarized once, in an order
/// where the fragments it spreads come first, and its summary is reused at
/// every spread: a document of N selections costs O(N) however its
/// fragments multiply. Recursion follows selection nesting only, which
/// `check_text` bounded before parsing.
struct Walk<'a> {
    fragments: Fragments<'a>,
    memo: HashMap<&'a str, Summary>,
    auth: &'a [String],
    visits: usize,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Summary {
        let mut s = Summary::default();
        for item in &set.items {
            self.visits += 1;
            match item {
                Selection::Field(f) => {
                    let child = if f.selection_set.items.is_empty() {
                        Summary::default()
                    } else {
                        self.set(&f.selection_set)
                    };
                    s.height = s.height.max(child.height.saturating_add(1));
                    s.fields = s.fields.saturating_add(child.fields.saturating_add(1));
                    s.aliases = s
                        .aliases
                        .saturating_add(child.aliases)
                        .saturating_add(usize::from(f.alias.is_some()));
                    s.directives = s
                        .directives
                        .saturating_add(child.directives)
                        .saturating_add(f.directives.len());
                    s.top_fields = s.top_fields.saturating_add(1);
                    if self.auth.contains(&f.name) {
                        s.top_auth = s.top_auth.saturating_add(1);
                    }
                }
                Selection::InlineFragment(i) => {
                    s.directives = s.directives.saturating_add(i.directives.len());
                    let child = self.set(&i.selection_set);
                    s.absorb(&child);
                }
                Selection::FragmentSpread(spread) => {
                    s.directives = s.directives.saturating_add(spread.directives.len());
                    // A fragment in a cycle (which validation refuses) is
                    // summarized without the spread that closes the cycle.
                    let child = self
                        .memo
                        .get(spread.fragment_name.as_str())
                        .copied()
                        .unwrap_or_default();
                    s.absorb(&child);
                }
            }
        }
        s
    }

    /// Names of the fragments `set` spreads, at any depth.
    fn spreads(&mut self, set: &'a SelectionSet, out: &mut Vec<&'a str>) {
        for item in &set.items {
            self.visits += 1;
            match item {
                Selection::Field(f) => self.spreads(&f.selection_set, out),
                Selection::InlineFragment(i) => self.spreads(&i.selection_set, out),
                Selection::FragmentSpread(s) => out.push(s.fragment_name.as_str()),
            }
        }
    }

    /// Summarizes every fragment, each after those it spreads (an explicit
    /// stack: a chain of thousands of fragments does not grow the call stack).
    fn fragments(&mut self) -> Vec<usize> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: HashMap<&'a str, Mark> = HashMap::new();
        let mut order = Vec::new();
        let mut names: Vec<(&'a str, usize)> =
            self.fragments.iter().map(|(n, (i, _))| (*n, *i)).collect();
        names.sort_by_key(|(_, i)| *i);
        for (name, _) in names {
            let mut stack = vec![(name, false)];
            while let Some((name, expanded)) = stack.pop() {
                let Some(&(index, def)) = self.fragments.get(name) else {
                    continue;
                };
                if expanded {
                    let summary = self.set(&def.selection_set);
                    self.memo.insert(name, summary);
                    marks.insert(name, Mark::Done);
                    order.push(index);
                    continue;
                }
                if marks.contains_key(name) {
                    // Done already, or open on the current path (a cycle).
                    continue;
                }
                marks.insert(name, Mark::Open);
                stack.push((name, true));
                let mut deps = Vec::new();
                self.spreads(&def.selection_set, &mut deps);
                for dep in deps {
                    if marks.get(dep) != Some(&Mark::Done) {
                        stack.push((dep, false));
                    }
                }
            }
        }
        order
    }
}

/// Walks the selected operation once (see `Walk`); `auth` names the root
/// fields counted in `auth_fields`.
pub(crate) fn shape(op: &ParsedOperation, auth: &[String]) -> OperationShape {
    let fragments: Fragments = op
        .document
        .definitions
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Definition::Fragment(f) => Some((f.name.as_str(), (i, f))),
            _ => None,
        })
        .collect();
    let mut walk = Walk {
        fragments,
        memo: HashMap::new(),
        auth,
        visits: 0,
    };
    let fragment_order = walk.fragments();
    let s = walk.set(op.selection_set());
    OperationShape {
        depth: s.height,
        aliases: s.aliases,
        root_fields: s.top_fields,
        directives: s.directives,
        fields: s.fields,
        auth_fields: s.top_auth,
        other_root_fields: s.top_fields.saturating_sub(s.top_auth),
        visits: walk.visits,
        fragment_order,
    }
}

/// The static cost of an operation (IBM's GraphQL cost directives spec where
/// it fits: an object costs 1, a scalar or enum 0; a list multiplies what it
/// holds by its `first`/`last`/`limit` argument, else by its configured or
/// default size; a connection's size applies to its `edges`/`nodes`).
/// Fragments are costed once each, in `shape.fragment_order`.
pub(crate) fn cost(
    op: &ParsedOperation,
    shape: &OperationShape,
    schema: &SchemaIndex,
    root_type: &str,
    variables: &Map<String, Value>,
    limits: &LimitsConfig,
) -> u64 {
    let mut costing = Costing {
        schema,
        variables,
        limits,
        memo: HashMap::new(),
    };
    for &index in &shape.fragment_order {
        if let Definition::Fragment(f) = &op.document.definitions[index] {
            let TypeCondition::On(on) = &f.type_condition;
            let c = costing.set(&f.selection_set, on, None);
            costing.memo.insert(f.name.as_str(), c);
        }
    }
    costing.set(op.selection_set(), root_type, None)
}

/// Arguments whose value is how many items a list field returns.
const SLICING_ARGUMENTS: [&str; 3] = ["first", "last", "limit"];

struct Costing<'a> {
    schema: &'a SchemaIndex,
    variables: &'a Map<String, Value>,
    limits: &'a LimitsConfig,
    memo: HashMap<&'a str, u64>,
}

impl<'a> Costing<'a> {
    /// `sized`: inside a connection whose size is known, its `edges` and
    /// `nodes` (and, to stay on the safe side, its fragments) count that many times.
    fn set(&self, set: &'a SelectionSet, parent: &str, sized: Option<u64>) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let c = match item {
                Selection::Field(f) => {
                    let sized = sized.filter(|_| f.name == "edges" || f.name == "nodes");
                    self.field(f, parent, sized)
                }
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        Some(TypeCondition::On(on)) => on.as_str(),
                        None => parent,
                    };
                    self.set(&i.selection_set, on, sized)
                }
                Selection::FragmentSpread(s) => {
                    let c = self
                        .memo
                        .get(s.fragment_name.as_str())
                        .copied()
                        .unwrap_or(0);
                    c.saturating_mul(sized.unwrap_or(1))
                }
            };
            total = total.saturating_add(c);
        }
        total
    }

    /// `size`: how many items the field holds when its connection said so.
    fn field(&self, f: &'a Field, parent: &str, size: Option<u64>) -> u64 {
        let Some(ty) = self.schema.field_type(parent, &f.name) else {
            return 0; // __typename, or a field validation refuses
        };
        let (named, list) = unwrap_type(ty);
        let own = u64::from(!self.schema.is_leaf(named));
        let slicing = f
            .arguments
            .iter()
            .filter(|(name, _)| SLICING_ARGUMENTS.contains(&name.as_str()))
            .filter_map(|(_, v)| match v {
                QueryValue::Int(n) => n.as_i64(),
                QueryValue::Variable(name) => self.variables.get(name).and_then(Value::as_i64),
                _ => None,
            })
            .map(|n| n.max(0) as u64)
            .max()
            .or(size);
        let connection =
            f.selection_set.items.iter().any(
                |s| matches!(s, Selection::Field(c) if c.name == "edges" || c.name == "nodes"),
            );
        match slicing {
            Some(n) if connection => own.saturating_add(self.set(&f.selection_set, named, Some(n))),
            _ => {
                let times = slicing.unwrap_or_else(|| match list {
                    false => 1,
                    true if self.limits.list_sizes.is_empty() => self.limits.default_list_size,
                    true => self
                        .limits
                        .list_sizes
                        .get(&format!("{parent}.{}", f.name))
                        .copied()
                        .unwrap_or(self.limits.default_list_size),
                });
                let children = self.set(&f.selection_set, named, None);
                times.saturating_mul(own.saturating_add(children))
            }
        }
    }
}

/// A type's named type, and whether a list wraps it anywhere.
fn unwrap_type(ty: &Type) -> (&str, bool) {
    match ty {
        Type::NamedType(n) => (n.as_str(), false),
        Type::ListType(inner) => (unwrap_type(inner).0, true),
        Type::NonNullType(inner) => unwrap_type(inner),
    }
}

fn too_complex(limit: &str, max: usize, actual: usize, message: String) -> GraphqlError {
    GraphqlError::new(ErrorCode::QueryTooComplex, message)
        .extension("limit", json!(limit))
        .extension("max", json!(max))
        .extension("actual", json!(actual))
}

/// Refuses text over the token or nesting limits.
pub fn check_text(text: &str, limits: &LimitsConfig) -> Result<(), GraphqlError> {
    let s = scan(text);
    if s.tokens > limits.max_tokens {
        return Err(too_complex(
            "tokens",
            limits.max_tokens,
            s.tokens,
            format!(
                "the document has {} tokens; at most {} are allowed",
                s.tokens, limits.max_tokens
            ),
        ));
    }
    // Selection sets nest inside arguments and lists too; twice the depth
    // limit leaves room for those and still bounds the parser's recursion.
    let max_nesting = limits.max_depth * 2 + 4;
    if s.nesting > max_nesting {
        return Err(too_complex(
            "depth",
            limits.max_depth,
            s.nesting,
            format!(
                "the document nests {} levels deep; at most {} selection levels are allowed",
                s.nesting, limits.max_depth
            ),
        ));
    }
    Ok(())
}

/// Refuses operations over the depth, alias, root field, directive or
/// expanded-field limits.
pub(crate) fn check_shape(s: &OperationShape, limits: &LimitsConfig) -> Result<(), GraphqlError> {
    let checks = [
        ("depth", limits.max_depth, s.depth, "selection depth"),
        ("aliases", limits.max_aliases, s.aliases, "aliases"),
        (
            "root_fields",
            limits.max_root_fields,
            s.root_fields,
            "root fields",
        ),
        (
            "directives",
            limits.max_directives,
            s.directives,
            "directives",
        ),
        (
            "fields",
            limits.max_fields,
            s.fields,
            "field selections (fragments expanded)",
        ),
    ];
    for (limit, max, actual, what) in checks {
        if actual > max {
            let shown = if limit == "depth" {
                format!("the operation's selection depth exceeds {max}")
            } else {
                format!("the operation has {actual} {what}; at most {max} are allowed")
            };
            return Err(too_complex(limit, max, actual, shown));
        }
    }
    Ok(())
}

/// Refuses an operation whose static cost is over `limits.max_cost`.
pub(crate) fn check_cost(cost: u64, limits: &LimitsConfig) -> Result<(), GraphqlError> {
    if limits.max_cost > 0 && cost > limits.max_cost {
        return Err(GraphqlError::new(
            ErrorCode::QueryTooComplex,
            format!(
                "the operation's estimated cost is {cost}; at most {} is allowed",
                limits.max_cost
            ),
        )
        .extension("limit", json!("cost"))
        .extension("max", json!(limits.max_cost))
        .extension("actual", json!(cost)));
    }
    Ok(())
}

#[cfg(test)]
fn check_operation(op: &ParsedOperation, limits: &LimitsConfig) -> Result<(), GraphqlError> {
    check_shape(&shape(op, &[]), limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> ParsedOperation {
        ParsedOperation::parse(q, None).unwrap()
    }

    #[test]
    fn scan_counts_tokens_and_skips_strings_and_comments() {
        let s = scan(
            "# a comment { { {\nquery Q($a: Int = 1) { f(s: \"{{{\", b: \"\"\"x { \"\"\") { g } }",
        );
        assert_eq!(s.nesting, 2);
        // query Q ( $ a : Int = 1 ) { f ( s : "..." b : """...""" ) { g } }
        assert_eq!(s.tokens, 24);
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        let op = parsed("{ a { b { c } } ...F } fragment F on Query { x { y { z { w } } } }");
        let s = shape(&op, &[]);
        assert_eq!(s.depth, 4);
        assert_eq!(s.root_fields, 2);
        let op = parsed("{ a }");
        assert_eq!(shape(&op, &[]).depth, 1);
    }

    #[test]
    fn aliases_and_directives_are_counted() {
        let op =
            parsed("{ a1: a a2: a @skip(if: true) ... on Query @include(if: true) { a3: a } }");
        let s = shape(&op, &[]);
        assert_eq!(s.aliases, 3);
        assert_eq!(s.directives, 2);
        assert_eq!(s.root_fields, 3);
    }

    #[test]
    fn cyclic_fragments_terminate() {
        let op =
            parsed("{ ...A } fragment A on Query { a { ...B } } fragment B on T { b { ...A } }");
        let s = shape(&op, &[]);
        assert!(s.depth <= 100);
    }

    #[test]
    fn each_limit_names_itself() {
        let limits = LimitsConfig {
            max_depth: 2,
            max_aliases: 1,
            max_root_fields: 2,
            max_directives: 1,
            ..LimitsConfig::default()
        };
        let cases = [
            ("{ a { b { c } } }", "depth"),
            ("{ x: a y: a }", "aliases"),
            ("{ a b c }", "root_fields"),
            ("{ a @skip(if: false) b @skip(if: false) }", "directives"),
        ];
        for (q, limit) in cases {
            let err = check_operation(&parsed(q), &limits).unwrap_err();
            assert_eq!(err.code(), Some("QUERY_TOO_COMPLEX"), "{q}");
            assert_eq!(err.extensions["limit"], limit, "{q}");
        }
        assert!(check_operation(&parsed("{ a { b } }"), &limits).is_ok());
    }

    #[test]
    fn hostile_text_is_refused_before_parsing() {
        let limits = LimitsConfig::default();
        let deep = format!("{}{}", "{a".repeat(1_000), "}".repeat(1_000));
        assert_eq!(
            check_text(&deep, &limits).unwrap_err().extensions["limit"],
            "depth"
        );
        let wide = format!("{{ {} }}", "a ".repeat(limits.max_tokens + 1));
        assert_eq!(
            check_text(&wide, &limits).unwrap_err().extensions["limit"],
            "tokens"
        );
    }

    /// `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } ... F<n> { __typename }`.
    fn doubling_chain(levels: usize) -> String {
        let mut q = String::from("query { ...F0 }");
        for i in 0..levels {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        q.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        q
    }

    #[test]
    fn a_doubling_fragment_chain_costs_its_size_not_its_expansion() {
        let q = doubling_chain(40);
        let op = parsed(&q);
        let s = shape(&op, &[]);
        // 2^40 expanded root fields, counted without expanding anything.
        assert_eq!(s.root_fields, 1usize << 40);
        assert!(s.visits <= 4 * 3 * 42, "visited {} selections", s.visits);
        let err = check_shape(&s, &LimitsConfig::default()).unwrap_err();
        assert_eq!(err.extensions["limit"], "root_fields");
        // Nested instead of at the root: the expanded field count catches it.
        let nested = q.replace("query { ...F0 }", "query { me { ...F0 } }");
        let nested = nested.replace("on Query", "on User");
        let s = shape(&parsed(&nested), &[]);
        assert!(s.visits <= 4 * 3 * 42);
        assert_eq!(
            check_shape(&s, &LimitsConfig::default())
                .unwrap_err()
                .extensions["limit"],
            "fields"
        );
    }

    #[test]
    fn auth_fields_are_counted_through_aliases_and_fragments() {
        let auth = ["login".to_string()];
        let count = |q: &str| shape(&parsed(q), &auth);
        assert_eq!(count("mutation { login(a: 1) { t } }").auth_fields, 1);
        let s =
            count("mutation { ... on Mutation { a: login(a: 1) { t } b: login(a: 2) { t } } x }");
        assert_eq!((s.auth_fields, s.other_root_fields), (2, 1));
        let s = count(
            "mutation { ...A ...A } fragment A on Mutation { ...B ...B } fragment B on Mutation { login(a: 1) { t } }",
        );
        assert_eq!(s.auth_fields, 4);
        // Below the root, a field of that name is something else.
        assert_eq!(count("{ me { login } }").auth_fields, 0);
    }

    #[test]
    fn random_documents_are_measured_in_bounded_visits_without_panicking() {
        // A small deterministic generator (xorshift): documents up to 4 KB of
        // fields, aliases, inline fragments, spreads (cycles included) and
        // nesting; each one's walk is bounded by its size.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..2_000 {
            let fragments = 1 + next(12);
            let mut doc = String::from("query { ");
            let piece = |next: &mut dyn FnMut(u64) -> u64, doc: &mut String| {
                let mut open = 0;
                for _ in 0..(1 + next(30)) {
                    match next(6) {
                        0 => doc.push_str(&format!("a{}: f ", next(9))),
                        1 => doc.push_str(&format!("...F{} ", next(fragments))),
                        2 if open < 8 => {
                            doc.push_str("g { ");
                            open += 1;
                        }
                        3 if open < 8 => {
                            doc.push_str("... on T { ");
                            open += 1;
                        }
                        4 if open > 0 => {
                            doc.push_str("} ");
                            open -= 1;
                        }
                        _ => doc.push_str("h @skip(if: true) "),
                    }
                }
                doc.push_str("h ");
                doc.push_str(&"} ".repeat(open));
            };
            piece(&mut next, &mut doc);
            doc.push('}');
            for i in 0..fragments {
                doc.push_str(&format!(" fragment F{i} on T {{ "));
                piece(&mut next, &mut doc);
                doc.push('}');
            }
            if doc.len() > 4096 {
                continue;
            }
            let Ok(op) = ParsedOperation::parse(&doc, None) else {
                continue;
            };
            let s = shape(&op, &[]);
            let selections = scan(&doc).tokens;
            assert!(s.visits <= 2 * selections + 2, "{doc}: {} visits", s.visits);
            let _ = check_shape(&s, &LimitsConfig::default());
        }
    }

    #[test]
    fn cost_multiplies_lists_by_their_size_and_connections_at_their_edges() {
        let sdl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql"),
        )
        .unwrap();
        let supergraph = crate::supergraph::Supergraph::from_sdl(&sdl).unwrap();
        let limits = LimitsConfig::default();
        let cost_of = |q: &str, variables: serde_json::Value| {
            let op = parsed(q);
            let s = shape(&op, &[]);
            let variables = variables.as_object().cloned().unwrap_or_default();
            cost(&op, &s, &supergraph.schema, "Query", &variables, &limits)
        };
        // movies 1, then 5 edges of (edge 1 + node 1); scalars are free.
        assert_eq!(
            cost_of(
                "{ movies(first: 5) { edges { node { title } } } }",
                json!({})
            ),
            11
        );
        assert_eq!(
            cost_of(
                "query($n: Int) { movies(first: $n) { edges { node { title } } } }",
                json!({"n": 50})
            ),
            101
        );
        // The same through a fragment: each fragment costed once, same total.
        assert_eq!(
            cost_of(
                "{ movies(first: 5) { edges { ...E } } } fragment E on MovieEdge { node { title } }",
                json!({})
            ),
            11
        );
        let nested = "{ user(id: \"1\") { followers(first: 100) { edges { node { user {
            followers(first: 100) { edges { node { user { username } } } } } } } } } }";
        assert_eq!(cost_of(nested, json!({})), 1 + 1 + 100 * (3 + 301));
    }

    /// The gateways benchmark's query (`bench/query.graphql`) passes the
    /// default limits: defaults must not refuse what real clients send.
    #[test]
    fn the_benchmark_query_fits_the_default_limits() {
        let sdl = "type Query { users: [User!]! topProducts(first: Int! = 5): [Product!]! }
            type User { id: ID! username: String name: String reviews: [Review!]! }
            type Review { id: ID! body: String product: Product author: User }
            type Product { upc: String! name: String price: Int weight: Int inStock: Boolean
                shippingEstimate: Int reviews: [Review!]! }";
        let document = graphql_tools::parser::parse_schema::<String>(sdl)
            .unwrap()
            .into_static();
        let schema = SchemaIndex::new(std::sync::Arc::new(document));
        let query = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/query.graphql"),
        )
        .unwrap();
        let op = parsed(&query);
        let limits = LimitsConfig::default();
        let s = shape(&op, &[]);
        check_shape(&s, &limits).unwrap();
        let c = cost(&op, &s, &schema, "Query", &Map::new(), &limits);
        check_cost(c, &limits).unwrap();
        assert_eq!(c, 24_420);
    }
}
