//! What other subgraphs wrote, as moderation copies it from their events:
//! social's posts, comments, reviews and chat messages (created, edited,
//! deleted) and users' registrations. Every text that arrives or changes
//! goes through the flag rules; flags that add up to the hide threshold hide
//! the content pending review and put it in the queue with a report of the
//! rules' own. Everything here runs in a consumer's transaction.

use chrono::{DateTime, Duration, Utc};
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::actions::ActionKind;
use super::model::{account, content, domain, flag, report};
use super::{Moderation, Target};
use crate::rules::{self, Hit, Rules};

/// A text written or edited in another subgraph.
#[derive(Clone, Debug)]
pub struct Written {
    pub target: Target,
    pub author: Uuid,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// The digest of a text's normalised words (empty for a text without any).
pub fn body_key(body: &str) -> String {
    let skeleton = rules::skeleton(body);
    if skeleton.is_empty() {
        return String::new();
    }
    Sha256::digest(skeleton.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Moderation {
    /// Records `w` and runs the flag rules over it; returns the flags raised.
    pub async fn ingest(&self, txn: &DatabaseTransaction, w: Written) -> Result<Vec<Hit>, Error> {
        let rules = self.rules_on(txn).await?;
        let key = body_key(&w.body);
        let now = Utc::now();
        content::Entity::insert(content::ActiveModel {
            kind: Set(w.target.kind().to_string()),
            id: Set(w.target.id()),
            author_id: Set(w.author),
            body: Set(w.body.clone()),
            body_key: Set(key.clone()),
            state: Set("VISIBLE".into()),
            deleted: Set(false),
            created_at: Set(w.at),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([content::Column::Kind, content::Column::Id])
                .update_columns([
                    content::Column::AuthorId,
                    content::Column::Body,
                    content::Column::BodyKey,
                    content::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        // Reports filed before the content arrived learn its author.
        report::Entity::update_many()
            .col_expr(report::Column::TargetAuthorId, Expr::value(w.author))
            .filter(report::Column::TargetKind.eq(w.target.kind()))
            .filter(report::Column::TargetId.eq(w.target.id()))
            .filter(report::Column::TargetAuthorId.is_null())
            .exec(txn)
            .await?;
        let ctx = self.context(txn, &rules, &w, &key, now).await?;
        let hits = rules::score(&rules, &w.body, &ctx);
        if !hits.is_empty() {
            self.raise(txn, w.target, Some(w.author), &hits, &rules)
                .await?;
        }
        Ok(hits)
    }

    /// What the rules need to know about `w`'s author and links.
    async fn context(
        &self,
        txn: &DatabaseTransaction,
        rules: &Rules,
        w: &Written,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<rules::Context, Error> {
        let mut ctx = rules::Context::default();
        if !key.is_empty() {
            let since = now - Duration::minutes(rules.duplicate_window_minutes as i64);
            ctx.same_text_recently = content::Entity::find()
                .filter(content::Column::AuthorId.eq(w.author))
                .filter(content::Column::BodyKey.eq(key))
                .filter(content::Column::UpdatedAt.gte(since))
                .count(txn)
                .await? as u32;
        }
        let Some(acc) = account::Entity::find_by_id(w.author).one(txn).await? else {
            return Ok(ctx);
        };
        let age = (now - acc.registered_at).num_hours();
        ctx.account_age_hours = Some(age);
        if age >= rules.new_account_hours as i64 {
            return Ok(ctx);
        }
        ctx.texts_since_registering = content::Entity::find()
            .filter(content::Column::AuthorId.eq(w.author))
            .filter(content::Column::CreatedAt.gte(acc.registered_at))
            .count(txn)
            .await? as u32;
        // New domains count from new accounts only: an old account's first
        // link to a site is not spam.
        let window = now - Duration::hours(rules.new_domain_hours as i64);
        let mut seen = Vec::new();
        for host in rules::links(&w.body).into_iter().take(20) {
            if seen.contains(&host) {
                continue;
            }
            seen.push(host.clone());
            let first = match domain::Entity::find_by_id(host.clone()).one(txn).await? {
                Some(d) => d.first_seen,
                None => {
                    domain::Entity::insert(domain::ActiveModel {
                        domain: Set(host.clone()),
                        first_seen: Set(now),
                    })
                    .on_conflict(
                        OnConflict::column(domain::Column::Domain)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?;
                    now
                }
            };
            if first >= window {
                ctx.new_domains.push(host);
            }
        }
        Ok(ctx)
    }

    /// Records `hits` on `target`; hides content whose flags reach the
    /// threshold (once) and files the rules' report on it.
    pub(super) async fn raise(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
        author: Option<Uuid>,
        hits: &[Hit],
        rules: &Rules,
    ) -> Result<(), Error> {
        let now = Utc::now();
        for h in hits {
            flag::Entity::insert(flag::ActiveModel {
                id: Set(Uuid::now_v7()),
                target_kind: Set(target.kind().to_string()),
                target_id: Set(target.id()),
                target_author_id: Set(author),
                rule: Set(h.rule.to_string()),
                score: Set(h.score),
                detail: Set(h.detail.clone()),
                report_id: Set(None),
                created_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
        }
        let total: i64 = flag::Entity::find()
            .select_only()
            .column(flag::Column::Score)
            .filter(flag::Column::TargetKind.eq(target.kind()))
            .filter(flag::Column::TargetId.eq(target.id()))
            .limit(1000)
            .into_tuple::<i32>()
            .all(txn)
            .await?
            .into_iter()
            .map(i64::from)
            .sum();
        let state = self.state_of(txn, target).await?;
        if target.is_content() && total >= rules.hide_threshold as i64 && state == "VISIBLE" {
            let top = hits
                .iter()
                .max_by_key(|h| h.score)
                .expect("hits are not empty");
            let report_id = self
                .rules_report(txn, target, author, top.reason, &top.detail)
                .await?;
            self.apply(
                txn,
                None,
                target,
                author,
                ActionKind::Hide,
                None,
                top.reason,
                &format!(
                    "hidden by the flag rules: score {total} reached {}",
                    rules.hide_threshold
                ),
                Some(report_id),
            )
            .await?;
        }
        self.reprioritise(txn, target).await
    }

    /// The rules' open report on `target` (one at a time), filed when absent.
    async fn rules_report(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
        author: Option<Uuid>,
        reason: &str,
        detail: &str,
    ) -> Result<Uuid, Error> {
        let key = format!("rules:{}:{}", target.kind(), target.id());
        if let Some(r) = report::Entity::find()
            .filter(report::Column::OpenKey.eq(key.clone()))
            .one(txn)
            .await?
        {
            return Ok(r.id);
        }
        let now = Utc::now();
        let id = Uuid::now_v7();
        report::Entity::insert(report::ActiveModel {
            id: Set(id),
            reporter_id: Set(None),
            target_kind: Set(target.kind().to_string()),
            target_id: Set(target.id()),
            target_author_id: Set(author),
            reason: Set(reason.to_string()),
            details: Set(detail.to_string()),
            status: Set("OPEN".into()),
            assignee_id: Set(None),
            open_key: Set(Some(key)),
            priority: Set(0),
            flag_score: Set(0),
            created_epoch: Set(now.timestamp()),
            created_at: Set(now),
            resolved_at: Set(None),
            action_id: Set(None),
            upheld: Set(None),
        })
        .exec_without_returning(txn)
        .await?;
        self.event(
            txn,
            "report_filed",
            None,
            serde_json::json!({ "reportId": id, "targetKind": target.kind(), "targetId": target.id(), "reason": reason }),
        )
        .await?;
        Ok(id)
    }

    /// Content its author (or social) deleted.
    pub async fn content_deleted(
        &self,
        txn: &DatabaseTransaction,
        target: Target,
    ) -> Result<(), Error> {
        content::Entity::update_many()
            .col_expr(content::Column::Deleted, Expr::value(true))
            .filter(content::Column::Kind.eq(target.kind()))
            .filter(content::Column::Id.eq(target.id()))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// An account registered at `at` (its age drives the velocity rule).
    pub async fn account_registered(
        &self,
        txn: &DatabaseTransaction,
        user: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        account::Entity::insert(account::ActiveModel {
            user_id: Set(user),
            registered_at: Set(at),
            state: Set("ACTIVE".into()),
        })
        .on_conflict(
            OnConflict::column(account::Column::UserId)
                .update_column(account::Column::RegisteredAt)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        Ok(())
    }

    /// Flags, newest first (moderators only), of one target kind or rule.
    pub async fn flags(
        &self,
        claims: &kit::auth::Claims,
        target_kind: Option<String>,
        rule: Option<String>,
        target_id: Option<Uuid>,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<super::Page<flag::Model>, Error> {
        super::moderator(claims)?;
        let mut q = flag::Entity::find();
        if let Some(k) = target_kind {
            q = q.filter(flag::Column::TargetKind.eq(k));
        }
        if let Some(r) = rule {
            q = q.filter(flag::Column::Rule.eq(r));
        }
        if let Some(t) = target_id {
            q = q.filter(flag::Column::TargetId.eq(t));
        }
        super::page(self.db(), q, flag::Column::Id, true, n, after, |f| f.id).await
    }

    pub async fn flag_row(&self, id: Uuid) -> Result<Option<flag::Model>, Error> {
        Ok(flag::Entity::find_by_id(id).one(self.db()).await?)
    }

    /// What moderation knows `targets` say (their latest texts).
    pub async fn contents_of(&self, targets: &[Target]) -> Result<Vec<content::Model>, Error> {
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id()).collect();
        Ok(content::Entity::find()
            .filter(content::Column::Id.is_in(ids))
            .all(self.db())
            .await?)
    }
}
