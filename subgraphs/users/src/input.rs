//! The rules for what users type: emails, usernames, display names, bios.
//! Each refusal is a `BAD_USER_INPUT` naming the field.

use kit::Error;

pub const MAX_EMAIL: usize = 254;
pub const MAX_DISPLAY_NAME: usize = 50;
pub const MAX_BIO: usize = 500;
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=30;

/// Names that would impersonate the platform or collide with routes.
const RESERVED: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "system",
    "marquee",
    "support",
    "moderator",
    "staff",
    "api",
    "graphql",
    "null",
    "undefined",
    "me",
    "settings",
    "help",
    "about",
    "login",
    "logout",
    "register",
    "deleted",
];

/// The email as stored and compared: trimmed and lowercased.
pub fn email(field: &str, raw: &str) -> Result<String, Error> {
    let e = raw.trim().to_lowercase();
    let bad = |why: &str| Error::bad_input(field, format!("the email address {why}"));
    if e.is_empty() {
        return Err(bad("is empty"));
    }
    if e.len() > MAX_EMAIL {
        return Err(bad(&format!("may have at most {MAX_EMAIL} characters")));
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("may not contain spaces"));
    }
    let Some((local, domain)) = e.split_once('@') else {
        return Err(bad("needs an @"));
    };
    if local.is_empty() || domain.contains('@') {
        return Err(bad("is not of the form name@domain"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.starts_with('-')
                || l.ends_with('-')
                || l.chars().any(|c| !(c.is_alphanumeric() || c == '-'))
        })
    {
        return Err(bad("has no valid domain"));
    }
    Ok(e)
}

/// The username as stored: `[a-z0-9_]{3,30}` (input is lowercased first), not reserved.
pub fn username(field: &str, raw: &str) -> Result<String, Error> {
    let u = raw.trim().to_lowercase();
    let n = u.chars().count();
    if !USERNAME_LEN.contains(&n) {
        return Err(Error::bad_input(
            field,
            format!(
                "the username needs {} to {} characters",
                USERNAME_LEN.start(),
                USERNAME_LEN.end()
            ),
        ));
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::bad_input(
            field,
            "the username may only contain letters a-z, digits and _",
        ));
    }
    if RESERVED.contains(&u.as_str()) || u.starts_with("deleted_") {
        return Err(Error::bad_input(field, "this username is reserved"));
    }
    Ok(u)
}

/// Control characters removed (newlines too unless `multiline`), whitespace trimmed.
pub fn clean_text(raw: &str, multiline: bool) -> String {
    raw.chars()
        .filter(|&c| !c.is_control() || (multiline && c == '\n'))
        .collect::<String>()
        .trim()
        .to_string()
}

pub fn display_name(field: &str, raw: &str) -> Result<String, Error> {
    let d = clean_text(raw, false);
    let n = d.chars().count();
    if n == 0 {
        return Err(Error::bad_input(field, "the display name is empty"));
    }
    if n > MAX_DISPLAY_NAME {
        return Err(Error::bad_input(
            field,
            format!("the display name may have at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    Ok(d)
}

/// An empty bio clears it.
pub fn bio(field: &str, raw: &str) -> Result<Option<String>, Error> {
    let b = clean_text(raw, true);
    if b.chars().count() > MAX_BIO {
        return Err(Error::bad_input(
            field,
            format!("the bio may have at most {MAX_BIO} characters"),
        ));
    }
    Ok((!b.is_empty()).then_some(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(email("e", "  Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.org",
            "a b@x.org",
            "ann@localhost",
            "a@@x.org",
            "a@x..org",
            "a@-x.org",
        ] {
            let e = email("input.email", bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("input.email"), "{bad}");
        }
        assert!(email("e", &format!("{}@x.org", "a".repeat(250))).is_err());
    }

    #[test]
    fn usernames_follow_the_pattern() {
        assert_eq!(username("u", "Ann_99").unwrap(), "ann_99");
        for bad in [
            "ab",
            &"a".repeat(31),
            "ann-b",
            "ann b",
            "änn",
            "admin",
            "deleted_x",
        ] {
            assert!(username("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_loses_control_characters_and_keeps_limits() {
        assert_eq!(display_name("d", " Ann\u{0007} B\n").unwrap(), "Ann B");
        assert!(display_name("d", " \u{0000} ").is_err());
        assert!(display_name("d", &"x".repeat(51)).is_err());
        assert_eq!(
            bio("b", "line\none\u{001b}").unwrap().as_deref(),
            Some("line\none")
        );
        assert_eq!(bio("b", "  ").unwrap(), None);
        assert!(bio("b", &"x".repeat(501)).is_err());
    }
}
