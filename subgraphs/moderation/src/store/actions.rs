//! Actions and the moderation log. An action takes effect where the data
//! lives, through events (`moderation.content_hidden`, `content_restored`,
//! `content_deleted`, `user_warned`, `user_suspended`, `user_banned`,
//! `user_reinstated`), written in the transaction that records it; every
//! action, automatic ones included, leaves a log entry with the target's
//! state before and after.

use chrono::{Duration, Utc};
use kit::auth::Claims;
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{account, action, content, log, report};
use super::{clean, me, moderator, page, Moderation, Page, Target};

/// What a moderator does about a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Dismiss,
    Hide,
    Delete,
    Warn,
    Suspend,
    Ban,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Dismiss => "DISMISS",
            ActionKind::Hide => "HIDE",
            ActionKind::Delete => "DELETE",
            ActionKind::Warn => "WARN",
            ActionKind::Suspend => "SUSPEND",
            ActionKind::Ban => "BAN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "DISMISS" => ActionKind::Dismiss,
            "HIDE" => ActionKind::Hide,
            "DELETE" => ActionKind::Delete,
            "WARN" => ActionKind::Warn,
            "SUSPEND" => ActionKind::Suspend,
            "BAN" => ActionKind::Ban,
            _ => return None,
        })
    }
}

/// A resolution as the moderator gives it.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub kind: ActionKind,
    /// SUSPEND only: 1 to `MAX_SUSPENSION_HOURS`.
    pub duration_hours: Option<i32>,
    pub note: Option<String>,
}

/// The longest suspension (a year); longer is a BAN.
pub const MAX_SUSPENSION_HOURS: i32 = 24 * 365;

/// A log entry before it is written.
pub(super) struct Entry<'a> {
    pub actor: Option<Uuid>,
    pub kind: &'a str,
    pub target: Target,
    pub author: Option<Uuid>,
    pub reason: &'a str,
    pub note: &'a str,
    pub before: &'a str,
    pub after: &'a str,
    pub action: Option<Uuid>,
    pub report: Option<Uuid>,
}

/// What the moderation log is filtered by.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub actor: Option<Uuid>,
    pub target_author: Option<Uuid>,
    pub kind: Option<String>,
    pub since: Option<chrono::DateTime<Utc>>,
}

impl Moderation {
    /// The state moderation last gave `target`: VISIBLE, HIDDEN or DELETED
    /// for content, ACTIVE, WARNED, SUSPENDED or BANNED for an account.
    pub(super) async fn state_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
    ) -> Result<String, Error> {
        Ok(match target {
            Target::User(id) => account::Entity::find_by_id(id)
                .one(conn)
                .await?
                .map(|a| a.state)
                .unwrap_or_else(|| "ACTIVE".into()),
            t => content::Entity::find_by_id((t.kind().to_string(), t.id()))
                .one(conn)
                .await?
                .map(|c| c.state)
                .unwrap_or_else(|| "VISIBLE".into()),
        })
    }

    /// Sets `target`'s state, creating its row when moderation has not seen it.
    pub(super) async fn set_state(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
        author: Option<Uuid>,
        state: &str,
    ) -> Result<(), Error> {
        let now = Utc::now();
        match target {
            Target::User(id) => {
                account::Entity::insert(account::ActiveModel {
                    user_id: Set(id),
                    registered_at: Set(now),
                    state: Set(state.to_string()),
                })
                .on_conflict(
                    OnConflict::column(account::Column::UserId)
                        .update_column(account::Column::State)
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
            }
            t => {
                content::Entity::insert(content::ActiveModel {
                    kind: Set(t.kind().to_string()),
                    id: Set(t.id()),
                    author_id: Set(author.unwrap_or_default()),
                    body: Set(String::new()),
                    body_key: Set(String::new()),
                    state: Set(state.to_string()),
                    deleted: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([content::Column::Kind, content::Column::Id])
                        .update_column(content::Column::State)
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn log(&self, txn: &DatabaseTransaction, e: Entry<'_>) -> Result<(), Error> {
        log::Entity::insert(log::ActiveModel {
            id: Set(Uuid::now_v7()),
            actor_id: Set(e.actor),
            kind: Set(e.kind.to_string()),
            target_kind: Set(e.target.kind().to_string()),
            target_id: Set(e.target.id()),
            target_author_id: Set(e.author),
            reason: Set(e.reason.to_string()),
            note: Set(e.note.to_string()),
            state_before: Set(e.before.to_string()),
            state_after: Set(e.after.to_string()),
            action_id: Set(e.action),
            report_id: Set(e.report),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    /// Resolves report `id` (and every other open report on its target) with
    /// `resolution`, as a moderator.
    pub async fn resolve(
        &self,
        claims: &Claims,
        id: Uuid,
        resolution: Resolution,
    ) -> Result<report::Model, Error> {
        let actor = moderator(claims)?;
        let r = self
            .report_row(id)
            .await?
            .ok_or_else(|| Error::not_found("report"))?;
        let target = Target::of(&r.target_kind, r.target_id)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a report of an unknown kind")))?;
        if r.target_author_id == Some(actor) || target == Target::User(actor) {
            return Err(Error::forbidden(
                "another moderator resolves reports about you",
            ));
        }
        let kind = resolution.kind;
        if matches!(kind, ActionKind::Hide | ActionKind::Delete) && !target.is_content() {
            return Err(Error::bad_input(
                "action.kind",
                "HIDE and DELETE apply to content; use WARN, SUSPEND or BAN for an account",
            ));
        }
        let user = match target {
            Target::User(u) => Some(u),
            _ => r.target_author_id,
        };
        if matches!(
            kind,
            ActionKind::Warn | ActionKind::Suspend | ActionKind::Ban
        ) && user.is_none()
        {
            return Err(Error::bad_input(
                "action.kind",
                "the author of this content is not known yet; hide it or try again shortly",
            ));
        }
        match (kind, resolution.duration_hours) {
            (ActionKind::Suspend, Some(h)) if (1..=MAX_SUSPENSION_HOURS).contains(&h) => {}
            (ActionKind::Suspend, _) => {
                return Err(Error::bad_input(
                    "action.durationHours",
                    format!("a suspension lasts 1 to {MAX_SUSPENSION_HOURS} hours"),
                ))
            }
            (_, Some(_)) => {
                return Err(Error::bad_input(
                    "action.durationHours",
                    "only a suspension has a duration",
                ))
            }
            _ => {}
        }
        let note = clean(
            "action.note",
            resolution.note.as_deref().unwrap_or_default(),
            1000,
        )?;
        let txn = self.begin().await?;
        // The write first: of two moderators resolving at once, one wins.
        let claimed = report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value("RESOLVED"))
            .filter(report::Column::Id.eq(id))
            .filter(report::Column::Status.ne("RESOLVED"))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Err(Error::conflict("this report is already resolved"));
        }
        let done = self
            .apply(
                &txn,
                Some(actor),
                target,
                r.target_author_id,
                kind,
                resolution.duration_hours,
                &r.reason,
                &note,
                Some(id),
            )
            .await?;
        report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value("RESOLVED"))
            .col_expr(report::Column::OpenKey, Expr::value(Option::<String>::None))
            .col_expr(report::Column::ResolvedAt, Expr::value(Utc::now()))
            .col_expr(report::Column::ActionId, Expr::value(done.id))
            .col_expr(
                report::Column::Upheld,
                Expr::value(kind != ActionKind::Dismiss),
            )
            .filter(report::Column::TargetKind.eq(target.kind()))
            .filter(report::Column::TargetId.eq(target.id()))
            .filter(
                Condition::any()
                    .add(report::Column::Id.eq(id))
                    .add(report::Column::Status.ne("RESOLVED")),
            )
            .exec(&txn)
            .await?;
        self.commit(txn).await?;
        self.report_row(id)
            .await?
            .ok_or_else(|| Error::not_found("report"))
    }

    /// Records action `kind` on `target`, changes its state, publishes the
    /// event that makes it take effect and logs it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn apply(
        &self,
        txn: &DatabaseTransaction,
        actor: Option<Uuid>,
        target: Target,
        author: Option<Uuid>,
        kind: ActionKind,
        duration_hours: Option<i32>,
        reason: &str,
        note: &str,
        report: Option<Uuid>,
    ) -> Result<action::Model, Error> {
        let now = Utc::now();
        let user = match target {
            Target::User(u) => Some(u),
            _ => author,
        };
        // What the action changes: the content, or its author's account.
        let subject = match kind {
            ActionKind::Warn | ActionKind::Suspend | ActionKind::Ban => {
                Target::User(user.unwrap_or_default())
            }
            _ => target,
        };
        let before = self.state_of(txn, subject).await?;
        let ends_at = duration_hours.map(|h| now + Duration::hours(h as i64));
        let row = action::Model {
            id: Uuid::now_v7(),
            kind: kind.as_str().to_string(),
            actor_id: actor,
            target_kind: target.kind().to_string(),
            target_id: target.id(),
            target_author_id: user,
            report_id: report,
            reason: reason.to_string(),
            note: note.to_string(),
            duration_hours,
            ends_at,
            reversed_at: None,
            created_at: now,
        };
        action::Entity::insert(action::ActiveModel::from(row.clone()))
            .exec_without_returning(txn)
            .await?;
        let content_event = |name: &'static str| {
            (
                name,
                json!({
                    "targetKind": target.kind(), "targetId": target.id(), "authorId": author,
                    "actionId": row.id, "reason": reason,
                }),
            )
        };
        let (after, event) = match kind {
            ActionKind::Dismiss => {
                // A dismissed report on content the rules hid brings it back.
                if before == "HIDDEN" && self.auto_hidden(txn, target).await? {
                    self.reverse_auto_hide(txn, target).await?;
                    (
                        "VISIBLE".to_string(),
                        Some(content_event("content_restored")),
                    )
                } else {
                    (before.clone(), None)
                }
            }
            ActionKind::Hide => ("HIDDEN".into(), Some(content_event("content_hidden"))),
            ActionKind::Delete => ("DELETED".into(), Some(content_event("content_deleted"))),
            ActionKind::Warn => (
                if before == "ACTIVE" {
                    "WARNED".into()
                } else {
                    before.clone()
                },
                Some((
                    "user_warned",
                    json!({ "userId": user, "actionId": row.id, "reason": reason, "note": note }),
                )),
            ),
            ActionKind::Suspend => (
                "SUSPENDED".into(),
                Some((
                    "user_suspended",
                    json!({ "userId": user, "actionId": row.id, "reason": reason, "until": ends_at }),
                )),
            ),
            ActionKind::Ban => (
                "BANNED".into(),
                Some((
                    "user_banned",
                    json!({ "userId": user, "actionId": row.id, "reason": reason }),
                )),
            ),
        };
        if after != before {
            self.set_state(txn, subject, author, &after).await?;
        }
        if let Some((name, payload)) = event {
            self.event(txn, name, actor, payload).await?;
        }
        self.log(
            txn,
            Entry {
                actor,
                kind: if actor.is_none() && kind == ActionKind::Hide {
                    "AUTO_HIDE"
                } else {
                    kind.as_str()
                },
                target,
                author: user,
                reason,
                note,
                before: &before,
                after: &after,
                action: Some(row.id),
                report,
            },
        )
        .await?;
        Ok(row)
    }

    /// Whether `target`'s hiding is the rules' (an automatic HIDE not reversed).
    async fn auto_hidden(&self, txn: &DatabaseTransaction, target: Target) -> Result<bool, Error> {
        let last = action::Entity::find()
            .filter(action::Column::TargetKind.eq(target.kind()))
            .filter(action::Column::TargetId.eq(target.id()))
            .filter(action::Column::Kind.is_in(["HIDE", "DELETE"]))
            .filter(action::Column::ReversedAt.is_null())
            .order_by_desc(action::Column::Id)
            .one(txn)
            .await?;
        Ok(last.is_some_and(|a| a.actor_id.is_none() && a.kind == "HIDE"))
    }

    async fn reverse_auto_hide(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
    ) -> Result<(), Error> {
        action::Entity::update_many()
            .col_expr(action::Column::ReversedAt, Expr::value(Utc::now()))
            .filter(action::Column::TargetKind.eq(target.kind()))
            .filter(action::Column::TargetId.eq(target.id()))
            .filter(action::Column::Kind.eq("HIDE"))
            .filter(action::Column::ActorId.is_null())
            .filter(action::Column::ReversedAt.is_null())
            .exec(txn)
            .await?;
        Ok(())
    }

    pub async fn action(&self, id: Uuid) -> Result<Option<action::Model>, Error> {
        Ok(action::Entity::find_by_id(id).one(self.db()).await?)
    }

    pub async fn actions(&self, ids: Vec<Uuid>) -> Result<Vec<action::Model>, Error> {
        Ok(action::Entity::find()
            .filter(action::Column::Id.is_in(ids))
            .all(self.db())
            .await?)
    }

    /// The actions against the caller (a dismissal is none), newest first.
    pub async fn actions_against_me(
        &self,
        claims: &Claims,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<action::Model>, Error> {
        let me = me(claims)?;
        page(
            self.db(),
            action::Entity::find()
                .filter(action::Column::TargetAuthorId.eq(me))
                .filter(action::Column::Kind.ne("DISMISS")),
            action::Column::Id,
            true,
            n,
            after,
            |a| a.id,
        )
        .await
    }

    /// The moderation log, newest first (moderators only).
    pub async fn log_page(
        &self,
        claims: &Claims,
        filter: LogFilter,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<log::Model>, Error> {
        moderator(claims)?;
        let mut q = log::Entity::find();
        if let Some(a) = filter.actor {
            q = q.filter(log::Column::ActorId.eq(a));
        }
        if let Some(a) = filter.target_author {
            q = q.filter(log::Column::TargetAuthorId.eq(a));
        }
        if let Some(k) = filter.kind {
            q = q.filter(log::Column::Kind.eq(k));
        }
        if let Some(s) = filter.since {
            q = q.filter(log::Column::CreatedAt.gte(s));
        }
        page(self.db(), q, log::Column::Id, true, n, after, |l| l.id).await
    }
}
