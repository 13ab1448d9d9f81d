//! Passwords and opaque tokens. Passwords: argon2id with OWASP's parameters
//! (19 MiB, 2 passes, 1 lane), 8 to 128 characters, weak ones refused by a
//! zxcvbn score, verified off the async runtime. Tokens: 256 random bits,
//! stored only as SHA-256, compared in constant time.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use kit::Error;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses passwords that are too short, too long or easy to guess;
/// `inputs` are the account's own words (email, username, name), which a
/// password must not lean on.
pub fn check_password(field: &str, password: &str, inputs: &[&str]) -> Result<(), Error> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::bad_input(
            field,
            format!("the password needs at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(Error::bad_input(
            field,
            format!("the password may have at most {MAX_PASSWORD} characters"),
        ));
    }
    let score = zxcvbn::zxcvbn(password, inputs).score();
    if (score as u8) < 3 {
        return Err(Error::bad_input(
            field,
            "the password is too easy to guess; use a longer phrase or more varied characters",
        ));
    }
    Ok(())
}

/// The PHC string of `password` (computed on a blocking thread).
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(Error::internal)?
    .map_err(|e| Error::internal(anyhow::anyhow!("argon2: {e}")))
}

/// A hash of nothing anyone knows: verifying against it costs what a real
/// check costs, so unknown accounts answer in the same time as known ones.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(random_token().as_bytes(), &salt)
            .expect("hashing a random string works")
            .to_string()
    })
}

/// Whether `password` matches `hash` (`None`: check against a decoy and fail).
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let phc = hash.unwrap_or_else(|| decoy().to_string());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two stored hashes.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id_with_owasp_parameters() {
        let h = hash_password("violet tiger staples 9".into())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("violet tiger staples 9".into(), Some(h.clone())).await);
        assert!(!verify_password("violet tiger staples 8".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn weak_short_and_long_passwords_are_refused() {
        for p in [
            "short",
            "password1",
            "ripley@example.com1",
            &"x".repeat(129),
        ] {
            let e = check_password("password", p, &["ripley", "ripley@example.com"]).unwrap_err();
            assert_eq!(e.code, kit::ErrorCode::BadUserInput, "{p}");
        }
        assert!(check_password("password", "correct horse battery staple 42", &[]).is_ok());
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert!(same(&token_hash(&a), &token_hash(&a)));
        assert!(!same(&token_hash(&a), &token_hash(&b)));
    }
}
