//! Reports: filing one (one open report per reporter and target, a GCRA
//! limit per reporter), the queue with its priority, assignment. A report's
//! stored priority is recomputed for every open report on its target when a
//! report or a flag arrives there (`rules::priority`); the queue adds the
//! age part in SQL, so older reports rise.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use kit::auth::Claims;
use kit::cache::Quota;
use kit::error::ErrorCode;
use kit::Error;
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::actions::Entry;
use super::model::{content, flag, report};
use super::{clean, me, moderator, page, Moderation, Page, Target, REASONS};
use crate::rules;

/// Reports in the queue are filtered by these (all optional).
#[derive(Clone, Debug, Default)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub reason: Option<String>,
    pub target_kind: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueSort {
    /// Highest priority first (age included), then oldest.
    Priority,
    Oldest,
}

/// The most characters of a report's details.
pub const DETAILS_MAX: usize = 2000;

impl Moderation {
    pub async fn report_row(&self, id: Uuid) -> Result<Option<report::Model>, Error> {
        Ok(report::Entity::find_by_id(id).one(self.db()).await?)
    }

    pub async fn reports(&self, ids: Vec<Uuid>) -> Result<Vec<report::Model>, Error> {
        Ok(report::Entity::find()
            .filter(report::Column::Id.is_in(ids))
            .all(self.db())
            .await?)
    }

    /// Report `id` for a moderator.
    pub async fn report_for(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<report::Model>, Error> {
        moderator(claims)?;
        self.report_row(id).await
    }

    /// Files a report by the caller.
    pub async fn file_report(
        &self,
        claims: &Claims,
        target: Target,
        reason: &str,
        details: Option<&str>,
    ) -> Result<report::Model, Error> {
        let reporter = me(claims)?;
        if !REASONS.contains(&reason) {
            return Err(Error::bad_input("input.reason", "not a report reason"));
        }
        let details = clean("input.details", details.unwrap_or_default(), DETAILS_MAX)?;
        let author = self.author_of(target).await?;
        if author == Some(reporter) {
            return Err(Error::bad_input(
                "input.target",
                "you cannot report yourself or what you wrote",
            ));
        }
        let rules = self.rules().await?;
        self.limit_reports(reporter, rules.reports_per_hour).await?;
        let now = Utc::now();
        let row = report::Model {
            id: Uuid::now_v7(),
            reporter_id: Some(reporter),
            target_kind: target.kind().to_string(),
            target_id: target.id(),
            target_author_id: author,
            reason: reason.to_string(),
            details,
            status: "OPEN".into(),
            assignee_id: None,
            open_key: Some(format!("{reporter}:{}:{}", target.kind(), target.id())),
            priority: 0,
            flag_score: 0,
            created_epoch: now.timestamp(),
            created_at: now,
            resolved_at: None,
            action_id: None,
            upheld: None,
        };
        let txn = self.begin().await?;
        match report::Entity::insert(report::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e) if kit::db::is_unique_violation(&e) => {
                txn.rollback().await?;
                return Err(Error::conflict("you already have an open report on this"));
            }
            Err(e) => return Err(e.into()),
        }
        self.event(
            &txn,
            "report_filed",
            Some(reporter),
            json!({ "reportId": row.id, "targetKind": target.kind(), "targetId": target.id(), "reason": reason }),
        )
        .await?;
        let reporters = self.distinct_reporters(&txn, target).await?;
        if let Some(hit) = rules::reporters_hit(&rules, reporters) {
            let raised = flag::Entity::find()
                .filter(flag::Column::TargetKind.eq(target.kind()))
                .filter(flag::Column::TargetId.eq(target.id()))
                .filter(flag::Column::Rule.eq("REPORTERS"))
                .count(&txn)
                .await?;
            if raised == 0 {
                self.raise(&txn, target, author, &[hit], &rules).await?;
            }
        }
        self.reprioritise(&txn, target).await?;
        self.commit(txn).await?;
        self.report_row(row.id)
            .await?
            .ok_or_else(|| Error::not_found("report"))
    }

    /// GCRA per reporter: `per_hour` reports an hour, in a burst at most.
    async fn limit_reports(&self, reporter: Uuid, per_hour: u32) -> Result<(), Error> {
        let quota = Quota {
            limit: per_hour.max(1),
            period: Duration::from_secs(3600),
        };
        match self
            .services
            .cache
            .gcra(&format!("reports:{reporter}"), quota)
            .await
        {
            Ok(d) if !d.allowed => Err(Error::new(
                ErrorCode::RateLimited,
                format!(
                    "too many reports; try again in {} s",
                    d.retry_after.as_secs().max(1)
                ),
            )),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "report limit unavailable; accepting the report");
                Ok(())
            }
        }
    }

    /// Who wrote `target` (the account itself for a user), when known.
    pub(super) async fn author_of(&self, target: Target) -> Result<Option<Uuid>, Error> {
        Ok(match target {
            Target::User(u) => Some(u),
            t => content::Entity::find_by_id((t.kind().to_string(), t.id()))
                .one(self.db())
                .await?
                .map(|c| c.author_id)
                .filter(|a| !a.is_nil()),
        })
    }

    /// Distinct reporters of `target`'s open reports.
    pub(super) async fn distinct_reporters<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
    ) -> Result<u32, Error> {
        let ids: Vec<Option<Uuid>> = report::Entity::find()
            .select_only()
            .column(report::Column::ReporterId)
            .distinct()
            .filter(report::Column::TargetKind.eq(target.kind()))
            .filter(report::Column::TargetId.eq(target.id()))
            .filter(report::Column::Status.ne("RESOLVED"))
            .filter(report::Column::ReporterId.is_not_null())
            .into_tuple()
            .all(conn)
            .await?;
        Ok(ids.len() as u32)
    }

    /// Recomputes the priority and flag score of `target`'s open reports.
    pub(super) async fn reprioritise<C: ConnectionTrait>(
        &self,
        conn: &C,
        target: Target,
    ) -> Result<(), Error> {
        let open = report::Entity::find()
            .filter(report::Column::TargetKind.eq(target.kind()))
            .filter(report::Column::TargetId.eq(target.id()))
            .filter(report::Column::Status.ne("RESOLVED"))
            .limit(500)
            .all(conn)
            .await?;
        if open.is_empty() {
            return Ok(());
        }
        let flag_score: i64 = flag::Entity::find()
            .filter(flag::Column::TargetKind.eq(target.kind()))
            .filter(flag::Column::TargetId.eq(target.id()))
            .limit(1000)
            .all(conn)
            .await?
            .iter()
            .map(|f| f.score as i64)
            .sum();
        let reporters: HashSet<Uuid> = open.iter().filter_map(|r| r.reporter_id).collect();
        let trust = self
            .trust_of(conn, reporters.iter().copied().collect())
            .await?;
        let distinct = reporters.len() as u32;
        for r in open {
            let t = match r.reporter_id {
                Some(id) => trust.get(&id).copied().unwrap_or(0.5),
                None => 1.0,
            };
            let p = rules::priority(&r.reason, distinct, t, flag_score as i32);
            report::Entity::update_many()
                .col_expr(report::Column::Priority, Expr::value(p))
                .col_expr(report::Column::FlagScore, Expr::value(flag_score as i32))
                .filter(report::Column::Id.eq(r.id))
                .exec(conn)
                .await?;
        }
        Ok(())
    }

    /// Each reporter's trust: the share of their resolved reports upheld.
    async fn trust_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        reporters: Vec<Uuid>,
    ) -> Result<HashMap<Uuid, f64>, Error> {
        let rows: Vec<(Option<Uuid>, Option<bool>, i64)> = report::Entity::find()
            .select_only()
            .column(report::Column::ReporterId)
            .column(report::Column::Upheld)
            .column_as(report::Column::Id.count(), "n")
            .filter(report::Column::ReporterId.is_in(reporters))
            .filter(report::Column::Upheld.is_not_null())
            .group_by(report::Column::ReporterId)
            .group_by(report::Column::Upheld)
            .into_tuple()
            .all(conn)
            .await?;
        let mut counts: HashMap<Uuid, (u64, u64)> = HashMap::new();
        for (who, upheld, n) in rows {
            let (Some(who), Some(upheld)) = (who, upheld) else {
                continue;
            };
            let c = counts.entry(who).or_default();
            if upheld {
                c.0 += n as u64;
            } else {
                c.1 += n as u64;
            }
        }
        Ok(counts
            .into_iter()
            .map(|(k, (u, d))| (k, rules::trust(u, d)))
            .collect())
    }

    /// The caller's reports, newest first.
    pub async fn my_reports(
        &self,
        claims: &Claims,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<report::Model>, Error> {
        let me = me(claims)?;
        let q = report::Entity::find().filter(report::Column::ReporterId.eq(me));
        let total = q.clone().count(self.db()).await?;
        let mut p = page(self.db(), q, report::Column::Id, true, n, after, |r| r.id).await?;
        p.total_count = total;
        Ok(p)
    }

    /// The queue (moderators only): `n` reports from `offset`, with the total.
    pub async fn queue(
        &self,
        claims: &Claims,
        filter: QueueFilter,
        sort: QueueSort,
        n: u64,
        offset: u64,
    ) -> Result<Page<report::Model>, Error> {
        moderator(claims)?;
        let mut q = report::Entity::find();
        match filter.status.as_deref() {
            Some(s) => q = q.filter(report::Column::Status.eq(s)),
            None => q = q.filter(report::Column::Status.ne("RESOLVED")),
        }
        if let Some(r) = filter.reason {
            q = q.filter(report::Column::Reason.eq(r));
        }
        if let Some(k) = filter.target_kind {
            q = q.filter(report::Column::TargetKind.eq(k));
        }
        let total = q.clone().count(self.db()).await?;
        q = match sort {
            QueueSort::Priority => {
                // One point per two hours open, at most 24 (two days).
                let now = Utc::now().timestamp();
                q.order_by(
                    Expr::cust(format!(
                        "priority + CASE WHEN created_epoch < {} THEN 24 ELSE ({now} - created_epoch) / 7200 END",
                        now - 48 * 3600
                    )),
                    Order::Desc,
                )
                .order_by_asc(report::Column::Id)
            }
            QueueSort::Oldest => q.order_by_asc(report::Column::Id),
        };
        let mut rows = q.offset(offset).limit(n + 1).all(self.db()).await?;
        let more = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut p = Page::new(rows, offset > 0, more, |_| String::new());
        for (i, (cursor, _)) in p.items.iter_mut().enumerate() {
            *cursor = format!("o{}", offset + i as u64 + 1);
        }
        p.total_count = total;
        Ok(p)
    }

    /// Assigns report `id` to the calling moderator.
    pub async fn assign(&self, claims: &Claims, id: Uuid) -> Result<report::Model, Error> {
        let by = moderator(claims)?;
        let r = self
            .report_row(id)
            .await?
            .ok_or_else(|| Error::not_found("report"))?;
        let target = Target::of(&r.target_kind, r.target_id)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a report of an unknown kind")))?;
        let txn = self.begin().await?;
        let done = report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value("ASSIGNED"))
            .col_expr(report::Column::AssigneeId, Expr::value(by))
            .filter(report::Column::Id.eq(id))
            .filter(report::Column::Status.ne("RESOLVED"))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            txn.rollback().await?;
            return Err(Error::conflict("this report is already resolved"));
        }
        let state = self.state_of(&txn, target).await?;
        self.log(
            &txn,
            Entry {
                actor: Some(by),
                kind: "ASSIGN",
                target,
                author: r.target_author_id,
                reason: &r.reason,
                note: "",
                before: &state,
                after: &state,
                action: None,
                report: Some(id),
            },
        )
        .await?;
        self.commit(txn).await?;
        self.report_row(id)
            .await?
            .ok_or_else(|| Error::not_found("report"))
    }

    /// Open reports on each target, for `moderationStatus`.
    pub(super) async fn open_report_counts(
        &self,
        targets: &[Target],
    ) -> Result<HashMap<Target, i64>, Error> {
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id()).collect();
        let rows: Vec<(String, Uuid, i64)> = report::Entity::find()
            .select_only()
            .column(report::Column::TargetKind)
            .column(report::Column::TargetId)
            .column_as(report::Column::Id.count(), "n")
            .filter(report::Column::TargetId.is_in(ids))
            .filter(report::Column::Status.ne("RESOLVED"))
            .group_by(report::Column::TargetKind)
            .group_by(report::Column::TargetId)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, id, n)| Some((Target::of(&k, id)?, n)))
            .collect())
    }
}
