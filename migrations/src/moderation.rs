//! The `moderation` schema: reports (one open per reporter and target),
//! automatic flags, the actions moderators took and the moderation log that
//! records each change with the target's state before and after, appeals,
//! the rule set admins edit, and two copies fed by other subgraphs' events:
//! `contents` (what social's posts, comments, reviews and chat messages say,
//! and who wrote them) and `accounts` (when each account registered).
//!
//! Ids are UUIDv7, so "oldest first" is "id ascending".

use sea_orm_migration::prelude::*;

use crate::columns::{a, big, flag, int, string, text, uuid, uuid_null};
use crate::{ts, ts_null};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(kit::events::outbox::Migration), Box::new(Initial)]
    }
}

struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261204_000010_moderation"
    }
}

/// The tables, each with its columns and primary key.
fn tables() -> Vec<(&'static str, Vec<ColumnDef>, &'static [&'static str])> {
    vec![
        (
            "reports",
            vec![
                uuid("id"),
                // Null for a report the flag rules filed.
                uuid_null("reporter_id"),
                // POST, COMMENT, REVIEW, USER or CHAT_MESSAGE.
                string("target_kind"),
                uuid("target_id"),
                uuid_null("target_author_id"),
                string("reason"),
                text("details"),
                // OPEN, ASSIGNED or RESOLVED.
                string("status"),
                uuid_null("assignee_id"),
                // `reporter:kind:id` while the report is open, null after:
                // unique, so one reporter has one open report per target.
                ColumnDef::new(a("open_key"))
                    .string()
                    .null()
                    .unique_key()
                    .to_owned(),
                // The priority without its age part (see `store::priority`).
                int("priority"),
                int("flag_score"),
                // Seconds since the epoch: the queue ages reports in SQL.
                big("created_epoch"),
                ts("created_at"),
                ts_null("resolved_at"),
                uuid_null("action_id"),
                // Whether the resolution upheld the report (null while open).
                ColumnDef::new(a("upheld")).boolean().null().to_owned(),
            ],
            &["id"],
        ),
        (
            "flags",
            vec![
                uuid("id"),
                string("target_kind"),
                uuid("target_id"),
                uuid_null("target_author_id"),
                // The rule that raised it: WORDS, LINKS, DUPLICATES, VELOCITY, REPORTERS.
                string("rule"),
                int("score"),
                text("detail"),
                uuid_null("report_id"),
                ts("created_at"),
            ],
            &["id"],
        ),
        (
            "actions",
            vec![
                uuid("id"),
                // DISMISS, HIDE, DELETE, WARN, SUSPEND or BAN.
                string("kind"),
                // Null for the rules' automatic hiding.
                uuid_null("actor_id"),
                string("target_kind"),
                uuid("target_id"),
                uuid_null("target_author_id"),
                uuid_null("report_id"),
                string("reason"),
                text("note"),
                ColumnDef::new(a("duration_hours"))
                    .integer()
                    .null()
                    .to_owned(),
                ts_null("ends_at"),
                ts_null("reversed_at"),
                ts("created_at"),
            ],
            &["id"],
        ),
        (
            "appeals",
            vec![
                uuid("id"),
                ColumnDef::new(a("action_id"))
                    .uuid()
                    .not_null()
                    .unique_key()
                    .to_owned(),
                uuid("appellant_id"),
                text("text"),
                // PENDING, UPHELD or REJECTED.
                string("status"),
                uuid_null("decided_by"),
                text("note"),
                ts("created_at"),
                ts_null("decided_at"),
            ],
            &["id"],
        ),
        (
            "log",
            vec![
                uuid("id"),
                uuid_null("actor_id"),
                // An action kind, or AUTO_HIDE, ASSIGN, APPEAL_UPHELD, APPEAL_REJECTED.
                string("kind"),
                string("target_kind"),
                uuid("target_id"),
                uuid_null("target_author_id"),
                string("reason"),
                text("note"),
                string("state_before"),
                string("state_after"),
                uuid_null("action_id"),
                uuid_null("report_id"),
                ts("created_at"),
            ],
            &["id"],
        ),
        (
            "contents",
            vec![
                string("kind"),
                uuid("id"),
                uuid("author_id"),
                text("body"),
                // A digest of the normalised body: duplicate bursts.
                string("body_key"),
                // VISIBLE, HIDDEN or DELETED, as moderation last set it.
                string("state"),
                flag("deleted"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &["kind", "id"],
        ),
        (
            "domains",
            vec![string("domain"), ts("first_seen")],
            &["domain"],
        ),
        (
            "accounts",
            vec![uuid("user_id"), ts("registered_at"), string("state")],
            &["user_id"],
        ),
        (
            "rules",
            vec![
                int("id"),
                text("doc"),
                uuid_null("updated_by"),
                ts("updated_at"),
            ],
            &["id"],
        ),
    ]
}

/// Indexes: table, name, columns, unique.
const INDEXES: &[(&str, &str, &[&str], bool)] = &[
    (
        "reports",
        "reports_target",
        &["target_kind", "target_id"],
        false,
    ),
    ("reports", "reports_reporter", &["reporter_id", "id"], false),
    ("reports", "reports_status", &["status", "priority"], false),
    (
        "flags",
        "flags_target",
        &["target_kind", "target_id"],
        false,
    ),
    (
        "actions",
        "actions_author",
        &["target_author_id", "id"],
        false,
    ),
    (
        "actions",
        "actions_target",
        &["target_kind", "target_id"],
        false,
    ),
    ("log", "log_actor", &["actor_id", "id"], false),
    ("log", "log_author", &["target_author_id", "id"], false),
    (
        "contents",
        "contents_author",
        &["author_id", "created_at"],
        false,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols, pk) in tables() {
            let mut t = Table::create();
            t.table(a(name));
            for mut c in cols {
                t.col(&mut c);
            }
            let mut key = Index::create();
            for c in pk {
                key.col(a(c));
            }
            t.primary_key(&mut key);
            m.create_table(t.to_owned()).await?;
        }
        for (table, name, cols, unique) in INDEXES {
            let mut i = Index::create();
            i.name(*name).table(a(table));
            for c in *cols {
                i.col(a(c));
            }
            if *unique {
                i.unique();
            }
            m.create_index(i.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _, _) in tables().into_iter().rev() {
            m.drop_table(Table::drop().table(a(name)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
