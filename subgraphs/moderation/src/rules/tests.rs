//! The rule set over a table of texts: what must be flagged (leetspeak,
//! accents, confusable letters, invisible characters, phrases) and what must
//! not (words that contain a listed one, like "Scunthorpe").

use super::*;

fn rules() -> Rules {
    Rules {
        words: vec![
            "cunt".into(),
            "idiot".into(),
            "kill yourself".into(),
            "spoilerword".into(),
            "shit".into(),
            "ass".into(),
        ],
        ..Rules::default()
    }
}

/// (text, the listed entries it must match; empty: none).
const TABLE: &[(&str, &[&str])] = &[
    // Plain matches and case.
    ("you idiot", &["idiot"]),
    ("You IDIOT.", &["idiot"]),
    ("Idiot!", &["idiot"]),
    ("what an idiot!!!", &["idiot"]),
    ("(idiot)", &["idiot"]),
    // Leetspeak.
    ("1d10t", &["idiot"]),
    ("you !d!0t", &["idiot"]),
    ("$hit happens", &["shit"]),
    ("sh1t", &["shit"]),
    ("5h!t", &["shit"]),
    ("what an @ss", &["ass"]),
    ("c|_|nt", &[]),
    ("cun7", &["cunt"]),
    ("k1ll y0urs3lf", &["kill yourself"]),
    ("K!LL YOURSELF now", &["kill yourself"]),
    // Accents.
    ("ïdíôt", &["idiot"]),
    ("Ìdiôt", &["idiot"]),
    ("shït", &["shit"]),
    // Confusable letters (Cyrillic, Greek) and full-width forms.
    ("іdіоt", &["idiot"]),
    ("ѕhit", &["shit"]),
    ("ιdιοt", &["idiot"]),
    ("ｉｄｉｏｔ", &["idiot"]),
    ("𝐢𝐝𝐢𝐨𝐭", &["idiot"]),
    // Invisible characters inside a word.
    ("id\u{200B}iot", &["idiot"]),
    ("sh\u{00AD}it", &["shit"]),
    // Phrases across punctuation and spacing.
    ("kill   yourself", &["kill yourself"]),
    ("kill, yourself", &["kill yourself"]),
    // Several at once.
    ("idiot, kill yourself", &["idiot", "kill yourself"]),
    // False positives that must not match.
    ("Scunthorpe United won", &[]),
    ("SCUNTHORPE", &[]),
    ("Scunthörpe", &[]),
    ("an idiotic plan", &[]),
    ("idiots", &[]),
    ("the assassin's creed", &[]),
    ("classic class pass", &[]),
    ("Shitake mushrooms", &[]),
    ("skill yourself up", &[]),
    ("kill your self", &[]),
    ("Kill Bill is great", &[]),
    ("Essex and Sussex", &[]),
    ("the 1980s", &[]),
    ("12345", &[]),
    ("hello world", &[]),
    ("", &[]),
    ("Cunthorpe? no: Scunthorpe", &[]),
    ("massive assets", &[]),
    ("a bass guitar", &[]),
];

#[test]
fn listed_words_over_the_table() {
    let rules = rules();
    assert!(TABLE.len() >= 40, "the table has {} texts", TABLE.len());
    let mut wrong = Vec::new();
    for (text, expected) in TABLE {
        let got = listed_words(&rules, text);
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        if got != expected {
            wrong.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn words_are_normalised_like_texts() {
    assert_eq!(tokens("Ïd1ot!"), tokens("idiot"));
    assert_eq!(skeleton("  Hello,   WORLD!! "), "heiio worid");
    assert_eq!(tokens("2024"), vec!["2024"]);
}

#[test]
fn a_listed_word_scores_the_word_score() {
    let hits = score(&rules(), "y0u 1d10t", &Context::default());
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].rule, "WORDS");
    assert_eq!(hits[0].score, Rules::default().word_score);
    assert!(hits[0].score >= Rules::default().hide_threshold);
}

#[test]
fn many_links_are_link_spam() {
    let text = "https://a.example/x http://b.example www.c.example https://d.example/?q=1";
    assert_eq!(
        links(text),
        vec!["a.example", "b.example", "c.example", "d.example"]
    );
    let hits = score(&rules(), text, &Context::default());
    assert!(hits.iter().any(|h| h.rule == "LINKS"), "{hits:?}");
    let few = score(&rules(), "see https://a.example", &Context::default());
    assert!(few.is_empty());
}

#[test]
fn new_domains_duplicates_and_velocity_raise_flags() {
    let ctx = Context {
        same_text_recently: 3,
        account_age_hours: Some(2),
        texts_since_registering: 11,
        new_domains: vec!["spam.example".into()],
    };
    let hits = score(&rules(), "buy at https://spam.example", &ctx);
    let rules_hit: Vec<&str> = hits.iter().map(|h| h.rule).collect();
    assert_eq!(rules_hit, vec!["LINKS", "DUPLICATES", "VELOCITY"]);
    let old = Context {
        account_age_hours: Some(100),
        texts_since_registering: 50,
        ..Context::default()
    };
    assert!(score(&rules(), "hello", &old).is_empty());
}

#[test]
fn distinct_reporters_raise_a_flag_at_the_threshold() {
    let r = rules();
    assert!(reporters_hit(&r, 2).is_none());
    assert_eq!(
        reporters_hit(&r, 3).map(|h| h.score),
        Some(r.reporter_score)
    );
}

#[test]
fn priority_orders_by_severity_then_reporters_trust_and_flags() {
    // Severity dominates one reporter's trust.
    assert!(priority("HATE", 1, 0.0, 0) > priority("SPAM", 1, 1.0, 0));
    // More reporters, more trust and more flag score each raise it.
    assert!(priority("SPAM", 3, 0.5, 0) > priority("SPAM", 1, 0.5, 0));
    assert!(priority("SPAM", 1, 1.0, 0) > priority("SPAM", 1, 0.0, 0));
    assert!(priority("SPAM", 1, 0.5, 10) > priority("SPAM", 1, 0.5, 0));
    assert_eq!(priority("HATE", 1, 0.5, 0), 50 + 5 + 5);
    // Reporters and flags are capped.
    assert_eq!(priority("OTHER", 50, 0.5, 500), 10 + 50 + 5 + 50);
    assert_eq!(trust(0, 0), 0.5);
    assert_eq!(trust(3, 1), 0.75);
}

#[test]
fn a_bad_rule_set_names_its_field() {
    let mut r = Rules::default();
    assert!(r.check().is_ok());
    r.hide_threshold = 0;
    assert_eq!(r.check().map_err(|e| e.0), Err("hideThreshold"));
    let mut r = Rules::default();
    r.words.push("   ".into());
    assert_eq!(r.check().map_err(|e| e.0), Err("words"));
}
