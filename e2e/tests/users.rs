//! The users subgraph through the router, on the embedded backends and on
//! PostgreSQL, Redis and NATS: sign-up, sign-in, sessions and their refresh
//! tokens, logout, mail round trips through the dev mailbox, roles,
//! suspension, deletion and the table of refused inputs.

use e2e::{mailed_code, System};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple 42";
const AUTH: &str = "accessToken refreshToken expiresIn user { id username }";

/// Every backend, with the router's per-IP authentication limit out of the
/// way (its own test is in system.rs; these tests sign in many times).
async fn systems(seed: bool) -> Vec<System> {
    System::all_with(seed, |c| c.router.rate_limit.auth.per_minute = 10_000).await
}

fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

struct Session {
    access: String,
    refresh: String,
    id: String,
}

fn session(payload: &Value) -> Session {
    Session {
        access: payload["accessToken"]
            .as_str()
            .expect("an access token")
            .into(),
        refresh: payload["refreshToken"]
            .as_str()
            .expect("a refresh token")
            .into(),
        id: payload["user"]["id"].as_str().expect("a user id").into(),
    }
}

async fn register(sys: &System, name: &str) -> Session {
    let d = sys
        .data(
            None,
            &format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ {AUTH} }} }}"),
            json!({"input": {
                "email": format!("{name}@example.com"),
                "username": name,
                "password": PASSWORD,
                "displayName": name.to_uppercase(),
            }}),
        )
        .await;
    session(&d["register"])
}

async fn login(sys: &System, login: &str, password: &str) -> Value {
    sys.gql(
        None,
        &format!("mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH} }} }}"),
        json!({"input": {"login": login, "password": password}}),
    )
    .await
}

async fn refresh(sys: &System, token: &str) -> Value {
    sys.gql(
        None,
        &format!("mutation($t: String!) {{ refreshToken(token: $t) {{ {AUTH} }} }}"),
        json!({"t": token}),
    )
    .await
}

/// `(status, body)` of `{ me { id } }` as `token`.
async fn me_status(sys: &System, token: &str) -> (u16, Value) {
    let r = sys
        .client()
        .post(sys.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": "{ me { id username } }"}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn signed_in(sys: &System, role: &str) -> Session {
    let (user, password) = sys.seeded_account(role);
    let r = login(sys, &user, &password).await;
    assert!(r.get("errors").is_none(), "[{}] {r}", sys.label);
    session(&r["data"]["login"])
}

#[tokio::test]
async fn register_login_me_and_refresh_rotation() {
    for sys in systems(false).await {
        let l = sys.label;
        let s = register(&sys, "ripley").await;
        let me = sys
            .data(
                Some(&s.access),
                "{ me { id username displayName email emailVerified role } }",
                json!({}),
            )
            .await;
        assert_eq!(me["me"]["id"], s.id.as_str(), "[{l}]");
        assert_eq!(me["me"]["email"], "ripley@example.com", "[{l}]");
        assert_eq!(me["me"]["displayName"], "RIPLEY", "[{l}]");
        assert_eq!(me["me"]["emailVerified"], false, "[{l}]");
        assert_eq!(me["me"]["role"], "USER", "[{l}]");

        // By username or email, in any case.
        for name in ["Ripley", "RIPLEY@example.com"] {
            let r = login(&sys, name, PASSWORD).await;
            assert_eq!(r["data"]["login"]["user"]["id"], s.id.as_str(), "[{l}] {r}");
            assert_eq!(r["data"]["login"]["expiresIn"], 900, "[{l}]");
        }
        let wrong = login(&sys, "ripley", "not the password 77").await;
        assert_eq!(code(&wrong), "UNAUTHENTICATED", "[{l}] {wrong}");
        let unknown = login(&sys, "nobody_here", PASSWORD).await;
        assert_eq!(
            unknown["errors"][0]["message"], wrong["errors"][0]["message"],
            "[{l}] no enumeration"
        );

        // Each refresh token works once and hands out the next.
        let r1 = refresh(&sys, &s.refresh).await;
        let s1 = session(&r1["data"]["refreshToken"]);
        assert_ne!(s1.refresh, s.refresh, "[{l}]");
        let (status, _) = me_status(&sys, &s1.access).await;
        assert_eq!(status, 200, "[{l}]");
        let r2 = refresh(&sys, &s1.refresh).await;
        let s2 = session(&r2["data"]["refreshToken"]);

        // Presenting a used one again is reuse: the whole family is revoked.
        let reuse = refresh(&sys, &s.refresh).await;
        assert_eq!(code(&reuse), "UNAUTHENTICATED", "[{l}] {reuse}");
        let after = refresh(&sys, &s2.refresh).await;
        assert_eq!(
            code(&after),
            "UNAUTHENTICATED",
            "[{l}] the newest token dies with its family: {after}"
        );
        let (status, body) = me_status(&sys, &s2.access).await;
        assert_eq!(
            status, 401,
            "[{l}] access tokens of the family stop at once: {body}"
        );
        assert_eq!(code(&body), "UNAUTHENTICATED", "[{l}]");

        sys.stop().await;
    }
}

#[tokio::test]
async fn logout_makes_the_access_token_unusable_through_the_router() {
    for sys in systems(false).await {
        let l = sys.label;
        let a = register(&sys, "hudson").await;
        let b = session(&login(&sys, "hudson", PASSWORD).await["data"]["login"]);
        let out = sys
            .data(
                Some(&a.access),
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({"t": a.refresh}),
            )
            .await;
        assert_eq!(out["logout"], true, "[{l}]");
        let (status, body) = me_status(&sys, &a.access).await;
        assert_eq!(
            (status, code(&body)),
            (401, "UNAUTHENTICATED"),
            "[{l}] {body}"
        );
        assert_eq!(
            code(&refresh(&sys, &a.refresh).await),
            "UNAUTHENTICATED",
            "[{l}]"
        );
        // The other session lives on until logoutAll.
        assert_eq!(me_status(&sys, &b.access).await.0, 200, "[{l}]");
        let c = session(&login(&sys, "hudson", PASSWORD).await["data"]["login"]);
        sys.data(Some(&c.access), "mutation { logoutAll }", json!({}))
            .await;
        assert_eq!(me_status(&sys, &b.access).await.0, 401, "[{l}]");
        assert_eq!(me_status(&sys, &c.access).await.0, 401, "[{l}]");
        // Someone else's refresh token cannot be logged out.
        register(&sys, "gorman").await;
        let e = session(&login(&sys, "gorman", PASSWORD).await["data"]["login"]);
        let r = sys
            .gql(
                Some(&e.access),
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({"t": register(&sys, "dietrich").await.refresh}),
            )
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "[{l}] {r}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn email_verification_and_password_reset_through_the_dev_mailbox() {
    for sys in systems(false).await {
        let l = sys.label;
        let s = register(&sys, "newt").await;
        let code_ = mailed_code(sys.data_dir(), "newt@example.com", "Confirm")
            .expect("a verification mail");
        let v = sys
            .data(
                None,
                "mutation($t: String!) { verifyEmail(token: $t) { id } }",
                json!({"t": code_}),
            )
            .await;
        assert_eq!(v["verifyEmail"]["id"], s.id.as_str(), "[{l}]");
        let me = sys
            .data(Some(&s.access), "{ me { emailVerified } }", json!({}))
            .await;
        assert_eq!(me["me"]["emailVerified"], true, "[{l}]");
        let again = sys
            .gql(
                None,
                "mutation($t: String!) { verifyEmail(token: $t) { id } }",
                json!({"t": code_}),
            )
            .await;
        assert_eq!(code(&again), "BAD_USER_INPUT", "[{l}] single use: {again}");

        // Unknown addresses get the same answer and no mail.
        for email in ["NEWT@example.com", "nobody@example.com", "not an email"] {
            let r = sys
                .data(
                    None,
                    "mutation($e: String!) { requestPasswordReset(email: $e) }",
                    json!({"e": email}),
                )
                .await;
            assert_eq!(r["requestPasswordReset"], true, "[{l}]");
        }
        assert!(mailed_code(sys.data_dir(), "nobody@example.com", "Reset").is_none());
        let reset = mailed_code(sys.data_dir(), "newt@example.com", "Reset").expect("a reset mail");
        // A verification code is not a reset code, and weak passwords are refused.
        let wrong_kind = sys
            .gql(
                None,
                "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
                json!({"t": code_, "p": "a whole new phrase 73"}),
            )
            .await;
        assert_eq!(code(&wrong_kind), "BAD_USER_INPUT", "[{l}] {wrong_kind}");
        let weak = sys
            .gql(
                None,
                "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
                json!({"t": reset, "p": "password"}),
            )
            .await;
        assert_eq!(code(&weak), "BAD_USER_INPUT", "[{l}] {weak}");
        let ok = sys
            .data(
                None,
                "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
                json!({"t": reset, "p": "a whole new phrase 73"}),
            )
            .await;
        assert_eq!(ok["resetPassword"], true, "[{l}]");
        assert_eq!(
            code(&login(&sys, "newt", PASSWORD).await),
            "UNAUTHENTICATED",
            "[{l}]"
        );
        assert!(
            login(&sys, "newt", "a whole new phrase 73")
                .await
                .get("errors")
                .is_none(),
            "[{l}]"
        );
        // The reset signed every session out.
        assert_eq!(me_status(&sys, &s.access).await.0, 401, "[{l}]");
        sys.stop().await;
    }
}

#[tokio::test]
async fn role_change_takes_effect_on_the_next_token_and_admin_queries_are_refused_to_users() {
    for sys in systems(true).await {
        let l = sys.label;
        let admin = signed_in(&sys, "ADMIN").await;
        let user = register(&sys, "bishop").await;

        for (token, expected) in [
            (None, "UNAUTHENTICATED"),
            (Some(user.access.as_str()), "FORBIDDEN"),
        ] {
            for q in [
                "{ users(first: 5) { totalCount } }",
                "{ auditLog(first: 5) { totalCount } }",
            ] {
                let r = sys.gql(token, q, json!({})).await;
                assert_eq!(code(&r), expected, "[{l}] {q}: {r}");
            }
            let r = sys
                .gql(
                    token,
                    "mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { id } }",
                    json!({"id": user.id}),
                )
                .await;
            assert_eq!(code(&r), expected, "[{l}] {r}");
        }
        // Private fields of someone else: null with FORBIDDEN, the rest answers.
        let r = sys
            .gql(
                Some(&user.access),
                "query($id: ID!) { user(id: $id) { username email } }",
                json!({"id": admin.id}),
            )
            .await;
        assert!(r["data"]["user"]["username"].is_string(), "[{l}] {r}");
        assert!(r["data"]["user"]["email"].is_null(), "[{l}] {r}");
        assert_eq!(code(&r), "FORBIDDEN", "[{l}] {r}");

        let set = sys
            .data(
                Some(&admin.access),
                "mutation($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { id role } }",
                json!({"id": user.id}),
            )
            .await;
        assert_eq!(set["setUserRole"]["role"], "MODERATOR", "[{l}]");
        let next = session(&refresh(&sys, &user.refresh).await["data"]["refreshToken"]);
        let me = sys
            .data(Some(&next.access), "{ me { role } }", json!({}))
            .await;
        assert_eq!(me["me"]["role"], "MODERATOR", "[{l}]");
        let claims = decode_claims(&next.access);
        assert_eq!(claims["role"], "MODERATOR", "[{l}]");
        assert_eq!(claims["scopes"], json!(["user", "moderator"]), "[{l}]");
        for key in ["sub", "sid", "iss", "aud", "exp", "iat", "jti"] {
            assert!(claims.get(key).is_some(), "[{l}] claim {key}");
        }

        // Admins page through accounts and read the audit log.
        let page = sys
            .data(Some(&admin.access), "{ users(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { username } } } }", json!({}))
            .await;
        assert_eq!(page["users"]["totalCount"], 5, "[{l}] {page}");
        assert_eq!(page["users"]["pageInfo"]["hasNextPage"], true, "[{l}]");
        let mut seen = 2;
        let mut cursor = page["users"]["pageInfo"]["endCursor"].clone();
        while !cursor.is_null() {
            let p = sys
                .data(Some(&admin.access), "query($a: String) { users(first: 2, after: $a) { pageInfo { endCursor hasNextPage } edges { node { username } } } }", json!({"a": cursor}))
                .await;
            seen += p["users"]["edges"].as_array().unwrap().len();
            cursor = if p["users"]["pageInfo"]["hasNextPage"] == true {
                p["users"]["pageInfo"]["endCursor"].clone()
            } else {
                Value::Null
            };
        }
        assert_eq!(seen, 5, "[{l}]");
        let too_many = sys
            .gql(
                Some(&admin.access),
                "{ users(first: 1000) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            code(&too_many),
            "BAD_USER_INPUT",
            "[{l}] every list is bounded"
        );
        let audit = sys
            .data(Some(&admin.access), "query($id: ID!) { auditLog(filter: {userId: $id}, first: 10) { edges { node { action actorId ip } } } }", json!({"id": user.id}))
            .await;
        let actions: Vec<&str> = audit["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["role_change", "register"], "[{l}] {audit}");
        sys.stop().await;
    }
}

#[tokio::test]
async fn suspension_and_deletion_end_sessions() {
    for sys in systems(true).await {
        let l = sys.label;
        let admin = signed_in(&sys, "ADMIN").await;
        let user = register(&sys, "burke").await;
        let until = (chrono_now_plus_days(1)).to_string();
        let s = sys
            .data(Some(&admin.access), "mutation($id: ID!, $u: DateTime!) { suspendUser(userId: $id, until: $u, reason: \"spam\") { suspendedUntil suspensionReason } }", json!({"id": user.id, "u": until}))
            .await;
        assert_eq!(s["suspendUser"]["suspensionReason"], "spam", "[{l}]");
        assert_eq!(me_status(&sys, &user.access).await.0, 401, "[{l}]");
        let r = login(&sys, "burke", PASSWORD).await;
        assert_eq!(code(&r), "FORBIDDEN", "[{l}] {r}");

        let gone = register(&sys, "carter").await;
        let wrong = sys
            .gql(
                Some(&gone.access),
                "mutation { deleteAccount(password: \"not it at all 99\") }",
                json!({}),
            )
            .await;
        assert_eq!(code(&wrong), "BAD_USER_INPUT", "[{l}]");
        let ok = sys
            .data(
                Some(&gone.access),
                "mutation($p: String!) { deleteAccount(password: $p) }",
                json!({"p": PASSWORD}),
            )
            .await;
        assert_eq!(ok["deleteAccount"], true, "[{l}]");
        assert_eq!(me_status(&sys, &gone.access).await.0, 401, "[{l}]");
        let lookup = sys
            .data(
                None,
                "{ userByUsername(username: \"carter\") { id } }",
                json!({}),
            )
            .await;
        assert!(lookup["userByUsername"].is_null(), "[{l}]");
        assert_eq!(
            code(&login(&sys, "carter@example.com", PASSWORD).await),
            "UNAUTHENTICATED",
            "[{l}]"
        );
        // The name and address are free again.
        register(&sys, "carter").await;
        sys.stop().await;
    }
}

#[tokio::test]
async fn failed_sign_ins_lock_the_account_for_a_while() {
    for sys in systems(false).await {
        let l = sys.label;
        register(&sys, "drake").await;
        // Straight to the subgraph: the router's per-IP limit is not under test.
        let url = sys.process_url("users", "/graphql");
        let attempt = |password: &'static str| {
            let client = sys.client().clone();
            let url = url.clone();
            async move {
                let r: Value = client
                    .post(url)
                    .json(&json!({"query": "mutation($p: String!) { login(input: {login: \"drake\", password: $p}) { accessToken } }", "variables": {"p": password}}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                r
            }
        };
        for _ in 0..5 {
            assert_eq!(
                code(&attempt("wrong guess number 1").await),
                "UNAUTHENTICATED",
                "[{l}]"
            );
        }
        let locked = attempt(PASSWORD).await;
        assert_eq!(
            code(&locked),
            "RATE_LIMITED",
            "[{l}] even the right password waits: {locked}"
        );
        sys.stop().await;
    }
}

#[tokio::test]
async fn bad_inputs_are_refused_with_their_codes() {
    for sys in systems(false).await {
        let l = sys.label;
        let s = register(&sys, "apone").await;
        let reg = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";
        let input = |email: &str, username: &str, password: &str, display: &str| json!({"input": {"email": email, "username": username, "password": password, "displayName": display}});
        let long = "x".repeat(51);
        let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
            (
                "duplicate email in another case",
                input("APONE@Example.com", "apone2", PASSWORD, "A"),
                "CONFLICT",
                Some("input.email"),
            ),
            (
                "duplicate username in another case",
                input("apone2@example.com", "APONE", PASSWORD, "A"),
                "CONFLICT",
                Some("input.username"),
            ),
            (
                "short password",
                input("a1@example.com", "a_one", "x9!", "A"),
                "BAD_USER_INPUT",
                Some("input.password"),
            ),
            (
                "weak password",
                input("a2@example.com", "a_two", "password123", "A"),
                "BAD_USER_INPUT",
                Some("input.password"),
            ),
            (
                "password of the username",
                input("a3@example.com", "frosty_a3", "frosty_a3frosty", "A"),
                "BAD_USER_INPUT",
                Some("input.password"),
            ),
            (
                "long password",
                input("a4@example.com", "a_four", &"Zq9!".repeat(40), "A"),
                "BAD_USER_INPUT",
                Some("input.password"),
            ),
            (
                "bad username",
                input("a5@example.com", "a-five", PASSWORD, "A"),
                "BAD_USER_INPUT",
                Some("input.username"),
            ),
            (
                "short username",
                input("a6@example.com", "ab", PASSWORD, "A"),
                "BAD_USER_INPUT",
                Some("input.username"),
            ),
            (
                "reserved username",
                input("a7@example.com", "admin", PASSWORD, "A"),
                "BAD_USER_INPUT",
                Some("input.username"),
            ),
            (
                "bad email",
                input("not-an-email", "a_eight", PASSWORD, "A"),
                "BAD_USER_INPUT",
                Some("input.email"),
            ),
            (
                "oversized display name",
                input("a9@example.com", "a_nine", PASSWORD, &long),
                "BAD_USER_INPUT",
                Some("input.displayName"),
            ),
        ];
        for (what, vars, expected, field) in cases {
            let r = sys.gql(None, reg, vars).await;
            assert_eq!(code(&r), expected, "[{l}] {what}: {r}");
            assert_eq!(
                r["errors"][0]["extensions"]["field"].as_str(),
                field,
                "[{l}] {what}: {r}"
            );
        }
        let bio = sys
            .gql(
                Some(&s.access),
                "mutation($b: String!) { updateProfile(input: {bio: $b}) { bio } }",
                json!({"b": "y".repeat(501)}),
            )
            .await;
        assert_eq!(code(&bio), "BAD_USER_INPUT", "[{l}] {bio}");
        let clean = sys
            .data(Some(&s.access), "mutation { updateProfile(input: {displayName: \" Al\\u0007 Apone \", bio: \"Sergeant\"}) { displayName bio } }", json!({}))
            .await;
        assert_eq!(clean["updateProfile"]["displayName"], "Al Apone", "[{l}]");

        // Wrong token types.
        let access_as_refresh = refresh(&sys, &s.access).await;
        assert_eq!(code(&access_as_refresh), "UNAUTHENTICATED", "[{l}]");
        let (status, body) = me_status(&sys, &s.refresh).await;
        assert_eq!(
            (status, code(&body)),
            (401, "UNAUTHENTICATED"),
            "[{l}] a refresh token is no bearer token"
        );
        let refresh_as_code = sys
            .gql(
                None,
                "mutation($t: String!) { verifyEmail(token: $t) { id } }",
                json!({"t": s.refresh}),
            )
            .await;
        assert_eq!(code(&refresh_as_code), "BAD_USER_INPUT", "[{l}]");
        let bad_id = sys
            .gql(None, "{ user(id: \"42\") { id } }", json!({}))
            .await;
        assert_eq!(code(&bad_id), "BAD_USER_INPUT", "[{l}]");
        let change = sys
            .gql(Some(&s.access), "mutation { changePassword(current: \"wrong wrong wrong 1\", new: \"another fine phrase 88\") }", json!({}))
            .await;
        assert_eq!(code(&change), "BAD_USER_INPUT", "[{l}]");
        assert_eq!(
            change["errors"][0]["extensions"]["field"], "current",
            "[{l}]"
        );
        let anonymous = sys.gql(None, "mutation { logoutAll }", json!({})).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED", "[{l}]");
        sys.stop().await;
    }
}

fn decode_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn chrono_now_plus_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}
