//! The router against four in-process subgraphs: every Federation v2 feature
//! the issue names, asserted on responses and on subgraph call counts
//! ([catalog, reviews, users, inventory]).

mod common;

use common::Stack;
use serde_json::{json, Value};

fn representations(body: &Value) -> &Vec<Value> {
    body["variables"]["representations"]
        .as_array()
        .expect("an _entities call carries representations")
}

fn codes(r: &Value) -> Vec<(String, String)> {
    r["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        e["extensions"]["serviceName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn nested_entity_lists_across_three_subgraphs_take_one_call_per_fetch_step() {
    let stack = Stack::start().await;
    let r = stack
        .query("{ movies { title reviews { body author { name email } } } }")
        .await;
    assert_eq!(
        r,
        json!({"data": {"movies": [
            {"title": "Alien", "reviews": [
                {"body": "Terrifying.", "author": {"name": "Ann", "email": "u1@example.com"}},
                {"body": "A classic.", "author": {"name": "Bob", "email": "u2@example.com"}}
            ]},
            {"title": "Heat", "reviews": [
                {"body": "That diner scene.", "author": {"name": "Ann", "email": "u1@example.com"}}
            ]},
            {"title": "Arrival", "reviews": []}
        ]}})
    );
    // catalog once, reviews once for all three movies, users once for all authors.
    assert_eq!(stack.counts(), [1, 1, 1, 0]);
    assert_eq!(representations(&stack.reviews.bodies()[0]).len(), 3);
    // u1 wrote two of the reviews: its representation is sent once.
    assert_eq!(representations(&stack.users.bodies()[0]).len(), 2);
}

#[tokio::test]
async fn provided_fields_are_not_fetched_from_the_owner() {
    let stack = Stack::start().await;
    let r = stack.query("{ latestReview { author { name } } }").await;
    assert_eq!(
        r,
        json!({"data": {"latestReview": {"author": {"name": "Ann"}}}})
    );
    assert_eq!(stack.counts(), [0, 1, 0, 0]);
}

#[tokio::test]
async fn required_fields_travel_in_the_representations() {
    let stack = Stack::start().await;
    let r = stack.query("{ movies { title era } }").await;
    assert_eq!(
        r,
        json!({"data": {"movies": [
            {"title": "Alien", "era": "classic"},
            {"title": "Heat", "era": "modern"},
            {"title": "Arrival", "era": "modern"}
        ]}})
    );
    assert_eq!(stack.counts(), [1, 1, 0, 0]);
    let reps = representations(&stack.reviews.bodies()[0]).clone();
    assert_eq!(
        reps[0],
        json!({"__typename": "Movie", "id": "m1", "year": 1979})
    );
}

#[tokio::test]
async fn a_second_key_reaches_the_subgraph_that_only_knows_it() {
    let stack = Stack::start().await;
    let r = stack.query("{ movies { id inStock } }").await;
    assert_eq!(
        r,
        json!({"data": {"movies": [
            {"id": "m1", "inStock": true},
            {"id": "m2", "inStock": false},
            {"id": "m3", "inStock": true}
        ]}})
    );
    assert_eq!(stack.counts(), [1, 0, 0, 1]);
    let reps = representations(&stack.inventory.bodies()[0]).clone();
    assert_eq!(reps[0], json!({"__typename": "Movie", "slug": "alien"}));
}

#[tokio::test]
async fn overridden_field_comes_from_the_overriding_subgraph() {
    let stack = Stack::start().await;
    let r = stack
        .query("{ latestReview { author { nickname } } }")
        .await;
    assert_eq!(
        r,
        json!({"data": {"latestReview": {"author": {"nickname": "nick-u1"}}}})
    );
    assert_eq!(stack.counts(), [0, 1, 1, 0]);
}

#[tokio::test]
async fn shareable_field_is_read_from_one_subgraph_only() {
    let stack = Stack::start().await;
    let r = stack.query("{ movies { title } }").await;
    assert_eq!(r["data"]["movies"][2], json!({"title": "Arrival"}));
    assert_eq!(stack.counts(), [1, 0, 0, 0]);
}

#[tokio::test]
async fn inaccessible_field_cannot_be_queried_nor_introspected() {
    let stack = Stack::start().await;
    let r = stack.query("{ movies { internalCode } }").await;
    assert_eq!(
        codes(&r),
        [("GRAPHQL_VALIDATION_FAILED".into(), String::new())]
    );
    assert!(r.get("data").is_none());
    let r = stack
        .query(r#"{ __type(name: "Movie") { fields { name } } }"#)
        .await;
    let names: Vec<&str> = r["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"title") && names.contains(&"inStock"),
        "{names:?}"
    );
    assert!(!names.contains(&"internalCode"), "{names:?}");
    assert_eq!(stack.counts(), [0, 0, 0, 0]);
}

#[tokio::test]
async fn interface_fields_resolve_per_concrete_type_across_subgraphs() {
    let stack = Stack::start().await;
    let query = r#"query($id: ID!) { node(id: $id) { __typename id
        ... on Movie { title reviews { body } }
        ... on Person { name } } }"#;
    let movie = stack
        .post(json!({"query": query, "variables": {"id": "m2"}}))
        .await;
    assert_eq!(
        movie,
        json!({"data": {"node": {"__typename": "Movie", "id": "m2", "title": "Heat",
            "reviews": [{"body": "That diner scene."}]}}})
    );
    stack.reset_counts();
    let person = stack
        .post(json!({"query": query, "variables": {"id": "p1"}}))
        .await;
    assert_eq!(
        person,
        json!({"data": {"node": {"__typename": "Person", "id": "p1", "name": "Ridley Scott"}}})
    );
    // No movie in the answer: the reviews step has nothing to fetch.
    assert_eq!(stack.counts(), [1, 0, 0, 0]);
}

#[tokio::test]
async fn union_members_are_completed_from_other_subgraphs() {
    let stack = Stack::start().await;
    let r = stack
        .query(r#"{ search(term: "") { __typename ... on Movie { title inStock } ... on Person { name } } }"#)
        .await;
    assert_eq!(
        r,
        json!({"data": {"search": [
            {"__typename": "Movie", "title": "Alien", "inStock": true},
            {"__typename": "Movie", "title": "Heat", "inStock": false},
            {"__typename": "Movie", "title": "Arrival", "inStock": true},
            {"__typename": "Person", "name": "Ridley Scott"}
        ]}})
    );
    assert_eq!(stack.counts(), [1, 0, 0, 1]);
}

#[tokio::test]
async fn subgraph_errors_point_at_client_paths_and_name_their_service() {
    let stack = Stack::start().await;
    let r = stack.query("{ movies { title trivia } }").await;
    assert_eq!(
        r["data"],
        json!({"movies": [
            {"title": "Alien", "trivia": null},
            {"title": "Heat", "trivia": "trivia about m2"},
            {"title": "Arrival", "trivia": "trivia about m3"}
        ]})
    );
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["movies", 0, "trivia"]));
    assert_eq!(errors[0]["message"], "trivia is unavailable");
    assert_eq!(errors[0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(errors[0]["extensions"]["serviceName"], "reviews");
}

#[tokio::test]
async fn a_null_non_null_field_nulls_the_nearest_nullable_parent() {
    let stack = Stack::start().await;
    let r = stack
        .query(r#"{ good: movie(id: "m1") { title boxOffice } bad: movie(id: "m2") { title boxOffice } }"#)
        .await;
    assert_eq!(
        r["data"],
        json!({"good": {"title": "Alien", "boxOffice": 100}, "bad": null})
    );
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["bad", "boxOffice"]));
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_null_bubbles_through_non_null_list_items_to_the_root() {
    let stack = Stack::start().await;
    // movies: [Movie!]! and boxOffice: Int!: m2's error nulls everything up to `data`.
    let r = stack.query("{ movies { boxOffice } }").await;
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["errors"][0]["path"], json!(["movies", 1, "boxOffice"]));
}

#[tokio::test]
async fn a_null_non_null_item_nulls_its_nullable_list_and_nothing_above() {
    let stack = Stack::start().await;
    // maybeMovies: [Movie!] and boxOffice: Int!: m2's error nulls the list only.
    let r = stack
        .query("{ maybeMovies { title boxOffice } movies { title } }")
        .await;
    assert_eq!(
        r["data"],
        json!({"maybeMovies": null, "movies": [
            {"title": "Alien"}, {"title": "Heat"}, {"title": "Arrival"}
        ]})
    );
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["maybeMovies", 1, "boxOffice"]));
}

#[tokio::test]
async fn a_down_subgraph_fails_only_its_fields() {
    let stack = Stack::start().await;
    stack.inventory.stop();
    let r = stack.query("{ movies { title inStock } }").await;
    assert_eq!(
        r["data"],
        json!({"movies": [
            {"title": "Alien", "inStock": null},
            {"title": "Heat", "inStock": null},
            {"title": "Arrival", "inStock": null}
        ]})
    );
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert!(codes(&r)
        .iter()
        .all(|c| *c == ("SUBGRAPH_UNAVAILABLE".to_string(), "inventory".to_string())));
    assert_eq!(errors[1]["path"], json!(["movies", 1]));

    // A root field of the down subgraph: its error sits at the field.
    let r = stack.query("{ restockCount }").await;
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["errors"][0]["path"], json!(["restockCount"]));
    assert_eq!(r["errors"][0]["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
}

#[tokio::test]
async fn variables_and_their_defaults_reach_the_subgraphs() {
    let stack = Stack::start().await;
    let r = stack
        .post(json!({"query": "query($id: ID!) { movie(id: $id) { title } }", "variables": {"id": "m2"}}))
        .await;
    assert_eq!(r, json!({"data": {"movie": {"title": "Heat"}}}));
    let r = stack
        .query(r#"query($id: ID! = "m3") { movie(id: $id) { title } }"#)
        .await;
    assert_eq!(r, json!({"data": {"movie": {"title": "Arrival"}}}));
    let r = stack
        .query("query($id: ID!) { movie(id: $id) { title } }")
        .await;
    assert_eq!(codes(&r)[0].0, "BAD_USER_INPUT");
}

#[tokio::test]
async fn skip_and_include_follow_variables_and_skip_whole_fetches() {
    let stack = Stack::start().await;
    let query = "query($more: Boolean!) { movie(id: \"m1\") { title reviews @include(if: $more) { body } year @skip(if: $more) } }";
    let r = stack
        .post(json!({"query": query, "variables": {"more": false}}))
        .await;
    assert_eq!(
        r,
        json!({"data": {"movie": {"title": "Alien", "year": 1979}}})
    );
    assert_eq!(stack.counts(), [1, 0, 0, 0]);
    let r = stack
        .post(json!({"query": query, "variables": {"more": true}}))
        .await;
    assert_eq!(
        r,
        json!({"data": {"movie": {"title": "Alien", "reviews": [{"body": "Terrifying."}, {"body": "A classic."}]}}})
    );
}

#[tokio::test]
async fn fragments_and_aliases_shape_the_response() {
    let stack = Stack::start().await;
    let r = stack
        .query(
            r#"query { first: movie(id: "m1") { ...Card } second: movie(id: "m2") { ... on Movie { heading: title } } }
               fragment Card on Movie { heading: title released: year notes: reviews { text: body } }"#,
        )
        .await;
    assert_eq!(
        r,
        json!({"data": {
            "first": {"heading": "Alien", "released": 1979, "notes": [{"text": "Terrifying."}, {"text": "A classic."}]},
            "second": {"heading": "Heat"}
        }})
    );
}

#[tokio::test]
async fn operation_name_selects_among_several_operations() {
    let stack = Stack::start().await;
    let doc = r#"query One { movie(id: "m1") { title } } query Two { movie(id: "m2") { title } }"#;
    let r = stack
        .post(json!({"query": doc, "operationName": "Two"}))
        .await;
    assert_eq!(r, json!({"data": {"movie": {"title": "Heat"}}}));
    let r = stack.post(json!({"query": doc})).await;
    assert_eq!(codes(&r)[0].0, "GRAPHQL_VALIDATION_FAILED");
}

#[tokio::test]
async fn typename_is_answered_for_root_and_abstract_types() {
    let stack = Stack::start().await;
    let r = stack
        .query(r#"{ __typename node(id: "p1") { __typename } }"#)
        .await;
    assert_eq!(
        r,
        json!({"data": {"__typename": "Query", "node": {"__typename": "Person"}}})
    );
}

#[tokio::test]
async fn invalid_documents_never_reach_a_subgraph() {
    let stack = Stack::start().await;
    for (doc, code) in [
        ("{ movies { title ", "GRAPHQL_PARSE_FAILED"),
        ("{ movies { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ movies }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ movie { title } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($x: Int) { movies { title } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let r = stack.query(doc).await;
        assert_eq!(codes(&r)[0].0, code, "{doc}: {r}");
        assert!(r.get("data").is_none(), "{doc}: {r}");
    }
    assert_eq!(stack.counts(), [0, 0, 0, 0]);
}

#[tokio::test]
async fn interface_object_fields_join_the_interfaces_implementations() {
    let stack = Stack::start().await;
    // From the implementations (catalog) to the interface object (inventory).
    let r = stack.query("{ movies { title popularity } }").await;
    assert_eq!(
        r,
        json!({"data": {"movies": [
            {"title": "Alien", "popularity": 80},
            {"title": "Heat", "popularity": 60},
            {"title": "Arrival", "popularity": 95}
        ]}})
    );
    assert_eq!(stack.counts(), [1, 0, 0, 1]);
    stack.reset_counts();
    // From the interface object to the concrete types and their fields.
    let r = stack
        .query("{ topMedia { __typename id popularity title ... on Movie { year } } }")
        .await;
    assert_eq!(
        r,
        json!({"data": {"topMedia": [
            {"__typename": "Movie", "id": "m3", "popularity": 95, "title": "Arrival", "year": 2016},
            {"__typename": "Movie", "id": "m1", "popularity": 80, "title": "Alien", "year": 1979}
        ]}})
    );
}

#[tokio::test]
async fn mutations_run_in_order_and_their_results_join_other_subgraphs() {
    let stack = Stack::start().await;
    let r = stack
        .query(
            r#"mutation Rate { first: rateMovie(id: "m2", stars: 5) { title ratingCount }
                                 second: rateMovie(id: "m1", stars: 3) { title ratingCount } }"#,
        )
        .await;
    assert_eq!(
        r,
        json!({"data": {
            "first": {"title": "Heat", "ratingCount": 1},
            "second": {"title": "Alien", "ratingCount": 2}
        }})
    );
    // The same mutation twice is sent twice: mutations are never shared.
    stack.reset_counts();
    let doc = json!({"query": r#"mutation { rateMovie(id: "m3", stars: 1) { id } }"#});
    let (a, b) = tokio::join!(stack.post(doc.clone()), stack.post(doc));
    assert_eq!(a, b);
    assert_eq!(stack.reviews.calls(), 2);
}

#[tokio::test]
async fn representations_with_a_null_key_are_not_sent_and_the_rest_resolve() {
    let stack = Stack::start().await;
    // reviews resolves Edition by a non-null isbn: the draft's null one
    // would fail the whole `_entities` call.
    let r = stack.query("{ editions { isbn format rating } }").await;
    assert_eq!(
        r,
        json!({"data": {"editions": [
            {"isbn": "i1", "format": "hardcover", "rating": 5},
            {"isbn": null, "format": "draft", "rating": null},
            {"isbn": "i2", "format": "paperback", "rating": 3}
        ]}})
    );
    assert_eq!(
        representations(&stack.reviews.bodies()[0]),
        &vec![
            json!({"__typename": "Edition", "isbn": "i1"}),
            json!({"__typename": "Edition", "isbn": "i2"})
        ]
    );
}
