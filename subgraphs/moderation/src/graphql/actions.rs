//! Actions, appeals and the moderation log: what was done to whom, the
//! actions against the caller, appealing one and deciding an appeal.

use async_graphql::{Context, Enum, InputObject, Object, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Paged};
use uuid::Uuid;

use super::entities::{staff_or, User};
use super::loaders::{ActionKey, AppealOf, ReportKey};
use super::reports::{ModerationActionKind, Report};
use super::{claims, gid, id_of, is_staff, loader, moderation, staff, viewer_id, TargetKind};
use crate::store::model::{action, appeal, log};
use crate::store::LogFilter;
use crate::store::{self, AppealStatus as Status};

/// What a moderator (or the flag rules, for HIDE) did about a report.
pub struct ModerationAction {
    row: action::Model,
}

impl From<action::Model> for ModerationAction {
    fn from(row: action::Model) -> Self {
        Self { row }
    }
}

impl Paged for ModerationAction {
    const NAME: &'static str = "ModerationAction";
}

#[Object]
impl ModerationAction {
    async fn id(&self) -> ID {
        gid(self.row.id)
    }
    async fn kind(&self) -> ModerationActionKind {
        ModerationActionKind::of(&self.row.kind)
    }
    /// The report reason it answered.
    async fn reason(&self) -> &str {
        &self.row.reason
    }
    /// The moderator's note.
    async fn note(&self) -> &str {
        &self.row.note
    }
    async fn duration_hours(&self) -> Option<i32> {
        self.row.duration_hours
    }
    /// When a suspension ends.
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.row.ends_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// Whether an upheld appeal (or a dismissal of the rules' hiding) undid it.
    async fn reversed(&self) -> bool {
        self.row.reversed_at.is_some()
    }
    async fn reversed_at(&self) -> Option<DateTime<Utc>> {
        self.row.reversed_at
    }
    async fn target_kind(&self) -> TargetKind {
        TargetKind::of(&self.row.target_kind)
    }
    async fn target_id(&self) -> ID {
        gid(self.row.target_id)
    }
    /// Whether the flag rules took it (no moderator).
    async fn automatic(&self) -> bool {
        self.row.actor_id.is_none()
    }
    /// The moderator who took it (moderators and admins only).
    #[graphql(requires_scopes = "moderator")]
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        staff(ctx)?;
        Ok(self.row.actor_id.map(|id| User { id }))
    }
    /// The account it was taken against (its author, for content).
    async fn target_author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if !staff_or(ctx, self.row.target_author_id) {
            staff(ctx)?;
        }
        Ok(self.row.target_author_id.map(|id| User { id }))
    }
    #[graphql(requires_scopes = "moderator")]
    async fn report(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Report>> {
        staff(ctx)?;
        let Some(id) = self.row.report_id else {
            return Ok(None);
        };
        Ok(loader(ctx).load_one(ReportKey(id)).await?.map(Report::from))
    }
    /// Its appeal, if any (the account acted against and moderators).
    async fn appeal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Appeal>> {
        if !staff_or(ctx, self.row.target_author_id) {
            staff(ctx)?;
        }
        Ok(loader(ctx)
            .load_one(AppealOf(self.row.id))
            .await?
            .flatten()
            .map(Appeal::from))
    }
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppealStatus {
    Pending,
    /// The action was reversed.
    Upheld,
    Rejected,
}

impl AppealStatus {
    fn of(s: &str) -> Self {
        match s {
            "UPHELD" => AppealStatus::Upheld,
            "REJECTED" => AppealStatus::Rejected,
            _ => AppealStatus::Pending,
        }
    }

    fn status(self) -> Status {
        match self {
            AppealStatus::Pending => Status::Pending,
            AppealStatus::Upheld => Status::Upheld,
            AppealStatus::Rejected => Status::Rejected,
        }
    }
}

/// An appeal of an action by the account it was taken against.
pub struct Appeal {
    row: appeal::Model,
}

impl From<appeal::Model> for Appeal {
    fn from(row: appeal::Model) -> Self {
        Self { row }
    }
}

impl Paged for Appeal {
    const NAME: &'static str = "Appeal";
}

#[Object]
impl Appeal {
    async fn id(&self) -> ID {
        gid(self.row.id)
    }
    async fn text(&self) -> &str {
        &self.row.text
    }
    async fn status(&self) -> AppealStatus {
        AppealStatus::of(&self.row.status)
    }
    /// The decision's note.
    async fn note(&self) -> &str {
        &self.row.note
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.row.decided_at
    }
    async fn appellant(&self) -> Option<User> {
        Some(User {
            id: self.row.appellant_id,
        })
    }
    async fn action(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ModerationAction>> {
        Ok(loader(ctx)
            .load_one(ActionKey(self.row.action_id))
            .await?
            .map(ModerationAction::from))
    }
    /// Who decided it (moderators and admins only).
    #[graphql(requires_scopes = "moderator")]
    async fn decided_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        staff(ctx)?;
        Ok(self.row.decided_by.map(|id| User { id }))
    }
}

/// What the moderation log records.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModerationLogKind {
    Dismiss,
    Hide,
    Delete,
    Warn,
    Suspend,
    Ban,
    /// The flag rules hid content pending review.
    AutoHide,
    /// A moderator took a report.
    Assign,
    AppealUpheld,
    AppealRejected,
}

impl ModerationLogKind {
    fn as_str(self) -> &'static str {
        match self {
            ModerationLogKind::Dismiss => "DISMISS",
            ModerationLogKind::Hide => "HIDE",
            ModerationLogKind::Delete => "DELETE",
            ModerationLogKind::Warn => "WARN",
            ModerationLogKind::Suspend => "SUSPEND",
            ModerationLogKind::Ban => "BAN",
            ModerationLogKind::AutoHide => "AUTO_HIDE",
            ModerationLogKind::Assign => "ASSIGN",
            ModerationLogKind::AppealUpheld => "APPEAL_UPHELD",
            ModerationLogKind::AppealRejected => "APPEAL_REJECTED",
        }
    }

    fn of(s: &str) -> Self {
        match s {
            "HIDE" => ModerationLogKind::Hide,
            "DELETE" => ModerationLogKind::Delete,
            "WARN" => ModerationLogKind::Warn,
            "SUSPEND" => ModerationLogKind::Suspend,
            "BAN" => ModerationLogKind::Ban,
            "AUTO_HIDE" => ModerationLogKind::AutoHide,
            "ASSIGN" => ModerationLogKind::Assign,
            "APPEAL_UPHELD" => ModerationLogKind::AppealUpheld,
            "APPEAL_REJECTED" => ModerationLogKind::AppealRejected,
            _ => ModerationLogKind::Dismiss,
        }
    }
}

/// One entry of the moderation log: who did what to which target, why, and
/// the target's state before and after.
pub struct ModerationLogEntry {
    row: log::Model,
}

impl From<log::Model> for ModerationLogEntry {
    fn from(row: log::Model) -> Self {
        Self { row }
    }
}

impl Paged for ModerationLogEntry {
    const NAME: &'static str = "ModerationLog";
}

#[Object]
impl ModerationLogEntry {
    async fn id(&self) -> ID {
        gid(self.row.id)
    }
    async fn kind(&self) -> ModerationLogKind {
        ModerationLogKind::of(&self.row.kind)
    }
    /// The moderator (null for the flag rules).
    async fn actor(&self) -> Option<User> {
        self.row.actor_id.map(|id| User { id })
    }
    async fn target_kind(&self) -> TargetKind {
        TargetKind::of(&self.row.target_kind)
    }
    async fn target_id(&self) -> ID {
        gid(self.row.target_id)
    }
    async fn target_author(&self) -> Option<User> {
        self.row.target_author_id.map(|id| User { id })
    }
    async fn reason(&self) -> &str {
        &self.row.reason
    }
    async fn note(&self) -> &str {
        &self.row.note
    }
    /// VISIBLE, HIDDEN, DELETED (content) or ACTIVE, WARNED, SUSPENDED, BANNED (accounts).
    async fn state_before(&self) -> &str {
        &self.row.state_before
    }
    async fn state_after(&self) -> &str {
        &self.row.state_after
    }
    async fn action(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ModerationAction>> {
        let Some(id) = self.row.action_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(ActionKey(id))
            .await?
            .map(ModerationAction::from))
    }
    async fn report_id(&self) -> Option<ID> {
        self.row.report_id.map(gid)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

#[derive(InputObject, Default)]
pub struct ModerationLogFilter {
    /// Entries by this moderator.
    pub actor_id: Option<ID>,
    /// Entries about this account or its content.
    pub target_author_id: Option<ID>,
    pub kind: Option<ModerationLogKind>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct ActionQuery;

#[Object]
impl ActionQuery {
    /// Actions against you or your content (warnings, suspensions, hidden
    /// content), with their reasons, newest first.
    #[graphql(requires_scopes = "user")]
    async fn my_moderation_actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<ModerationAction>> {
        let page = moderation(ctx)
            .actions_against_me(
                claims(ctx)?,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(page, ModerationAction::from))
    }

    /// The moderation log, newest first (moderators and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn moderation_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<ModerationLogFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<ModerationLogEntry>>> {
        let f = filter.unwrap_or_default();
        let filter = LogFilter {
            actor: f
                .actor_id
                .as_ref()
                .map(|i| id_of("filter.actorId", i))
                .transpose()?,
            target_author: f
                .target_author_id
                .as_ref()
                .map(|i| id_of("filter.targetAuthorId", i))
                .transpose()?,
            kind: f.kind.map(|k| k.as_str().to_string()),
            since: f.since,
        };
        let page = moderation(ctx)
            .log_page(
                claims(ctx)?,
                filter,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(page, ModerationLogEntry::from)))
    }

    /// Appeals of one status (PENDING by default), oldest first (moderators
    /// and admins).
    #[graphql(requires_scopes = "moderator")]
    async fn appeals(
        &self,
        ctx: &Context<'_>,
        status: Option<AppealStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Option<Connection<Appeal>>> {
        let page = moderation(ctx)
            .appeals(
                claims(ctx)?,
                status.unwrap_or(AppealStatus::Pending).status(),
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Some(Connection::from_page(page, Appeal::from)))
    }

    #[graphql(entity)]
    async fn find_moderation_action_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ModerationAction>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let me = viewer_id(ctx);
        Ok(loader(ctx)
            .load_one(ActionKey(id))
            .await?
            .filter(|a| is_staff(ctx) || (me.is_some() && a.target_author_id == me))
            .map(ModerationAction::from))
    }

    #[graphql(entity)]
    async fn find_appeal_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Appeal>> {
        let Ok(id) = Uuid::parse_str(id.as_str()) else {
            return Ok(None);
        };
        let me = viewer_id(ctx);
        Ok(moderation(ctx)
            .appeal_row(id)
            .await?
            .filter(|a| is_staff(ctx) || (me.is_some() && Some(a.appellant_id) == me))
            .map(Appeal::from))
    }
}

#[derive(Default)]
pub struct ActionMutation;

#[Object]
impl ActionMutation {
    /// Appeals an action taken against you or your content (once).
    #[graphql(requires_scopes = "user")]
    async fn appeal(
        &self,
        ctx: &Context<'_>,
        action_id: ID,
        text: String,
    ) -> async_graphql::Result<Appeal> {
        Ok(moderation(ctx)
            .appeal(claims(ctx)?, id_of("actionId", &action_id)?, &text)
            .await?
            .into())
    }

    /// Decides an appeal; upholding it reverses the action (moderators and
    /// admins; not the moderator who took the action, unless an admin).
    #[graphql(requires_scopes = "moderator")]
    async fn decide_appeal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        uphold: bool,
        note: Option<String>,
    ) -> async_graphql::Result<Appeal> {
        Ok(moderation(ctx)
            .decide_appeal(claims(ctx)?, id_of("id", &id)?, uphold, note.as_deref())
            .await?
            .into())
    }
}
