//! The moderation subgraph's GraphQL schema (Federation v2). It owns
//! `Report`, `Flag`, `ModerationAction` and `Appeal`, and adds a nullable
//! `moderationStatus` (moderators only) to social's `Post`, `Comment`,
//! `Review` and users' `User`. Staff fields carry `@requiresScopes` for the
//! router and are checked again here; staff-only queries are nullable, so a
//! refusal keeps the request's other fields. What a list shows per item goes
//! through the request's DataLoader (`loaders`).

mod actions;
mod entities;
mod loaders;
mod reports;
mod rules;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{Context, EmptySubscription, MergedObject, Request, Schema, ID};
use kit::auth::{require_viewer, viewer, Claims, Role};
use kit::Error;
use uuid::Uuid;

use crate::store::{parse_id, Moderation, Target};

pub use actions::{Appeal, ModerationAction, ModerationLogEntry};
pub use entities::{ChatMessage, Comment, ModerationStatus, Post, Review, User};
pub use loaders::Loaders;
pub use reports::{Flag, Report};

pub type ModerationSchema = Schema<Query, Mutation, EmptySubscription>;

// The root query: each area's fields, in the order the SDL lists them.
#[derive(MergedObject, Default)]
pub struct Query(
    reports::ReportQuery,
    actions::ActionQuery,
    rules::RulesQuery,
    entities::EntityQuery,
);

// The root mutation: each area's fields, in the order the SDL lists them.
#[derive(MergedObject, Default)]
pub struct Mutation(
    reports::ReportMutation,
    actions::ActionMutation,
    rules::RulesMutation,
);

pub fn build(moderation: Arc<Moderation>) -> ModerationSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(20_000)
        .data(moderation)
        .finish()
}

/// The exported SDL: the schema's, plus the subscription this subgraph
/// declares for the router to serve from the bus (see `LIVE_SDL`).
pub fn sdl() -> String {
    let mut sdl = kit::graphql::federated_sdl(
        &Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .enable_federation()
            .finish(),
    );
    sdl.push_str(LIVE_SDL);
    sdl
}

/// The subscription fed by this subgraph's events, served by the router
/// (`@fromEvents` as social declares it): each `report_filed` event is
/// resolved through this subgraph's `_entities` with the subscriber's token,
/// which answers a report to moderators only; the `check` query refuses the
/// subscription of anyone else at once.
pub const LIVE_SDL: &str = r#"
directive @fromEvents(subject: String!, key: String, value: String, check: String, resume: String, recheck: String) on FIELD_DEFINITION
extend schema @link(url: "https://marquee.dev/spec/events/v0.1", import: ["@fromEvents"]) @composeDirective(name: "@fromEvents")

"""
Live events, served by the router from the event bus.
"""
type Subscription {
	"""
	Reports as they are filed, by people and by the flag rules (moderators
	and admins only).
	"""
	reportFiled: Report! @fromEvents(subject: "moderation.report_filed", key: "reportId", check: "query { moderationQueue(first: 1) { totalCount } }") @requiresScopes(scopes: [["moderator"]])
}
"#;

/// `request` with this request's dataloader.
pub fn with_loaders(moderation: &Arc<Moderation>, request: Request) -> Request {
    request.data(
        DataLoader::with_cache(
            Loaders {
                moderation: moderation.clone(),
            },
            tokio::spawn,
            HashMapCache::default(),
        )
        .delay(std::time::Duration::from_millis(1)),
    )
}

fn moderation<'a>(ctx: &Context<'a>) -> &'a Arc<Moderation> {
    ctx.data_unchecked::<Arc<Moderation>>()
}

fn loader<'a>(ctx: &Context<'a>) -> &'a DataLoader<Loaders, HashMapCache> {
    ctx.data_unchecked::<DataLoader<Loaders, HashMapCache>>()
}

fn claims<'a>(ctx: &'a Context<'_>) -> Result<&'a Claims, Error> {
    require_viewer(ctx)
}

/// The caller's id, when signed in.
fn viewer_id(ctx: &Context<'_>) -> Option<Uuid> {
    viewer(ctx).and_then(|c| Uuid::parse_str(&c.sub).ok())
}

/// Whether the caller is a moderator or an admin.
fn is_staff(ctx: &Context<'_>) -> bool {
    viewer(ctx).is_some_and(|c| c.has_role(Role::Moderator))
}

/// `FORBIDDEN` (or `UNAUTHENTICATED`) unless the caller is staff.
fn staff(ctx: &Context<'_>) -> Result<(), Error> {
    crate::store::moderator(claims(ctx)?).map(|_| ())
}

fn id_of(field: &str, id: &ID) -> Result<Uuid, Error> {
    parse_id(field, id.as_str())
}

fn gid(id: Uuid) -> ID {
    ID(id.to_string())
}

/// The kinds of thing a report, flag or action is about.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Post,
    Comment,
    Review,
    User,
    ChatMessage,
}

impl TargetKind {
    fn as_str(self) -> &'static str {
        match self {
            TargetKind::Post => "POST",
            TargetKind::Comment => "COMMENT",
            TargetKind::Review => "REVIEW",
            TargetKind::User => "USER",
            TargetKind::ChatMessage => "CHAT_MESSAGE",
        }
    }

    fn of(s: &str) -> Self {
        match s {
            "POST" => TargetKind::Post,
            "COMMENT" => TargetKind::Comment,
            "REVIEW" => TargetKind::Review,
            "USER" => TargetKind::User,
            _ => TargetKind::ChatMessage,
        }
    }
}

/// The target of a row as the schema's entity stubs.
fn target_of(kind: &str, id: Uuid) -> Option<Target> {
    Target::of(kind, id)
}
