//! The users subgraph (port 3002, schema `users`): accounts, sign-in,
//! sessions with rotating refresh tokens, roles, profiles, email verification
//! and password reset through the mailbox, the audit log, and the signing keys
//! whose public halves every verifier fetches from `/.well-known/jwks.json`.

pub mod accounts;
pub mod input;
pub mod keys;
pub mod mail;
pub mod model;
pub mod schema;
pub mod secrets;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kit::auth::{RequestMeta, Role};
use kit::services::{migrate_with, BoxFuture};
use kit::{Services, SubgraphSpec};

use crate::accounts::{Accounts, NewAccount};
use crate::keys::KeyRing;
use crate::mail::Mailer;

pub fn spec() -> SubgraphSpec {
    SubgraphSpec {
        name: "users",
        migrate: migrate_with::<migrations::users::Migrator>,
        start,
        sdl: schema::sdl,
        seed: Some(seed),
    }
}

/// The subgraph's state over `services`.
pub async fn accounts(services: &Services) -> anyhow::Result<Arc<Accounts>> {
    let keys = KeyRing::open(services).await?;
    Ok(Arc::new(Accounts {
        mailer: Mailer::new(&services.config.data_dir),
        services: services.clone(),
        keys,
    }))
}

fn start(services: Services) -> BoxFuture<'static, anyhow::Result<Router>> {
    Box::pin(async move {
        let accounts = accounts(&services).await?;
        services.spawn_relay();
        let schema = schema::build(accounts.clone());
        let app = kit::graphql::routes(schema, services.verifier.clone()).merge(
            Router::new()
                .route("/.well-known/jwks.json", get(jwks))
                .with_state(accounts),
        );
        Ok(services.finish(app))
    })
}

async fn jwks(State(accounts): State<Arc<Accounts>>) -> Response {
    match accounts.keys.jwks().await {
        Ok(set) => (
            [(http::header::CACHE_CONTROL, "public, max-age=60")],
            axum::Json(set),
        )
            .into_response(),
        Err(e) => kit::Error::internal(e).into_response(),
    }
}

/// Demo accounts, created once: an admin, a moderator and two users. Their
/// passwords are random and written to `<data_dir>/seed-accounts.txt`
/// (mode 0600), never logged.
fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        let accounts = accounts(&services).await?;
        let people = [
            ("admin_ripley", "Ellen Ripley", Role::Admin),
            ("mod_deckard", "Rick Deckard", Role::Moderator),
            ("sarah_connor", "Sarah Connor", Role::User),
            ("marty_mcfly", "Marty McFly", Role::User),
        ];
        let path = services.config.data_dir.join("seed-accounts.txt");
        let mut created = Vec::new();
        for (username, name, role) in people {
            if accounts
                .by_username(username)
                .await
                .map_err(|e| anyhow::anyhow!("seeding {username}: {}", e.message))?
                .is_some()
            {
                continue;
            }
            let password = format!("{}-{}", username, secrets::random_token());
            let email = format!("{username}@marquee.local");
            accounts
                .create(
                    NewAccount {
                        email: &email,
                        username,
                        password: &password,
                        display_name: Some(name),
                    },
                    role,
                    &RequestMeta::default(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("seeding {username}: {}", e.message))?;
            created.push(format!("{username} {email} {password} {}", role.as_str()));
        }
        if !created.is_empty() {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.create(true).append(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&path)?;
            for line in &created {
                writeln!(f, "{line}")?;
            }
        }
        Ok(format!(
            "users: {} demo accounts created (sign-in details in {})",
            created.len(),
            path.display()
        ))
    })
}
