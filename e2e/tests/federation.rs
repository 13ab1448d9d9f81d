//! Titles linked across subgraphs and a supergraph that degrades gracefully,
//! through the router on every backend: a watchlist names its titles with one
//! fetch to social and one batched fetch to content whatever the page size;
//! with social stopped the catalog still answers (its reviews null, one error
//! at each), and with content stopped a watchlist still answers (its titles
//! null).

use std::collections::BTreeSet;

use e2e::System;
use serde_json::{json, Value};

async fn systems() -> Vec<System> {
    System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

/// How many GraphQL requests `service` has answered so far, from the
/// process's Prometheus text (every service of a test shares one recorder).
async fn graphql_calls(sys: &System, service: &str) -> u64 {
    let text = sys
        .client()
        .get(sys.url("/metrics"))
        .send()
        .await
        .expect("the router answers /metrics")
        .text()
        .await
        .expect("a metrics text");
    let service = format!("service=\"{service}\"");
    text.lines()
        .filter(|l| l.starts_with("marquee_http_requests_total{"))
        .filter(|l| l.contains(&service) && l.contains("route=\"/graphql\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The first `n` movies of the catalog: (id, title, year).
async fn movies(sys: &System, n: usize) -> Vec<(String, String, Value)> {
    let d = sys
        .data(
            None,
            "query($n: Int) { movies(first: $n) { edges { node { id title year } } } }",
            json!({ "n": n }),
        )
        .await;
    d["movies"]["edges"]
        .as_array()
        .expect("movies")
        .iter()
        .map(|e| {
            let m = &e["node"];
            (
                m["id"].as_str().unwrap().to_string(),
                m["title"].as_str().unwrap().to_string(),
                m["year"].clone(),
            )
        })
        .collect()
}

/// The paths of a response's errors, as JSON arrays.
fn error_paths(r: &Value) -> BTreeSet<String> {
    r["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["path"].to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_watchlist_names_its_titles_in_one_fetch_per_subgraph() {
    for sys in systems().await {
        let l = sys.label;
        let (ann, _) = sys.register("ann_titles").await;
        let catalog = movies(&sys, 8).await;
        assert_eq!(catalog.len(), 8, "[{l}] the demo catalog has movies");
        for (id, _, _) in &catalog {
            sys.data(
                Some(&ann),
                "mutation($t: ID!) { addToWatchlist(titleId: $t) }",
                json!({ "t": id }),
            )
            .await;
        }
        let query = "query($n: Int) { me { watchlist(first: $n) { edges { node { addedAt title { __typename id ... on Movie { title year } } } } } } }";
        for n in [2, 8] {
            let (social0, content0) = (
                graphql_calls(&sys, "social").await,
                graphql_calls(&sys, "content").await,
            );
            let d = sys.data(Some(&ann), query, json!({ "n": n })).await;
            let (social1, content1) = (
                graphql_calls(&sys, "social").await,
                graphql_calls(&sys, "content").await,
            );
            let edges = d["me"]["watchlist"]["edges"].as_array().expect("entries");
            assert_eq!(edges.len(), n, "[{l}] {d}");
            // Newest first: the last added comes first.
            for (edge, (id, title, year)) in edges.iter().zip(catalog.iter().rev()) {
                assert_eq!(
                    edge["node"]["title"],
                    json!({ "__typename": "Movie", "id": id, "title": title, "year": year }),
                    "[{l}] {d}"
                );
            }
            assert_eq!(
                (social1 - social0, content1 - content0),
                (1, 1),
                "[{l}] a page of {n}: one fetch to social, one batched fetch to content"
            );
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_social_outage_nulls_only_socials_fields() {
    for mut sys in systems().await {
        let l = sys.label;
        sys.stop_process("social").await;
        let r = sys
            .gql(
                None,
                "{ movies(first: 2) { edges { node { title reviews(first: 1) { edges { node { body } } } } } } }",
                json!({}),
            )
            .await;
        let edges = r["data"]["movies"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("[{l}] the catalog answers: {r}"));
        assert_eq!(edges.len(), 2, "[{l}] {r}");
        for edge in edges {
            assert!(edge["node"]["title"].is_string(), "[{l}] {r}");
            assert_eq!(edge["node"]["reviews"], Value::Null, "[{l}] {r}");
        }
        // One error for each title whose reviews are missing, at that title
        // (or at its `reviews`), saying which subgraph failed.
        let errors = r["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 2, "[{l}] one error at each failed path: {r}");
        let mut titles = BTreeSet::new();
        for e in errors {
            let path = e["path"].as_array().expect("a path");
            assert_eq!(
                (&path[..2], &path[3]),
                (&[json!("movies"), json!("edges")][..], &json!("node")),
                "[{l}] {r}"
            );
            titles.insert(path[2].to_string());
            assert!(path.len() == 4 || path[4] == "reviews", "[{l}] {r}");
            assert_eq!(e["extensions"]["code"], "SUBGRAPH_UNAVAILABLE", "[{l}] {r}");
        }
        assert_eq!(titles.len(), 2, "[{l}] one error for each title: {r}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_content_outage_nulls_only_the_titles_of_a_watchlist() {
    for mut sys in systems().await {
        let l = sys.label;
        let (ann, _) = sys.register("ann_outage").await;
        let catalog = movies(&sys, 2).await;
        for (id, _, _) in &catalog {
            sys.data(
                Some(&ann),
                "mutation($t: ID!) { addToWatchlist(titleId: $t) }",
                json!({ "t": id }),
            )
            .await;
        }
        sys.stop_process("content").await;
        let r = sys
            .gql(
                Some(&ann),
                "{ me { watchlist { edges { node { addedAt title { title } } } } } }",
                json!({}),
            )
            .await;
        let edges = r["data"]["me"]["watchlist"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("[{l}] the watchlist answers: {r}"));
        assert_eq!(edges.len(), 2, "[{l}] {r}");
        for edge in edges {
            assert!(edge["node"]["addedAt"].is_string(), "[{l}] {r}");
            assert_eq!(edge["node"]["title"], Value::Null, "[{l}] {r}");
        }
        assert!(
            !error_paths(&r).is_empty()
                && error_paths(&r)
                    .iter()
                    .all(|p| p.contains("\"title\"") && p.contains("\"watchlist\"")),
            "[{l}] errors at the titles only: {r}"
        );
        sys.stop().await;
    }
}
