//! The title filter, defined once: what a title list or a search is
//! narrowed to, validated and normalised here. The store turns it into SQL
//! (`store::Filter::condition`), the search engines into their queries, and
//! the GraphQL `MovieFilter`/`SeriesFilter` inputs map onto it.

use chrono::NaiveDate;
use kit::Error;

/// What a movie list is narrowed to.
#[derive(Default, Clone, Debug)]
pub struct Filter {
    /// `MOVIE` or `SERIES`; none keeps both.
    pub kind: Option<&'static str>,
    pub genres: Vec<String>,
    pub all_genres: bool,
    pub categories: Vec<String>,
    pub year: Option<i32>,
    pub released_from: Option<NaiveDate>,
    pub released_to: Option<NaiveDate>,
    pub rating_min: Option<f64>,
    pub rating_max: Option<f64>,
    pub min_votes: Option<i64>,
    pub runtime_min: Option<i32>,
    pub runtime_max: Option<i32>,
    pub language: Option<String>,
    pub status: Option<String>,
}

impl Filter {
    /// The filter as every list applies it: slugs, language and status
    /// trimmed and lower-cased; a bad slug or rating bound is an error that
    /// names its field (the same for `movies` and `search`).
    pub fn normalised(&self) -> Result<Filter, Error> {
        let genres = slugs("filter.genres", &self.genres)?;
        let categories = slugs("filter.categories", &self.categories)?;
        for (field, v) in [
            ("filter.ratingMin", self.rating_min),
            ("filter.ratingMax", self.rating_max),
        ] {
            if let Some(v) = v {
                if !(0.0..=10.0).contains(&v) {
                    return Err(Error::bad_input(field, "ratings are between 0 and 10"));
                }
            }
        }
        Ok(Filter {
            genres,
            categories,
            language: self.language.as_ref().map(|l| l.trim().to_lowercase()),
            status: self.status.as_ref().map(|s| s.trim().to_lowercase()),
            ..self.clone()
        })
    }
}

pub(crate) fn slugs(field: &str, list: &[String]) -> Result<Vec<String>, Error> {
    if list.len() > 20 {
        return Err(Error::bad_input(field, "at most 20 slugs"));
    }
    list.iter()
        .map(|s| {
            let s = s.trim().to_lowercase();
            if s.is_empty() || s.len() > 64 {
                Err(Error::bad_input(field, format!("`{s}` is not a slug")))
            } else {
                Ok(s)
            }
        })
        .collect()
}
