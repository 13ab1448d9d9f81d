//! No password, password hash or token reaches the logs: every log line of a
//! whole account flow (at debug level) is captured and searched.

use std::io::Write;
use std::sync::{Arc, Mutex};

use e2e::{mailed_code, System};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_appears_in_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let password = "quiet ocelot lantern 4471";
    let new_password = "brisk heron mosaic 9034";
    let mut secrets: Vec<String> = vec![password.into(), new_password.into()];
    for sys in System::all_with(false, |c| c.router.rate_limit.auth.per_minute = 10_000).await {
        let reg = sys
            .data(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken } }",
                json!({"i": {"email": "quiet@example.com", "username": "quiet", "password": password}}),
            )
            .await;
        let access = reg["register"]["accessToken"].as_str().unwrap().to_string();
        let refresh = reg["register"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let failed = sys
            .gql(None, "mutation($p: String!) { login(input: {login: \"quiet\", password: $p}) { accessToken } }", json!({"p": "a wrong password here 1"}))
            .await;
        assert!(failed.get("errors").is_some());
        secrets.push("a wrong password here 1".into());
        let next = sys
            .data(
                None,
                "mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }",
                json!({"t": refresh}),
            )
            .await;
        // Reuse, logged as a warning.
        let reuse: Value = sys
            .gql(
                None,
                "mutation($t: String!) { refreshToken(token: $t) { accessToken } }",
                json!({"t": refresh}),
            )
            .await;
        assert!(reuse.get("errors").is_some());
        let verify = mailed_code(sys.data_dir(), "quiet@example.com", "Confirm").unwrap();
        sys.data(
            None,
            "mutation($t: String!) { verifyEmail(token: $t) { id } }",
            json!({"t": verify}),
        )
        .await;
        sys.data(
            None,
            "mutation { requestPasswordReset(email: \"quiet@example.com\") }",
            json!({}),
        )
        .await;
        let reset = mailed_code(sys.data_dir(), "quiet@example.com", "Reset").unwrap();
        sys.data(
            None,
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
            json!({"t": reset, "p": new_password}),
        )
        .await;
        let bad_bearer = sys
            .client()
            .post(sys.url("/graphql"))
            .bearer_auth(&access)
            .json(&json!({"query": "{ me { id } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad_bearer.status(), 401);
        secrets.extend([
            access,
            refresh,
            next["refreshToken"]["accessToken"].as_str().unwrap().into(),
            next["refreshToken"]["refreshToken"]
                .as_str()
                .unwrap()
                .into(),
            verify,
            reset,
        ]);
        sys.stop().await;
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("mail written to the dev mailbox"),
        "the flow was logged at all"
    );
    for secret in &secrets {
        // Tokens are long; a third of one is enough to count as a leak.
        let probe = if secret.len() > 40 {
            &secret[..secret.len() / 3]
        } else {
            secret.as_str()
        };
        assert!(!text.contains(probe), "a secret reached the logs: {probe}");
    }
    assert!(
        !text.contains("$argon2id$"),
        "a password hash reached the logs"
    );
}
