//! Demo accounts for `marquee dev` and `marquee seed`.

use kit::auth::{RequestMeta, Role};
use kit::services::BoxFuture;
use kit::Services;

use crate::secrets;
use crate::store::NewAccount;

/// Demo accounts, created once: an admin, a moderator and two users. Their
/// passwords are random and written to `<data_dir>/seed-accounts.txt`
/// (mode 0600), never logged.
pub fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        let accounts = crate::accounts(&services).await?;
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
