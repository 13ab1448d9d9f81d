//! The `social` schema's tables as SeaORM entities.

macro_rules! entity {
    ($module:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                $($body)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

entity!(profile, "profiles", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub private: bool,
    pub deleted: bool,
    pub updated_at: ChronoDateTimeUtc,
});

entity!(follow, "follows", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub follower_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub followee_id: Uuid,
    pub seq: Uuid,
    pub created_at: ChronoDateTimeUtc,
});

entity!(follow_request, "follow_requests", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub requester_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    pub seq: Uuid,
    pub created_at: ChronoDateTimeUtc,
});

entity!(block, "blocks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub blocker_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub blocked_id: Uuid,
    pub created_at: ChronoDateTimeUtc,
});

entity!(post, "posts", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub title_id: Option<Uuid>,
    pub reshare_of: Option<Uuid>,
    pub like_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
    pub created_at: ChronoDateTimeUtc,
    pub edited_at: Option<ChronoDateTimeUtc>,
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// Why moderation hides it (`HIDE`, `DELETE`, `BAN`); null when visible.
    pub hidden: Option<String>,
});

entity!(comment, "comments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub post_id: Option<Uuid>,
    pub review_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub depth: i32,
    pub author_id: Uuid,
    pub body: String,
    pub like_count: i64,
    pub reply_count: i64,
    pub created_at: ChronoDateTimeUtc,
    pub edited_at: Option<ChronoDateTimeUtc>,
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// Why moderation hides it (`HIDE`, `DELETE`, `BAN`); null when visible.
    pub hidden: Option<String>,
});

entity!(like, "likes", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    pub created_at: ChronoDateTimeUtc,
});

entity!(rating, "ratings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub title_id: Uuid,
    pub score: i32,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
});

entity!(title_stats, "title_stats", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub title_id: Uuid,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub version: i64,
});

entity!(review, "reviews", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub author_id: Uuid,
    pub title_id: Uuid,
    pub body: String,
    pub score: Option<i32>,
    pub contains_spoilers: bool,
    pub like_count: i64,
    pub comment_count: i64,
    pub created_at: ChronoDateTimeUtc,
    pub edited_at: Option<ChronoDateTimeUtc>,
    pub deleted_at: Option<ChronoDateTimeUtc>,
    /// Why moderation hides it (`HIDE`, `DELETE`, `BAN`); null when visible.
    pub hidden: Option<String>,
});

entity!(watchlist, "watchlist", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub title_id: Uuid,
    pub seq: Uuid,
    pub added_at: ChronoDateTimeUtc,
});

entity!(watch_history, "watch_history", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub title_id: Uuid,
    pub watched_at: ChronoDateTimeUtc,
});

entity!(notification, "notifications", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub target_id: Option<Uuid>,
    pub group_key: String,
    pub actor_id: Uuid,
    pub actor_count: i64,
    pub seq: Uuid,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub read_at: Option<ChronoDateTimeUtc>,
});

entity!(notification_actor, "notification_actors", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub notification_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub actor_id: Uuid,
    pub created_at: ChronoDateTimeUtc,
});

entity!(chat_room, "chat_rooms", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: Option<String>,
    pub direct_key: Option<String>,
    pub created_by: Uuid,
    pub created_at: ChronoDateTimeUtc,
    pub activity: Uuid,
});

entity!(chat_member, "chat_members", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub room_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub joined_at: ChronoDateTimeUtc,
    pub last_read: Option<Uuid>,
});

entity!(chat_message, "chat_messages", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub room_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub created_at: ChronoDateTimeUtc,
    /// Why moderation hides it (`HIDE`, `DELETE`, `BAN`); null when visible.
    pub hidden: Option<String>,
});
