//! The catalog on SQLite with the in-process cache, and on PostgreSQL with
//! Redis and NATS: filters, sorts, keyset paging both ways while titles are
//! inserted, featured windows, trending, cache invalidation and the
//! number of SQL statements a nested 50-title query costs.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use content::store::model::title;
use content::store::{Catalog, Filter, MovieSort, PageArgs, TitleInput, MOVIE};
use kit::testing::TestBackend;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Movies only (the catalog also holds series).
fn movies() -> Filter {
    Filter {
        kind: Some(MOVIE),
        ..Filter::default()
    }
}

/// Each backend's catalog, with the demo data when `seeded`.
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

fn first(n: i32, after: Option<&str>) -> PageArgs<'_> {
    PageArgs {
        first: Some(n),
        after,
        ..PageArgs::default()
    }
}

fn last(n: i32, before: Option<&str>) -> PageArgs<'_> {
    PageArgs {
        last: Some(n),
        before,
        ..PageArgs::default()
    }
}

/// Every movie of the list, walking forward 100 at a time.
async fn walk(catalog: &Catalog, filter: &Filter, sort: MovieSort) -> (Vec<title::Model>, u64) {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = catalog
            .movies(filter, sort, first(100, cursor.as_deref()))
            .await
            .expect("a page");
        let total = page.total_count;
        let more = page.has_next_page;
        cursor = page.items.last().map(|(c, _)| c.clone());
        all.extend(page.items.into_iter().map(|(_, m)| m));
        if !more {
            return (all, total);
        }
    }
}

/// Whether a movie belongs in a filter's answer.
type Check<'a> = Box<dyn Fn(&title::Model) -> bool + 'a>;

fn input(title: &str, date: &str) -> TitleInput {
    TitleInput {
        title: Some(title.into()),
        release_date: Some(date.parse().unwrap()),
        runtime: Some(100),
        ..TitleInput::default()
    }
}

#[tokio::test]
async fn every_sort_orders_the_whole_list_without_gaps() {
    for (b, catalog) in catalogs(true).await {
        let everything = title::Entity::find()
            .filter(title::Column::Kind.eq(MOVIE))
            .all(&catalog.services.db)
            .await
            .unwrap();
        for sort in [
            MovieSort::PopularityDesc,
            MovieSort::RatingDesc,
            MovieSort::ReleaseDateDesc,
            MovieSort::ReleaseDateAsc,
            MovieSort::TitleAsc,
            MovieSort::TrendingDesc,
        ] {
            let (all, total) = walk(&catalog, &movies(), sort).await;
            assert_eq!(
                total as usize,
                everything.len(),
                "[{}] {sort:?} total",
                b.label
            );
            assert_eq!(all.len(), everything.len(), "[{}] {sort:?} walked", b.label);
            let ids: HashSet<Uuid> = all.iter().map(|m| m.id).collect();
            assert_eq!(
                ids.len(),
                all.len(),
                "[{}] {sort:?} has duplicates",
                b.label
            );
            for w in all.windows(2) {
                let ok = match sort {
                    MovieSort::PopularityDesc => w[0].popularity >= w[1].popularity,
                    MovieSort::RatingDesc => w[0].rating_average >= w[1].rating_average,
                    MovieSort::ReleaseDateDesc => w[0].release_date >= w[1].release_date,
                    MovieSort::ReleaseDateAsc => w[0].release_date <= w[1].release_date,
                    MovieSort::TitleAsc => w[0].title_key <= w[1].title_key,
                    MovieSort::TrendingDesc => w[0].trend_week >= w[1].trend_week,
                };
                assert!(
                    ok,
                    "[{}] {sort:?}: {} before {}",
                    b.label, w[0].title, w[1].title
                );
            }
        }
    }
}

#[tokio::test]
async fn every_filter_keeps_exactly_the_matching_titles() {
    for (b, catalog) in catalogs(true).await {
        let everything = title::Entity::find()
            .filter(title::Column::Kind.eq(MOVIE))
            .all(&catalog.services.db)
            .await
            .unwrap();
        let ids: Vec<Uuid> = everything.iter().map(|m| m.id).collect();
        let genres = catalog.genres_of(&ids).await.unwrap();
        let has = |m: &title::Model, g: &str| {
            genres
                .get(&m.id)
                .is_some_and(|c| c.iter().any(|c| c.slug == g))
        };
        let date = |m: &title::Model| m.release_date.clone().unwrap_or_default();
        let cases: Vec<(&str, Filter, Check<'_>)> = vec![
            (
                "genres any",
                Filter {
                    genres: vec!["crime".into(), "western".into()],
                    ..movies()
                },
                Box::new(move |m| has(m, "crime") || has(m, "western")),
            ),
            (
                "genres all",
                Filter {
                    genres: vec!["crime".into(), "drama".into()],
                    all_genres: true,
                    ..movies()
                },
                Box::new(move |m| has(m, "crime") && has(m, "drama")),
            ),
            (
                "categories",
                Filter {
                    categories: vec!["science-fiction".into()],
                    ..movies()
                },
                Box::new(move |m| has(m, "science-fiction")),
            ),
            (
                "year",
                Filter {
                    year: Some(1994),
                    ..movies()
                },
                Box::new(|m| m.year == Some(1994)),
            ),
            (
                "release range",
                Filter {
                    released_from: Some(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()),
                    released_to: Some(NaiveDate::from_ymd_opt(1979, 12, 31).unwrap()),
                    ..movies()
                },
                Box::new(move |m| {
                    ("1970-01-01".to_string()..="1979-12-31".to_string()).contains(&date(m))
                }),
            ),
            (
                "rating range",
                Filter {
                    rating_min: Some(8.0),
                    rating_max: Some(8.5),
                    ..movies()
                },
                Box::new(|m| (8.0..=8.5).contains(&m.rating_average)),
            ),
            (
                "minimum votes",
                Filter {
                    min_votes: Some(3_000),
                    ..movies()
                },
                Box::new(|m| m.rating_count >= 3_000),
            ),
            (
                "runtime range",
                Filter {
                    runtime_min: Some(90),
                    runtime_max: Some(100),
                    ..movies()
                },
                Box::new(|m| m.runtime.is_some_and(|r| (90..=100).contains(&r))),
            ),
            (
                "language",
                Filter {
                    language: Some("IT".into()),
                    ..movies()
                },
                Box::new(|m| m.language == "it"),
            ),
        ];
        for (name, filter, check) in cases {
            let expected: HashSet<Uuid> = everything
                .iter()
                .filter(|m| check(m))
                .map(|m| m.id)
                .collect();
            assert!(
                !expected.is_empty(),
                "[{}] {name}: the demo data has matches",
                b.label
            );
            assert!(
                expected.len() < everything.len(),
                "[{}] {name}: the filter narrows",
                b.label
            );
            let (got, total) = walk(&catalog, &filter, MovieSort::RatingDesc).await;
            let got: HashSet<Uuid> = got.iter().map(|m| m.id).collect();
            assert_eq!(got, expected, "[{}] {name}", b.label);
            assert_eq!(
                total as usize,
                expected.len(),
                "[{}] {name} totalCount",
                b.label
            );
        }
        // Every demo film is released.
        for (status, expected) in [("Released", everything.len() as u64), ("planned", 0)] {
            let f = Filter {
                status: Some(status.into()),
                ..movies()
            };
            let page = catalog
                .movies(&f, MovieSort::TitleAsc, first(1, None))
                .await
                .unwrap();
            assert_eq!(page.total_count, expected, "[{}] status {status}", b.label);
        }
        let bad = Filter {
            rating_min: Some(11.0),
            ..movies()
        };
        let e = catalog
            .movies(&bad, MovieSort::RatingDesc, first(5, None))
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "BAD_USER_INPUT");
        for n in [0, 101, -3] {
            let e = catalog
                .movies(&movies(), MovieSort::RatingDesc, first(n, None))
                .await
                .unwrap_err();
            assert_eq!(e.code.as_str(), "BAD_USER_INPUT", "first: {n}");
        }
        let e = catalog
            .movies(
                &movies(),
                MovieSort::RatingDesc,
                first(5, Some("bm90IGEgY3Vyc29y")),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "BAD_USER_INPUT");
        assert!(!e.message.contains("SELECT"), "no SQL in messages");
    }
}

#[tokio::test]
async fn paging_both_ways_sees_every_title_once_while_titles_are_inserted() {
    for (b, catalog) in catalogs(true).await {
        let everything: HashSet<Uuid> = title::Entity::find()
            .filter(title::Column::Kind.eq(MOVIE))
            .all(&catalog.services.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        let filter = movies();
        let sort = MovieSort::TitleAsc;
        // Forward, inserting titles before and after the reading position.
        let (mut seen, mut cursor, mut n) = (Vec::new(), None::<String>, 0);
        loop {
            let page = catalog
                .movies(&filter, sort, first(50, cursor.as_deref()))
                .await
                .unwrap();
            assert_eq!(page.has_previous_page, cursor.is_some());
            cursor = page.items.last().map(|(c, _)| c.clone());
            seen.extend(page.items.iter().map(|(_, m)| m.id));
            n += 1;
            catalog
                .save_movie(
                    None,
                    input(&format!("aaa inserted {n}"), "2001-01-01"),
                    "test",
                )
                .await
                .unwrap();
            if !page.has_next_page {
                break;
            }
        }
        let unique: HashSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "[{}] forward: duplicates",
            b.label
        );
        assert!(everything.is_subset(&unique), "[{}] forward: gaps", b.label);

        // Backward from the end, inserting at the far end as we go.
        let (mut back, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let page = catalog
                .movies(&filter, sort, last(50, cursor.as_deref()))
                .await
                .unwrap();
            assert_eq!(page.has_next_page, cursor.is_some());
            cursor = page.items.first().map(|(c, _)| c.clone());
            let ids: Vec<Uuid> = page.items.iter().map(|(_, m)| m.id).collect();
            back.splice(0..0, ids);
            pages += 1;
            catalog
                .save_movie(
                    None,
                    input(&format!("zzz inserted {pages}"), "2001-01-01"),
                    "test",
                )
                .await
                .unwrap();
            if !page.has_previous_page {
                break;
            }
        }
        let unique: HashSet<Uuid> = back.iter().copied().collect();
        assert_eq!(
            unique.len(),
            back.len(),
            "[{}] backward: duplicates",
            b.label
        );
        assert!(
            everything.is_subset(&unique),
            "[{}] backward: gaps",
            b.label
        );
        // Both walks agree on the order of the titles they share.
        let forward: Vec<Uuid> = seen
            .iter()
            .filter(|id| everything.contains(id))
            .copied()
            .collect();
        let backward: Vec<Uuid> = back
            .iter()
            .filter(|id| everything.contains(id))
            .copied()
            .collect();
        assert_eq!(forward, backward, "[{}] one order both ways", b.label);
        let e = catalog
            .movies(
                &filter,
                sort,
                PageArgs {
                    first: Some(5),
                    last: Some(5),
                    ..PageArgs::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn featured_windows_open_and_close_by_rank() {
    for (b, catalog) in catalogs(false).await {
        let mut ids = Vec::new();
        for t in ["Past", "Future", "Second", "First", "Deleted"] {
            ids.push(
                catalog
                    .save_movie(None, input(t, "1999-05-05"), "test")
                    .await
                    .unwrap()
                    .id,
            );
        }
        let now = Utc::now();
        let day = Duration::days(1);
        catalog
            .set_featured(ids[0], now - day * 3, now - day, 1, "test")
            .await
            .unwrap();
        catalog
            .set_featured(ids[1], now + day, now + day * 3, 1, "test")
            .await
            .unwrap();
        catalog
            .set_featured(ids[2], now - day, now + day, 2, "test")
            .await
            .unwrap();
        catalog
            .set_featured(ids[3], now - day, now + day, 1, "test")
            .await
            .unwrap();
        let slot = catalog
            .set_featured(ids[4], now - day, now + day, 3, "test")
            .await
            .unwrap();
        let titles = |v: Vec<title::Model>| v.into_iter().map(|m| m.title).collect::<Vec<_>>();
        assert_eq!(
            titles(catalog.featured_now(None, 10).await.unwrap()),
            ["First", "Second", "Deleted"],
            "[{}]",
            b.label
        );
        // Writes invalidate the cached answer at once.
        catalog
            .set_deleted(MOVIE, ids[4], true, "test")
            .await
            .unwrap();
        assert_eq!(
            titles(catalog.featured_now(None, 10).await.unwrap()),
            ["First", "Second"],
            "[{}]",
            b.label
        );
        catalog
            .set_deleted(MOVIE, ids[4], false, "test")
            .await
            .unwrap();
        catalog.remove_featured(slot.id, "test").await.unwrap();
        assert_eq!(
            titles(catalog.featured_now(None, 1).await.unwrap()),
            ["First"],
            "[{}]",
            b.label
        );
        let e = catalog
            .set_featured(ids[0], now, now - day, 1, "test")
            .await
            .unwrap_err();
        assert_eq!(
            e.code.as_str(),
            "BAD_USER_INPUT",
            "[{}] a window ending before it starts",
            b.label
        );
    }
}

#[tokio::test]
async fn trending_follows_a_burst_of_views_counted_once_per_viewer_and_hour() {
    for (b, catalog) in catalogs(false).await {
        let mut ids = Vec::new();
        for t in ["Once", "Often", "Twice"] {
            ids.push(
                catalog
                    .save_movie(None, input(t, "2010-10-10"), "test")
                    .await
                    .unwrap()
                    .id,
            );
        }
        let titles = |v: Vec<title::Model>| v.into_iter().map(|m| m.title).collect::<Vec<_>>();
        let _ = catalog.trending(false, None, 3).await.unwrap(); // warm the cache
        for (movie, viewers) in [(ids[0], 1), (ids[1], 6), (ids[2], 2)] {
            for v in 0..viewers {
                assert!(catalog
                    .record_view(movie, format!("viewer-{v}"), None)
                    .await
                    .unwrap());
            }
        }
        assert!(
            !catalog
                .record_view(ids[0], "viewer-0".into(), None)
                .await
                .unwrap(),
            "[{}] counted twice",
            b.label
        );
        assert_eq!(
            titles(catalog.trending(false, None, 3).await.unwrap()),
            ["Often", "Twice", "Once"],
            "[{}] day",
            b.label
        );
        assert_eq!(
            titles(catalog.trending(true, None, 3).await.unwrap()),
            ["Often", "Twice", "Once"],
            "[{}] week",
            b.label
        );
        let e = catalog
            .record_view(Uuid::now_v7(), "viewer-0".into(), None)
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "NOT_FOUND");
    }
}

#[tokio::test]
async fn an_update_is_read_at_once_though_first_pages_are_cached() {
    for (b, catalog) in catalogs(true).await {
        let filter = movies();
        let page = catalog
            .movies(&filter, MovieSort::PopularityDesc, first(5, None))
            .await
            .unwrap();
        let (_, top) = &page.items[0];
        let again = catalog
            .movies(&filter, MovieSort::PopularityDesc, first(5, None))
            .await
            .unwrap();
        assert_eq!(again.items[0].1.title, top.title);
        let renamed = TitleInput {
            title: Some("Renamed For The Test".into()),
            ..TitleInput::default()
        };
        catalog
            .save_movie(Some(top.id), renamed, "test")
            .await
            .unwrap();
        let after = catalog
            .movies(&filter, MovieSort::PopularityDesc, first(5, None))
            .await
            .unwrap();
        assert_eq!(
            after.items[0].1.title, "Renamed For The Test",
            "[{}] stale cache",
            b.label
        );
    }
}

#[tokio::test]
async fn a_nested_query_of_50_titles_costs_a_constant_number_of_statements() {
    for (b, catalog) in catalogs(true).await {
        let statements = Arc::new(AtomicUsize::new(0));
        let mut services = catalog.services.clone();
        let counter = statements.clone();
        services.db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let counted = content::open(&services).await.unwrap();
        let schema = content::graphql::build(counted.clone());
        let mut costs = Vec::new();
        for (n, sort) in [(5, "RATING_DESC"), (50, "POPULARITY_DESC")] {
            statements.store(0, Ordering::SeqCst);
            let query = format!(
                "{{ movies(first: {n}, sort: {sort}) {{ edges {{ node {{ title categories {{ slug }} credits {{ character job person {{ name }} }} }} }} }} }}"
            );
            let r = schema
                .execute(content::graphql::with_loaders(
                    &counted,
                    query.as_str().into(),
                ))
                .await;
            assert!(r.errors.is_empty(), "[{}] {:?}", b.label, r.errors);
            let data = r.data.into_json().unwrap();
            let edges = data["movies"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n);
            assert!(edges
                .iter()
                .all(|e| !e["node"]["credits"].as_array().unwrap().is_empty()));
            costs.push(statements.load(Ordering::SeqCst));
        }
        // count + page, category links + categories, credits, people.
        assert_eq!(
            costs[0], costs[1],
            "[{}] statements grow with the page: {costs:?}",
            b.label
        );
        assert!(
            costs[1] <= 6,
            "[{}] {} statements for 50 titles",
            b.label,
            costs[1]
        );
    }
}

#[tokio::test]
async fn series_keep_their_seasons_and_episodes_apart_from_movies() {
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let series = Filter {
            kind: Some(content::store::SERIES),
            ..Filter::default()
        };
        let (all_series, total) = walk(&catalog, &series, MovieSort::PopularityDesc).await;
        assert_eq!(total, 50, "[{l}] the demo has 50 series");
        assert!(all_series.iter().all(|m| m.kind == "SERIES"), "[{l}]");
        let (all_movies, _) = walk(&catalog, &movies(), MovieSort::PopularityDesc).await;
        assert!(all_movies.iter().all(|m| m.kind == "MOVIE"), "[{l}]");

        let statements = Arc::new(AtomicUsize::new(0));
        let mut services = catalog.services.clone();
        let counter = statements.clone();
        services.db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let counted = content::open(&services).await.unwrap();
        let schema = content::graphql::build(counted.clone());
        let run = |q: String| {
            let (schema, counted) = (schema.clone(), counted.clone());
            async move {
                let r = schema
                    .execute(content::graphql::with_loaders(&counted, q.as_str().into()))
                    .await;
                assert!(r.errors.is_empty(), "{q}: {:?}", r.errors);
                r.data.into_json().unwrap()
            }
        };
        let d = run(r#"{ series(slug: "breaking-bad") { title numberOfSeasons seasons { number episodeCount episodes { number title } } }
                         movie(slug: "breaking-bad") { title } }"#
            .into())
        .await;
        assert_eq!(d["series"]["title"], "Breaking Bad", "[{l}]");
        assert_eq!(d["series"]["numberOfSeasons"], 5, "[{l}]");
        let counts: Vec<i64> = d["series"]["seasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["episodeCount"].as_i64().unwrap())
            .collect();
        assert_eq!(counts, [7, 13, 13, 13, 16], "[{l}]");
        assert_eq!(
            d["series"]["seasons"][4]["episodes"][15]["number"], 16,
            "[{l}]"
        );
        assert!(d["movie"].is_null(), "[{l}] a series is not a movie: {d}");

        // Seasons and episodes of a whole page load in one statement each.
        let mut costs = Vec::new();
        for n in [3, 30] {
            statements.store(0, Ordering::SeqCst);
            let d = run(format!(
                "{{ seriesList(first: {n}, sort: RATING_DESC) {{ edges {{ node {{ title seasons {{ number episodes {{ id }} }} }} }} }} }}"
            ))
            .await;
            assert_eq!(d["seriesList"]["edges"].as_array().unwrap().len(), n);
            costs.push(statements.load(Ordering::SeqCst));
        }
        assert_eq!(
            costs[0], costs[1],
            "[{l}] statements grow with the page: {costs:?}"
        );

        // Search tells kinds apart.
        let found = run(r#"{ search(query: "braking bad", kinds: [SERIES]) { hits { title { __typename title } } } }"#.into()).await;
        assert_eq!(
            found["search"]["hits"][0]["title"]["__typename"], "Series",
            "[{l}] {found}"
        );
        let none = run(
            r#"{ search(query: "braking bad", kinds: [MOVIE]) { hits { title { title } } } }"#
                .into(),
        )
        .await;
        assert!(
            none["search"]["hits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["title"]["title"] != "Breaking Bad"),
            "[{l}]"
        );

        // Writes: numbers are unique per parent; deleted series take no new episodes.
        let show = catalog
            .save_title(
                content::store::SERIES,
                None,
                input("Test Signal", "2021-01-01"),
                "test",
            )
            .await
            .unwrap();
        let season = catalog
            .save_season(
                Some(show.id),
                None,
                content::store::SeasonInput {
                    number: Some(1),
                    ..Default::default()
                },
                "test",
            )
            .await
            .unwrap();
        assert_eq!(season.name, "Season 1");
        let again = catalog
            .save_season(
                Some(show.id),
                None,
                content::store::SeasonInput {
                    number: Some(1),
                    ..Default::default()
                },
                "test",
            )
            .await
            .unwrap_err();
        assert_eq!(again.code.as_str(), "CONFLICT", "[{l}]");
        let ep = catalog
            .save_episode(
                Some(season.id),
                None,
                content::store::EpisodeInput {
                    number: Some(1),
                    runtime: Some(0),
                    ..Default::default()
                },
                "test",
            )
            .await
            .unwrap_err();
        assert_eq!(ep.field.as_deref(), Some("input.runtime"), "[{l}]");
        catalog
            .set_deleted(content::store::SERIES, show.id, true, "test")
            .await
            .unwrap();
        let gone = catalog
            .save_episode(
                Some(season.id),
                None,
                content::store::EpisodeInput {
                    number: Some(1),
                    ..Default::default()
                },
                "test",
            )
            .await
            .unwrap_err();
        assert_eq!(gone.code.as_str(), "NOT_FOUND", "[{l}]");
        let not_movie = catalog
            .save_movie(Some(show.id), TitleInput::default(), "test")
            .await
            .unwrap_err();
        assert_eq!(not_movie.code.as_str(), "NOT_FOUND", "[{l}]");
    }
}

#[tokio::test]
async fn one_viewer_cannot_flood_views() {
    for (b, catalog) in catalogs(true).await {
        let (all, _) = walk(&catalog, &movies(), MovieSort::TitleAsc).await;
        let limit = content::store::VIEWS_PER_MINUTE as usize;
        for m in &all[..limit] {
            assert!(
                catalog
                    .record_view(m.id, "flood".into(), None)
                    .await
                    .unwrap(),
                "[{}]",
                b.label
            );
        }
        let e = catalog
            .record_view(all[limit].id, "flood".into(), None)
            .await
            .unwrap_err();
        assert_eq!(e.code.as_str(), "RATE_LIMITED", "[{}]", b.label);
        // Others still count.
        assert!(catalog
            .record_view(all[limit].id, "calm".into(), None)
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn social_activity_lifts_a_title_in_trending_and_removals_do_not() {
    use kit::events::{Event, Handler};
    use sea_orm::TransactionTrait;
    for (b, catalog) in catalogs(true).await {
        let l = b.label;
        let id = catalog
            .movies(&movies(), MovieSort::TrendingDesc, last(1, None))
            .await
            .unwrap()
            .items[0]
            .1
            .id;
        let trend = |catalog: Arc<Catalog>| async move {
            let t = title::Entity::find_by_id(id)
                .one(&catalog.services.db)
                .await
                .unwrap()
                .unwrap();
            (t.trend_day, t.trend_week)
        };
        let before = trend(catalog.clone()).await;
        let prefix = catalog.services.config.bus.subject_prefix.clone();
        let handler = content::SocialActivity(catalog.clone());
        let apply = |event_type: &str, payload: serde_json::Value| {
            let (handler, catalog) = (&handler, catalog.clone());
            let event = Event::new(&prefix, event_type, None, payload);
            async move {
                let txn = catalog.services.db.begin().await.unwrap();
                handler.handle(&event, &txn).await.unwrap();
                txn.commit().await.unwrap();
            }
        };
        apply(
            "social.watchlist_changed",
            serde_json::json!({"titleId": id, "added": false}),
        )
        .await;
        apply(
            "social.rating_changed",
            serde_json::json!({"titleId": id, "score": null}),
        )
        .await;
        assert_eq!(
            trend(catalog.clone()).await,
            before,
            "[{l}] removals add nothing"
        );
        apply(
            "social.review_created",
            serde_json::json!({"titleId": id, "score": 8}),
        )
        .await;
        let after = trend(catalog.clone()).await;
        assert!(
            after.0 > before.0 && after.1 > before.1,
            "[{l}] {before:?} -> {after:?}"
        );
        // The least trending movie is now above some others.
        let bottom = catalog
            .movies(&movies(), MovieSort::TrendingDesc, last(1, None))
            .await
            .unwrap();
        assert_ne!(bottom.items[0].1.id, id, "[{l}]");
    }
}
