//! The social subgraph through the router, joined with accounts (users) and
//! the catalog (content), on the embedded backends and on PostgreSQL, Redis
//! and NATS: a movie with its reviews and their authors in one query, a feed
//! page with authors, like counts and comments, and the catalog's rating
//! figures following ratings made here, through the bus.

use e2e::System;
use serde_json::{json, Value};

/// Every backend, with the router's per-IP sign-up limit out of the way.
async fn systems() -> Vec<System> {
    System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

fn rating_of(d: &Value) -> (f64, i64) {
    (
        d["movie"]["ratingAverage"].as_f64().expect("an average"),
        d["movie"]["ratingCount"].as_i64().expect("a count"),
    )
}

#[tokio::test]
async fn a_movie_its_reviews_and_their_authors_in_one_query() {
    for sys in systems().await {
        let l = sys.label;
        let (ann, _) = sys.register("ann_reviews").await;
        let (bob, _) = sys.register("bob_reviews").await;
        let figures = "{ movie(slug: \"alien\") { id ratingAverage ratingCount } }";
        let before = sys.data(None, figures, json!({})).await;
        let alien = before["movie"]["id"].as_str().unwrap().to_string();
        let (avg0, n0) = rating_of(&before);

        let write = "mutation($t: ID!, $b: String!, $s: Int) { writeReview(input: {titleId: $t, body: $b, score: $s, containsSpoilers: false}) { id } }";
        sys.data(
            Some(&ann),
            write,
            json!({"t": alien, "b": "The perfect organism.", "s": 10}),
        )
        .await;
        sys.data(
            Some(&bob),
            write,
            json!({"t": alien, "b": "Too slow for me.", "s": 4}),
        )
        .await;

        let d = sys
            .data(
                Some(&ann),
                "{ movie(slug: \"alien\") { title myRating inWatchlist reviews(sort: HIGHEST) { edges { node { body score likeCount author { username displayName } } } } } }",
                json!({}),
            )
            .await;
        let m = &d["movie"];
        assert_eq!(m["title"], "Alien", "[{l}] {d}");
        assert_eq!(m["myRating"], 10, "[{l}]");
        assert_eq!(m["inWatchlist"], false, "[{l}]");
        let reviews = m["reviews"]["edges"].as_array().unwrap();
        assert_eq!(reviews.len(), 2, "[{l}] {d}");
        assert_eq!(
            reviews[0]["node"]["author"]["username"], "ann_reviews",
            "[{l}]"
        );
        assert_eq!(reviews[0]["node"]["score"], 10, "[{l}]");
        assert_eq!(
            reviews[1]["node"]["author"]["username"], "bob_reviews",
            "[{l}]"
        );
        assert_eq!(
            reviews[1]["node"]["author"]["displayName"], "BOB_REVIEWS",
            "[{l}]"
        );

        // The catalog's figures take the two ratings in, through the bus.
        let expected_avg = (avg0 * n0 as f64 + 14.0) / (n0 + 2) as f64;
        let after = sys
            .eventually(None, figures, json!({}), |r| {
                r["data"]["movie"]["ratingCount"].as_i64() == Some(n0 + 2)
            })
            .await;
        let (avg, _) = rating_of(&after["data"]);
        assert!(
            (avg - expected_avg).abs() < 0.01,
            "[{l}] average {avg}, expected {expected_avg}"
        );
        // A rating removed leaves the figures again; the catalog sorts by them.
        sys.data(
            Some(&bob),
            "mutation($t: ID!) { removeRating(titleId: $t) }",
            json!({"t": alien}),
        )
        .await;
        sys.eventually(None, figures, json!({}), |r| {
            r["data"]["movie"]["ratingCount"].as_i64() == Some(n0 + 1)
        })
        .await;
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_feed_page_with_authors_like_counts_and_comments() {
    for sys in systems().await {
        let l = sys.label;
        let (reader, _) = sys.register("feed_reader").await;
        let (writer, writer_id) = sys.register("feed_writer").await;
        let (fan, _) = sys.register("feed_fan").await;
        sys.data(
            Some(&reader),
            "mutation($u: ID!) { follow(userId: $u) { id followerCount } }",
            json!({"u": writer_id}),
        )
        .await;
        let mut posts = Vec::new();
        for i in 0..3 {
            let d = sys
                .data(
                    Some(&writer),
                    "mutation($b: String!) { createPost(input: {body: $b}) { id } }",
                    json!({"b": format!("Tonight's pick #{i}")}),
                )
                .await;
            posts.push(d["createPost"]["id"].as_str().unwrap().to_string());
        }
        for p in &posts[1..] {
            sys.data(
                Some(&fan),
                "mutation($p: ID!) { like(target: {postId: $p}) { likeCount } }",
                json!({"p": p}),
            )
            .await;
        }
        sys.data(
            Some(&fan),
            "mutation($p: ID!) { addComment(input: {postId: $p, body: \"Seen it twice.\"}) { id } }",
            json!({"p": posts[2]}),
        )
        .await;
        // A mention reaches the reader once the social subgraph has learnt
        // the username from the users subgraph's event (the writer's follow
        // notification names the reader then).
        sys.eventually(
            Some(&writer),
            "{ notifications { edges { node { summary } } } }",
            json!({}),
            |r| {
                r["data"]["notifications"]["edges"]
                    .as_array()
                    .is_some_and(|e| {
                        e.iter()
                            .any(|n| n["node"]["summary"] == "feed_reader followed you")
                    })
            },
        )
        .await;
        sys.data(
            Some(&fan),
            "mutation($p: ID!) { addComment(input: {postId: $p, body: \"@feed_reader you should see this\"}) { id } }",
            json!({"p": posts[0]}),
        )
        .await;
        sys.eventually(
            Some(&reader),
            "{ notifications { edges { node { kind summary actor { username } } } } }",
            json!({}),
            |r| {
                r["data"]["notifications"]["edges"][0]["node"]["summary"]
                    == "feed_fan mentioned you"
            },
        )
        .await;

        let d = sys
            .data(
                Some(&reader),
                "{ feed(first: 10) { edges { node { body likeCount likedByMe commentCount author { username followerCount followedByMe } comments { edges { node { body author { username } } } } } } pageInfo { hasNextPage } }
                   me { username followingCount following { edges { node { user { username } } } } } }",
                json!({}),
            )
            .await;
        let edges = d["feed"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3, "[{l}] {d}");
        let top = &edges[0]["node"];
        assert_eq!(top["body"], "Tonight's pick #2", "[{l}] newest first");
        assert_eq!(top["likeCount"], 1, "[{l}]");
        assert_eq!(top["likedByMe"], false, "[{l}]");
        assert_eq!(top["commentCount"], 1, "[{l}]");
        assert_eq!(top["author"]["username"], "feed_writer", "[{l}]");
        assert_eq!(top["author"]["followerCount"], 1, "[{l}]");
        assert_eq!(top["author"]["followedByMe"], true, "[{l}]");
        assert_eq!(
            top["comments"]["edges"][0]["node"]["author"]["username"], "feed_fan",
            "[{l}]"
        );
        assert_eq!(edges[2]["node"]["likeCount"], 0, "[{l}]");
        assert_eq!(edges[2]["node"]["commentCount"], 1, "[{l}]");
        assert_eq!(d["feed"]["pageInfo"]["hasNextPage"], false, "[{l}]");
        assert_eq!(d["me"]["username"], "feed_reader", "[{l}]");
        assert_eq!(d["me"]["followingCount"], 1, "[{l}]");
        assert_eq!(
            d["me"]["following"]["edges"][0]["node"]["user"]["username"], "feed_writer",
            "[{l}]"
        );

        // Signed out, the feed is refused with its code; public posts still show.
        let r = sys
            .gql(None, "{ feed { edges { cursor } } }", json!({}))
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "[{l}] {r}"
        );
        let d = sys
            .data(
                None,
                "query($p: ID!) { post(id: $p) { body author { username } } }",
                json!({"p": posts[0]}),
            )
            .await;
        assert_eq!(d["post"]["author"]["username"], "feed_writer", "[{l}]");
        sys.stop().await;
    }
}
