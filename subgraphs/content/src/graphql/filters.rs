//! The `MovieFilter` and `SeriesFilter` inputs: one title filter
//! (`crate::filter::Filter`) under each kind's names. Their shared fields are
//! written once (`CategoryMatch`, `ScoreRange`) and flattened into both, so
//! the SDL lists them in place.

use async_graphql::{Enum, InputObject};
use chrono::NaiveDate;

use crate::filter::Filter;
use crate::store::{MOVIE, SERIES};

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum Match {
    /// Any of the listed slugs.
    #[default]
    Any,
    /// Every listed slug.
    All,
}

/// The categories a title list keeps (flattened into both filters).
#[derive(InputObject, Default)]
pub struct CategoryMatch {
    /// Genre slugs, e.g. `["drama"]`.
    pub genres: Option<Vec<String>>,
    /// Category slugs of any kind.
    pub categories: Option<Vec<String>>,
    /// How `genres` and `categories` combine (default ANY).
    #[graphql(name = "match")]
    pub match_: Option<Match>,
}

/// The ratings a title list keeps (flattened into both filters).
#[derive(InputObject, Default)]
pub struct ScoreRange {
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub min_votes: Option<i64>,
}

impl CategoryMatch {
    fn apply(self, f: &mut Filter) {
        f.genres = self.genres.unwrap_or_default();
        f.all_genres = self.match_ == Some(Match::All);
        f.categories = self.categories.unwrap_or_default();
    }
}

impl ScoreRange {
    fn apply(self, f: &mut Filter) {
        f.rating_min = self.rating_min;
        f.rating_max = self.rating_max;
        f.min_votes = self.min_votes;
    }
}

#[derive(InputObject, Default)]
pub struct MovieFilter {
    #[graphql(flatten)]
    pub categories: CategoryMatch,
    pub year: Option<i32>,
    pub released_from: Option<NaiveDate>,
    pub released_to: Option<NaiveDate>,
    #[graphql(flatten)]
    pub scores: ScoreRange,
    pub runtime_min: Option<i32>,
    pub runtime_max: Option<i32>,
    pub original_language: Option<String>,
    pub status: Option<String>,
}

/// What a series list is narrowed to.
#[derive(InputObject, Default)]
pub struct SeriesFilter {
    #[graphql(flatten)]
    pub categories: CategoryMatch,
    /// The year of the first episode.
    pub year: Option<i32>,
    pub first_aired_from: Option<NaiveDate>,
    pub first_aired_to: Option<NaiveDate>,
    #[graphql(flatten)]
    pub scores: ScoreRange,
    pub original_language: Option<String>,
    /// `returning`, `ended`, `canceled`, ...
    pub status: Option<String>,
}

impl From<MovieFilter> for Filter {
    fn from(m: MovieFilter) -> Self {
        let mut f = Filter {
            kind: Some(MOVIE),
            year: m.year,
            released_from: m.released_from,
            released_to: m.released_to,
            runtime_min: m.runtime_min,
            runtime_max: m.runtime_max,
            language: m.original_language,
            status: m.status,
            ..Filter::default()
        };
        m.categories.apply(&mut f);
        m.scores.apply(&mut f);
        f
    }
}

impl From<SeriesFilter> for Filter {
    fn from(s: SeriesFilter) -> Self {
        let mut f = Filter {
            kind: Some(SERIES),
            year: s.year,
            released_from: s.first_aired_from,
            released_to: s.first_aired_to,
            language: s.original_language,
            status: s.status,
            ..Filter::default()
        };
        s.categories.apply(&mut f);
        s.scores.apply(&mut f);
        f
    }
}
