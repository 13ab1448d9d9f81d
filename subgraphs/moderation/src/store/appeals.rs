//! Appeals: the person an action was taken against appeals it once; another
//! moderator (or an admin) decides. An upheld appeal reverses the action
//! through the same events (`content_restored`, `user_reinstated`) and both
//! the appeal and its decision are in the moderation log.

use chrono::Utc;
use kit::auth::{Claims, Role};
use kit::Error;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::actions::Entry;
use super::model::{action, appeal};
use super::{clean, me, moderator, page, Moderation, Page, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppealStatus {
    Pending,
    Upheld,
    Rejected,
}

impl AppealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppealStatus::Pending => "PENDING",
            AppealStatus::Upheld => "UPHELD",
            AppealStatus::Rejected => "REJECTED",
        }
    }
}

/// The most characters of an appeal or a decision's note.
pub const APPEAL_MAX: usize = 2000;

impl Moderation {
    pub async fn appeal_row(&self, id: Uuid) -> Result<Option<appeal::Model>, Error> {
        Ok(appeal::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// The appeal of each action in `actions` (there is at most one).
    pub async fn appeals_of(&self, actions: Vec<Uuid>) -> Result<Vec<appeal::Model>, Error> {
        Ok(appeal::Entity::find()
            .filter(appeal::Column::ActionId.is_in(actions))
            .all(self.db())
            .await?)
    }

    /// The caller appeals action `action_id` taken against them.
    pub async fn appeal(
        &self,
        claims: &Claims,
        action_id: Uuid,
        text: &str,
    ) -> Result<appeal::Model, Error> {
        let me = me(claims)?;
        let text = clean("text", text, APPEAL_MAX)?;
        if text.is_empty() {
            return Err(Error::bad_input("text", "say why the action was wrong"));
        }
        let a = self
            .action(action_id)
            .await?
            .filter(|a| a.target_author_id == Some(me) && a.kind != "DISMISS")
            .ok_or_else(|| Error::not_found("action against you"))?;
        if a.reversed_at.is_some() {
            return Err(Error::conflict("this action was already reversed"));
        }
        let row = appeal::Model {
            id: Uuid::now_v7(),
            action_id,
            appellant_id: me,
            text,
            status: AppealStatus::Pending.as_str().into(),
            decided_by: None,
            note: String::new(),
            created_at: Utc::now(),
            decided_at: None,
        };
        let txn = self.begin().await?;
        match appeal::Entity::insert(appeal::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if kit::db::is_unique_violation(&e) => {
                txn.rollback().await?;
                return Err(Error::conflict("this action was already appealed"));
            }
            Err(e) => return Err(e.into()),
        }
        self.event(
            &txn,
            "appeal_filed",
            Some(me),
            json!({ "appealId": row.id, "actionId": action_id }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(row)
    }

    /// Appeals of one status (pending by default), oldest first (moderators only).
    pub async fn appeals(
        &self,
        claims: &Claims,
        status: AppealStatus,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<appeal::Model>, Error> {
        moderator(claims)?;
        page(
            self.db(),
            appeal::Entity::find().filter(appeal::Column::Status.eq(status.as_str())),
            appeal::Column::Id,
            false,
            n,
            after,
            |a| a.id,
        )
        .await
    }

    /// Decides appeal `id`: `uphold` reverses its action. The moderator who
    /// took the action does not decide its appeal (an admin may).
    pub async fn decide_appeal(
        &self,
        claims: &Claims,
        id: Uuid,
        uphold: bool,
        note: Option<&str>,
    ) -> Result<appeal::Model, Error> {
        let by = moderator(claims)?;
        let note = clean("note", note.unwrap_or_default(), 1000)?;
        let ap = self
            .appeal_row(id)
            .await?
            .ok_or_else(|| Error::not_found("appeal"))?;
        let a = self
            .action(ap.action_id)
            .await?
            .ok_or_else(|| Error::not_found("action"))?;
        if ap.appellant_id == by {
            return Err(Error::forbidden("someone else decides your appeal"));
        }
        if a.actor_id == Some(by) && !claims.has_role(Role::Admin) {
            return Err(Error::forbidden(
                "another moderator or an admin decides an appeal of your action",
            ));
        }
        let status = if uphold {
            AppealStatus::Upheld
        } else {
            AppealStatus::Rejected
        };
        let now = Utc::now();
        let txn = self.begin().await?;
        let done = appeal::Entity::update_many()
            .col_expr(appeal::Column::Status, Expr::value(status.as_str()))
            .col_expr(appeal::Column::DecidedBy, Expr::value(by))
            .col_expr(appeal::Column::Note, Expr::value(note.clone()))
            .col_expr(appeal::Column::DecidedAt, Expr::value(now))
            .filter(appeal::Column::Id.eq(id))
            .filter(appeal::Column::Status.eq(AppealStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            txn.rollback().await?;
            return Err(Error::conflict("this appeal was already decided"));
        }
        let target = Target::of(&a.target_kind, a.target_id)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("an action of an unknown kind")))?;
        let user = a.target_author_id.unwrap_or_default();
        let subject = match a.kind.as_str() {
            "WARN" | "SUSPEND" | "BAN" => Target::User(user),
            _ => target,
        };
        let before = self.state_of(&txn, subject).await?;
        let mut after = before.clone();
        if uphold {
            action::Entity::update_many()
                .col_expr(action::Column::ReversedAt, Expr::value(now))
                .filter(action::Column::Id.eq(a.id))
                .exec(&txn)
                .await?;
            let event = match a.kind.as_str() {
                "HIDE" | "DELETE" => {
                    after = "VISIBLE".into();
                    Some((
                        "content_restored",
                        json!({
                            "targetKind": a.target_kind, "targetId": a.target_id,
                            "authorId": a.target_author_id, "actionId": a.id, "reason": "appeal upheld",
                        }),
                    ))
                }
                "SUSPEND" | "BAN" => {
                    after = "ACTIVE".into();
                    Some((
                        "user_reinstated",
                        json!({ "userId": user, "actionId": a.id, "reason": "appeal upheld" }),
                    ))
                }
                "WARN" => {
                    if before == "WARNED" {
                        after = "ACTIVE".into();
                    }
                    None
                }
                _ => None,
            };
            if after != before {
                self.set_state(&txn, subject, a.target_author_id, &after)
                    .await?;
            }
            if let Some((name, payload)) = event {
                self.event(&txn, name, Some(by), payload).await?;
            }
        }
        self.log(
            &txn,
            Entry {
                actor: Some(by),
                kind: if uphold {
                    "APPEAL_UPHELD"
                } else {
                    "APPEAL_REJECTED"
                },
                target,
                author: a.target_author_id,
                reason: &a.reason,
                note: &note,
                before: &before,
                after: &after,
                action: Some(a.id),
                report: a.report_id,
            },
        )
        .await?;
        self.commit(txn).await?;
        self.appeal_row(id)
            .await?
            .ok_or_else(|| Error::not_found("appeal"))
    }
}
