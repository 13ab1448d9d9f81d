//! The flag rules: a rule set admins edit (`Rules`, stored as one JSON
//! document) and the pure functions that score a text against it. The store
//! gathers what a rule needs from its tables (the author's recent texts, the
//! account's age, first sightings of domains, distinct reporters) into a
//! `Context`; `score` turns text and context into flags. Nothing here does
//! I/O, so the whole rule set is tested over a table of texts.

pub mod normalise;

use serde::{Deserialize, Serialize};

pub use normalise::{skeleton, tokens};

/// The rule set. Every field has a default, so a stored document written by
/// an older build still reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rules {
    /// A target whose flags add up to this score or more is hidden pending
    /// review and enters the queue.
    pub hide_threshold: i32,
    /// Reports one account may file per hour (GCRA: bursts up to this many).
    pub reports_per_hour: u32,
    /// Words and phrases matched on word boundaries after normalisation.
    pub words: Vec<String>,
    pub word_score: i32,
    /// More links than this in one text is link spam.
    pub max_links: u32,
    pub link_score: i32,
    /// A domain first seen less than this many hours ago is new.
    pub new_domain_hours: u32,
    pub new_domain_score: i32,
    /// This many texts with the same normalised body from one account within
    /// `duplicate_window_minutes` (this one included) is a burst.
    pub duplicate_count: u32,
    pub duplicate_window_minutes: u32,
    pub duplicate_score: i32,
    /// An account younger than this many hours that wrote more than
    /// `new_account_max_posts` texts in that time is flagged.
    pub new_account_hours: u32,
    pub new_account_max_posts: u32,
    pub velocity_score: i32,
    /// This many distinct reporters on one target raises a flag.
    pub reporter_count: u32,
    pub reporter_score: i32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            hide_threshold: 10,
            reports_per_hour: 10,
            words: DEFAULT_WORDS.iter().map(|w| w.to_string()).collect(),
            word_score: 10,
            max_links: 3,
            link_score: 6,
            new_domain_hours: 24,
            new_domain_score: 2,
            duplicate_count: 3,
            duplicate_window_minutes: 10,
            duplicate_score: 6,
            new_account_hours: 24,
            new_account_max_posts: 10,
            velocity_score: 4,
            reporter_count: 3,
            reporter_score: 6,
        }
    }
}

/// The word list a new deployment starts with (admins edit it).
pub const DEFAULT_WORDS: &[&str] = &["cunt", "faggot", "nigger", "retard", "kill yourself", "kys"];

/// Most words in the list, and longest word.
pub const MAX_WORDS: usize = 500;
pub const MAX_WORD_CHARS: usize = 64;

impl Rules {
    /// Refuses a rule set that cannot work, naming the first bad field.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let scores = [
            ("wordScore", self.word_score),
            ("linkScore", self.link_score),
            ("newDomainScore", self.new_domain_score),
            ("duplicateScore", self.duplicate_score),
            ("velocityScore", self.velocity_score),
            ("reporterScore", self.reporter_score),
        ];
        for (name, s) in scores {
            if !(0..=100).contains(&s) {
                return Err((name, "a score is from 0 to 100".into()));
            }
        }
        if !(1..=1000).contains(&self.hide_threshold) {
            return Err(("hideThreshold", "from 1 to 1000".into()));
        }
        if !(1..=1000).contains(&self.reports_per_hour) {
            return Err(("reportsPerHour", "from 1 to 1000".into()));
        }
        if self.words.len() > MAX_WORDS {
            return Err(("words", format!("at most {MAX_WORDS} words")));
        }
        if self
            .words
            .iter()
            .any(|w| tokens(w).is_empty() || w.chars().count() > MAX_WORD_CHARS)
        {
            return Err((
                "words",
                format!("each word has 1 to {MAX_WORD_CHARS} characters and a letter or digit"),
            ));
        }
        let positive = [
            ("maxLinks", self.max_links),
            ("duplicateCount", self.duplicate_count),
            ("duplicateWindowMinutes", self.duplicate_window_minutes),
            ("newAccountHours", self.new_account_hours),
            ("newAccountMaxPosts", self.new_account_max_posts),
            ("reporterCount", self.reporter_count),
            ("newDomainHours", self.new_domain_hours),
        ];
        for (name, n) in positive {
            if !(1..=10_000).contains(&n) {
                return Err((name, "from 1 to 10000".into()));
            }
        }
        Ok(())
    }
}

/// What the store knows about a text's author and surroundings.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Texts by the same author within the duplicate window with the same
    /// normalised body, this one included.
    pub same_text_recently: u32,
    /// Hours since the author registered (None: unknown, no velocity rule).
    pub account_age_hours: Option<i64>,
    /// Texts the author wrote since registering, this one included.
    pub texts_since_registering: u32,
    /// Domains of the text's links that were first seen within the window.
    pub new_domains: Vec<String>,
}

/// One raised flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// WORDS, LINKS, DUPLICATES, VELOCITY or REPORTERS.
    pub rule: &'static str,
    pub score: i32,
    pub detail: String,
    /// The report reason a flag files under.
    pub reason: &'static str,
}

/// The listed words and phrases `text` contains, on word boundaries after
/// normalisation (case, accents, confusable letters, leetspeak).
pub fn listed_words(rules: &Rules, text: &str) -> Vec<String> {
    let words = tokens(text);
    let mut out = Vec::new();
    for entry in &rules.words {
        let phrase = tokens(entry);
        if phrase.is_empty() {
            continue;
        }
        if words.windows(phrase.len()).any(|w| w == phrase.as_slice()) {
            out.push(entry.clone());
        }
    }
    out
}

/// The links of `text`: `http(s)://` URLs and bare `www.` hosts.
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '(' | ')'))
        .filter_map(|w| {
            let lower = w.to_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"))
                .or_else(|| lower.starts_with("www.").then_some(lower.as_str()))?;
            let host: String = rest
                .split(['/', '?', '#', ':'])
                .next()
                .unwrap_or_default()
                .trim_start_matches("www.")
                .trim_end_matches(['.', ',', '!'])
                .to_string();
            (host.contains('.') && host.len() <= 253).then_some(host)
        })
        .take(100)
        .collect()
}

/// The flags `text` raises under `rules`, given what the store knows.
pub fn score(rules: &Rules, text: &str, ctx: &Context) -> Vec<Hit> {
    let mut hits = Vec::new();
    let words = listed_words(rules, text);
    if !words.is_empty() && rules.word_score > 0 {
        hits.push(Hit {
            rule: "WORDS",
            score: rules.word_score,
            detail: format!("listed words: {}", words.join(", ")),
            reason: "HATE",
        });
    }
    let links = links(text);
    if links.len() as u32 > rules.max_links && rules.link_score > 0 {
        hits.push(Hit {
            rule: "LINKS",
            score: rules.link_score,
            detail: format!("{} links (more than {})", links.len(), rules.max_links),
            reason: "SPAM",
        });
    }
    if !ctx.new_domains.is_empty() && rules.new_domain_score > 0 {
        hits.push(Hit {
            rule: "LINKS",
            score: rules.new_domain_score * ctx.new_domains.len().min(5) as i32,
            detail: format!("new domains: {}", ctx.new_domains.join(", ")),
            reason: "SPAM",
        });
    }
    if ctx.same_text_recently >= rules.duplicate_count && rules.duplicate_score > 0 {
        hits.push(Hit {
            rule: "DUPLICATES",
            score: rules.duplicate_score,
            detail: format!(
                "the same text {} times within {} minutes",
                ctx.same_text_recently, rules.duplicate_window_minutes
            ),
            reason: "SPAM",
        });
    }
    if let Some(age) = ctx.account_age_hours {
        if age < rules.new_account_hours as i64
            && ctx.texts_since_registering > rules.new_account_max_posts
            && rules.velocity_score > 0
        {
            hits.push(Hit {
                rule: "VELOCITY",
                score: rules.velocity_score,
                detail: format!(
                    "{} texts from an account {} hours old",
                    ctx.texts_since_registering, age
                ),
                reason: "SPAM",
            });
        }
    }
    hits
}

/// The flag that many distinct reporters on one target raise, if they are
/// enough.
pub fn reporters_hit(rules: &Rules, distinct_reporters: u32) -> Option<Hit> {
    (distinct_reporters >= rules.reporter_count && rules.reporter_score > 0).then(|| Hit {
        rule: "REPORTERS",
        score: rules.reporter_score,
        detail: format!("{distinct_reporters} distinct reporters"),
        reason: "OTHER",
    })
}

/// How grave a report reason is, 1 to 5 (the priority's largest part).
pub fn severity(reason: &str) -> i32 {
    match reason {
        "HATE" | "HARASSMENT" => 5,
        "NSFW" => 4,
        "MISINFORMATION" => 3,
        "SPAM" => 2,
        _ => 1,
    }
}

/// A report's priority without its age part:
/// `10 × severity + 5 × distinct reporters (at most 10) + round(10 × reporter
/// trust) + flag score (at most 50)`. Trust is the share of the reporter's
/// resolved reports that were upheld (0.5 with no history; 1 for the flag
/// rules). The queue adds the age: one point per two hours open, at most 24.
pub fn priority(reason: &str, distinct_reporters: u32, trust: f64, flag_score: i32) -> i32 {
    10 * severity(reason)
        + 5 * distinct_reporters.min(10) as i32
        + (10.0 * trust.clamp(0.0, 1.0)).round() as i32
        + flag_score.clamp(0, 50)
}

/// Trust from a reporter's upheld and dismissed reports.
pub fn trust(upheld: u64, dismissed: u64) -> f64 {
    if upheld + dismissed == 0 {
        0.5
    } else {
        upheld as f64 / (upheld + dismissed) as f64
    }
}

#[cfg(test)]
mod tests;
