//! Title search behind one trait with two engines: tantivy (an index in the
//! data dir, the default) and Elasticsearch (when `search.elasticsearch_url`
//! is set). This module holds what both share: the indexed document, the
//! query (words, typo budget, the catalog's `Filter` normalised), highlights
//! and the ranking rules, so the engines differ only in how they run it.

pub mod elastic;
pub mod tantivy;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::filter::Filter;

/// Bumped whenever the indexed fields or their analysis change: an index of
/// another version is rebuilt from the catalog at start.
pub const SCHEMA_VERSION: u32 = 1;

/// How deep search results may be paged, `after` plus `first` (Elasticsearch's default window).
pub const MAX_OFFSET: usize = 10_000;

/// Facet buckets returned per facet.
pub const MAX_FACET_VALUES: usize = 100;

/// One title as the index sees it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Doc {
    pub id: Uuid,
    /// `MOVIE` or `SERIES`.
    pub kind: String,
    pub title: String,
    pub original_title: Option<String>,
    /// Slugs of the title's `GENRE` categories.
    pub genres: Vec<String>,
    /// Slugs of all its categories (genres included), as `filter.categories` sees them.
    pub categories: Vec<String>,
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub rating: f64,
    pub votes: i64,
    pub runtime: Option<i32>,
    pub language: String,
    pub status: String,
    pub popularity: f64,
}

impl Doc {
    /// A fingerprint of everything indexed: start-up reconciliation re-indexes
    /// the titles whose stamp differs from the catalog's.
    pub fn stamp(&self) -> u64 {
        let bytes = serde_json::to_vec(self).expect("a document is always serializable");
        let digest = Sha256::digest(bytes);
        u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 1
    }

    pub fn words(&self) -> Vec<String> {
        words(&self.title)
    }

    pub fn original_words(&self) -> Vec<String> {
        self.original_title
            .as_deref()
            .map(words)
            .unwrap_or_default()
    }

    /// The whole title as one lowercased, folded string (for whole-title prefixes).
    pub fn title_key(&self) -> String {
        self.words().join(" ")
    }
}

/// Days since 0001-01-01, the integer form release dates are indexed in.
pub fn day_number(d: NaiveDate) -> i64 {
    d.num_days_from_ce() as i64
}

/// Lowercased alphanumeric words, accents folded for the common Latin ones.
/// Both engines index these words as they are (whitespace analysis), so a
/// query's words and a title's are cut the same way whatever the engine.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(fold)
        .collect::<String>()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' => 's',
        'ž' => 'z',
        c => c,
    }
}

/// Edit distance counting a swap of two neighbours as one edit (as both
/// engines' fuzzy queries do), giving up (returning `max + 1`) beyond `max`.
pub fn distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut cur = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let cost = usize::from(a[i] != b[j]);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        if cur.iter().min().is_some_and(|m| *m > max) && prev.iter().min().is_some_and(|m| *m > max)
        {
            return max + 1;
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()].min(max + 1)
}

/// Typos a query word may carry: none up to 3 letters, 1 from 4, 2 from 8
/// (Elasticsearch's `fuzziness: AUTO:4,8`).
pub fn allowed_typos(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Boosts of a query word's exact, fuzzy and prefix matches, in the title's
/// words and (a little less) in the original title's.
pub const BOOSTS: [(&str, [f64; 3]); 2] = [
    ("words", [3.0, 1.0, 2.0]),
    ("original_words", [2.4, 0.8, 1.6]),
];

/// The last query word also matches as a prefix once it has this many letters.
pub const MIN_PREFIX: usize = 2;

/// Whether `d` passes `filter` (normalised): the reference the engines'
/// translations are tested against.
pub fn keeps(filter: &Filter, d: &Doc) -> bool {
    let set = |wanted: &[String], have: &[String]| {
        wanted.is_empty()
            || if filter.all_genres {
                wanted.iter().all(|g| have.contains(g))
            } else {
                wanted.iter().any(|g| have.contains(g))
            }
    };
    let day = d.release_date.map(day_number);
    let within = |v: Option<i64>, lo: Option<i64>, hi: Option<i64>| match v {
        None => lo.is_none() && hi.is_none(),
        Some(v) => lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi),
    };
    (filter.kind.is_none_or(|k| d.kind == k))
        && set(&filter.genres, &d.genres)
        && set(&filter.categories, &d.categories)
        && filter.year.is_none_or(|y| d.year == Some(y))
        && within(
            day,
            filter.released_from.map(day_number),
            filter.released_to.map(day_number),
        )
        && filter.rating_min.is_none_or(|r| d.rating >= r)
        && filter.rating_max.is_none_or(|r| d.rating <= r)
        && filter.min_votes.is_none_or(|v| d.votes >= v)
        && within(
            d.runtime.map(i64::from),
            filter.runtime_min.map(i64::from),
            filter.runtime_max.map(i64::from),
        )
        && filter.language.as_ref().is_none_or(|l| &d.language == l)
        && filter.status.as_ref().is_none_or(|s| &d.status == s)
}

/// One search request as the engines receive it.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// The query's words (see [`words`]); never empty.
    pub terms: Vec<String>,
    /// Normalised (`Filter::normalised`).
    pub filter: Filter,
    pub offset: usize,
    pub limit: usize,
}

/// A match as an engine returns it.
#[derive(Clone, Debug)]
pub struct EngineHit {
    pub id: Uuid,
    pub score: f64,
    pub title: String,
}

#[derive(Clone, Debug, Default)]
pub struct EngineResults {
    pub hits: Vec<EngineHit>,
    /// Matches in all (before paging).
    pub total: usize,
    /// Genre slug and matches, most first.
    pub genres: Vec<(String, u64)>,
    /// Decade (e.g. 1970) and matches, most first.
    pub decades: Vec<(i32, u64)>,
}

/// Genre buckets and decade buckets, most matches first.
pub type Facets = (Vec<(String, u64)>, Vec<(i32, u64)>);

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("tantivy: {0}")]
    Tantivy(#[from] ::tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("elasticsearch: {0}")]
    Elastic(String),
    #[error("the search index at {0} is in use by another process (a running content subgraph?)")]
    Locked(String),
    #[error("search task: {0}")]
    Task(String),
}

impl From<SearchError> for kit::Error {
    fn from(e: SearchError) -> Self {
        kit::Error::unavailable("search", e)
    }
}

/// A search engine holding one index of [`Doc`]s.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Whether the engine answers and the index is there (for `/health/ready`).
    async fn ping(&self) -> Result<(), SearchError>;
    /// Whether a complete index of [`SCHEMA_VERSION`] exists (else it must be built).
    async fn is_built(&self) -> Result<bool, SearchError>;
    /// Replaces the whole index with `docs`, calling `progress` with the
    /// number indexed so far; searches see the old index until it is done.
    async fn rebuild(
        &self,
        docs: Vec<Doc>,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<(), SearchError>;
    /// Adds or replaces `docs` and removes `deleted`; durable and visible to
    /// searches once it returns.
    async fn apply(&self, docs: Vec<Doc>, deleted: Vec<Uuid>) -> Result<(), SearchError>;
    /// Every indexed id with its [`Doc::stamp`].
    async fn stamps(&self) -> Result<HashMap<Uuid, u64>, SearchError>;
    async fn search(&self, request: &SearchRequest) -> Result<EngineResults, SearchError>;
    /// Titles with a word, or the whole title, starting with `prefix` (already
    /// folded words joined by spaces), most popular first.
    async fn suggest(&self, prefix: &str, n: usize) -> Result<Vec<Uuid>, SearchError>;
}

pub struct Hit {
    pub id: Uuid,
    pub score: f64,
    /// The title with matched words in `<em>`.
    pub highlight: String,
}

pub struct Results {
    pub hits: Vec<Hit>,
    pub total: usize,
    pub genres: Vec<(String, u64)>,
    pub decades: Vec<(i32, u64)>,
}

/// The index the catalog searches, whichever engine holds it.
#[derive(Clone)]
pub struct SearchIndex {
    engine: Arc<dyn Engine>,
}

impl SearchIndex {
    /// The engine `config` asks for: Elasticsearch when its URL is set,
    /// else tantivy in `<data_dir>/search/content`.
    pub fn open(config: &kit::Config) -> Result<Self, SearchError> {
        let engine: Arc<dyn Engine> = match &config.search.elasticsearch_url {
            Some(url) => Arc::new(elastic::ElasticEngine::new(
                url.clone(),
                &config.search.elasticsearch_index,
            )?),
            None => Arc::new(tantivy::TantivyEngine::open(
                &config.data_dir.join("search").join("content"),
            )?),
        };
        Ok(Self { engine })
    }

    pub fn with_engine(engine: Arc<dyn Engine>) -> Self {
        Self { engine }
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Matches of `query` passing `filter`, `limit` of them from `offset`.
    pub async fn search(
        &self,
        query: &str,
        filter: &Filter,
        offset: usize,
        limit: usize,
    ) -> Result<Results, kit::Error> {
        if query.chars().count() > 200 {
            return Err(kit::Error::bad_input("query", "at most 200 characters"));
        }
        if offset.saturating_add(limit) > MAX_OFFSET {
            return Err(kit::Error::bad_input(
                "after",
                format!("search pages end {MAX_OFFSET} results deep; narrow the query"),
            ));
        }
        let filter = filter.normalised()?;
        let mut terms = words(query);
        // Bounded work per request, whatever the query's length.
        terms.truncate(16);
        if terms.is_empty() {
            return Ok(Results {
                hits: Vec::new(),
                total: 0,
                genres: Vec::new(),
                decades: Vec::new(),
            });
        }
        let request = SearchRequest {
            terms,
            filter,
            offset,
            limit: limit.clamp(1, kit::paging::MAX_PAGE as usize),
        };
        let started = std::time::Instant::now();
        let r = self.engine.search(&request).await;
        observe("search", self.engine.kind(), started, r.is_ok());
        let r = r?;
        Ok(Results {
            hits: r
                .hits
                .into_iter()
                .map(|h| Hit {
                    id: h.id,
                    score: h.score,
                    highlight: highlight(&h.title, &request.terms),
                })
                .collect(),
            total: r.total,
            genres: r.genres,
            decades: r.decades,
        })
    }

    /// Autocomplete: titles starting with, or with a word starting with, `prefix`.
    pub async fn suggest(&self, prefix: &str, n: usize) -> Result<Vec<Uuid>, kit::Error> {
        if prefix.chars().count() > 200 {
            return Err(kit::Error::bad_input("prefix", "at most 200 characters"));
        }
        let p = words(prefix).join(" ");
        if p.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let r = self
            .engine
            .suggest(&p, n.clamp(1, kit::paging::MAX_PAGE as usize))
            .await;
        observe("suggest", self.engine.kind(), started, r.is_ok());
        Ok(r?)
    }
}

/// `marquee_content_search_seconds{op, engine, result}`.
fn observe(op: &'static str, engine: &'static str, started: std::time::Instant, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::histogram!("marquee_content_search_seconds", "op" => op, "engine" => engine, "result" => result)
        .record(started.elapsed().as_secs_f64());
}

/// Whether the title word `w` matches query word `t` the way the engines match:
/// equal, within the typo budget, or (for the last word) as a prefix.
pub fn word_matches(t: &str, w: &str, last: bool) -> bool {
    let typos = allowed_typos(t) as usize;
    w == t
        || (last && t.chars().count() >= MIN_PREFIX && w.starts_with(t))
        || (typos > 0 && distance(t, w, typos) <= typos)
}

/// Whether a document with these title words matches every query term (the
/// reference the engines are tested against).
pub fn doc_matches(d: &Doc, terms: &[String]) -> bool {
    let (w, o) = (d.words(), d.original_words());
    terms.iter().enumerate().all(|(i, t)| {
        let last = i + 1 == terms.len();
        w.iter().chain(o.iter()).any(|w| word_matches(t, w, last))
    })
}

/// `title` with each word that matches a query term wrapped in `<em>`.
pub fn highlight(title: &str, terms: &[String]) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let w = words(word).join("");
        let hit = terms
            .iter()
            .enumerate()
            .any(|(i, t)| word_matches(t, &w, i + 1 == terms.len()));
        if hit {
            out.push_str("<em>");
            out.push_str(word);
            out.push_str("</em>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in title.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Facet buckets most first, then by value, at most [`MAX_FACET_VALUES`].
pub(crate) fn top_buckets<K: Ord>(mut v: Vec<(K, u64)>) -> Vec<(K, u64)> {
    v.retain(|(_, n)| *n > 0);
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(MAX_FACET_VALUES);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_bounded() {
        assert_eq!(distance("godfathr", "godfather", 2), 1);
        assert_eq!(distance("kitten", "sitting", 3), 3);
        assert_eq!(distance("a", "abcdef", 2), 3);
        assert_eq!(
            distance("godfahter", "godfather", 2),
            1,
            "a swap is one edit"
        );
    }

    #[test]
    fn highlights_mark_exact_fuzzy_and_prefix_words() {
        let terms = words("godfathr par");
        assert_eq!(
            highlight("The Godfather Part II", &terms),
            "The <em>Godfather</em> <em>Part</em> II"
        );
        assert_eq!(highlight("Amélie", &words("amelie")), "<em>Amélie</em>");
        // Short words get no typos: `the` does not mark `She`.
        assert_eq!(highlight("She", &words("the x")), "She");
    }

    #[test]
    fn typo_budget_follows_word_length() {
        assert_eq!(allowed_typos("the"), 0);
        assert_eq!(allowed_typos("alien"), 1);
        assert_eq!(allowed_typos("godfathr"), 2);
        assert!(word_matches("godfathr", "godfather", false));
        assert!(!word_matches("the", "she", false));
        assert!(word_matches("god", "godfather", true));
        assert!(!word_matches("god", "godfather", false));
    }
}
