//! The content subgraph through the router, on the embedded backends and on
//! PostgreSQL, Redis and NATS: who may write the catalog, the catalog joined
//! with accounts, and accounts answering while the catalog is down.

use e2e::System;
use serde_json::{json, Value};

fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

/// Every backend, with the router's per-IP sign-in limit out of the way.
async fn systems() -> Vec<System> {
    System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

async fn movie_id(sys: &System, slug: &str) -> String {
    let d = sys
        .data(
            None,
            "query($s: String) { movie(slug: $s) { id } }",
            json!({"s": slug}),
        )
        .await;
    d["movie"]["id"]
        .as_str()
        .expect("a seeded movie")
        .to_string()
}

#[tokio::test]
async fn every_catalog_write_needs_an_admin() {
    for sys in systems().await {
        let l = sys.label;
        let user = sys.token_of("USER").await;
        let moderator = sys.token_of("MODERATOR").await;
        let admin = sys.token_of("ADMIN").await;
        let alien = movie_id(&sys, "alien").await;

        // The admin's own chain of writes, each answer feeding the next.
        let run = |token: Option<String>, query: &'static str, vars: Value| {
            let sys = &sys;
            async move { sys.gql(token.as_deref(), query, vars).await }
        };
        let created = run(
            Some(admin.clone()),
            "mutation($i: TitleInput!) { createMovie(input: $i) { id slug title genres: categories { slug } } }",
            json!({"i": {"title": "Test Pattern", "releaseDate": "2024-04-04", "runtime": 95, "genres": ["drama"]}}),
        )
        .await;
        assert!(created.get("errors").is_none(), "[{l}] {created}");
        let new_id = created["data"]["createMovie"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(created["data"]["createMovie"]["slug"], "test-pattern");
        let person = run(
            Some(admin.clone()),
            "mutation { createPerson(input: {name: \"Ada Testwright\"}) { id } }",
            json!({}),
        )
        .await;
        let person_id = person["data"]["createPerson"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let credit = run(
            Some(admin.clone()),
            "mutation($i: CreditInput!) { addCredit(input: $i) { id person { name } } }",
            json!({"i": {"titleId": new_id, "personId": person_id, "kind": "CAST", "role": "Herself"}}),
        )
        .await;
        assert_eq!(
            credit["data"]["addCredit"]["person"]["name"], "Ada Testwright",
            "[{l}] {credit}"
        );
        let credit_id = credit["data"]["addCredit"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let slot = run(
            Some(admin.clone()),
            "mutation($t: ID!) { setFeatured(titleId: $t, from: \"2020-01-01T00:00:00Z\", until: \"2100-01-01T00:00:00Z\", rank: 1) { id } }",
            json!({"t": new_id}),
        )
        .await;
        assert!(slot.get("errors").is_none(), "[{l}] {slot}");
        let slot_id = slot["data"]["setFeatured"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let show = run(
            Some(admin.clone()),
            "mutation { createSeries(input: {title: \"Test Signal\", releaseDate: \"2021-01-01\", status: \"returning\"}) { id } }",
            json!({}),
        )
        .await;
        let show_id = show["data"]["createSeries"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let season = run(
            Some(admin.clone()),
            "mutation($s: ID!) { createSeason(seriesId: $s, input: {number: 1}) { id } }",
            json!({"s": show_id}),
        )
        .await;
        let season_id = season["data"]["createSeason"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let episode = run(
            Some(admin.clone()),
            "mutation($s: ID!) { createEpisode(seasonId: $s, input: {number: 1, title: \"Pilot\"}) { id } }",
            json!({"s": season_id}),
        )
        .await;
        let episode_id = episode["data"]["createEpisode"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        // Every write, as nobody, as a user and as a moderator, then as the admin.
        let writes: Vec<(&str, String, Value)> = vec![
            (
                "createMovie",
                "mutation($i: TitleInput!) { createMovie(input: $i) { id } }".into(),
                json!({"i": {"title": "Second Pattern", "releaseDate": "2024-04-05"}}),
            ),
            (
                "updateMovie",
                "mutation($id: ID!) { updateMovie(id: $id, input: {tagline: \"Tested.\"}) { id } }".into(),
                json!({"id": new_id}),
            ),
            ("deleteMovie", "mutation($id: ID!) { deleteMovie(id: $id) { id } }".into(), json!({"id": alien})),
            ("restoreMovie", "mutation($id: ID!) { restoreMovie(id: $id) { id } }".into(), json!({"id": alien})),
            (
                "createCategory",
                "mutation { createCategory(input: {name: \"Staff Picks\", kind: COLLECTION}) { id } }".into(),
                json!({}),
            ),
            ("createPerson", "mutation { createPerson(input: {name: \"Bo Extra\"}) { id } }".into(), json!({})),
            (
                "addCredit",
                "mutation($i: CreditInput!) { addCredit(input: $i) { id } }".into(),
                json!({"i": {"titleId": alien, "personId": person_id, "kind": "CREW", "role": "Caterer"}}),
            ),
            ("removeCredit", "mutation($id: ID!) { removeCredit(id: $id) }".into(), json!({"id": credit_id})),
            (
                "setFeatured",
                "mutation($t: ID!) { setFeatured(titleId: $t, from: \"2020-01-01T00:00:00Z\", until: \"2100-01-01T00:00:00Z\", rank: 2) { id } }".into(),
                json!({"t": alien}),
            ),
            ("removeFeatured", "mutation($id: ID!) { removeFeatured(id: $id) }".into(), json!({"id": slot_id})),
            (
                "createSeries",
                "mutation { createSeries(input: {title: \"Second Signal\", releaseDate: \"2022-02-02\"}) { id } }".into(),
                json!({}),
            ),
            (
                "updateSeries",
                "mutation($id: ID!) { updateSeries(id: $id, input: {status: \"ended\"}) { id } }".into(),
                json!({"id": show_id}),
            ),
            ("deleteSeries", "mutation($id: ID!) { deleteSeries(id: $id) { id } }".into(), json!({"id": show_id})),
            ("restoreSeries", "mutation($id: ID!) { restoreSeries(id: $id) { id } }".into(), json!({"id": show_id})),
            (
                "createSeason",
                "mutation($s: ID!) { createSeason(seriesId: $s, input: {number: 2}) { id } }".into(),
                json!({"s": show_id}),
            ),
            (
                "updateSeason",
                "mutation($id: ID!) { updateSeason(id: $id, input: {name: \"The Beginning\"}) { id } }".into(),
                json!({"id": season_id}),
            ),
            (
                "createEpisode",
                "mutation($s: ID!) { createEpisode(seasonId: $s, input: {number: 2}) { id } }".into(),
                json!({"s": season_id}),
            ),
            (
                "updateEpisode",
                "mutation($id: ID!) { updateEpisode(id: $id, input: {runtime: 42}) { id } }".into(),
                json!({"id": episode_id}),
            ),
            ("deleteEpisode", "mutation($id: ID!) { deleteEpisode(id: $id) }".into(), json!({"id": episode_id})),
            ("deleteSeason", "mutation($id: ID!) { deleteSeason(id: $id) }".into(), json!({"id": season_id})),
        ];
        for (name, query, vars) in &writes {
            let r = sys.gql(None, query, vars.clone()).await;
            assert_eq!(code(&r), "UNAUTHENTICATED", "[{l}] {name} anonymous: {r}");
            for (who, token) in [("user", &user), ("moderator", &moderator)] {
                let r = sys.gql(Some(token), query, vars.clone()).await;
                assert_eq!(code(&r), "FORBIDDEN", "[{l}] {name} as {who}: {r}");
            }
            let r = sys.gql(Some(&admin), query, vars.clone()).await;
            assert!(r.get("errors").is_none(), "[{l}] {name} as admin: {r}");
            assert!(!r["data"][name].is_null(), "[{l}] {name} as admin: {r}");
        }

        // What the admin wrote is what readers see.
        let d = sys
            .data(
                None,
                "query($id: ID!) { movie(id: $id) { tagline credits { job } } featured(first: 3) { title } }",
                json!({"id": new_id}),
            )
            .await;
        assert_eq!(d["movie"]["tagline"], "Tested.", "[{l}]");
        let show = sys
            .data(
                None,
                "query($id: ID!) { series(id: $id) { status seasons { number name episodes { number } } } }",
                json!({"id": show_id}),
            )
            .await;
        assert_eq!(show["series"]["status"], "ended", "[{l}] {show}");
        assert_eq!(
            show["series"]["seasons"],
            json!([{"number": 2, "name": "Season 2", "episodes": []}]),
            "[{l}] {show}"
        );
        assert_eq!(
            d["movie"]["credits"],
            json!([]),
            "[{l}] the credit was removed"
        );
        assert_ne!(
            d["featured"][0]["title"], "Test Pattern",
            "[{l}] the slot was removed"
        );
        let bad = sys
            .gql(
                Some(&admin),
                "mutation { createMovie(input: {title: \"  \", releaseDate: \"2024-01-01\"}) { id } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&bad), "BAD_USER_INPUT", "[{l}] {bad}");
        assert_eq!(
            bad["errors"][0]["extensions"]["field"], "input.title",
            "[{l}] {bad}"
        );
        let missing = sys
            .gql(
                Some(&admin),
                "mutation { deleteMovie(id: \"00000000-0000-7000-8000-000000000000\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&missing), "NOT_FOUND", "[{l}] {missing}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn accounts_and_the_catalog_join_and_accounts_outlive_a_down_catalog() {
    for mut sys in systems().await {
        let l = sys.label;
        let token = sys.token_of("USER").await;
        for slug in ["alien", "heat"] {
            let id = movie_id(&sys, slug).await;
            let d = sys
                .data(
                    Some(&token),
                    "mutation($t: ID!) { recordView(titleId: $t) }",
                    json!({"t": id}),
                )
                .await;
            assert_eq!(d["recordView"], true, "[{l}]");
        }
        let query = "{ me { username recentlyViewed { title categories { slug } } } }";
        let d = sys.data(Some(&token), query, json!({})).await;
        let titles: Vec<&str> = d["me"]["recentlyViewed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["Heat", "Alien"], "[{l}] newest first: {d}");
        // Someone else's history is not for others to read.
        let me_id = sys.data(Some(&token), "{ me { id } }", json!({})).await["me"]["id"].clone();
        let other = sys.token_of("MODERATOR").await;
        let r = sys
            .gql(
                Some(&other),
                "query($id: ID!) { user(id: $id) { username recentlyViewed { title } } }",
                json!({"id": me_id}),
            )
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "[{l}] {r}");
        assert!(
            r["data"]["user"]["username"].is_string(),
            "[{l}] partial data: {r}"
        );

        sys.stop_process("content").await;
        let r = sys.gql(Some(&token), query, json!({})).await;
        assert!(
            r["data"]["me"]["username"].is_string(),
            "[{l}] accounts still answer: {r}"
        );
        assert!(r["data"]["me"]["recentlyViewed"].is_null(), "[{l}] {r}");
        assert_eq!(code(&r), "SUBGRAPH_UNAVAILABLE", "[{l}] {r}");
        let r = sys
            .gql(None, "{ movies(first: 1) { totalCount } }", json!({}))
            .await;
        assert_eq!(code(&r), "SUBGRAPH_UNAVAILABLE", "[{l}] {r}");
        sys.stop().await;
    }
}
