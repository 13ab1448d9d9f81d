//! The demo catalog embedded in the binary: 540 well-known films and 50
//! series with their genres, years, runtimes, languages, main cast and crew
//! (creators for series), and overviews written for the project. Series come
//! with their real number of seasons and episodes per season; episode titles
//! are numbered ("Episode 3") and only the first air date of a series is
//! recorded. Loaded once (a catalog with titles is left alone).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait};
use serde::Deserialize;
use uuid::Uuid;

use crate::store::model::{
    category, credit, episode, featured, person, season, title, title_category,
};
use crate::store::{slugify, Catalog, DAY_HALF_LIFE_SECS, MOVIE, WEEK_HALF_LIFE_SECS};

const MOVIES: &str = include_str!("../data/movies.json");
const SERIES: &str = include_str!("../data/series.json");

#[derive(Deserialize)]
struct MovieFile {
    movies: Vec<Film>,
}

#[derive(Deserialize)]
struct SeriesFile {
    series: Vec<Film>,
}

#[derive(Deserialize)]
struct Film {
    slug: String,
    title: String,
    original_title: Option<String>,
    release_date: String,
    runtime: Option<i32>,
    language: String,
    genres: Vec<String>,
    overview: String,
    tagline: Option<String>,
    rating_average: f64,
    rating_count: i64,
    popularity: f64,
    status: String,
    #[serde(default)]
    cast: Vec<Cast>,
    #[serde(default)]
    crew: Vec<Crew>,
    /// Series: the number of episodes of each season, from season 1.
    #[serde(default)]
    seasons: Vec<i32>,
}

#[derive(Deserialize)]
struct Cast {
    name: String,
    character: String,
}

#[derive(Deserialize)]
struct Crew {
    name: String,
    job: String,
}

fn genre_name(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many films and series the demo features.
pub const FEATURED: usize = 8;
pub const FEATURED_SERIES: usize = 4;

pub async fn seed(catalog: &Catalog) -> anyhow::Result<String> {
    let db = &catalog.services.db;
    if title::Entity::find().count(db).await? > 0 {
        return Ok("content: catalog already loaded".into());
    }
    let films: Vec<(&str, Film)> = serde_json::from_str::<MovieFile>(MOVIES)?
        .movies
        .into_iter()
        .map(|f| (MOVIE, f))
        .chain(
            serde_json::from_str::<SeriesFile>(SERIES)?
                .series
                .into_iter()
                .map(|f| (crate::store::SERIES, f)),
        )
        .collect();
    let now = Utc::now();
    let t = now.timestamp() as f64;
    let txn = db.begin().await?;
    let mut genres: HashMap<String, Uuid> = HashMap::new();
    let mut people: HashMap<String, Uuid> = HashMap::new();
    let (mut links, mut credits, mut new_people) = (Vec::new(), Vec::new(), Vec::new());
    let (mut movies, mut ids) = (Vec::new(), Vec::new());
    let (mut seasons, mut episodes) = (Vec::new(), Vec::new());
    for (kind, f) in &films {
        let id = Uuid::now_v7();
        ids.push(id);
        for (i, count) in f.seasons.iter().enumerate() {
            let number = i as i32 + 1;
            let season_id = Uuid::now_v7();
            seasons.push(season::ActiveModel {
                id: Set(season_id),
                series_id: Set(id),
                number: Set(number),
                name: Set(format!("Season {number}")),
                overview: Set(String::new()),
                air_date: Set((number == 1).then(|| f.release_date.clone())),
                created_at: Set(now),
            });
            for e in 1..=*count {
                episodes.push(episode::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    season_id: Set(season_id),
                    series_id: Set(id),
                    number: Set(e),
                    title: Set(format!("Episode {e}")),
                    overview: Set(String::new()),
                    air_date: Set((number == 1 && e == 1).then(|| f.release_date.clone())),
                    runtime: Set(f.runtime),
                    created_at: Set(now),
                });
            }
        }
        // As if it had had popularity/10 views just now.
        let views = (1.0 + f.popularity / 10.0).log2();
        let year = f.release_date.get(..4).and_then(|y| y.parse().ok());
        movies.push(title::ActiveModel {
            id: Set(id),
            kind: Set(kind.to_string()),
            slug: Set(f.slug.clone()),
            title: Set(f.title.clone()),
            title_key: Set(f.title.to_lowercase()),
            original_title: Set(f.original_title.clone().filter(|o| o != &f.title)),
            overview: Set(f.overview.clone()),
            tagline: Set(f.tagline.clone()),
            release_date: Set(Some(f.release_date.clone())),
            year: Set(year),
            runtime: Set(f.runtime),
            language: Set(f.language.clone()),
            status: Set(f.status.clone()),
            rating_average: Set(f.rating_average),
            rating_count: Set(f.rating_count),
            rating_base_sum: Set(f.rating_average * f.rating_count as f64),
            rating_base_count: Set(f.rating_count),
            rating_version: Set(0),
            popularity: Set(f.popularity),
            trend_day: Set(t / DAY_HALF_LIFE_SECS + views),
            trend_week: Set(t / WEEK_HALF_LIFE_SECS + views),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
        for g in &f.genres {
            let gid = *genres.entry(g.clone()).or_insert_with(Uuid::now_v7);
            links.push(title_category::ActiveModel {
                title_id: Set(id),
                category_id: Set(gid),
            });
        }
        let mut person_id = |name: &str| {
            let slug = slugify(name);
            *people.entry(slug.clone()).or_insert_with(|| {
                let pid = Uuid::now_v7();
                new_people.push(person::ActiveModel {
                    id: Set(pid),
                    slug: Set(slug),
                    name: Set(name.to_string()),
                    created_at: Set(now),
                });
                pid
            })
        };
        let mut position = 0;
        for c in &f.cast {
            let pid = person_id(&c.name);
            credits.push(credit::ActiveModel {
                id: Set(Uuid::now_v7()),
                title_id: Set(id),
                person_id: Set(pid),
                kind: Set("CAST".into()),
                character: Set(Some(c.character.clone())),
                job: Set(None),
                position: Set(position),
            });
            position += 1;
        }
        for c in &f.crew {
            let pid = person_id(&c.name);
            credits.push(credit::ActiveModel {
                id: Set(Uuid::now_v7()),
                title_id: Set(id),
                person_id: Set(pid),
                kind: Set("CREW".into()),
                character: Set(None),
                job: Set(Some(c.job.clone())),
                position: Set(position),
            });
            position += 1;
        }
    }
    for (slug, id) in &genres {
        category::ActiveModel {
            id: Set(*id),
            slug: Set(slug.clone()),
            name: Set(genre_name(slug)),
            kind: Set("GENRE".into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let (n_movies, n_people, n_credits) = (movies.len(), new_people.len(), credits.len());
    // Batches small enough for SQLite's bound-parameter limit.
    for chunk in movies.chunks(40) {
        title::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    for chunk in new_people.chunks(200) {
        person::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    for chunk in links.chunks(400) {
        title_category::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    for chunk in credits.chunks(100) {
        credit::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    let (n_seasons, n_episodes) = (seasons.len(), episodes.len());
    for chunk in seasons.chunks(200) {
        season::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    for chunk in episodes.chunks(200) {
        episode::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    // A month of editorial picks: the best rated of the well-voted films and
    // series, interleaved.
    let best = |want: &str, n: usize| {
        let mut picks: Vec<(f64, Uuid)> = films
            .iter()
            .zip(&ids)
            .filter(|((kind, f), _)| *kind == want && f.rating_count >= 1000)
            .map(|((_, f), id)| (f.rating_average, *id))
            .collect();
        picks.sort_by(|a, b| b.0.total_cmp(&a.0));
        picks
            .into_iter()
            .take(n)
            .map(|(_, id)| id)
            .collect::<Vec<_>>()
    };
    let (films_picked, series_picked) = (
        best(MOVIE, FEATURED),
        best(crate::store::SERIES, FEATURED_SERIES),
    );
    let mut picks: Vec<&Uuid> = Vec::new();
    for i in 0..FEATURED.max(FEATURED_SERIES) {
        picks.extend(films_picked.get(i));
        picks.extend(series_picked.get(i));
    }
    for (rank, title_id) in picks.into_iter().enumerate() {
        featured::ActiveModel {
            id: Set(Uuid::now_v7()),
            title_id: Set(*title_id),
            rank: Set(rank as i32 + 1),
            starts_at: Set(now - chrono::Duration::days(1)),
            ends_at: Set(now + chrono::Duration::days(30)),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    catalog
        .reindex()
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(format!(
        "content: {n_movies} titles ({} series with {n_seasons} seasons and {n_episodes} episodes), {} genres, {n_people} people, {n_credits} credits loaded",
        films.iter().filter(|(k, _)| *k != MOVIE).count(),
        genres.len()
    ))
}
