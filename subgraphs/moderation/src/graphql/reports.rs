//! Reports and flags: filing a report, the caller's reports, the queue, one
//! report with its target resolved through federation, assignment and
//! resolution, and the flags the rules raised.

use async_graphql::{Context, Enum, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Paged};
use kit::Error;
use uuid::Uuid;

use super::actions::ModerationAction;
use super::entities::{staff_or, stubs, ChatMessage, Comment, Post, Review, User};
use super::loaders::{ActionKey, EarlierActions, FlagsOn, ReportKey, ReporterCount, TextOf};
use super::{claims, gid, id_of, loader, moderation, staff, target_of, viewer_id, TargetKind};
use crate::store::model::{flag, report};
use crate::store::{self, ActionKind, QueueFilter, QueueSort, Resolution, StatusKey, Target};

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportReason {
    Spam,
    Harassment,
    Hate,
    Spoiler,
    Nsfw,
    Misinformation,
    Other,
}

impl ReportReason {
    fn as_str(self) -> &'static str {
        match self {
            ReportReason::Spam => "SPAM",
            ReportReason::Harassment => "HARASSMENT",
            ReportReason::Hate => "HATE",
            ReportReason::Spoiler => "SPOILER",
            ReportReason::Nsfw => "NSFW",
            ReportReason::Misinformation => "MISINFORMATION",
            ReportReason::Other => "OTHER",
        }
    }

    fn of(s: &str) -> Self {
        match s {
            "SPAM" => ReportReason::Spam,
            "HARASSMENT" => ReportReason::Harassment,
            "HATE" => ReportReason::Hate,
            "SPOILER" => ReportReason::Spoiler,
            "NSFW" => ReportReason::Nsfw,
            "MISINFORMATION" => ReportReason::Misinformation,
            _ => ReportReason::Other,
        }
    }
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportStatus {
    Open,
    Assigned,
    Resolved,
}

impl ReportStatus {
    fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "OPEN",
            ReportStatus::Assigned => "ASSIGNED",
            ReportStatus::Resolved => "RESOLVED",
        }
    }

    fn of(s: &str) -> Self {
        match s {
            "ASSIGNED" => ReportStatus::Assigned,
            "RESOLVED" => ReportStatus::Resolved,
            _ => ReportStatus::Open,
        }
    }
}

/// The orders of the moderation queue.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportSort {
    /// Highest priority first: reason severity, distinct reporters, reporter
    /// trust, flag score and age (see the crate's README).
    Priority,
    Oldest,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationActionKind {
    /// The report was unfounded (content the rules hid comes back).
    Dismiss,
    Hide,
    Delete,
    Warn,
    /// For `durationHours`.
    Suspend,
    /// A suspension without an end, and the account's content hidden.
    Ban,
}

impl ModerationActionKind {
    fn kind(self) -> ActionKind {
        match self {
            ModerationActionKind::Dismiss => ActionKind::Dismiss,
            ModerationActionKind::Hide => ActionKind::Hide,
            ModerationActionKind::Delete => ActionKind::Delete,
            ModerationActionKind::Warn => ActionKind::Warn,
            ModerationActionKind::Suspend => ActionKind::Suspend,
            ModerationActionKind::Ban => ActionKind::Ban,
        }
    }

    pub(super) fn of(s: &str) -> Self {
        match s {
            "HIDE" => ModerationActionKind::Hide,
            "DELETE" => ModerationActionKind::Delete,
            "WARN" => ModerationActionKind::Warn,
            "SUSPEND" => ModerationActionKind::Suspend,
            "BAN" => ModerationActionKind::Ban,
            _ => ModerationActionKind::Dismiss,
        }
    }
}

/// Exactly one of the ids.
#[derive(InputObject)]
pub struct ReportTargetInput {
    pub post_id: Option<ID>,
    pub comment_id: Option<ID>,
    pub review_id: Option<ID>,
    pub user_id: Option<ID>,
    pub chat_message_id: Option<ID>,
}

/// A target kind's constructor.
type MakeTarget = fn(Uuid) -> Target;

impl ReportTargetInput {
    fn target(&self) -> Result<Target, Error> {
        let given: Vec<(&str, &ID, MakeTarget)> = [
            ("postId", self.post_id.as_ref(), Target::Post as MakeTarget),
            ("commentId", self.comment_id.as_ref(), Target::Comment),
            ("reviewId", self.review_id.as_ref(), Target::Review),
            ("userId", self.user_id.as_ref(), Target::User),
            (
                "chatMessageId",
                self.chat_message_id.as_ref(),
                Target::ChatMessage,
            ),
        ]
        .into_iter()
        .filter_map(|(n, id, f)| id.map(|id| (n, id, f)))
        .collect();
        match given.as_slice() {
            [(name, id, make)] => Ok(make(id_of(&format!("input.target.{name}"), id)?)),
            _ => Err(Error::bad_input(
                "input.target",
                "give exactly one of postId, commentId, reviewId, userId, chatMessageId",
            )),
        }
    }
}

#[derive(InputObject)]
pub struct ReportContentInput {
    pub target: ReportTargetInput,
    pub reason: ReportReason,
    /// What the moderators should know (at most 2,000 characters).
    pub details: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ModerationQueueFilter {
    /// OPEN and ASSIGNED reports when absent.
    pub status: Option<ReportStatus>,
    pub reason: Option<ReportReason>,
    pub target_kind: Option<TargetKind>,
}

#[derive(InputObject)]
pub struct ResolveActionInput {
    pub kind: ModerationActionKind,
    /// SUSPEND only: 1 to 8,760 hours.
    pub duration_hours: Option<i32>,
    /// Why, for the log and the person acted against (at most 1,000 characters).
    pub note: Option<String>,
}

#[derive(InputObject, Default)]
pub struct FlagFilter {
    pub target_kind: Option<TargetKind>,
    pub target_id: Option<ID>,
    pub rule: Option<FlagRule>,
}

/// The rule that raised a flag.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagRule {
    /// A listed word or phrase (after normalisation).
    Words,
    /// Many links, or links to new domains from a new account.
    Links,
    /// The same text again and again from one account.
    Duplicates,
    /// Many texts from a new account.
    Velocity,
    /// Many distinct reporters on one target.
    Reporters,
}

impl FlagRule {
    fn as_str(self) -> &'static str {
        match self {
            FlagRule::Words => "WORDS",
            FlagRule::Links => "LINKS",
            FlagRule::Duplicates => "DUPLICATES",
            FlagRule::Velocity => "VELOCITY",
            FlagRule::Reporters => "REPORTERS",
        }
    }

    fn of(s: &str) -> Self {
        match s {
            "WORDS" => FlagRule::Words,
            "LINKS" => FlagRule::Links,
            "DUPLICATES" => FlagRule::Duplicates,
            "VELOCITY" => FlagRule::Velocity,
            _ => FlagRule::Reporters,
        }
    }
}

/// A report of a post, comment, review, chat message or account, by a
/// person or by the flag rules. Its reporter and moderators see it.
pub struct Report {
    row: report::Model,
}

impl From<report::Model> for Report {
    fn from(row: report::Model) -> Self {
        Self { row }
    }
}

impl Paged for Report {
    const NAME: &'static str = "Report";
    const COUNTED: bool = true;
}

impl Report {
    fn target(&self) -> Option<Target> {
        target_of(&self.row.target_kind, self.row.target_id)
    }
}

#[Object]
impl Report {
    async fn id(&self) -> ID {
        gid(self.row.id)
    }
    async fn target_kind(&self) -> TargetKind {
        TargetKind::of(&self.row.target_kind)
    }
    async fn target_id(&self) -> ID {
        gid(self.row.target_id)
    }
    async fn reason(&self) -> ReportReason {
        ReportReason::of(&self.row.reason)
    }
    async fn details(&self) -> &str {
        &self.row.details
    }
    async fn status(&self) -> ReportStatus {
        ReportStatus::of(&self.row.status)
    }
    /// Whether the resolution upheld the report (null while open).
    async fn upheld(&self) -> Option<bool> {
        self.row.upheld
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.row.resolved_at
    }
    /// Whether the flag rules filed it.
    async fn automatic(&self) -> bool {
        self.row.reporter_id.is_none()
    }
    /// Who filed it (the reporter and moderators; null for the rules).
    async fn reporter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if !staff_or(ctx, self.row.reporter_id) {
            staff(ctx)?;
        }
        Ok(self.row.reporter_id.map(|id| User { id }))
    }
    /// The reported post, as social has it now.
    async fn post(&self) -> Option<Post> {
        stubs(self.target()).post
    }
    async fn comment(&self) -> Option<Comment> {
        stubs(self.target()).comment
    }
    async fn review(&self) -> Option<Review> {
        stubs(self.target()).review
    }
    /// The reported account.
    async fn user(&self) -> Option<User> {
        stubs(self.target()).user
    }
    async fn chat_message(&self) -> Option<ChatMessage> {
        stubs(self.target()).chat_message
    }
    /// The reported text as moderation last saw it (moderators only; a chat
    /// message's text is visible to its room's members alone in social).
    #[graphql(requires_scopes = "moderator")]
    async fn text(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        staff(ctx)?;
        let Some(t) = self.target().filter(|t| t.is_content()) else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(TextOf(t)).await?.flatten())
    }
    /// Who wrote the reported content (the account itself for an account).
    #[graphql(requires_scopes = "moderator")]
    async fn target_author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        staff(ctx)?;
        Ok(self.row.target_author_id.map(|id| User { id }))
    }
    #[graphql(requires_scopes = "moderator")]
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        staff(ctx)?;
        Ok(self.row.assignee_id.map(|id| User { id }))
    }
    /// The priority without its age part (the queue adds one point per two
    /// hours open, at most 24).
    #[graphql(requires_scopes = "moderator")]
    async fn priority(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        staff(ctx)?;
        Ok(Some(self.row.priority))
    }
    /// The sum of the flags on the target.
    #[graphql(requires_scopes = "moderator")]
    async fn flag_score(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        staff(ctx)?;
        Ok(Some(self.row.flag_score))
    }
    /// Distinct people with an open report on the same target.
    #[graphql(requires_scopes = "moderator")]
    async fn reporter_count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        staff(ctx)?;
        let Some(t) = self.target() else {
            return Ok(Some(0));
        };
        Ok(Some(
            loader(ctx).load_one(ReporterCount(t)).await?.unwrap_or(0),
        ))
    }
    /// Up to 20 earlier actions against the same author, newest first.
    #[graphql(requires_scopes = "moderator")]
    async fn earlier_actions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ModerationAction>>> {
        staff(ctx)?;
        let Some(author) = self.row.target_author_id else {
            return Ok(Some(Vec::new()));
        };
        let before = self.row.action_id.unwrap_or(self.row.id);
        Ok(Some(
            loader(ctx)
                .load_one(EarlierActions(author, before))
                .await?
                .unwrap_or_default()
                .into_iter()
                .filter(|a| Some(a.id) != self.row.action_id)
                .map(ModerationAction::from)
                .collect(),
        ))
    }
    /// Up to 20 flags on the target, newest first.
    #[graphql(requires_scopes = "moderator")]
    async fn flags(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Flag>>> {
        staff(ctx)?;
        let Some(t) = self.target() else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(
            loader(ctx)
                .load_one(FlagsOn(t))
                .await?
                .unwrap_or_default()
                .into_iter()
                .map(Flag::from)
                .collect(),
        ))
    }
    /// The action that resolved it.
    #[graphql(requires_scopes = "moderator")]
    async fn action(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ModerationAction>> {
        staff(ctx)?;
        let Some(id) = self.row.action_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(ActionKey(id))
            .await?
            .map(ModerationAction::from))
    }
}

/// A flag the rules raised on a post, comment, review or chat message.
pub struct Flag {
    row: flag::Model,
}

impl From<flag::Model> for Flag {
    fn from(row: flag::Model) -> Self {
        Self { row }
    }
}

impl Paged for Flag {
    const NAME: &'static str = "Flag";
}

#[Object]
impl Flag {
    async fn id(&self) -> ID {
        gid(self.row.id)
    }
    async fn target_kind(&self) -> TargetKind {
        TargetKind::of(&self.row.target_kind)
    }
    async fn target_id(&self) -> ID {
        gid(self.row.target_id)
    }
    async fn rule(&self) -> FlagRule {
        FlagRule::of(&self.row.rule)
    }
    async fn score(&self) -> i32 {
        self.row.score
    }
    /// What the rule saw (the listed words, the link count, ...).
    async fn detail(&self) -> &str {
        &self.row.detail
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn target_author(&self) -> Option<User> {
        self.row.target_author_id.map(|id| User { id })
    }
    async fn post(&self) -> Option<Post> {
        stubs(target_of(&self.row.target_kind, self.row.target_id)).post
    }
    async fn comment(&self) -> Option<Comment> {
        stubs(target_of(&self.row.target_kind, self.row.target_id)).comment
    }
    async fn review(&self) -> Option<Review> {
        stubs(target_of(&self.row.target_kind, self.row.target_id)).review
    }
}

/// Primes the request's loader with what `rows`' selected fields ask per
/// report, one batch per kind of key: resolvers that run later (and would
/// otherwise land in batches of their own) find it cached.
async fn prefetch(ctx: &Context<'_>, rows: &[report::Model]) -> async_graphql::Result<()> {
    let node = ctx.look_ahead().field("edges").field("node");
    if rows.is_empty() || !super::is_staff(ctx) {
        return Ok(());
    }
    let targets: Vec<Target> = rows
        .iter()
        .filter_map(|r| target_of(&r.target_kind, r.target_id))
        .collect();
    let l = loader(ctx);
    if node.field("text").exists() {
        l.load_many(targets.iter().map(|t| TextOf(*t))).await?;
    }
    if node.field("reporterCount").exists() {
        l.load_many(targets.iter().map(|t| ReporterCount(*t)))
            .await?;
    }
    if node.field("flags").exists() {
        l.load_many(targets.iter().map(|t| FlagsOn(*t))).await?;
    }
    let mut statuses: Vec<StatusKey> = Vec::new();
    for name in ["post", "comment", "review", "user"] {
        if node.field(name).field("moderationStatus").exists() {
            statuses.extend(targets.iter().map(|t| StatusKey(*t)));
        }
    }
    if node
        .field("targetAuthor")
        .field("moderationStatus")
        .exists()
    {
        statuses.extend(
            rows.iter()
                .filter_map(|r| r.target_author_id)
                .map(|a| StatusKey(Target::User(a))),
        );
    }
    if !statuses.is_empty() {
        l.load_many(statuses).await?;
    }
    let mut actions: Vec<Uuid> = Vec::new();
    if node.field("earlierActions").exists() {
        let keys: Vec<EarlierActions> = rows
            .iter()
            .filter_map(|r| {
                Some(EarlierActions(
                    r.target_author_id?,
                    r.action_id.unwrap_or(r.id),
                ))
            })
            .collect();
        for list in l.load_many(keys).await?.into_values() {
            actions.extend(list.iter().map(|a| a.id));
        }
    }
    if node.field("action").exists() {
        let ids: Vec<ActionKey> = rows
            .iter()
            .filter_map(|r| r.action_id)
            .map(ActionKey)
            .collect();
        l.load_many(ids.iter().copied()).await?;
        actions.extend(ids.iter().map(|k| k.0));
    }
    if !actions.is_empty()
        && (node.field("earlierActions").field("appeal").exists()
            || node.field("action").field("appeal").exists())
    {
        l.load_many(actions.into_iter().map(super::loaders::AppealOf))
            .await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Your reports, newest first.
    #[graphql(requires_scopes = "user")]
    async fn my_reports(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Report>> {
        let page = moderation(ctx)
            .my_reports(
                claims(ctx)?,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        let rows: Vec<report::Model> = page.items.iter().map(|(_, r)| r.clone()).collect();
        prefetch(ctx, &rows).await?;
        Ok(Connection::from_page(page, Report::from))
    }

    /// Reports to review (moderators and admins; null with an error for
    /// anyone else). Open and assigned ones unless `filter.status` says.
    #[graphql(requires_scopes = "moderator")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<ModerationQueueFilter>,
        sort: Option<ReportSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Report>>> {
        let f = filter.unwrap_or_default();
        let offset = match after.as_deref() {
            None => 0,
            Some(c) => c
                .strip_prefix('o')
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| Error::bad_input("after", "not a valid cursor"))?,
        };
        let page = moderation(ctx)
            .queue(
                claims(ctx)?,
                QueueFilter {
                    status: f.status.map(|s| s.as_str().to_string()),
                    reason: f.reason.map(|r| r.as_str().to_string()),
                    target_kind: f.target_kind.map(|k| k.as_str().to_string()),
                },
                match sort.unwrap_or(ReportSort::Priority) {
                    ReportSort::Priority => QueueSort::Priority,
                    ReportSort::Oldest => QueueSort::Oldest,
                },
                page_size(first)?,
                offset,
            )
            .await?;
        let rows: Vec<report::Model> = page.items.iter().map(|(_, r)| r.clone()).collect();
        prefetch(ctx, &rows).await?;
        Ok(Some(Connection::from_page(page, Report::from)))
    }

    /// One report (moderators and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn report(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Report>> {
        Ok(moderation(ctx)
            .report_for(claims(ctx)?, id_of("id", &id)?)
            .await?
            .map(Report::from))
    }

    /// Flags the rules raised, newest first (moderators and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn flags(
        &self,
        ctx: &Context<'_>,
        filter: Option<FlagFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Flag>>> {
        let f = filter.unwrap_or_default();
        let page = moderation(ctx)
            .flags(
                claims(ctx)?,
                f.target_kind.map(|k| k.as_str().to_string()),
                f.rule.map(|r| r.as_str().to_string()),
                f.target_id
                    .as_ref()
                    .map(|t| id_of("filter.targetId", t))
                    .transpose()?,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(page, Flag::from)))
    }

    #[graphql(entity)]
    async fn find_report_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Report>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let Some(r) = loader(ctx).load_one(ReportKey(id)).await? else {
            return Ok(None);
        };
        let me = viewer_id(ctx);
        Ok(
            (super::is_staff(ctx) || (me.is_some() && r.reporter_id == me))
                .then(|| Report::from(r)),
        )
    }

    #[graphql(entity)]
    async fn find_flag_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Flag>> {
        if !super::is_staff(ctx) {
            return Ok(None);
        }
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        Ok(moderation(ctx).flag_row(id).await?.map(Flag::from))
    }
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Reports a post, comment, review, chat message or account (one open
    /// report per target; a few an hour).
    #[graphql(requires_scopes = "user")]
    async fn report_content(
        &self,
        ctx: &Context<'_>,
        input: ReportContentInput,
    ) -> async_graphql::Result<Report> {
        let target = input.target.target()?;
        Ok(moderation(ctx)
            .file_report(
                claims(ctx)?,
                target,
                input.reason.as_str(),
                input.details.as_deref(),
            )
            .await?
            .into())
    }

    /// Takes a report (moderators and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn assign_report(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Report> {
        Ok(moderation(ctx)
            .assign(claims(ctx)?, id_of("id", &id)?)
            .await?
            .into())
    }

    /// Resolves a report and every other open report on its target with one
    /// action (moderators and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn resolve_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: ResolveActionInput,
    ) -> async_graphql::Result<Report> {
        Ok(moderation(ctx)
            .resolve(
                claims(ctx)?,
                id_of("id", &id)?,
                Resolution {
                    kind: action.kind.kind(),
                    duration_hours: action.duration_hours,
                    note: action.note,
                },
            )
            .await?
            .into())
    }
}
