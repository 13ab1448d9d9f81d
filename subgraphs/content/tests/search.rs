//! Search on every backend (SQLite with the in-process bus, PostgreSQL with
//! Redis and NATS; both on the tantivy engine): typo tolerance, prefix
//! suggestions, filters and facets equal to brute force over the catalog,
//! writes reaching the index through the catalog's own events, an index
//! rebuilt or reconciled at start. The Elasticsearch engine runs against
//! recorded request/response fixtures served by a local HTTP server.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use content::search::elastic::ElasticEngine;
use content::search::{doc_matches, words, Doc, Engine, SearchIndex};
use content::store::model::title;
use content::store::{Catalog, Filter, MovieSort, PageArgs, TitleInput, MOVIE, SERIES};
use kit::testing::TestBackend;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

async fn catalogs(seeded: bool) -> Vec<(TestBackend, Arc<Catalog>)> {
    let mut out = Vec::new();
    for b in TestBackend::all("content").await {
        let services = b.services_for(&content::spec()).await;
        let catalog = content::open(&services).await.expect("the catalog opens");
        if seeded {
            content::seed::seed(&catalog)
                .await
                .expect("the demo data loads");
        }
        out.push((b, catalog));
    }
    out
}

fn movies() -> Filter {
    Filter {
        kind: Some(MOVIE),
        ..Filter::default()
    }
}

async fn title_of(catalog: &Catalog, id: Uuid) -> title::Model {
    title::Entity::find_by_id(id)
        .one(&catalog.services.db)
        .await
        .unwrap()
        .unwrap()
}

/// Every hit of a search, walking the pages 100 at a time, with the total reported.
async fn search_all(catalog: &Catalog, query: &str, filter: &Filter) -> (Vec<Uuid>, usize) {
    let mut ids = Vec::new();
    loop {
        let r = catalog
            .search
            .search(query, filter, ids.len(), 100)
            .await
            .expect("a search page");
        let n = r.hits.len();
        ids.extend(r.hits.into_iter().map(|h| h.id));
        if n < 100 || ids.len() >= r.total {
            return (ids, r.total);
        }
    }
}

/// Every title `movies(filter)` lists.
async fn listed(catalog: &Catalog, filter: &Filter) -> HashSet<Uuid> {
    let mut out = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = catalog
            .movies(
                filter,
                MovieSort::PopularityDesc,
                PageArgs {
                    first: Some(100),
                    after: cursor.as_deref(),
                    ..PageArgs::default()
                },
            )
            .await
            .expect("a page");
        cursor = page.items.last().map(|(c, _)| c.clone());
        out.extend(page.items.iter().map(|(_, m)| m.id));
        if !page.has_next_page {
            return out;
        }
    }
}

/// Waits (at most a minute, checking every 50 ms) for `check` to hold.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within a minute");
}

fn input(title: &str, date: &str) -> TitleInput {
    TitleInput {
        title: Some(title.into()),
        release_date: Some(date.parse().unwrap()),
        runtime: Some(100),
        genres: Some(vec!["drama".into()]),
        ..TitleInput::default()
    }
}

#[tokio::test]
async fn typos_find_the_godfather_with_highlights_facets_and_suggestions() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let r = catalog
            .search
            .search("godfathr", &movies(), 0, 10)
            .await
            .unwrap();
        let top = title_of(&catalog, r.hits[0].id).await;
        assert_eq!(top.title, "The Godfather", "[{l}]");
        assert_eq!(r.hits[0].highlight, "The <em>Godfather</em>", "[{l}]");
        assert!(r.genres.iter().any(|(g, _)| g == "crime"), "[{l}]");
        assert!(r.decades.iter().any(|(d, _)| *d == 1970), "[{l}]");
        // A swapped pair of letters is one typo.
        let swapped = catalog
            .search
            .search("godfahter", &movies(), 0, 10)
            .await
            .unwrap();
        assert_eq!(swapped.hits[0].id, top.id, "[{l}]");
        // Short words get no typos: `zzz` finds nothing.
        let none = catalog
            .search
            .search("zzz", &Filter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(none.total, 0, "[{l}]");

        // Suggestions: a word prefix, then a whole-title prefix, most popular first.
        let s = catalog.search.suggest("godf", 5).await.unwrap();
        assert!(s.contains(&top.id), "[{l}] {s:?}");
        let s = catalog.search.suggest("The God", 10).await.unwrap();
        assert!(s.contains(&top.id), "[{l}]");
        let mut popularity = Vec::new();
        for id in &s {
            let t = title_of(&catalog, *id).await;
            assert!(
                words(&t.title).join(" ").starts_with("the god"),
                "[{l}] {} does not start with `the god`",
                t.title
            );
            popularity.push(t.popularity);
        }
        assert!(
            popularity.windows(2).all(|w| w[0] >= w[1]),
            "[{l}] {popularity:?}"
        );
        assert!(catalog.search.suggest("  ", 5).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn filters_and_facets_equal_brute_force_over_the_catalog() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let docs: BTreeMap<Uuid, Doc> = Catalog::docs_of(&catalog.services.db, None)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        let date = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        let filters: Vec<(&str, Filter)> = vec![
            ("everything", Filter::default()),
            ("movies", movies()),
            (
                "series",
                Filter {
                    kind: Some(SERIES),
                    ..Filter::default()
                },
            ),
            (
                "any genre",
                Filter {
                    genres: vec!["crime".into(), "Comedy ".into()],
                    ..movies()
                },
            ),
            (
                "all genres",
                Filter {
                    genres: vec!["crime".into(), "drama".into()],
                    all_genres: true,
                    ..movies()
                },
            ),
            (
                "categories",
                Filter {
                    categories: vec!["science-fiction".into()],
                    ..Filter::default()
                },
            ),
            (
                "year",
                Filter {
                    year: Some(1994),
                    ..movies()
                },
            ),
            (
                "release range",
                Filter {
                    released_from: date("1970-01-01"),
                    released_to: date("1989-12-31"),
                    ..movies()
                },
            ),
            (
                "rating range and votes",
                Filter {
                    rating_min: Some(7.5),
                    rating_max: Some(8.5),
                    min_votes: Some(1000),
                    ..movies()
                },
            ),
            (
                "runtime",
                Filter {
                    runtime_min: Some(90),
                    runtime_max: Some(120),
                    ..movies()
                },
            ),
            (
                "language",
                Filter {
                    language: Some("FR".into()),
                    ..Filter::default()
                },
            ),
            (
                "status",
                Filter {
                    status: Some("ended".into()),
                    ..Filter::default()
                },
            ),
        ];
        let mut nonempty = 0;
        for query in ["the", "man", "star wa", "lve"] {
            let terms = words(query);
            for (name, filter) in &filters {
                let allowed = listed(&catalog, filter).await;
                let expected: HashSet<Uuid> = allowed
                    .iter()
                    .filter(|id| docs.get(id).is_some_and(|d| doc_matches(d, &terms)))
                    .copied()
                    .collect();
                let (found, total) = search_all(&catalog, query, filter).await;
                let found_set: HashSet<Uuid> = found.iter().copied().collect();
                assert_eq!(
                    found.len(),
                    found_set.len(),
                    "[{l}] {query}/{name}: duplicates"
                );
                assert_eq!(found_set, expected, "[{l}] {query}/{name}");
                assert_eq!(total, expected.len(), "[{l}] {query}/{name}: total");
                nonempty += usize::from(!expected.is_empty());
                // Facets count the matches, not the page.
                let r = catalog.search.search(query, filter, 0, 5).await.unwrap();
                let mut genres: BTreeMap<String, u64> = BTreeMap::new();
                let mut decades: BTreeMap<i32, u64> = BTreeMap::new();
                for d in expected.iter().map(|id| &docs[id]) {
                    for g in &d.genres {
                        *genres.entry(g.clone()).or_default() += 1;
                    }
                    if let Some(y) = d.year {
                        *decades.entry(y / 10 * 10).or_default() += 1;
                    }
                }
                let got_genres: BTreeMap<String, u64> = r.genres.iter().cloned().collect();
                let got_decades: BTreeMap<i32, u64> = r.decades.iter().cloned().collect();
                assert_eq!(got_genres, genres, "[{l}] {query}/{name}: genre facets");
                assert_eq!(got_decades, decades, "[{l}] {query}/{name}: decade facets");
                let counts: Vec<u64> = r.genres.iter().map(|(_, n)| *n).collect();
                assert!(counts.windows(2).all(|w| w[0] >= w[1]), "[{l}] most first");
            }
        }
        assert!(
            nonempty > 20,
            "[{l}] the cases must find something: {nonempty}"
        );
        // Bad filters fail like `movies` does, naming the field.
        let bad = Filter {
            rating_min: Some(11.0),
            ..Filter::default()
        };
        let e = catalog
            .search
            .search("the", &bad, 0, 10)
            .await
            .err()
            .unwrap();
        assert_eq!(e.field.as_deref(), Some("filter.ratingMin"), "[{l}]");
    }
}

#[tokio::test]
async fn graphql_search_pages_are_bounded_and_keep_their_shape() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let schema = content::graphql::build(catalog.clone());
        let run = |q: &str| {
            let (schema, catalog) = (schema.clone(), catalog.clone());
            let q = q.to_string();
            async move {
                schema
                    .execute(content::graphql::with_loaders(&catalog, q.as_str().into()))
                    .await
            }
        };
        let page = r#"query($after: String) { search(query: "the", kinds: [MOVIE], filter: { genres: ["drama"] }, first: 7, after: $after) {
            totalCount hits { title { id title } score highlight }
            facets { genres { value count } decades { value count } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"#;
        let mut seen = HashSet::new();
        let mut after = Value::Null;
        let mut total = 0;
        for _ in 0..200 {
            let r = schema
                .execute(
                    content::graphql::with_loaders(&catalog, page.into()).variables(
                        async_graphql::Variables::from_json(json!({ "after": after })),
                    ),
                )
                .await;
            assert!(r.errors.is_empty(), "[{l}] {:?}", r.errors);
            let d = r.data.into_json().unwrap();
            let s = &d["search"];
            total = s["totalCount"].as_u64().unwrap();
            for h in s["hits"].as_array().unwrap() {
                assert!(seen.insert(h["title"]["id"].as_str().unwrap().to_string()));
                assert!(
                    h["highlight"].as_str().unwrap().contains("<em>"),
                    "[{l}] {h}"
                );
            }
            assert!(s["facets"]["genres"][0]["value"].is_string(), "[{l}]");
            if !s["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = s["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len() as u64, total, "[{l}] paging sees every hit once");
        assert!(total > 7, "[{l}] more than one page: {total}");
        for bad in [
            r#"{ search(query: "the", first: 101) { totalCount } }"#,
            r#"{ search(query: "the", after: "9990") { totalCount } }"#,
            r#"{ suggest(prefix: "the", first: 0) { __typename } }"#,
        ] {
            let r = run(bad).await;
            let code = r.errors[0].extensions.as_ref().and_then(|e| e.get("code"));
            assert_eq!(
                code.map(|c| c.to_string()),
                Some("\"BAD_USER_INPUT\"".into()),
                "[{l}] {bad}"
            );
        }
        let r = run(
            r#"{ suggest(prefix: "godf", first: 3) { __typename ... on Movie { id title } } }"#,
        )
        .await;
        assert!(r.errors.is_empty(), "[{l}] {:?}", r.errors);
        let d = r.data.into_json().unwrap();
        assert_eq!(d["suggest"][0]["title"], "The Godfather", "[{l}] {d}");

        // A title deleted a moment ago (its event not yet indexed) is not shown.
        let id: Uuid = d["suggest"][0]["id"].as_str().unwrap().parse().unwrap();
        title::Entity::update_many()
            .col_expr(title::Column::DeletedAt, Expr::value(chrono::Utc::now()))
            .filter(title::Column::Id.eq(id))
            .exec(&catalog.services.db)
            .await
            .unwrap();
        let r = run(r#"{ search(query: "godfather") { hits { title { title } } }
                         suggest(prefix: "godf") { ... on Movie { title } } }"#)
        .await;
        let d = r.data.into_json().unwrap();
        assert!(
            d["search"]["hits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["title"]["title"] != "The Godfather"),
            "[{l}] {d}"
        );
        assert!(
            d["suggest"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["title"] != "The Godfather"),
            "[{l}] {d}"
        );
    }
}

#[tokio::test]
async fn writes_reach_the_index_through_the_catalogs_events() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let services = catalog.services.clone();
        services.spawn_relay();
        content::spawn_consumers(&catalog);
        let hits = |q: &'static str, f: Filter| {
            let catalog = catalog.clone();
            async move {
                catalog
                    .search
                    .search(q, &f, 0, 100)
                    .await
                    .unwrap()
                    .hits
                    .into_iter()
                    .map(|h| h.id)
                    .collect::<Vec<_>>()
            }
        };
        let m = catalog
            .save_movie(None, input("Quixotic Zebra Parade", "2020-02-02"), "test")
            .await
            .unwrap();
        eventually("the new title is indexed", || async {
            hits("zebra parde", movies()).await.first() == Some(&m.id)
        })
        .await;
        catalog
            .save_movie(
                Some(m.id),
                TitleInput {
                    title: Some("Quixotic Llama Parade".into()),
                    genres: Some(vec!["comedy".into()]),
                    ..TitleInput::default()
                },
                "test",
            )
            .await
            .unwrap();
        let comedy = Filter {
            genres: vec!["comedy".into()],
            ..movies()
        };
        eventually("the update is indexed", || async {
            hits("llama", comedy.clone()).await.contains(&m.id)
        })
        .await;
        assert!(!hits("zebra", movies()).await.contains(&m.id), "[{l}]");
        // Ratings from the social subgraph reach the rating filter too.
        let rated = Filter {
            min_votes: Some(1),
            ..movies()
        };
        assert!(!hits("llama", rated.clone()).await.contains(&m.id), "[{l}]");
        let rating = services.event(
            "rated",
            None,
            json!({ "titleId": m.id, "ratingSum": 9, "ratingCount": 1, "version": 1 }),
        );
        let rating = kit::events::Event {
            event_type: "social.rating_changed".into(),
            subject: format!(
                "{}.social.rating_changed",
                services.config.bus.subject_prefix
            ),
            ..rating
        };
        services.bus.publish(&rating).await.unwrap();
        eventually("the rating is indexed", || async {
            hits("llama", rated.clone()).await.contains(&m.id)
        })
        .await;
        catalog
            .set_deleted(MOVIE, m.id, true, "test")
            .await
            .unwrap();
        eventually("the deletion is indexed", || async {
            !hits("llama", movies()).await.contains(&m.id)
        })
        .await;
        // A redelivered event changes nothing: it was processed once already,
        // and handling a title event again only re-reads the row.
        let again = services.event(
            "title_updated",
            None,
            json!({ "titleId": m.id, "kind": MOVIE }),
        );
        let feed = content::SearchFeed(catalog.clone());
        for expected in [true, false] {
            let handled =
                kit::events::process_once(&services.db, content::SEARCH_CONSUMER, &again, &feed)
                    .await
                    .unwrap();
            assert_eq!(handled, expected, "[{l}]");
        }
        assert!(!hits("llama", movies()).await.contains(&m.id), "[{l}]");
        services.shutdown.cancel();
        services.tasks.close();
        services.tasks.wait().await;
    }
}

#[tokio::test]
async fn a_deleted_index_is_rebuilt_and_a_stale_one_reconciled_at_start() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let services = catalog.services.clone();
        let godfather = catalog
            .search
            .search("godfather", &movies(), 0, 1)
            .await
            .unwrap()
            .hits[0]
            .id;
        // A change the index never heard of (as if its event were lost in a crash).
        title::Entity::update_many()
            .col_expr(title::Column::Title, Expr::value("The Godmother"))
            .filter(title::Column::Id.eq(godfather))
            .exec(&services.db)
            .await
            .unwrap();
        drop(catalog);
        let catalog = content::open(&services).await.unwrap();
        let r = catalog
            .search
            .search("godmother", &movies(), 0, 5)
            .await
            .unwrap();
        assert_eq!(
            r.hits.first().map(|h| h.id),
            Some(godfather),
            "[{l}] reconciled"
        );
        drop(catalog);

        let dir = b.config.data_dir.join("search").join("content");
        assert!(
            dir.join("v1").join("meta.json").exists(),
            "[{l}] the index is on disk"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // An index of an earlier schema version is dropped, not read.
        let old = dir.join("v0");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("meta.json"), "{}").unwrap();
        let catalog = content::open(&services).await.unwrap();
        assert!(
            !old.exists(),
            "[{l}] the old version's directory is removed"
        );
        let r = catalog
            .search
            .search("godmothr", &movies(), 0, 5)
            .await
            .unwrap();
        assert_eq!(
            r.hits.first().map(|h| h.id),
            Some(godfather),
            "[{l}] rebuilt"
        );
        assert!(r.total >= 1);
        let (all, _) = search_all(&catalog, "the", &Filter::default()).await;
        assert!(
            all.len() > 100,
            "[{l}] the whole catalog is back: {}",
            all.len()
        );
    }
}

/// One recorded exchange with Elasticsearch.
#[derive(serde::Deserialize, Clone)]
struct Exchange {
    name: String,
    method: String,
    /// `*` matches any run of characters (index names carry a timestamp).
    path: String,
    #[serde(default)]
    request: Option<Value>,
    /// NDJSON request bodies, one JSON value per line.
    #[serde(default)]
    ndjson: Option<Vec<Value>>,
    status: u16,
    response: Value,
}

/// Whether `actual` is `expected`, where the string `"*"` in `expected`
/// matches any value and a `*` inside a string any run of characters.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == "*" => true,
        (Value::String(e), Value::String(a)) if e.contains('*') => path_matches(e, a),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((head, tail)) => {
            path.len() >= head.len() + tail.len() && path.starts_with(head) && path.ends_with(tail)
        }
    }
}

#[derive(Clone, Default)]
struct Fixtures {
    queue: Arc<Mutex<VecDeque<Exchange>>>,
    failures: Arc<Mutex<Vec<String>>>,
}

async fn answer(
    axum::extract::State(f): axum::extract::State<Fixtures>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let next = f.queue.lock().unwrap().pop_front();
    let fail = |why: String| {
        f.failures.lock().unwrap().push(why);
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "error": { "reason": "fixture mismatch" } })),
        )
    };
    let Some(x) = next else {
        return fail(format!("unexpected {method} {path}"));
    };
    if x.method != method.as_str() || !path_matches(&x.path, &path) {
        return fail(format!(
            "{}: expected {} {}, got {method} {path}",
            x.name, x.method, x.path
        ));
    }
    let text = String::from_utf8_lossy(&body).to_string();
    if let Some(expected) = &x.request {
        let actual: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !matches(expected, &actual) {
            return fail(format!(
                "{}: request body\n{actual:#}\ndiffers from\n{expected:#}",
                x.name
            ));
        }
    }
    if let Some(lines) = &x.ndjson {
        let actual: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect();
        if !text.ends_with('\n')
            || !matches(&Value::Array(lines.clone()), &Value::Array(actual.clone()))
        {
            return fail(format!("{}: bulk body {actual:#?} differs", x.name));
        }
    }
    (
        axum::http::StatusCode::from_u16(x.status).unwrap(),
        axum::Json(x.response),
    )
}

fn fixture_docs() -> Vec<Doc> {
    let doc = |n: u128, title: &str, year: i32, genres: &[&str], rating: f64, pop: f64| Doc {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
        kind: MOVIE.into(),
        title: title.into(),
        original_title: None,
        genres: genres.iter().map(|g| g.to_string()).collect(),
        categories: genres.iter().map(|g| g.to_string()).collect(),
        year: Some(year),
        release_date: NaiveDate::from_ymd_opt(year, 3, 24),
        rating,
        votes: 2000,
        runtime: Some(175),
        language: "en".into(),
        status: "released".into(),
        popularity: pop,
    };
    vec![
        doc(1, "The Godfather", 1972, &["crime", "drama"], 8.7, 90.0),
        doc(
            2,
            "The Godfather Part II",
            1974,
            &["crime", "drama"],
            8.6,
            80.0,
        ),
        doc(3, "Goodfellas", 1990, &["crime"], 8.5, 70.0),
    ]
}

#[tokio::test]
async fn the_elasticsearch_engine_speaks_the_recorded_protocol() {
    let exchanges: Vec<Exchange> =
        serde_json::from_str(include_str!("fixtures/elasticsearch.json")).unwrap();
    let n = exchanges.len();
    let fixtures = Fixtures::default();
    fixtures.queue.lock().unwrap().extend(exchanges);
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(fixtures.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url: url::Url = format!("http://{addr}").parse().unwrap();
    let engine = Arc::new(ElasticEngine::new(url, "marquee-content").unwrap());
    let check = || {
        let failures = fixtures.failures.lock().unwrap().clone();
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    };

    let docs = fixture_docs();
    assert!(!engine.is_built().await.unwrap(), "no alias yet");
    check();
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    let built = engine
        .rebuild(docs.clone(), &move |n| p.lock().unwrap().push(n))
        .await;
    check();
    built.unwrap();
    assert_eq!(*progress.lock().unwrap(), [3, 3]);
    assert!(engine.is_built().await.unwrap());
    check();
    engine.ping().await.unwrap();
    check();

    let index = SearchIndex::with_engine(engine.clone());
    let filter = Filter {
        genres: vec!["crime".into()],
        rating_min: Some(8.0),
        ..movies()
    };
    let r = index.search("godfathr", &filter, 0, 10).await;
    check();
    let r = r.unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(r.hits[0].id, docs[0].id);
    assert_eq!(r.hits[0].highlight, "The <em>Godfather</em>");
    assert_eq!(r.hits[1].highlight, "The <em>Godfather</em> Part II");
    assert_eq!(
        r.genres,
        [("crime".to_string(), 2), ("drama".to_string(), 2)]
    );
    assert_eq!(r.decades, [(1970, 2)]);

    let s = index.suggest("The God", 5).await;
    check();
    let s = s.unwrap();
    assert_eq!(s, [docs[0].id, docs[1].id]);

    let mut renamed = docs[2].clone();
    renamed.title = "Goodfellas (Director's Cut)".into();
    let applied = engine.apply(vec![renamed], vec![docs[1].id]).await;
    check();
    applied.unwrap();
    let stamps = engine.stamps().await;
    check();
    let stamps = stamps.unwrap();
    assert_eq!(stamps.len(), 2);
    assert_eq!(stamps[&docs[0].id], 1234);

    let e = engine
        .apply(vec![docs[1].clone()], vec![])
        .await
        .unwrap_err();
    check();
    assert!(e.to_string().contains("mapper_parsing_exception"), "{e}");

    // A second rebuild swaps the alias and drops the index it replaces.
    let rebuilt = engine.rebuild(docs.clone(), &|_| {}).await;
    check();
    rebuilt.unwrap();
    assert!(
        fixtures.queue.lock().unwrap().is_empty(),
        "all {n} exchanges used"
    );
}

#[tokio::test]
async fn readiness_reports_the_search_engine() {
    for b in TestBackend::all("content").await {
        let services = b.services_for(&content::spec()).await;
        let app = (content::spec().start)(services.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        let report: Value = reqwest::get(format!("http://{addr}/health/ready"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let search = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "search")
            .cloned();
        assert_eq!(
            search.map(|c| c["status"].clone()),
            Some(json!("ok")),
            "[{}] {report}",
            b.label
        );
        services.shutdown.cancel();
    }
}
