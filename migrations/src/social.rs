//! The `social` schema: follows and blocks, posts (reshares point at their
//! original), threaded comments, likes, ratings with per-title aggregates,
//! reviews, watchlists and watch history, grouped notifications, chat rooms
//! with members and messages, and `profiles`, a copy of each account's
//! username and privacy fed by the users subgraph's events.
//!
//! Counters that pages show (likes, comments, replies, shares) live on their
//! rows and change in the same transaction as the row they count. Ids are
//! UUIDv7, so "newest first" is "id descending" and cursors are ids.

use sea_orm_migration::prelude::*;

use crate::columns::{a, big as counter, flag, string, text, uuid, uuid_null};
use crate::{ts, ts_null};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(kit::events::outbox::Migration),
            Box::new(Initial),
            Box::new(FollowRequests),
            Box::new(ModerationHidden),
            Box::new(ChatHidden),
        ]
    }
}

struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261125_000003_social"
    }
}

/// The tables, each with its columns and primary key.
fn tables() -> Vec<(&'static str, Vec<ColumnDef>, &'static [&'static str])> {
    vec![
        (
            "profiles",
            vec![
                uuid("user_id"),
                ColumnDef::new(a("username")).string().null().to_owned(),
                ColumnDef::new(a("username_key"))
                    .string()
                    .null()
                    .unique_key()
                    .to_owned(),
                flag("private"),
                flag("deleted"),
                ts("updated_at"),
            ],
            &["user_id"],
        ),
        (
            "follows",
            vec![
                uuid("follower_id"),
                uuid("followee_id"),
                // UUIDv7 of the follow: the lists' order and cursor.
                uuid("seq"),
                ts("created_at"),
            ],
            &["follower_id", "followee_id"],
        ),
        (
            "blocks",
            vec![uuid("blocker_id"), uuid("blocked_id"), ts("created_at")],
            &["blocker_id", "blocked_id"],
        ),
        (
            "posts",
            vec![
                uuid("id"),
                uuid("author_id"),
                text("body"),
                uuid_null("title_id"),
                uuid_null("reshare_of"),
                counter("like_count"),
                counter("comment_count"),
                counter("share_count"),
                ts("created_at"),
                ts_null("edited_at"),
                ts_null("deleted_at"),
            ],
            &["id"],
        ),
        (
            "comments",
            vec![
                uuid("id"),
                uuid_null("post_id"),
                uuid_null("review_id"),
                uuid_null("parent_id"),
                ColumnDef::new(a("depth")).integer().not_null().to_owned(),
                uuid("author_id"),
                text("body"),
                counter("like_count"),
                counter("reply_count"),
                ts("created_at"),
                ts_null("edited_at"),
                ts_null("deleted_at"),
            ],
            &["id"],
        ),
        (
            "likes",
            vec![
                uuid("user_id"),
                // POST, COMMENT or REVIEW.
                string("target_kind"),
                uuid("target_id"),
                ts("created_at"),
            ],
            &["user_id", "target_kind", "target_id"],
        ),
        (
            "ratings",
            vec![
                uuid("user_id"),
                uuid("title_id"),
                ColumnDef::new(a("score")).integer().not_null().to_owned(),
                ts("created_at"),
                ts("updated_at"),
            ],
            &["user_id", "title_id"],
        ),
        (
            "title_stats",
            vec![
                uuid("title_id"),
                counter("rating_sum"),
                counter("rating_count"),
                // Bumped on every change: consumers apply only newer figures.
                counter("version"),
            ],
            &["title_id"],
        ),
        (
            "reviews",
            vec![
                uuid("id"),
                uuid("author_id"),
                uuid("title_id"),
                text("body"),
                ColumnDef::new(a("score")).integer().null().to_owned(),
                flag("contains_spoilers"),
                counter("like_count"),
                counter("comment_count"),
                ts("created_at"),
                ts_null("edited_at"),
                ts_null("deleted_at"),
            ],
            &["id"],
        ),
        (
            "watchlist",
            vec![
                uuid("user_id"),
                uuid("title_id"),
                // UUIDv7 of the add: the list's order and cursor.
                uuid("seq"),
                ts("added_at"),
            ],
            &["user_id", "title_id"],
        ),
        (
            "watch_history",
            vec![
                uuid("id"),
                uuid("user_id"),
                uuid("title_id"),
                ts("watched_at"),
            ],
            &["id"],
        ),
        (
            "notifications",
            vec![
                uuid("id"),
                uuid("user_id"),
                string("kind"),
                // What the notification is about (a post, comment, review or user).
                uuid_null("target_id"),
                // Same kind and target while unread: one grouped notification.
                string("group_key"),
                uuid("actor_id"),
                counter("actor_count"),
                // UUIDv7 of the latest activity: the list's order and cursor.
                uuid("seq"),
                ts("created_at"),
                ts("updated_at"),
                ts_null("read_at"),
            ],
            &["id"],
        ),
        (
            "notification_actors",
            vec![uuid("notification_id"), uuid("actor_id"), ts("created_at")],
            &["notification_id", "actor_id"],
        ),
        (
            "chat_rooms",
            vec![
                uuid("id"),
                ColumnDef::new(a("name")).string().null().to_owned(),
                // The two members' ids, sorted, for direct rooms: one per pair.
                ColumnDef::new(a("direct_key"))
                    .string()
                    .null()
                    .unique_key()
                    .to_owned(),
                uuid("created_by"),
                ts("created_at"),
                // UUIDv7 of the latest message (or of the creation).
                uuid("activity"),
            ],
            &["id"],
        ),
        (
            "chat_members",
            vec![
                uuid("room_id"),
                uuid("user_id"),
                ts("joined_at"),
                uuid_null("last_read"),
            ],
            &["room_id", "user_id"],
        ),
        (
            "chat_messages",
            vec![
                uuid("id"),
                uuid("room_id"),
                uuid("author_id"),
                text("body"),
                ts("created_at"),
            ],
            &["id"],
        ),
    ]
}

const INDEXES: &[(&str, &str, &[&str], bool)] = &[
    (
        "follows",
        "follows_followee",
        &["followee_id", "seq"],
        false,
    ),
    (
        "follows",
        "follows_follower",
        &["follower_id", "seq"],
        false,
    ),
    (
        "blocks",
        "blocks_blocked",
        &["blocked_id", "blocker_id"],
        false,
    ),
    ("posts", "posts_author", &["author_id", "id"], false),
    ("posts", "posts_reshare", &["reshare_of"], false),
    (
        "comments",
        "comments_post",
        &["post_id", "parent_id", "id"],
        false,
    ),
    (
        "comments",
        "comments_review",
        &["review_id", "parent_id", "id"],
        false,
    ),
    ("comments", "comments_parent", &["parent_id", "id"], false),
    ("likes", "likes_target", &["target_id", "user_id"], false),
    ("ratings", "ratings_title", &["title_id", "score"], false),
    (
        "reviews",
        "reviews_author_title",
        &["author_id", "title_id"],
        true,
    ),
    ("reviews", "reviews_title", &["title_id", "id"], false),
    ("watchlist", "watchlist_user", &["user_id", "seq"], false),
    (
        "watch_history",
        "watch_history_user",
        &["user_id", "id"],
        false,
    ),
    (
        "notifications",
        "notifications_user",
        &["user_id", "seq"],
        false,
    ),
    (
        "notifications",
        "notifications_group",
        &["user_id", "group_key"],
        false,
    ),
    ("chat_rooms", "chat_rooms_activity", &["activity"], false),
    (
        "chat_members",
        "chat_members_user",
        &["user_id", "room_id"],
        false,
    ),
    (
        "chat_messages",
        "chat_messages_room",
        &["room_id", "id"],
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

/// Follow requests: following a private account asks first; the account
/// approves (the request becomes a follow), declines, or the asker cancels.
struct FollowRequests;

impl MigrationName for FollowRequests {
    fn name(&self) -> &str {
        "m20261204_000001_social_follow_requests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FollowRequests {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("follow_requests"))
                .col(uuid("requester_id"))
                .col(uuid("target_id"))
                // UUIDv7 of the request: the list's order and cursor.
                .col(uuid("seq"))
                .col(ts("created_at"))
                .primary_key(Index::create().col(a("requester_id")).col(a("target_id")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("follow_requests_target")
                .table(a("follow_requests"))
                .col(a("target_id"))
                .col(a("seq"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(a("follow_requests"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}

/// Moderation's hidden state on posts, comments and reviews: null when
/// visible, else why it is hidden (`HIDE` by a moderator or the flag rules,
/// `DELETE` removed by a moderator, `BAN` its author was banned). Hidden
/// content is absent for everyone but its author and moderators.
struct ModerationHidden;

impl MigrationName for ModerationHidden {
    fn name(&self) -> &str {
        "m20261204_000011_social_moderation_hidden"
    }
}

const HIDDEN_TABLES: [&str; 3] = ["posts", "comments", "reviews"];

#[async_trait::async_trait]
impl MigrationTrait for ModerationHidden {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for table in HIDDEN_TABLES {
            m.alter_table(
                Table::alter()
                    .table(a(table))
                    .add_column(ColumnDef::new(a("hidden")).string().null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in HIDDEN_TABLES {
            m.alter_table(
                Table::alter()
                    .table(a(table))
                    .drop_column(a("hidden"))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Moderation's hidden state on chat messages (as on posts): null when
/// visible, `HIDE`, `DELETE` or `BAN` otherwise.
struct ChatHidden;

impl MigrationName for ChatHidden {
    fn name(&self) -> &str {
        "m20261204_000012_social_chat_hidden"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ChatHidden {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(a("chat_messages"))
                .add_column(ColumnDef::new(a("hidden")).string().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(a("chat_messages"))
                .drop_column(a("hidden"))
                .to_owned(),
        )
        .await
    }
}
