//! Demo posts and comments for `marquee dev` and `marquee seed`, written by
//! the users subgraph's demo accounts. Social learns accounts from users'
//! `user_registered` events, so the seed reads them back from the bus (its
//! consumer has not started yet when seeding runs); without them (a bus
//! that keeps nothing) it seeds nothing. Idempotent: nothing is written
//! once social has any post (a restart does not wait for the bus).

use std::collections::HashMap;
use std::time::Duration;

use kit::services::BoxFuture;
use kit::Services;
use sea_orm::{EntityTrait, PaginatorTrait};
use uuid::Uuid;

use crate::store::model::post;
use crate::store::{Social, Target};

/// The demo accounts' ids by username, from users' events on the bus
/// (waiting a little for users' relay to publish them).
pub async fn demo_accounts(
    services: &Services,
    names: &[&str],
) -> anyhow::Result<HashMap<String, Uuid>> {
    let filter = format!(
        "{}.users.user_registered",
        services.config.bus.subject_prefix
    );
    let mut found = HashMap::new();
    for _ in 0..50 {
        let since = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for e in services.bus.replay(&filter, since, 10_000).await? {
            let name = e.payload.get("username").and_then(|v| v.as_str());
            let id = e
                .payload
                .get("userId")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok());
            if let (Some(name), Some(id)) = (name, id) {
                if names.contains(&name) {
                    found.insert(name.to_string(), id);
                }
            }
        }
        if found.len() == names.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(found)
}

/// A demo comment: its author's username and its text.
type DemoComment = (&'static str, &'static str);

/// The demo posts: author, text, comments.
const POSTS: &[(&str, &str, &[DemoComment])] = &[
    (
        "sarah_connor",
        "Rewatched The Terminator tonight. The practical effects and that score still hold up.",
        &[("marty_mcfly", "Come with me if you want to live!")],
    ),
    (
        "marty_mcfly",
        "Back to the Future is the perfect film and I will not be taking questions.",
        &[
            ("sarah_connor", "Great Scott, agreed."),
            ("mod_deckard", "The clock tower scene alone."),
        ],
    ),
    (
        "marty_mcfly",
        "The Sixth Sense twist: he was dead the whole time!",
        &[("sarah_connor", "Spoiler warning next time, please.")],
    ),
    (
        "marty_mcfly",
        "Cheap tickets: https://tix.example https://seats.example https://films.example https://dvds.example",
        &[],
    ),
];

pub fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        if post::Entity::find().count(&services.db).await? > 0 {
            return Ok("social: has posts; no demo posts added".into());
        }
        let names = ["sarah_connor", "marty_mcfly", "mod_deckard"];
        let ids = demo_accounts(&services, &names).await?;
        if ids.len() < names.len() {
            return Ok("social: demo posts skipped (the demo accounts are not on the bus)".into());
        }
        let social = Social::new(services.clone());
        let fail = |e: kit::Error| anyhow::anyhow!("seeding social: {}", e.message);
        for (name, id) in &ids {
            social
                .upsert_profile(&services.db, *id, Some(name))
                .await
                .map_err(fail)?;
        }
        let (mut posts, mut comments) = (0, 0);
        for (author, text, replies) in POSTS {
            let p = social
                .create_post(ids[*author], text, None)
                .await
                .map_err(fail)?;
            posts += 1;
            for (who, reply) in *replies {
                social
                    .add_comment(ids[*who], Target::Post(p.id), None, reply)
                    .await
                    .map_err(fail)?;
                comments += 1;
            }
        }
        Ok(format!(
            "social: {posts} demo posts and {comments} comments created"
        ))
    })
}
