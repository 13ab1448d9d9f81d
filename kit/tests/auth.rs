//! Token verification: every kind of bad token is refused with its own reason.

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use kit::auth::signing::KeyPair;
use kit::auth::{revoke_session, AuthError, Claims, Role, Verifier};
use kit::config::AuthConfig;
use kit::testing::TestBackend;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> Claims {
    Claims {
        sub: "u1".into(),
        role: Role::User,
        scopes: vec!["user".into()],
        sid: uuid::Uuid::new_v4().to_string(),
        iss: "marquee".into(),
        aud: "marquee-api".into(),
        exp: now() + 900,
        iat: now(),
        nbf: None,
        jti: "j1".into(),
    }
}

fn setup() -> (KeyPair, Verifier) {
    let key = KeyPair::generate("k1");
    let set = JwkSet {
        keys: vec![key.public_jwk()],
    };
    (
        key.clone(),
        Verifier::with_keys(&AuthConfig::default(), &set, None),
    )
}

#[tokio::test]
async fn a_good_token_verifies() {
    let (key, v) = setup();
    let c = claims();
    assert_eq!(v.verify(&key.sign(&c).unwrap()).await.unwrap(), c);
}

#[tokio::test]
async fn each_bad_token_is_refused_for_its_reason() {
    let (key, v) = setup();
    let other = KeyPair::generate("k1");
    let unknown = KeyPair::generate("k2");
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let body = b64(&serde_json::to_string(&claims()).unwrap());
    let cases: Vec<(&str, String, AuthError)> = vec![
        (
            "expired",
            key.sign(&Claims {
                exp: now() - 3600,
                ..claims()
            })
            .unwrap(),
            AuthError::Expired,
        ),
        (
            "not yet valid",
            key.sign(&Claims {
                nbf: Some(now() + 3600),
                ..claims()
            })
            .unwrap(),
            AuthError::NotYetValid,
        ),
        (
            "wrong issuer",
            key.sign(&Claims {
                iss: "evil".into(),
                ..claims()
            })
            .unwrap(),
            AuthError::Issuer,
        ),
        (
            "wrong audience",
            key.sign(&Claims {
                aud: "other".into(),
                ..claims()
            })
            .unwrap(),
            AuthError::Audience,
        ),
        (
            "forged signature",
            other.sign(&claims()).unwrap(),
            AuthError::Signature,
        ),
        (
            "unknown kid",
            unknown.sign(&claims()).unwrap(),
            AuthError::UnknownKey,
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
                body
            ),
            AuthError::Malformed,
        ),
        (
            "HMAC with the public key as secret",
            {
                let header = jsonwebtoken::Header {
                    kid: Some("k1".into()),
                    ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
                };
                let jwk = serde_json::to_value(key.public_jwk()).unwrap();
                let secret = jwk["x"].as_str().unwrap().as_bytes().to_vec();
                jsonwebtoken::encode(
                    &header,
                    &claims(),
                    &jsonwebtoken::EncodingKey::from_secret(&secret),
                )
                .unwrap()
            },
            AuthError::Algorithm,
        ),
        ("garbage", "not.a.token".into(), AuthError::Malformed),
    ];
    for (name, token, expected) in cases {
        assert_eq!(v.verify(&token).await.unwrap_err(), expected, "{name}");
    }
}

#[tokio::test]
async fn a_revoked_session_is_refused() {
    for b in TestBackend::all("auth").await {
        let key = KeyPair::generate("k1");
        let set = JwkSet {
            keys: vec![key.public_jwk()],
        };
        let v = Verifier::with_keys(&AuthConfig::default(), &set, Some(b.cache()));
        let c = claims();
        let token = key.sign(&c).unwrap();
        assert!(v.verify(&token).await.is_ok());
        revoke_session(&b.cache(), &c.sid, Duration::from_secs(900))
            .await
            .unwrap();
        // The verifier remembers look-ups for half a second.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            v.verify(&token).await.unwrap_err(),
            AuthError::Revoked,
            "{}",
            b.label
        );
    }
}

#[tokio::test]
async fn remote_keys_follow_rotation_without_restart() {
    use axum::routing::get;
    use std::sync::{Arc, RwLock};
    let keys = Arc::new(RwLock::new(JwkSet {
        keys: vec![KeyPair::generate("old").public_jwk()],
    }));
    let served = keys.clone();
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let set = served.read().unwrap().clone();
            async move { axum::Json(set) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = AuthConfig {
        jwks_min_refetch_secs: 0,
        ..AuthConfig::default()
    };
    let url = url::Url::parse(&format!("http://{addr}/.well-known/jwks.json")).unwrap();
    let v = Verifier::remote(&config, url, None);
    let new = KeyPair::generate("new");
    let token = new.sign(&claims()).unwrap();
    assert_eq!(v.verify(&token).await.unwrap_err(), AuthError::UnknownKey);
    keys.write().unwrap().keys.push(new.public_jwk());
    assert!(
        v.verify(&token).await.is_ok(),
        "the new kid was not fetched"
    );
}
