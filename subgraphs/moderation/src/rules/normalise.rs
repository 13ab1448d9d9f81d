//! Text as the word rules see it: compatibility-decomposed (full-width and
//! styled letters become plain ones), accents and invisible characters
//! dropped, lower-cased, confusable letters of other scripts (Cyrillic `а`,
//! Greek `ο`) mapped to the Latin letter they imitate, and leetspeak (`k1ll`,
//! `$h1t`, `@ss`) read back as letters. The letters `l`, `i`, `1`, `!` and
//! `|` are one class (`i`), since each is written for the others; word lists
//! go through the same function, so both sides agree. Then split on word
//! boundaries: "Scunthorpe" is one word and does not contain another.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The words of `text`, normalised (see the module's doc), at most 10,000.
pub fn tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut out = Vec::new();
    let chars: Vec<char> = folded.chars().collect();
    let mut i = 0;
    while i < chars.len() && out.len() < 10_000 {
        if !in_word(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && in_word(chars[i]) {
            i += 1;
        }
        if let Some(t) = word(&chars[start..i]) {
            out.push(t);
        }
    }
    out
}

/// `text`'s words joined by single spaces: what duplicate detection compares.
pub fn skeleton(text: &str) -> String {
    tokens(text).join(" ")
}

/// Decomposed, without marks or invisible characters, lower-cased, with
/// confusable letters mapped.
fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c) && !invisible(*c))
        .flat_map(char::to_lowercase)
        .flat_map(|c| {
            let mapped = confusable(c);
            let (a, b) = match mapped.len() {
                2 => (mapped[0], Some(mapped[1])),
                _ => (mapped[0], None),
            };
            std::iter::once(a).chain(b)
        })
        .collect()
}

fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Characters that may stand for a letter inside a word.
fn leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!' | '|' | '+' | '€' | '£' | '¢')
}

fn in_word(c: char) -> bool {
    c.is_alphanumeric() || leet_symbol(c)
}

/// One run of word characters as a word: leetspeak read back when the run
/// has a letter (a number stays a number); symbols that end the run are
/// punctuation (`idiot!`), not letters.
fn word(run: &[char]) -> Option<String> {
    let end = run
        .iter()
        .rposition(|c| c.is_alphanumeric() || matches!(c, '$' | '@'))?;
    let run = &run[..=end];
    let has_letter = run.iter().any(|c| c.is_alphabetic());
    let mut out = String::with_capacity(run.len());
    for &c in run {
        let mapped = if has_letter { leet(c) } else { Some(c) };
        if let Some(m) = mapped {
            out.push(one_class(m));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A digit or symbol as the letter it is written for.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' | '€' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '6' | '9' => 'g',
        '7' | '+' => 't',
        '8' => 'b',
        '£' => 'l',
        '¢' => 'c',
        c if c.is_alphanumeric() => c,
        _ => return None,
    })
}

/// `l` and `i` are one letter to the word rules.
fn one_class(c: char) -> char {
    if c == 'l' {
        'i'
    } else {
        c
    }
}

/// The Latin letter(s) a letter of another script imitates; itself otherwise.
fn confusable(c: char) -> Vec<char> {
    let one = match c {
        // Cyrillic
        'а' => 'a',
        'в' => 'b',
        'е' | 'є' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ѕ' => 's',
        'і' | 'ї' | 'ӏ' => 'i',
        'ј' => 'j',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ɡ' => 'g',
        // Greek
        'α' => 'a',
        'β' => 'b',
        'γ' => 'y',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        // Latin letters that do not decompose
        'ı' => 'i',
        'ł' => 'l',
        'ø' => 'o',
        'đ' => 'd',
        'ħ' => 'h',
        'ß' => return vec!['s', 's'],
        'æ' => return vec!['a', 'e'],
        'œ' => return vec!['o', 'e'],
        c => c,
    };
    vec![one]
}
