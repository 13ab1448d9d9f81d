//! Fixture pairs (old SDL, new SDL, expected changes) covering every change
//! kind, and the same pairs judged by graphql-js when npm is at hand.

use registry::{classify, ApiSchema, ChangeKind, Severity};

/// (name, old SDL, new SDL, expected non-safe changes as (kind, coordinate)).
type Fixture = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(ChangeKind, &'static str)>,
);

fn fixtures() -> Vec<Fixture> {
    use ChangeKind::*;
    vec![
        ("type removed", "type Query { a: Int } type Gone { x: Int }", "type Query { a: Int }", vec![(TypeRemoved, "Gone")]),
        ("type changed kind", "type Query { a: T } type T { x: Int }", "type Query { a: T } interface T { x: Int }", vec![(TypeChangedKind, "T")]),
        (
            "type removed from union",
            "type Query { a: U } union U = A | B type A { x: Int } type B { y: Int }",
            "type Query { a: U } union U = A type A { x: Int } type B { y: Int }",
            vec![(TypeRemovedFromUnion, "U")],
        ),
        (
            "type added to union",
            "type Query { a: U } union U = A type A { x: Int } type B { y: Int }",
            "type Query { a: U } union U = A | B type A { x: Int } type B { y: Int }",
            vec![(TypeAddedToUnion, "U")],
        ),
        ("enum value removed", "type Query { a: E } enum E { X Y }", "type Query { a: E } enum E { X }", vec![(ValueRemovedFromEnum, "E.Y")]),
        ("enum value added", "type Query { a: E } enum E { X }", "type Query { a: E } enum E { X Y }", vec![(ValueAddedToEnum, "E.Y")]),
        (
            "required input field added",
            "type Query { a(i: I): Int } input I { x: Int }",
            "type Query { a(i: I): Int } input I { x: Int y: Int! }",
            vec![(RequiredInputFieldAdded, "I.y")],
        ),
        (
            "optional input field added",
            "type Query { a(i: I): Int } input I { x: Int }",
            "type Query { a(i: I): Int } input I { x: Int y: Int }",
            vec![(OptionalInputFieldAdded, "I.y")],
        ),
        (
            "input field with default is optional",
            "type Query { a(i: I): Int } input I { x: Int }",
            "type Query { a(i: I): Int } input I { x: Int y: Int! = 3 }",
            vec![(OptionalInputFieldAdded, "I.y")],
        ),
        (
            "interface removed",
            "type Query { a: T } interface N { id: ID } type T implements N { id: ID }",
            "type Query { a: T } interface N { id: ID } type T { id: ID }",
            vec![(ImplementedInterfaceRemoved, "T")],
        ),
        (
            "interface added",
            "type Query { a: T } interface N { id: ID } type T { id: ID }",
            "type Query { a: T } interface N { id: ID } type T implements N { id: ID }",
            vec![(ImplementedInterfaceAdded, "T")],
        ),
        ("field removed", "type Query { a: Int b: Int }", "type Query { a: Int }", vec![(FieldRemoved, "Query.b")]),
        ("field made nullable", "type Query { a: Int! }", "type Query { a: Int }", vec![(FieldChangedKind, "Query.a")]),
        ("field retyped", "type Query { a: Int }", "type Query { a: String }", vec![(FieldChangedKind, "Query.a")]),
        ("field made a list", "type Query { a: Int }", "type Query { a: [Int] }", vec![(FieldChangedKind, "Query.a")]),
        ("field made non-null is safe", "type Query { a: Int }", "type Query { a: Int! }", vec![]),
        ("list items made non-null is safe", "type Query { a: [Int] }", "type Query { a: [Int!]! }", vec![]),
        ("required arg added", "type Query { a: Int }", "type Query { a(x: Int!): Int }", vec![(RequiredArgAdded, "Query.a(x:)")]),
        ("optional arg added", "type Query { a: Int }", "type Query { a(x: Int): Int }", vec![(OptionalArgAdded, "Query.a(x:)")]),
        ("arg removed", "type Query { a(x: Int): Int }", "type Query { a: Int }", vec![(ArgRemoved, "Query.a(x:)")]),
        ("arg made required", "type Query { a(x: Int): Int }", "type Query { a(x: Int!): Int }", vec![(ArgChangedKind, "Query.a(x:)")]),
        ("arg made optional is safe", "type Query { a(x: Int!): Int }", "type Query { a(x: Int): Int }", vec![]),
        ("arg retyped", "type Query { a(x: Int): Int }", "type Query { a(x: String): Int }", vec![(ArgChangedKind, "Query.a(x:)")]),
        ("arg default changed", "type Query { a(x: Int = 1): Int }", "type Query { a(x: Int = 2): Int }", vec![(ArgDefaultValueChange, "Query.a(x:)")]),
        ("arg default removed", "type Query { a(x: Int = 1): Int }", "type Query { a(x: Int): Int }", vec![(ArgDefaultValueChange, "Query.a(x:)")]),
        (
            "input field retyped",
            "type Query { a(i: I): Int } input I { x: Int }",
            "type Query { a(i: I): Int } input I { x: Int! }",
            vec![(FieldChangedKind, "I.x")],
        ),
        (
            "directive removed",
            "directive @d on FIELD type Query { a: Int }",
            "type Query { a: Int }",
            vec![(DirectiveRemoved, "@d")],
        ),
        (
            "directive arg removed",
            "directive @d(x: Int) on FIELD type Query { a: Int }",
            "directive @d on FIELD type Query { a: Int }",
            vec![(DirectiveArgRemoved, "@d(x:)")],
        ),
        (
            "required directive arg added",
            "directive @d on FIELD type Query { a: Int }",
            "directive @d(x: Int!) on FIELD type Query { a: Int }",
            vec![(RequiredDirectiveArgAdded, "@d(x:)")],
        ),
        (
            "directive no longer repeatable",
            "directive @d repeatable on FIELD type Query { a: Int }",
            "directive @d on FIELD type Query { a: Int }",
            vec![(DirectiveRepeatableRemoved, "@d")],
        ),
        (
            "directive location removed",
            "directive @d on FIELD | QUERY type Query { a: Int }",
            "directive @d on FIELD type Query { a: Int }",
            vec![(DirectiveLocationRemoved, "@d")],
        ),
        ("type added is safe", "type Query { a: Int }", "type Query { a: Int } type New { x: Int }", vec![]),
        ("field added is safe", "type Query { a: Int }", "type Query { a: Int b: Int }", vec![]),
        (
            "inaccessible field is not client-facing",
            "directive @inaccessible on FIELD_DEFINITION type Query { a: Int b: Int @inaccessible }",
            "directive @inaccessible on FIELD_DEFINITION type Query { a: Int }",
            vec![],
        ),
    ]
}

#[test]
fn every_fixture_pair_is_classified_as_expected() {
    for (name, old, new, expected) in fixtures() {
        let old = ApiSchema::parse(old, "old").unwrap();
        let new = ApiSchema::parse(new, "new").unwrap();
        let got: Vec<(ChangeKind, String)> = classify(&old, &new)
            .into_iter()
            .filter(|c| c.severity != Severity::Safe)
            .map(|c| (c.kind, c.coordinate))
            .collect();
        let expected: Vec<(ChangeKind, String)> = expected
            .into_iter()
            .map(|(k, c)| (k, c.to_string()))
            .collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn every_change_kind_has_a_fixture() {
    use std::collections::BTreeSet;
    let covered: BTreeSet<String> = fixtures()
        .into_iter()
        .flat_map(|(_, _, _, e)| e.into_iter().map(|(k, _)| format!("{k:?}")))
        .collect();
    // Safe kinds and the root-type change are exercised elsewhere.
    for kind in [
        "TypeRemoved",
        "TypeChangedKind",
        "TypeRemovedFromUnion",
        "ValueRemovedFromEnum",
        "RequiredInputFieldAdded",
        "ImplementedInterfaceRemoved",
        "FieldRemoved",
        "FieldChangedKind",
        "RequiredArgAdded",
        "ArgRemoved",
        "ArgChangedKind",
        "DirectiveRemoved",
        "DirectiveArgRemoved",
        "RequiredDirectiveArgAdded",
        "DirectiveRepeatableRemoved",
        "DirectiveLocationRemoved",
        "ValueAddedToEnum",
        "TypeAddedToUnion",
        "OptionalInputFieldAdded",
        "OptionalArgAdded",
        "ImplementedInterfaceAdded",
        "ArgDefaultValueChange",
    ] {
        assert!(covered.contains(kind), "no fixture for {kind}");
    }
}

#[test]
fn federation_internals_are_not_client_facing() {
    let supergraph = r#"
        schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
        directive @join__field(graph: join__Graph, requires: join__FieldSet) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
        directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
        directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
        scalar join__FieldSet
        scalar link__Import
        enum link__Purpose { SECURITY EXECUTION }
        enum join__Graph { USERS @join__graph(name: "users", url: "http://u") }
        type Query @join__type(graph: USERS) { me: User @join__field(graph: USERS) }
        type User @join__type(graph: USERS, key: "id") { id: ID! name: String }
    "#;
    let api = ApiSchema::parse(supergraph, "supergraph").unwrap();
    let names: Vec<&String> = api.types.keys().collect();
    assert_eq!(names, vec!["Query", "User"]);
    assert!(api.directives.is_empty());
    apollo_compiler::Schema::parse_and_validate(api.to_sdl(), "api")
        .expect("the API schema is valid on its own");
}

/// The same pairs through graphql-js (`npm install graphql` into a temporary
/// directory). Skipped when npm or the registry is not reachable.
#[test]
fn classification_agrees_with_graphql_js() {
    let dir = tempfile::tempdir().unwrap();
    let install = std::process::Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir.path())
        .arg("graphql@16")
        .output();
    match install {
        Ok(o) if o.status.success() => {}
        other => {
            assert!(
                std::env::var("MARQUEE_REQUIRE_SERVICES").ok().as_deref() != Some("1"),
                "npm install graphql failed: {other:?}"
            );
            eprintln!("skipping: npm install graphql failed");
            return;
        }
    }
    let pairs: Vec<serde_json::Value> = fixtures()
        .into_iter()
        .map(|(name, old, new, _)| serde_json::json!({ "name": name, "old": old, "new": new }))
        .collect();
    std::fs::write(
        dir.path().join("pairs.json"),
        serde_json::to_string(&pairs).unwrap(),
    )
    .unwrap();
    let script = r#"
        const { buildSchema, findBreakingChanges, findDangerousChanges } = require('graphql');
        const pairs = require('./pairs.json');
        const out = {};
        for (const p of pairs) {
          const a = buildSchema(p.old), b = buildSchema(p.new);
          // Built-in scalars are not part of a schema's own surface: graphql-js
          // reports `Int` removed when the last use of it goes; we do not.
          out[p.name] = [...findBreakingChanges(a, b), ...findDangerousChanges(a, b)]
            .filter(c => !/\b(Int|Float|String|Boolean|ID) was removed/.test(c.description))
            .map(c => c.type).sort();
        }
        console.log(JSON.stringify(out));
    "#;
    std::fs::write(dir.path().join("run.js"), script).unwrap();
    let run = std::process::Command::new("node")
        .arg("run.js")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let js: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&run.stdout).unwrap();
    // graphql-js knows nothing of federation's @inaccessible.
    for (name, old, new, _) in fixtures()
        .into_iter()
        .filter(|f| !f.1.contains("@inaccessible"))
    {
        let ours: Vec<String> = {
            let mut v: Vec<String> = classify(
                &ApiSchema::parse(old, "o").unwrap(),
                &ApiSchema::parse(new, "n").unwrap(),
            )
            .into_iter()
            .filter(|c| c.severity != Severity::Safe)
            .map(|c| {
                serde_json::to_value(c.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
            v.sort();
            v
        };
        assert_eq!(ours, js[name], "{name}: ours vs graphql-js");
    }
}
