//! Demo moderation data for `marquee dev` and `marquee seed`: social's demo
//! posts and comments go through the flag rules (the link-spam post is
//! hidden and queued by them), the demo users file a few reports, and the
//! demo moderator resolves one. Moderation learns accounts and texts from
//! users' and social's events, so the seed reads them back from the bus and
//! hands them to its own consumer (which then skips them when they come
//! again). Idempotent: nothing is written once there is any report.

use std::collections::HashMap;
use std::time::Duration;

use kit::auth::{Claims, Role};
use kit::events::{process_once, Event};
use kit::services::BoxFuture;
use kit::Services;
use sea_orm::{EntityTrait, PaginatorTrait};
use uuid::Uuid;

use crate::events::Incoming;
use crate::store::model::report;
use crate::store::{ActionKind, Moderation, Resolution, Target};

fn claims(id: Uuid, role: Role) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: id.to_string(),
        role,
        scopes: Vec::new(),
        sid: Uuid::new_v4().to_string(),
        iss: "marquee-seed".into(),
        aud: "marquee".into(),
        exp: now + 60,
        iat: now,
        nbf: None,
        jti: Uuid::new_v4().to_string(),
    }
}

/// Stored events on `filter`, waiting a little until `enough` holds.
async fn replayed(
    services: &Services,
    filter: &str,
    enough: impl Fn(&[Event]) -> bool,
) -> anyhow::Result<Vec<Event>> {
    let since = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let mut events = Vec::new();
    for _ in 0..50 {
        events = services.bus.replay(filter, since, 10_000).await?;
        if enough(&events) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(events)
}

fn text(e: &Event, member: &str) -> String {
    e.payload
        .get(member)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn id(e: &Event, member: &str) -> Option<Uuid> {
    Uuid::parse_str(&text(e, member)).ok()
}

pub fn seed(services: Services) -> BoxFuture<'static, anyhow::Result<String>> {
    Box::pin(async move {
        if report::Entity::find().count(&services.db).await? > 0 {
            return Ok("moderation: has reports; no demo data added".into());
        }
        let prefix = services.config.bus.subject_prefix.clone();
        let names = ["sarah_connor", "marty_mcfly", "mod_deckard"];
        let users = replayed(
            &services,
            &format!("{prefix}.users.user_registered"),
            |es| {
                names
                    .iter()
                    .all(|n| es.iter().any(|e| text(e, "username") == *n))
            },
        )
        .await?;
        let posts = replayed(&services, &format!("{prefix}.social.post_created"), |es| {
            es.len() >= 4
        })
        .await?;
        let comments = services
            .bus
            .replay(
                &format!("{prefix}.social.comment_created.>"),
                chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                10_000,
            )
            .await?;
        let ids: HashMap<String, Uuid> = users
            .iter()
            .filter_map(|e| Some((text(e, "username"), id(e, "userId")?)))
            .collect();
        if names.iter().any(|n| !ids.contains_key(*n)) || posts.is_empty() {
            return Ok(
                "moderation: demo data skipped (no demo accounts or posts on the bus)".into(),
            );
        }
        let moderation = Moderation::new(services.clone());
        let incoming = Incoming(moderation.clone());
        for e in users.iter().chain(&posts).chain(&comments) {
            process_once(&services.db, "moderation-content", e, &incoming).await?;
        }
        let fail = |e: kit::Error| anyhow::anyhow!("seeding moderation: {}", e.message);
        let find = |events: &[Event], words: &str, member: &str| {
            events
                .iter()
                .find(|e| text(e, "body").contains(words))
                .and_then(|e| id(e, member))
        };
        let sarah = claims(ids["sarah_connor"], Role::User);
        let marty = claims(ids["marty_mcfly"], Role::User);
        let deckard = claims(ids["mod_deckard"], Role::Moderator);
        let mut filed = 0;
        let mut resolved = 0;
        if let Some(p) = find(&posts, "Sixth Sense", "postId") {
            let r = moderation
                .file_report(
                    &sarah,
                    Target::Post(p),
                    "SPOILER",
                    Some("The twist, with no warning."),
                )
                .await
                .map_err(fail)?;
            filed += 1;
            moderation
                .resolve(
                    &deckard,
                    r.id,
                    Resolution {
                        kind: ActionKind::Hide,
                        duration_hours: None,
                        note: Some("A spoiler without a warning: add one and appeal.".into()),
                    },
                )
                .await
                .map_err(fail)?;
            resolved += 1;
        }
        if let Some(p) = find(&posts, "Cheap tickets", "postId") {
            moderation
                .file_report(&sarah, Target::Post(p), "SPAM", Some("Ticket spam."))
                .await
                .map_err(fail)?;
            filed += 1;
        }
        if let Some(c) = find(&comments, "Great Scott", "commentId") {
            moderation
                .file_report(
                    &marty,
                    Target::Comment(c),
                    "OTHER",
                    Some("Trying the report button."),
                )
                .await
                .map_err(fail)?;
            filed += 1;
        }
        Ok(format!(
            "moderation: {} texts read, {filed} demo reports filed, {resolved} resolved",
            posts.len() + comments.len()
        ))
    })
}
