//! In-process title search: an index of every live title held in memory
//! (the catalog is thousands of rows, not millions), rebuilt at start and
//! updated on every write. Matching is per word: exact, prefix, or within an
//! edit distance that grows with the word (1 from 4 letters, 2 from 8), so
//! `godfathr` finds "The Godfather". Results rank by match quality, then
//! popularity; facets count genres and decades over all matches.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::RwLock;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Doc {
    pub id: Uuid,
    /// `MOVIE` or `SERIES`.
    pub kind: String,
    pub title: String,
    pub words: Vec<String>,
    pub original_words: Vec<String>,
    pub genres: Vec<String>,
    pub year: Option<i32>,
    pub language: String,
    pub rating: f64,
    pub popularity: f64,
}

impl Doc {
    #[allow(clippy::too_many_arguments)] // one per indexed column
    pub fn new(
        id: Uuid,
        title: &str,
        original_title: Option<&str>,
        genres: Vec<String>,
        year: Option<i32>,
        language: &str,
        rating: f64,
        popularity: f64,
    ) -> Self {
        Self {
            id,
            kind: "MOVIE".into(),
            title: title.to_string(),
            words: words(title),
            original_words: original_title.map(words).unwrap_or_default(),
            genres,
            year,
            language: language.to_string(),
            rating,
            popularity,
        }
    }
}

/// Lowercased alphanumeric words, accents folded for the common Latin ones.
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
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        c => c,
    }
}

/// Levenshtein distance, giving up (returning `max + 1`) once it exceeds `max`.
pub fn distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        let mut best = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            best = best.min(cur[j + 1]);
        }
        if best > max {
            return max + 1;
        }
        prev = cur;
    }
    prev[b.len()]
}

fn allowed_typos(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// How well `term` matches one of `words`: 3 exact, 2 prefix, 1 fuzzy.
fn term_score(term: &str, words: &[String], last: bool) -> f64 {
    let mut best = 0.0f64;
    for w in words {
        let s = if w == term {
            3.0
        } else if last && term.len() >= 2 && w.starts_with(term) {
            2.0
        } else if distance(term, w, allowed_typos(term)) <= allowed_typos(term) {
            1.0
        } else {
            0.0
        };
        best = best.max(s);
    }
    best
}

/// Restricts matches (the subset of `MovieFilter` search supports).
#[derive(Default, Clone)]
pub struct DocFilter {
    /// `MOVIE`, `SERIES`; empty keeps both.
    pub kinds: Vec<String>,
    pub genres: Vec<String>,
    pub all_genres: bool,
    pub year: Option<i32>,
    pub language: Option<String>,
    pub rating_min: Option<f64>,
}

impl DocFilter {
    fn keeps(&self, d: &Doc) -> bool {
        let genres_ok = self.genres.is_empty()
            || if self.all_genres {
                self.genres.iter().all(|g| d.genres.contains(g))
            } else {
                self.genres.iter().any(|g| d.genres.contains(g))
            };
        genres_ok
            && (self.kinds.is_empty() || self.kinds.contains(&d.kind))
            && self.year.is_none_or(|y| d.year == Some(y))
            && self.language.as_ref().is_none_or(|l| &d.language == l)
            && self.rating_min.is_none_or(|r| d.rating >= r)
    }
}

pub struct Hit {
    pub id: Uuid,
    pub score: f64,
    /// The title with matched words in `<em>`.
    pub highlight: String,
}

pub struct Results {
    pub hits: Vec<Hit>,
    pub genres: BTreeMap<String, usize>,
    pub decades: BTreeMap<i32, usize>,
}

#[derive(Default)]
pub struct Index {
    docs: RwLock<HashMap<Uuid, Doc>>,
}

impl Index {
    pub async fn replace_all(&self, docs: Vec<Doc>) {
        *self.docs.write().await = docs.into_iter().map(|d| (d.id, d)).collect();
    }

    pub async fn upsert(&self, doc: Doc) {
        self.docs.write().await.insert(doc.id, doc);
    }

    pub async fn remove(&self, id: Uuid) {
        self.docs.write().await.remove(&id);
    }

    pub async fn len(&self) -> usize {
        self.docs.read().await.len()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    pub async fn search(&self, query: &str, filter: &DocFilter) -> Results {
        let terms = words(query);
        let docs = self.docs.read().await;
        let mut hits = Vec::new();
        let mut genres = BTreeMap::new();
        let mut decades = BTreeMap::new();
        if terms.is_empty() {
            return Results {
                hits,
                genres,
                decades,
            };
        }
        for d in docs.values().filter(|d| filter.keeps(d)) {
            let mut total = 0.0;
            let mut all = true;
            for (i, t) in terms.iter().enumerate() {
                let last = i + 1 == terms.len();
                let s =
                    term_score(t, &d.words, last).max(term_score(t, &d.original_words, last) * 0.8);
                if s == 0.0 {
                    all = false;
                    break;
                }
                total += s;
            }
            if !all {
                continue;
            }
            for g in &d.genres {
                *genres.entry(g.clone()).or_insert(0) += 1;
            }
            if let Some(y) = d.year {
                *decades.entry(y / 10 * 10).or_insert(0) += 1;
            }
            // Shorter titles that match fully rank above long ones.
            let coverage = terms.len() as f64 / d.words.len().max(1) as f64;
            let score = total + coverage + (1.0 + d.popularity).ln() / 100.0;
            hits.push(Hit {
                id: d.id,
                score,
                highlight: highlight(&d.title, &terms),
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        Results {
            hits,
            genres,
            decades,
        }
    }

    /// Titles with a word (or the whole title) starting with `prefix`, most popular first.
    pub async fn suggest(&self, prefix: &str, n: usize) -> Vec<Uuid> {
        let p = words(prefix).join(" ");
        if p.is_empty() {
            return Vec::new();
        }
        let docs = self.docs.read().await;
        let mut found: Vec<&Doc> = docs
            .values()
            .filter(|d| {
                d.words.join(" ").starts_with(&p) || d.words.iter().any(|w| w.starts_with(&p))
            })
            .collect();
        found.sort_by(|a, b| b.popularity.total_cmp(&a.popularity).then(a.id.cmp(&b.id)));
        found.into_iter().take(n).map(|d| d.id).collect()
    }
}

fn highlight(title: &str, terms: &[String]) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let w = words(word).join("");
        let hit = terms.iter().any(|t| {
            w == *t
                || w.starts_with(t.as_str())
                || distance(t, &w, allowed_typos(t)) <= allowed_typos(t)
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, pop: f64) -> Doc {
        Doc::new(
            Uuid::now_v7(),
            title,
            None,
            vec!["drama".into()],
            Some(1972),
            "en",
            8.0,
            pop,
        )
    }

    #[test]
    fn distances_are_bounded() {
        assert_eq!(distance("godfathr", "godfather", 2), 1);
        assert_eq!(distance("kitten", "sitting", 3), 3);
        assert_eq!(distance("a", "abcdef", 2), 3);
    }

    #[tokio::test]
    async fn typos_prefixes_and_highlights() {
        let index = Index::default();
        let godfather = doc("The Godfather", 90.0);
        let id = godfather.id;
        index
            .replace_all(vec![
                godfather,
                doc("The Godfather Part II", 80.0),
                doc("Goodfellas", 70.0),
            ])
            .await;
        let r = index.search("godfathr", &DocFilter::default()).await;
        assert_eq!(r.hits.len(), 2);
        assert_eq!(r.hits[0].id, id, "the shorter full match ranks first");
        assert_eq!(r.hits[0].highlight, "The <em>Godfather</em>");
        assert_eq!(r.genres.get("drama"), Some(&2));
        assert_eq!(r.decades.get(&1970), Some(&2));
        assert!(index
            .search("zzzz", &DocFilter::default())
            .await
            .hits
            .is_empty());
        assert_eq!(index.suggest("good", 5).await.len(), 1);
        assert_eq!(index.suggest("the god", 5).await.len(), 2);
    }
}
