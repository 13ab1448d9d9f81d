//! Request limits on the operation text and its shape, checked before
//! validation and planning: tokens and nesting on the raw text (so a hostile
//! document never reaches the recursive parser), then depth, aliases, root
//! fields and directives on the parsed operation, following fragments.

use std::collections::HashMap;

use graphql_tools::static_graphql::query::{FragmentDefinition, Selection, SelectionSet};
use kit::config::LimitsConfig;
use kit::ErrorCode;
use serde_json::json;

use crate::operation::ParsedOperation;
use crate::response::GraphqlError;

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

/// The shape of the selected operation, fragments expanded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OperationShape {
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
    pub directives: usize,
}

/// Walks the operation. Fragment spreads are followed once per path (a cycle,
/// which validation reports, cannot loop here) and the walk stops below
/// `stop_at` levels, so a hostile document costs what the limit allows.
pub(crate) fn shape(op: &ParsedOperation, stop_at: usize) -> OperationShape {
    let fragments = op.fragments();
    let mut shape = OperationShape::default();
    let root = op.selection_set();
    let mut stack = Vec::new();
    walk(root, 1, &fragments, &mut stack, &mut shape, stop_at);
    shape.root_fields = count_root_fields(root, &fragments, &mut Vec::new());
    shape
}

type Fragments<'a> = HashMap<&'a str, &'a FragmentDefinition>;

fn walk<'a>(
    set: &'a SelectionSet,
    level: usize,
    fragments: &Fragments<'a>,
    stack: &mut Vec<&'a str>,
    shape: &mut OperationShape,
    stop_at: usize,
) {
    if level > stop_at {
        shape.depth = shape.depth.max(level);
        return;
    }
    for item in &set.items {
        match item {
            Selection::Field(f) => {
                shape.aliases += usize::from(f.alias.is_some());
                shape.directives += f.directives.len();
                if f.selection_set.items.is_empty() {
                    shape.depth = shape.depth.max(level);
                } else {
                    walk(
                        &f.selection_set,
                        level + 1,
                        fragments,
                        stack,
                        shape,
                        stop_at,
                    );
                }
            }
            Selection::InlineFragment(i) => {
                shape.directives += i.directives.len();
                walk(&i.selection_set, level, fragments, stack, shape, stop_at);
            }
            Selection::FragmentSpread(s) => {
                shape.directives += s.directives.len();
                let name = s.fragment_name.as_str();
                if stack.contains(&name) {
                    continue;
                }
                if let Some(def) = fragments.get(name) {
                    stack.push(name);
                    walk(&def.selection_set, level, fragments, stack, shape, stop_at);
                    stack.pop();
                }
            }
        }
    }
}

fn count_root_fields<'a>(
    set: &'a SelectionSet,
    fragments: &Fragments<'a>,
    stack: &mut Vec<&'a str>,
) -> usize {
    set.items
        .iter()
        .map(|item| match item {
            Selection::Field(_) => 1,
            Selection::InlineFragment(i) => count_root_fields(&i.selection_set, fragments, stack),
            Selection::FragmentSpread(s) => {
                let name = s.fragment_name.as_str();
                match fragments.get(name) {
                    Some(def) if !stack.contains(&name) => {
                        stack.push(name);
                        let n = count_root_fields(&def.selection_set, fragments, stack);
                        stack.pop();
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
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

/// Refuses operations over the depth, alias, root field or directive limits.
pub(crate) fn check_operation(
    op: &ParsedOperation,
    limits: &LimitsConfig,
) -> Result<(), GraphqlError> {
    let s = shape(op, limits.max_depth + 1);
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
        let s = shape(&op, 100);
        assert_eq!(s.depth, 4);
        assert_eq!(s.root_fields, 2);
        let op = parsed("{ a }");
        assert_eq!(shape(&op, 100).depth, 1);
    }

    #[test]
    fn aliases_and_directives_are_counted() {
        let op =
            parsed("{ a1: a a2: a @skip(if: true) ... on Query @include(if: true) { a3: a } }");
        let s = shape(&op, 100);
        assert_eq!(s.aliases, 3);
        assert_eq!(s.directives, 2);
        assert_eq!(s.root_fields, 3);
    }

    #[test]
    fn cyclic_fragments_terminate() {
        let op =
            parsed("{ ...A } fragment A on Query { a { ...B } } fragment B on T { b { ...A } }");
        let s = shape(&op, 100);
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
}
