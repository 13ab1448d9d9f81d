//! What user-written text must be before it is stored: plain text (no HTML),
//! no control characters but newlines and tabs, trimmed, within a length;
//! and the `@username` mentions in it.

use kit::Error;

/// Characters a post, comment, review or chat message may hold.
pub const POST_MAX: usize = 5_000;
pub const COMMENT_MAX: usize = 2_000;
pub const REVIEW_MAX: usize = 20_000;
pub const MESSAGE_MAX: usize = 4_000;
pub const ROOM_NAME_MAX: usize = 100;

/// `raw` cleaned for storage, or `BAD_USER_INPUT` naming `field`.
pub fn body(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let cleaned: String = raw
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() {
        return Err(Error::bad_input(field, format!("{field} may not be empty")));
    }
    let n = cleaned.chars().count();
    if n > max {
        return Err(Error::bad_input(
            field,
            format!("{field} has {n} characters; at most {max} are allowed"),
        ));
    }
    if looks_like_html(&cleaned) {
        return Err(Error::bad_input(
            field,
            format!("{field} must be plain text; HTML tags are not accepted"),
        ));
    }
    Ok(cleaned)
}

/// A tag opening (`<a`, `</p`, `<!--`): a `<` followed by a letter, `/` or `!`.
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// The usernames mentioned as `@name` (lowercased, each once, at most 10):
/// 3 to 30 of a-z, 0-9, _ after the start or a character that cannot be
/// part of a name (so `ann@example.com` mentions nobody).
pub fn mentions(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' && (i == 0 || !(word(chars[i - 1]) || chars[i - 1] == '@')) {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && word(chars[end]) {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect::<String>().to_lowercase();
            if (3..=30).contains(&name.len()) && !out.contains(&name) {
                out.push(name);
                if out.len() == 10 {
                    break;
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_plain_trimmed_and_bounded() {
        assert_eq!(
            body("b", "  hi\u{0007} there\r\n ", 100).unwrap(),
            "hi there"
        );
        assert_eq!(body("b", "a\n\tb", 100).unwrap(), "a\n\tb");
        assert_eq!(
            body("b", "3 < 4 and 5 > 2", 100).unwrap(),
            "3 < 4 and 5 > 2"
        );
        for bad in ["", "   \u{0000} ", "<b>bold</b>", "x</p>", "<!-- c -->"] {
            let e = body("body", bad, 100).unwrap_err();
            assert_eq!(e.code, kit::ErrorCode::BadUserInput, "{bad:?}");
        }
        assert!(body("b", &"é".repeat(10), 10).is_ok());
        let e = body("body", &"é".repeat(11), 10).unwrap_err();
        assert!(e.message.contains("11 characters"), "{}", e.message);
    }

    #[test]
    fn mentions_are_names_after_an_at() {
        assert_eq!(
            mentions("@Ann and @bob_2, not ann@mail.com nor @@x nor @ab; @ann again"),
            vec!["ann", "bob_2"]
        );
        assert!(mentions("no one").is_empty());
        assert_eq!(mentions("(@zed)"), vec!["zed"]);
    }
}
