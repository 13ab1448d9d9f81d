//! The plans the router runs for the conformance cases, as insta snapshots:
//! a change in planning (library upgrade, supergraph patching) shows up here.
//! Regenerate with `INSTA_UPDATE=always cargo nextest run -p router --test plans`.

mod common;

use common::Stack;

const CASES: [(&str, &str); 11] = [
    (
        "entities_across_three_subgraphs",
        "{ movies { title reviews { body author { name email } } } }",
    ),
    ("provides", "{ latestReview { author { name } } }"),
    ("requires", "{ movies { title era } }"),
    ("second_key", "{ movies { id inStock } }"),
    ("override", "{ latestReview { author { nickname } } }"),
    ("shareable", "{ movies { title } }"),
    (
        "interface",
        r#"query($id: ID!) { node(id: $id) { id ... on Movie { title reviews { body } } ... on Person { name } } }"#,
    ),
    (
        "union",
        r#"{ search(term: "") { __typename ... on Movie { title inStock } ... on Person { name } } }"#,
    ),
    (
        "include_condition",
        r#"query($more: Boolean!) { movie(id: "m1") { title reviews @include(if: $more) { body } } }"#,
    ),
    (
        "interface_object",
        "{ topMedia { id popularity title ... on Movie { year } } }",
    ),
    (
        "parallel_roots",
        r#"{ me { email } movies { title } restockCount }"#,
    ),
];

#[tokio::test]
async fn plans_match_their_snapshots() {
    let stack = Stack::start().await;
    for (name, query) in CASES {
        let plan = stack.engine.plan(query, None).await.unwrap();
        insta::assert_snapshot!(name, plan.to_string(), query);
    }
    // Planning does not talk to subgraphs.
    assert_eq!(stack.counts(), [0, 0, 0, 0]);
}
