//! The legacy REST API through the router, on the embedded backends and on
//! PostgreSQL, Redis and NATS: every route group's envelope, pagination
//! metadata, status codes, and the sign-in rate limit REST shares with GraphQL.

use e2e::System;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// Every backend, with the router's per-IP sign-in limit out of the way.
async fn systems() -> Vec<System> {
    System::all_with(true, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn data(&self) -> &Value {
        &self.body["data"]
    }

    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

async fn call(
    sys: &System,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = sys.client().request(method, sys.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let r = request.send().await.expect("the router answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body: Value = r.json().await.expect("a JSON answer");
    // Every answer wears the envelope.
    match body["success"].as_bool() {
        Some(true) => assert!(body.get("data").is_some(), "{body}"),
        Some(false) => {
            assert!(body["error"]["code"].is_string(), "{body}");
            assert!(body["error"]["message"].is_string(), "{body}");
            assert!(body["error"].get("details").is_some(), "{body}");
        }
        None => panic!("no envelope: {status} {body}"),
    }
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(sys: &System, path: &str, token: Option<&str>) -> Answer {
    call(sys, "GET", path, token, None).await
}

/// Registers `name` over REST; returns (access token, refresh token, user id).
async fn register(sys: &System, name: &str) -> (String, String, String) {
    let a = call(
        sys,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD, "displayName": name.to_uppercase()})),
    )
    .await;
    assert_eq!(a.status, 201, "[{}] {a}", sys.label);
    (
        a.data()["accessToken"].as_str().unwrap().to_string(),
        a.data()["refreshToken"].as_str().unwrap().to_string(),
        a.data()["user"]["id"].as_str().unwrap().to_string(),
    )
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

fn ids(data: &Value) -> Vec<String> {
    data.as_array()
        .expect("a list")
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn auth_routes_sign_up_in_refresh_and_out() {
    for sys in systems().await {
        let l = sys.label;
        let (access, refresh, id) = register(&sys, "ripley").await;
        let a = get(&sys, "/api/v1/auth/me", Some(&access)).await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(a.data()["id"], id.as_str());
        assert_eq!(a.data()["email"], "ripley@example.com");
        assert_eq!(a.data()["displayName"], "RIPLEY");

        // The same username again conflicts.
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "other@example.com", "username": "ripley", "password": PASSWORD})),
        )
        .await;
        assert_eq!((a.status, a.code()), (409, "CONFLICT"), "[{l}] {a}");
        // A password the users subgraph refuses is a 422 naming the field.
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "short@example.com", "username": "shorty", "password": "short"})),
        )
        .await;
        assert_eq!((a.status, a.code()), (422, "BAD_USER_INPUT"), "[{l}] {a}");
        assert_eq!(a.body["error"]["details"]["field"], "password", "[{l}] {a}");
        // Malformed bodies are 400s that say what is wrong.
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": 5, "username": "x", "password": PASSWORD})),
        )
        .await;
        assert_eq!((a.status, a.code()), (400, "BAD_REQUEST"), "[{l}] {a}");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("email"),
            "{a}"
        );
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "a@example.com"})),
        )
        .await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ripley@example.com", "password": PASSWORD, "admin": true})),
        )
        .await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        assert_eq!(a.body["error"]["details"]["parameter"], "admin");
        let r = sys
            .client()
            .post(sys.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        // Sign-in by email or by username.
        let by_email = call(
            &sys,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ripley@example.com", "password": PASSWORD})),
        )
        .await;
        assert_eq!(by_email.status, 200, "[{l}] {by_email}");
        for key in ["accessToken", "refreshToken", "expiresIn", "user"] {
            assert!(
                by_email.data().get(key).is_some(),
                "[{l}] {key} in {by_email}"
            );
        }
        let by_name = call(
            &sys,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ripley", "password": PASSWORD})),
        )
        .await;
        assert_eq!(by_name.status, 200, "[{l}] {by_name}");
        let wrong = call(
            &sys,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ripley", "password": "not the password"})),
        )
        .await;
        assert_eq!(
            (wrong.status, wrong.code()),
            (401, "UNAUTHENTICATED"),
            "[{l}] {wrong}"
        );

        // Refresh rotates: the old refresh token then fails.
        let next = call(
            &sys,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refreshToken": refresh})),
        )
        .await;
        assert_eq!(next.status, 200, "[{l}] {next}");
        let again = call(
            &sys,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refreshToken": refresh})),
        )
        .await;
        assert_eq!(again.status, 401, "[{l}] {again}");
        let token = by_name.data()["accessToken"].as_str().unwrap();
        let out = call(
            &sys,
            "POST",
            "/api/v1/auth/logout",
            Some(token),
            Some(json!({"refreshToken": by_name.data()["refreshToken"]})),
        )
        .await;
        assert_eq!((out.status, out.data()), (200, &json!(true)), "[{l}] {out}");
        let after = get(&sys, "/api/v1/auth/me", Some(token)).await;
        assert_eq!(after.status, 401, "[{l}] {after}");
        let anonymous = get(&sys, "/api/v1/auth/me", None).await;
        assert_eq!(
            (anonymous.status, anonymous.code()),
            (401, "UNAUTHENTICATED")
        );
        let forged = get(&sys, "/api/v1/auth/me", Some("not.a.token")).await;
        assert_eq!(forged.status, 401, "[{l}] {forged}");

        // Password reset and email verification with the mailed codes.
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/forgot-password",
            None,
            Some(json!({"email": "ripley@example.com"})),
        )
        .await;
        assert_eq!((a.status, a.data()), (200, &json!(true)), "[{l}] {a}");
        let code =
            e2e::mailed_code(sys.data_dir(), "ripley@example.com", "Reset").expect("a reset mail");
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/reset-password",
            None,
            Some(json!({"token": code, "password": "a brand new password 42"})),
        )
        .await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ripley", "password": "a brand new password 42"})),
        )
        .await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        let fresh = a.data()["accessToken"].as_str().unwrap().to_string();
        let verify = e2e::mailed_code(sys.data_dir(), "ripley@example.com", "Confirm")
            .expect("a confirmation mail");
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/verify-email",
            Some(&fresh),
            Some(json!({"token": verify})),
        )
        .await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(a.data()["emailVerified"], true, "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/verify-email",
            Some(&fresh),
            Some(json!({"token": "x".repeat(43)})),
        )
        .await;
        assert_eq!((a.status, a.code()), (422, "BAD_USER_INPUT"), "[{l}] {a}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn auth_routes_share_the_sign_in_limit_of_five_a_minute() {
    for sys in System::all(false).await {
        let l = sys.label;
        let body = json!({"username": "nobody", "password": "wrong password 123456"});
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let a = call(&sys, "POST", "/api/v1/auth/login", None, Some(body.clone())).await;
            statuses.push(a.status);
            last = Some(a);
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401], "[{l}]");
        assert_eq!(last.unwrap().headers["ratelimit-remaining"], "0");
        // The sixth, over GraphQL or REST, is refused.
        let a = call(
            &sys,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "late@example.com", "username": "late", "password": PASSWORD})),
        )
        .await;
        assert_eq!((a.status, a.code()), (429, "RATE_LIMITED"), "[{l}] {a}");
        let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry >= 1, "[{l}] {retry}");
        // The bucket is the one GraphQL's sign-in operations use.
        let r = sys
            .client()
            .post(sys.url("/graphql"))
            .json(&json!({"query": "mutation { login(input: {login: \"nobody\", password: \"x\"}) { accessToken } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "[{l}]");
        // Other routes have their own budget.
        let a = get(&sys, "/api/v1/categories", None).await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn movie_lists_page_sort_and_filter_like_the_connection() {
    for sys in systems().await {
        let l = sys.label;
        let d = sys
            .data(
                None,
                "{ movies(first: 12) { totalCount edges { node { id } } } }",
                json!({}),
            )
            .await;
        let total = d["movies"]["totalCount"].as_u64().unwrap();
        let first12: Vec<String> = d["movies"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .collect();

        let a = get(&sys, "/api/v1/movies", None).await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(a.data().as_array().unwrap().len(), 20);
        assert_eq!(
            a.body["pagination"],
            json!({"page": 1, "limit": 20, "total": total, "pages": total.div_ceil(20)}),
            "[{l}]"
        );
        for key in ["id", "slug", "title", "overview", "ratingAverage", "genres"] {
            assert!(a.data()[0].get(key).is_some(), "[{l}] {key}");
        }
        // Page 3 of 4 is the connection's items 9 to 12.
        let a = get(&sys, "/api/v1/movies?page=3&limit=4", None).await;
        assert_eq!(ids(a.data()), first12[8..12], "[{l}] {a}");
        assert_eq!(a.body["pagination"]["pages"], total.div_ceil(4));
        // A page past the end is empty, with the same metadata.
        let last_page = total.div_ceil(100) + 1;
        let a = get(
            &sys,
            &format!("/api/v1/movies?page={last_page}&limit=100"),
            None,
        )
        .await;
        if last_page <= 50 {
            assert_eq!((a.status, a.data()), (200, &json!([])), "[{l}] {a}");
            assert_eq!(a.body["pagination"]["total"], total);
        }

        // Orders the sort enum lacks are read backwards.
        let desc = get(
            &sys,
            &format!(
                "/api/v1/movies?sort=popularity&order=desc&limit=100&page={}",
                total.div_ceil(100)
            ),
            None,
        )
        .await;
        let asc = get(
            &sys,
            "/api/v1/movies?sort=popularity&order=asc&limit=5",
            None,
        )
        .await;
        assert_eq!(asc.status, 200, "[{l}] {asc}");
        let mut tail = ids(desc.data());
        tail.reverse();
        assert_eq!(ids(asc.data()), tail[..5], "[{l}]");
        let by_title = get(&sys, "/api/v1/movies?sort=title&limit=10", None).await;
        let titles: Vec<&str> = by_title
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap())
            .collect();
        let mut sorted = titles.clone();
        sorted.sort_by_key(|t| t.to_lowercase());
        assert_eq!(titles.len(), 10);
        let reversed = get(&sys, "/api/v1/movies?sort=title&order=desc&limit=10", None).await;
        assert_eq!(reversed.status, 200, "[{l}] {reversed}");
        assert_ne!(ids(reversed.data()), ids(by_title.data()));
        let newest = get(
            &sys,
            "/api/v1/movies?sort=release_date&order=desc&limit=10",
            None,
        )
        .await;
        let dates: Vec<&str> = newest
            .data()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["releaseDate"].as_str())
            .collect();
        assert!(dates.windows(2).all(|w| w[0] >= w[1]), "[{l}] {dates:?}");

        // Filters narrow the list and its total.
        let drama = get(
            &sys,
            "/api/v1/movies?genre=drama&minRating=7&year=1979&limit=100",
            None,
        )
        .await;
        assert_eq!(drama.status, 200, "[{l}] {drama}");
        let n = drama.body["pagination"]["total"].as_u64().unwrap();
        assert!(
            n < total && n == drama.data().as_array().unwrap().len() as u64,
            "[{l}] {drama}"
        );
        for m in drama.data().as_array().unwrap() {
            assert_eq!(m["year"], 1979);
            assert!(m["ratingAverage"].as_f64().unwrap() >= 7.0);
            assert!(m["genres"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["slug"] == "drama"));
        }

        // An empty value is refused, not guessed at.
        let a = get(&sys, "/api/v1/movies?language=&limit=3", None).await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        // `q` searches; so does /movies/search.
        let found = get(&sys, "/api/v1/movies?q=alien", None).await;
        assert_eq!(found.status, 200, "[{l}] {found}");
        assert_eq!(found.data()[0]["slug"], "alien", "[{l}] {found}");
        let found = get(&sys, "/api/v1/movies/search?q=Alien&limit=3", None).await;
        assert_eq!(found.data()[0]["slug"], "alien", "[{l}] {found}");
        assert_eq!(found.body["pagination"]["limit"], 3);
        let a = get(&sys, "/api/v1/movies/search", None).await;
        assert_eq!(a.status, 400, "[{l}] q is required: {a}");

        // REST requests are counted like every other, by route template.
        let metrics = sys
            .client()
            .get(sys.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics
                .lines()
                .any(|m| m.starts_with("marquee_http_requests_total")
                    && m.contains("route=\"/api/v1/movies\"")),
            "[{l}] no REST route in the metrics"
        );
        let featured = get(&sys, "/api/v1/movies/featured?limit=3", None).await;
        assert_eq!(featured.status, 200, "[{l}] {featured}");
        assert!(featured.data().as_array().unwrap().len() <= 3);
        let trending = get(&sys, "/api/v1/movies/trending?window=week", None).await;
        assert_eq!(trending.status, 200, "[{l}] {trending}");
        assert!(trending.data().is_array());

        // Bad parameters are 400s that name the parameter.
        for (query, parameter) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("page=zero", "page"),
            ("page=0", "page"),
            ("page=100&limit=100", "page"),
            ("sort=bogus", "sort"),
            ("order=sideways", "order"),
            ("year=nineteen", "year"),
            ("minRating=high", "minRating"),
            ("colour=blue", "colour"),
        ] {
            let a = get(&sys, &format!("/api/v1/movies?{query}"), None).await;
            assert_eq!(
                (a.status, a.code()),
                (400, "BAD_REQUEST"),
                "[{l}] {query}: {a}"
            );
            assert_eq!(
                a.body["error"]["details"]["parameter"], parameter,
                "[{l}] {query}"
            );
        }
        sys.stop().await;
    }
}

#[tokio::test]
async fn movie_writes_need_an_admin_and_deleted_movies_are_gone() {
    for sys in systems().await {
        let l = sys.label;
        let admin = sys.token_of("ADMIN").await;
        let user = sys.token_of("USER").await;
        let alien = movie_id(&sys, "alien").await;
        let a = get(&sys, &format!("/api/v1/movies/{alien}"), None).await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(a.data()["title"], "Alien");
        assert!(a.data()["credits"].as_array().unwrap().len() > 1);
        let a = get(&sys, "/api/v1/movies/not-an-id", None).await;
        assert_eq!(
            (a.status, &a.body["error"]["details"]["parameter"]),
            (400, &json!("id")),
            "[{l}] {a}"
        );
        let a = get(
            &sys,
            "/api/v1/movies/00000000-0000-0000-0000-000000000000",
            None,
        )
        .await;
        assert_eq!((a.status, a.code()), (404, "NOT_FOUND"), "[{l}] {a}");

        let body = json!({"title": "Test Pattern", "releaseDate": "2024-04-04", "runtime": 95, "genres": ["drama"]});
        let a = call(&sys, "POST", "/api/v1/movies", None, Some(body.clone())).await;
        assert_eq!(a.status, 401, "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            "/api/v1/movies",
            Some(&user),
            Some(body.clone()),
        )
        .await;
        assert_eq!((a.status, a.code()), (403, "FORBIDDEN"), "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            "/api/v1/movies",
            Some(&admin),
            Some(json!({"title": "X", "runtime": "long"})),
        )
        .await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        assert_eq!(a.body["error"]["details"]["parameter"], "runtime");
        let created = call(&sys, "POST", "/api/v1/movies", Some(&admin), Some(body)).await;
        assert_eq!(created.status, 201, "[{l}] {created}");
        assert_eq!(created.data()["slug"], "test-pattern");
        let id = created.data()["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/movies/{id}");
        let a = call(
            &sys,
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"tagline": "Stand by."})),
        )
        .await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(
            (a.data()["tagline"].as_str(), a.data()["runtime"].as_i64()),
            (Some("Stand by."), Some(95))
        );
        let a = call(
            &sys,
            "PUT",
            &path,
            Some(&admin),
            Some(json!({"runtime": 96})),
        )
        .await;
        assert_eq!(a.data()["runtime"], 96, "[{l}] {a}");
        let a = call(
            &sys,
            "PATCH",
            &path,
            Some(&user),
            Some(json!({"runtime": 1})),
        )
        .await;
        assert_eq!(a.status, 403, "[{l}] {a}");
        let a = call(&sys, "DELETE", &path, Some(&user), None).await;
        assert_eq!(a.status, 403, "[{l}] {a}");
        let a = call(&sys, "DELETE", &path, Some(&admin), None).await;
        assert_eq!(
            (a.status, &a.data()["deleted"]),
            (200, &json!(true)),
            "[{l}] {a}"
        );
        let a = get(&sys, &path, None).await;
        assert_eq!(a.status, 404, "[{l}] {a}");
        // A method the path does not serve.
        let r = sys.client().post(sys.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 405);
        sys.stop().await;
    }
}

#[tokio::test]
async fn series_seasons_episodes_and_categories() {
    for sys in systems().await {
        let l = sys.label;
        let admin = sys.token_of("ADMIN").await;
        let list = get(&sys, "/api/v1/series?limit=5&sort=rating", None).await;
        assert_eq!(list.status, 200, "[{l}] {list}");
        assert_eq!(list.data().as_array().unwrap().len(), 5);
        let ratings: Vec<f64> = list
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["ratingAverage"].as_f64().unwrap())
            .collect();
        assert!(
            ratings.windows(2).all(|w| w[0] >= w[1]),
            "[{l}] {ratings:?}"
        );
        let total = list.body["pagination"]["total"].as_u64().unwrap();
        assert_eq!(list.body["pagination"]["pages"], total.div_ceil(5));
        let page2 = get(&sys, "/api/v1/series?limit=5&sort=rating&page=2", None).await;
        assert!(
            ids(page2.data())
                .iter()
                .all(|id| !ids(list.data()).contains(id)),
            "[{l}]"
        );
        assert!(get(&sys, "/api/v1/series/featured", None)
            .await
            .data()
            .is_array());
        assert_eq!(get(&sys, "/api/v1/series/trending", None).await.status, 200);
        let search = get(&sys, "/api/v1/series/search?q=the", None).await;
        assert_eq!(search.status, 200, "[{l}] {search}");

        // A series with seasons, down to an episode.
        let series = list
            .data()
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["numberOfSeasons"].as_i64().unwrap_or(0) >= 1)
            .expect("a series with seasons");
        let sid = series["id"].as_str().unwrap();
        let one = get(&sys, &format!("/api/v1/series/{sid}"), None).await;
        assert_eq!(one.status, 200, "[{l}] {one}");
        let seasons = get(&sys, &format!("/api/v1/series/{sid}/seasons"), None).await;
        assert_eq!(seasons.status, 200, "[{l}] {seasons}");
        let number = seasons
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["number"].as_i64().unwrap())
            .find(|n| *n >= 1)
            .unwrap();
        let season = get(
            &sys,
            &format!("/api/v1/series/{sid}/seasons/{number}"),
            None,
        )
        .await;
        assert_eq!(season.status, 200, "[{l}] {season}");
        let episodes = get(
            &sys,
            &format!("/api/v1/series/{sid}/seasons/{number}/episodes"),
            None,
        )
        .await;
        let eid = episodes.data()[0]["id"].as_str().unwrap().to_string();
        let episode = get(&sys, &format!("/api/v1/episodes/{eid}"), None).await;
        assert_eq!(episode.data()["series"]["id"], sid, "[{l}] {episode}");
        let a = get(&sys, &format!("/api/v1/series/{sid}/seasons/99"), None).await;
        assert_eq!(a.status, 404, "[{l}] {a}");
        let a = get(&sys, &format!("/api/v1/series/{sid}/seasons/first"), None).await;
        assert_eq!(
            (a.status, &a.body["error"]["details"]["parameter"]),
            (400, &json!("number")),
            "[{l}] {a}"
        );

        // Admin writes down the tree.
        let created = call(
            &sys,
            "POST",
            "/api/v1/series",
            Some(&admin),
            Some(json!({"title": "Night Shift", "releaseDate": "2021-09-01", "genres": ["drama"]})),
        )
        .await;
        assert_eq!(created.status, 201, "[{l}] {created}");
        let new_sid = created.data()["id"].as_str().unwrap().to_string();
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/series/{new_sid}"),
            Some(&admin),
            Some(json!({"overview": "Nurses."})),
        )
        .await;
        assert_eq!(a.data()["overview"], "Nurses.", "[{l}] {a}");
        let season = call(
            &sys,
            "POST",
            &format!("/api/v1/series/{new_sid}/seasons"),
            Some(&admin),
            Some(json!({"number": 1, "name": "Season One"})),
        )
        .await;
        assert_eq!(season.status, 201, "[{l}] {season}");
        let season_id = season.data()["id"].as_str().unwrap().to_string();
        let dup = call(
            &sys,
            "POST",
            &format!("/api/v1/series/{new_sid}/seasons"),
            Some(&admin),
            Some(json!({"number": 1})),
        )
        .await;
        assert_eq!((dup.status, dup.code()), (409, "CONFLICT"), "[{l}] {dup}");
        let a = call(
            &sys,
            "PUT",
            &format!("/api/v1/seasons/{season_id}"),
            Some(&admin),
            Some(json!({"overview": "Nights."})),
        )
        .await;
        assert_eq!(a.data()["overview"], "Nights.", "[{l}] {a}");
        let ep = call(
            &sys,
            "POST",
            &format!("/api/v1/seasons/{season_id}/episodes"),
            Some(&admin),
            Some(json!({"number": 1, "title": "Pilot", "runtime": 44})),
        )
        .await;
        assert_eq!(ep.status, 201, "[{l}] {ep}");
        let ep_id = ep.data()["id"].as_str().unwrap().to_string();
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/episodes/{ep_id}"),
            Some(&admin),
            Some(json!({"title": "Pilot (extended)"})),
        )
        .await;
        assert_eq!(a.data()["title"], "Pilot (extended)", "[{l}] {a}");
        let a = get(
            &sys,
            &format!("/api/v1/series/{new_sid}/seasons/1/episodes"),
            None,
        )
        .await;
        assert_eq!(ids(a.data()), [ep_id.as_str()], "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/episodes/{ep_id}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((a.status, a.data()), (200, &json!(true)), "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/seasons/{season_id}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!((a.status, a.data()), (200, &json!(true)), "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/series/{new_sid}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        assert_eq!(
            get(&sys, &format!("/api/v1/series/{new_sid}"), None)
                .await
                .status,
            404
        );

        // Categories.
        let genres = get(&sys, "/api/v1/categories?kind=genre", None).await;
        assert_eq!(genres.status, 200, "[{l}] {genres}");
        assert!(genres
            .data()
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "GENRE"));
        let a = get(&sys, "/api/v1/categories?kind=mood", None).await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        let drama = get(&sys, "/api/v1/categories/drama", None).await;
        assert_eq!(drama.data()["name"], "Drama", "[{l}] {drama}");
        let movies = get(&sys, "/api/v1/categories/drama/movies?limit=3&page=2", None).await;
        assert_eq!(movies.status, 200, "[{l}] {movies}");
        assert_eq!(movies.data().as_array().unwrap().len(), 3);
        assert_eq!(movies.body["pagination"]["page"], 2);
        assert_eq!(
            get(&sys, "/api/v1/categories/no-such-genre", None)
                .await
                .status,
            404
        );
        let c = call(
            &sys,
            "POST",
            "/api/v1/categories",
            Some(&admin),
            Some(json!({"name": "Midnight Movies", "kind": "collection"})),
        )
        .await;
        assert_eq!(
            (c.status, &c.data()["slug"]),
            (201, &json!("midnight-movies")),
            "[{l}] {c}"
        );
        let c = call(
            &sys,
            "POST",
            "/api/v1/categories",
            Some(&admin),
            Some(json!({"name": "Midnight Movies", "kind": "COLLECTION"})),
        )
        .await;
        assert_eq!(c.status, 409, "[{l}] {c}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn users_routes_profiles_admin_list_and_roles() {
    for sys in systems().await {
        let l = sys.label;
        let (token, _, id) = register(&sys, "hicks").await;
        let admin = sys.token_of("ADMIN").await;
        let me = get(&sys, "/api/v1/users/me", Some(&token)).await;
        assert_eq!(
            (me.status, &me.data()["username"]),
            (200, &json!("hicks")),
            "[{l}] {me}"
        );
        let a = call(
            &sys,
            "PATCH",
            "/api/v1/users/me",
            Some(&token),
            Some(json!({"bio": "Corporal."})),
        )
        .await;
        assert_eq!(a.data()["bio"], "Corporal.", "[{l}] {a}");
        let a = call(
            &sys,
            "PATCH",
            "/api/v1/users/me",
            None,
            Some(json!({"bio": "x"})),
        )
        .await;
        assert_eq!(a.status, 401, "[{l}] {a}");
        let public = get(&sys, &format!("/api/v1/users/{id}"), None).await;
        assert_eq!(
            (public.status, &public.data()["bio"]),
            (200, &json!("Corporal.")),
            "[{l}] {public}"
        );
        assert!(
            public.data().get("email").is_none(),
            "[{l}] the public profile has no email"
        );
        assert_eq!(
            get(
                &sys,
                "/api/v1/users/00000000-0000-0000-0000-000000000000",
                None
            )
            .await
            .status,
            404
        );

        let a = get(&sys, "/api/v1/users?limit=2", Some(&token)).await;
        assert_eq!((a.status, a.code()), (403, "FORBIDDEN"), "[{l}] {a}");
        let all = get(&sys, "/api/v1/users?limit=2", Some(&admin)).await;
        assert_eq!(all.status, 200, "[{l}] {all}");
        let total = all.body["pagination"]["total"].as_u64().unwrap();
        assert!(total >= 4, "[{l}] {all}");
        assert_eq!(all.body["pagination"]["pages"], total.div_ceil(2));
        let found = get(&sys, "/api/v1/users?q=hick", Some(&admin)).await;
        assert_eq!(ids(found.data()), [id.as_str()], "[{l}] {found}");
        let role = call(
            &sys,
            "PATCH",
            &format!("/api/v1/users/{id}/role"),
            Some(&token),
            Some(json!({"role": "admin"})),
        )
        .await;
        assert_eq!(role.status, 403, "[{l}] {role}");
        let role = call(
            &sys,
            "PATCH",
            &format!("/api/v1/users/{id}/role"),
            Some(&admin),
            Some(json!({"role": "chief"})),
        )
        .await;
        assert_eq!(role.status, 400, "[{l}] {role}");
        let role = call(
            &sys,
            "PATCH",
            &format!("/api/v1/users/{id}/role"),
            Some(&admin),
            Some(json!({"role": "moderator"})),
        )
        .await;
        assert_eq!(
            (role.status, &role.data()["role"]),
            (200, &json!("MODERATOR")),
            "[{l}] {role}"
        );
        let mods = get(&sys, "/api/v1/users?role=moderator", Some(&admin)).await;
        assert!(ids(mods.data()).contains(&id), "[{l}] {mods}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn social_routes_posts_comments_likes_follows_reviews_watchlist() {
    for sys in systems().await {
        let l = sys.label;
        let (ann, _, ann_id) = register(&sys, "annrest").await;
        let (bob, _, bob_id) = register(&sys, "bobrest").await;
        let alien = movie_id(&sys, "alien").await;

        // Follows.
        let a = call(
            &sys,
            "POST",
            &format!("/api/v1/users/{ann_id}/follow"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(
            (a.status, &a.data()["followedByMe"]),
            (200, &json!(true)),
            "[{l}] {a}"
        );
        // Follow lists show accounts social has heard of (from the users
        // subgraph's events): wait for bob's registration to arrive there.
        let mut followers = get(&sys, &format!("/api/v1/users/{ann_id}/followers"), None).await;
        for _ in 0..100 {
            if !followers.data()[0].is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            followers = get(&sys, &format!("/api/v1/users/{ann_id}/followers"), None).await;
        }
        assert_eq!(followers.status, 200, "[{l}] {followers}");
        assert_eq!(followers.data()[0]["user"]["id"], bob_id.as_str());
        assert_eq!(
            followers.body["pagination"],
            json!({"page": 1, "limit": 20, "total": null, "pages": null})
        );
        let following = get(&sys, &format!("/api/v1/users/{bob_id}/following"), None).await;
        assert_eq!(
            following.data()[0]["user"]["id"],
            ann_id.as_str(),
            "[{l}] {following}"
        );

        // Posts, the feed, comments and likes.
        let a = call(
            &sys,
            "POST",
            "/api/v1/posts",
            None,
            Some(json!({"body": "hello"})),
        )
        .await;
        assert_eq!(a.status, 401);
        let post = call(
            &sys,
            "POST",
            "/api/v1/posts",
            Some(&ann),
            Some(json!({"body": "Alien holds up.", "titleId": alien})),
        )
        .await;
        assert_eq!(post.status, 201, "[{l}] {post}");
        let pid = post.data()["id"].as_str().unwrap().to_string();
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/posts/{pid}"),
            Some(&bob),
            Some(json!({"body": "mine now"})),
        )
        .await;
        assert_eq!(a.status, 403, "[{l}] {a}");
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/posts/{pid}"),
            Some(&ann),
            Some(json!({"body": "Alien still holds up."})),
        )
        .await;
        assert_eq!(a.data()["body"], "Alien still holds up.", "[{l}] {a}");
        let feed = get(&sys, "/api/v1/feed", Some(&bob)).await;
        assert!(ids(feed.data()).contains(&pid), "[{l}] {feed}");
        let mine = get(&sys, &format!("/api/v1/users/{ann_id}/posts?limit=1"), None).await;
        assert_eq!(ids(mine.data()), [pid.as_str()], "[{l}] {mine}");
        let like = call(
            &sys,
            "POST",
            &format!("/api/v1/posts/{pid}/like"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(
            (like.status, &like.data()["likeCount"]),
            (200, &json!(1)),
            "[{l}] {like}"
        );
        let comment = call(
            &sys,
            "POST",
            &format!("/api/v1/posts/{pid}/comments"),
            Some(&bob),
            Some(json!({"body": "Agreed."})),
        )
        .await;
        assert_eq!(comment.status, 201, "[{l}] {comment}");
        let cid = comment.data()["id"].as_str().unwrap().to_string();
        let reply = call(
            &sys,
            "POST",
            &format!("/api/v1/posts/{pid}/comments"),
            Some(&ann),
            Some(json!({"body": "Thanks!", "parentId": cid})),
        )
        .await;
        assert_eq!(reply.data()["depth"], 1, "[{l}] {reply}");
        let replies = get(&sys, &format!("/api/v1/comments/{cid}/replies"), None).await;
        assert_eq!(
            replies.data().as_array().unwrap().len(),
            1,
            "[{l}] {replies}"
        );
        let comments = get(&sys, &format!("/api/v1/posts/{pid}/comments"), None).await;
        assert_eq!(ids(comments.data()), [cid.as_str()], "[{l}] {comments}");
        let a = call(
            &sys,
            "POST",
            &format!("/api/v1/comments/{cid}/like"),
            Some(&ann),
            None,
        )
        .await;
        assert_eq!(a.data()["likeCount"], 1, "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/comments/{cid}/like"),
            Some(&ann),
            None,
        )
        .await;
        assert_eq!(a.data()["likeCount"], 0, "[{l}] {a}");
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/comments/{cid}"),
            Some(&bob),
            Some(json!({"body": "Agreed!"})),
        )
        .await;
        assert_eq!(a.data()["body"], "Agreed!", "[{l}] {a}");
        let shared = call(
            &sys,
            "POST",
            &format!("/api/v1/posts/{pid}/share"),
            Some(&bob),
            Some(json!({"comment": "Read this"})),
        )
        .await;
        assert_eq!(
            (shared.status, &shared.data()["isReshare"]),
            (201, &json!(true)),
            "[{l}] {shared}"
        );
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/comments/{cid}"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(a.data()["deleted"], true, "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/posts/{pid}/like"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(a.data()["likeCount"], 0, "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/posts/{pid}"),
            Some(&ann),
            None,
        )
        .await;
        assert_eq!(a.data(), &json!(true), "[{l}] {a}");
        assert_eq!(
            get(&sys, &format!("/api/v1/posts/{pid}"), None)
                .await
                .status,
            404
        );

        // Reviews and ratings.
        let review = call(&sys, "POST", "/api/v1/reviews", Some(&ann), Some(json!({"titleId": alien, "body": "In space no one can hear you scream.", "score": 9}))).await;
        assert_eq!(review.status, 201, "[{l}] {review}");
        let rid = review.data()["id"].as_str().unwrap().to_string();
        let again = call(
            &sys,
            "POST",
            "/api/v1/reviews",
            Some(&ann),
            Some(json!({"titleId": alien, "body": "Twice."})),
        )
        .await;
        assert_eq!(
            (again.status, again.code()),
            (409, "CONFLICT"),
            "[{l}] {again}"
        );
        let a = call(
            &sys,
            "POST",
            "/api/v1/reviews",
            Some(&ann),
            Some(json!({"titleId": alien, "body": "Out of range", "score": 11})),
        )
        .await;
        assert_eq!(a.status, 422, "[{l}] {a}");
        let reviews = get(
            &sys,
            &format!("/api/v1/movies/{alien}/reviews?sort=highest"),
            None,
        )
        .await;
        assert!(ids(reviews.data()).contains(&rid), "[{l}] {reviews}");
        let a = get(
            &sys,
            &format!("/api/v1/movies/{alien}/reviews?sort=best"),
            None,
        )
        .await;
        assert_eq!(a.status, 400, "[{l}] {a}");
        let a = call(
            &sys,
            "POST",
            &format!("/api/v1/reviews/{rid}/like"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(a.data()["likeCount"], 1, "[{l}] {a}");
        let a = call(
            &sys,
            "PATCH",
            &format!("/api/v1/reviews/{rid}"),
            Some(&ann),
            Some(json!({"containsSpoilers": true})),
        )
        .await;
        assert_eq!(a.data()["containsSpoilers"], true, "[{l}] {a}");
        assert_eq!(
            get(&sys, &format!("/api/v1/reviews/{rid}"), None)
                .await
                .data()["score"],
            9
        );
        let a = call(
            &sys,
            "PUT",
            &format!("/api/v1/titles/{alien}/rating"),
            Some(&bob),
            Some(json!({"score": 8})),
        )
        .await;
        assert_eq!(a.data()["score"], 8, "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/titles/{alien}/rating"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(a.data(), &json!(true), "[{l}] {a}");
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/reviews/{rid}"),
            Some(&ann),
            None,
        )
        .await;
        assert_eq!(a.data(), &json!(true), "[{l}] {a}");

        // The watchlist.
        let a = call(
            &sys,
            "POST",
            "/api/v1/watchlist",
            Some(&ann),
            Some(json!({"titleId": alien})),
        )
        .await;
        assert_eq!((a.status, a.data()), (201, &json!(true)), "[{l}] {a}");
        let list = get(&sys, "/api/v1/watchlist", Some(&ann)).await;
        assert_eq!(list.data()[0]["titleId"], alien.as_str(), "[{l}] {list}");
        // The entry names its title (content's, through social's `Title`).
        assert_eq!(
            list.data()[0]["title"],
            json!({"__typename": "Movie", "title": "Alien", "year": 1979}),
            "[{l}] {list}"
        );
        let theirs = get(&sys, &format!("/api/v1/users/{ann_id}/watchlist"), None).await;
        assert_eq!(
            theirs.data()[0]["titleId"],
            alien.as_str(),
            "[{l}] {theirs}"
        );
        assert_eq!(get(&sys, "/api/v1/watchlist", None).await.status, 401);
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/watchlist/{alien}"),
            Some(&ann),
            None,
        )
        .await;
        assert_eq!(a.data(), &json!(true), "[{l}] {a}");
        assert_eq!(
            get(&sys, "/api/v1/watchlist", Some(&ann)).await.data(),
            &json!([])
        );
        let a = call(
            &sys,
            "DELETE",
            &format!("/api/v1/users/{ann_id}/follow"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(a.data()["followedByMe"], false, "[{l}] {a}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn a_down_catalog_is_a_503_and_accounts_still_answer() {
    for mut sys in systems().await {
        let l = sys.label;
        let (token, _, _) = register(&sys, "gorman").await;
        sys.stop_process("content").await;
        let a = get(&sys, "/api/v1/movies", None).await;
        assert_eq!(
            (a.status, a.code()),
            (503, "SUBGRAPH_UNAVAILABLE"),
            "[{l}] {a}"
        );
        let a = get(&sys, "/api/v1/categories/drama", None).await;
        assert_eq!(a.status, 503, "[{l}] {a}");
        let a = get(&sys, "/api/v1/users/me", Some(&token)).await;
        assert_eq!(a.status, 200, "[{l}] {a}");
        sys.stop().await;
    }
}

/// Resolves a local `$ref`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    reference
        .strip_prefix("#/")?
        .split('/')
        .try_fold(doc, |at, key| at.get(key))
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r.to_string());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_validates() {
    let required = std::env::var("MARQUEE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    for sys in System::all(false).await {
        let l = sys.label;
        let r = sys
            .client()
            .get(sys.url("/api-docs/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
            "bearer"
        );
        // Every route the router serves is documented, with its parameters.
        for (path, method) in [
            ("/api/v1/auth/register", "post"),
            ("/api/v1/auth/login", "post"),
            ("/api/v1/auth/me", "get"),
            ("/api/v1/users/{id}/role", "patch"),
            ("/api/v1/movies", "get"),
            ("/api/v1/movies/{id}", "delete"),
            ("/api/v1/series/{id}/seasons/{number}/episodes", "get"),
            ("/api/v1/categories/{slug}/movies", "get"),
            ("/api/v1/posts/{id}/comments", "post"),
            ("/api/v1/watchlist", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "[{l}] {method} {path}"
            );
        }
        let movies = &doc["paths"]["/api/v1/movies"]["get"];
        let params: Vec<&str> = movies["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in [
            "page",
            "limit",
            "sort",
            "order",
            "genre",
            "category",
            "year",
            "minRating",
            "maxRating",
            "language",
            "q",
        ] {
            assert!(params.contains(&p), "[{l}] {p} in {params:?}");
        }
        let sorts = movies["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "sort")
            .unwrap();
        assert_eq!(
            sorts["schema"]["enum"],
            json!(["popularity", "rating", "release_date", "title", "trending"])
        );
        let item = &movies["responses"]["200"]["content"]["application/json"]["schema"]
            ["properties"]["data"]["items"];
        let item = if item.get("anyOf").is_some() {
            &item["anyOf"][0]
        } else {
            item
        };
        assert_eq!(
            item["properties"]["title"],
            json!({"type": "string"}),
            "[{l}] {item}"
        );
        assert_eq!(item["properties"]["genres"]["type"], "array");
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]
            ["application/json"];
        assert_eq!(
            login["schema"]["required"],
            json!(["password"]),
            "[{l}] {login}"
        );
        assert!(login["example"]["password"].is_string());
        assert_eq!(
            doc["paths"]["/api/v1/auth/me"]["get"]["security"],
            json!([{"bearerAuth": []}])
        );
        // Operation ids are unique and every reference resolves.
        let mut ids = std::collections::BTreeSet::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                assert!(
                    ids.insert(op["operationId"].as_str().unwrap().to_string()),
                    "[{l}] {}",
                    op["operationId"]
                );
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in &all {
            assert!(resolve(&doc, r).is_some(), "[{l}] {r} does not resolve");
        }

        // The OpenAPI 3.1 validator from PyPI, when installed (CI installs it).
        let file = sys.data_dir().join("openapi.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
        match std::process::Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&file)
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let stdout = String::from_utf8_lossy(&out.stdout);
                if stderr.contains("No module named") {
                    assert!(!required, "openapi-spec-validator is not installed (pip install openapi-spec-validator)");
                    eprintln!("skipping the PyPI validator: not installed");
                } else {
                    panic!("[{l}] the document does not validate:\n{stdout}\n{stderr}");
                }
            }
            Err(e) => {
                assert!(!required, "python3 cannot run: {e}");
                eprintln!("skipping the PyPI validator: {e}");
            }
        }

        // Swagger UI and its assets come from the router itself.
        let r = sys.client().get(sys.url("/api-docs")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        for asset in [
            "/api-docs/swagger-ui-bundle.js",
            "/api-docs/swagger-ui.css",
            "/api-docs/init.js",
        ] {
            assert!(page.contains(asset), "[{l}] {asset}");
            let r = sys.client().get(sys.url(asset)).send().await.unwrap();
            assert_eq!(r.status(), 200, "[{l}] {asset}");
            assert!(r.bytes().await.unwrap().len() > 20);
        }
        sys.stop().await;
    }
}
