//! `moderationStatus` of many posts, comments, reviews and users at once:
//! a constant number of statements per batch (the schema's loader calls it).

use std::collections::HashMap;

use kit::Error;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::model::{account, action, content, flag, report};
use super::{Moderation, Target};

/// The loader's key: one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusKey(pub Target);

/// Where moderation stands on one target.
#[derive(Clone, Debug)]
pub struct Status {
    /// VISIBLE, HIDDEN or DELETED for content; ACTIVE, WARNED, SUSPENDED or
    /// BANNED for an account.
    pub state: String,
    pub open_reports: i64,
    pub flag_score: i64,
    /// The latest action on it (on an account: against it), reversed or not.
    pub last_action: Option<action::Model>,
}

impl Moderation {
    pub async fn statuses(&self, targets: &[Target]) -> Result<HashMap<Target, Status>, Error> {
        let content_ids: Vec<Uuid> = targets
            .iter()
            .filter(|t| t.is_content())
            .map(|t| t.id())
            .collect();
        let user_ids: Vec<Uuid> = targets
            .iter()
            .filter(|t| !t.is_content())
            .map(|t| t.id())
            .collect();
        let mut states: HashMap<Target, String> = HashMap::new();
        if !content_ids.is_empty() {
            for c in content::Entity::find()
                .filter(content::Column::Id.is_in(content_ids.clone()))
                .all(self.db())
                .await?
            {
                if let Some(t) = Target::of(&c.kind, c.id) {
                    states.insert(t, c.state);
                }
            }
        }
        if !user_ids.is_empty() {
            for a in account::Entity::find()
                .filter(account::Column::UserId.is_in(user_ids.clone()))
                .all(self.db())
                .await?
            {
                states.insert(Target::User(a.user_id), a.state);
            }
        }
        let reports = self.open_report_counts(targets).await?;
        let all_ids: Vec<Uuid> = targets.iter().map(|t| t.id()).collect();
        let flag_rows: Vec<(String, Uuid, i32)> = flag::Entity::find()
            .select_only()
            .column(flag::Column::TargetKind)
            .column(flag::Column::TargetId)
            .column(flag::Column::Score)
            .filter(flag::Column::TargetId.is_in(all_ids.clone()))
            .limit(10_000)
            .into_tuple()
            .all(self.db())
            .await?;
        let mut flags: HashMap<Target, i64> = HashMap::new();
        for (k, id, s) in flag_rows {
            if let Some(t) = Target::of(&k, id) {
                *flags.entry(t).or_default() += s as i64;
            }
        }
        let mut last: HashMap<Target, action::Model> = HashMap::new();
        if !content_ids.is_empty() {
            for a in action::Entity::find()
                .filter(action::Column::TargetId.is_in(content_ids))
                .filter(action::Column::TargetKind.ne("USER"))
                .order_by_desc(action::Column::Id)
                .limit(10_000)
                .all(self.db())
                .await?
            {
                if let Some(t) = Target::of(&a.target_kind, a.target_id) {
                    last.entry(t).or_insert(a);
                }
            }
        }
        if !user_ids.is_empty() {
            for a in action::Entity::find()
                .filter(action::Column::TargetAuthorId.is_in(user_ids))
                .filter(action::Column::Kind.is_in(["WARN", "SUSPEND", "BAN"]))
                .order_by_desc(action::Column::Id)
                .limit(10_000)
                .all(self.db())
                .await?
            {
                if let Some(u) = a.target_author_id {
                    last.entry(Target::User(u)).or_insert(a);
                }
            }
        }
        Ok(targets
            .iter()
            .map(|t| {
                let state = states.remove(t).unwrap_or_else(|| {
                    if t.is_content() { "VISIBLE" } else { "ACTIVE" }.to_string()
                });
                (
                    *t,
                    Status {
                        state,
                        open_reports: reports.get(t).copied().unwrap_or(0),
                        flag_score: flags.get(t).copied().unwrap_or(0),
                        last_action: last.remove(t),
                    },
                )
            })
            .collect())
    }

    /// Distinct reporters of each target's open reports.
    pub async fn reporter_counts(&self, targets: &[Target]) -> Result<HashMap<Target, i64>, Error> {
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id()).collect();
        let rows: Vec<(String, Uuid, Option<Uuid>)> = report::Entity::find()
            .select_only()
            .column(report::Column::TargetKind)
            .column(report::Column::TargetId)
            .column(report::Column::ReporterId)
            .distinct()
            .filter(report::Column::TargetId.is_in(ids))
            .filter(report::Column::Status.ne("RESOLVED"))
            .filter(report::Column::ReporterId.is_not_null())
            .limit(10_000)
            .into_tuple()
            .all(self.db())
            .await?;
        let mut out: HashMap<Target, i64> = HashMap::new();
        for (k, id, _) in rows {
            if let Some(t) = Target::of(&k, id) {
                *out.entry(t).or_default() += 1;
            }
        }
        Ok(out)
    }

    /// The latest flags on `targets`, newest first (bounded).
    pub async fn flags_on_many(&self, targets: &[Target]) -> Result<Vec<flag::Model>, Error> {
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id()).collect();
        Ok(flag::Entity::find()
            .filter(flag::Column::TargetId.is_in(ids))
            .order_by_desc(flag::Column::Id)
            .limit(2_000)
            .all(self.db())
            .await?)
    }

    /// The latest actions against `authors` (dismissals aside), newest first
    /// (bounded).
    pub async fn actions_against_many(
        &self,
        authors: &[Uuid],
    ) -> Result<Vec<action::Model>, Error> {
        Ok(action::Entity::find()
            .filter(action::Column::TargetAuthorId.is_in(authors.to_vec()))
            .filter(action::Column::Kind.ne("DISMISS"))
            .order_by_desc(action::Column::Id)
            .limit(2_000)
            .all(self.db())
            .await?)
    }
}
