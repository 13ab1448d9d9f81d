//! The `moderation` schema's tables as SeaORM entities.

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

entity!(report, "reports", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reporter_id: Option<Uuid>,
    pub target_kind: String,
    pub target_id: Uuid,
    pub target_author_id: Option<Uuid>,
    pub reason: String,
    pub details: String,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub open_key: Option<String>,
    pub priority: i32,
    pub flag_score: i32,
    pub created_epoch: i64,
    pub created_at: ChronoDateTimeUtc,
    pub resolved_at: Option<ChronoDateTimeUtc>,
    pub action_id: Option<Uuid>,
    pub upheld: Option<bool>,
});

entity!(flag, "flags", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub target_kind: String,
    pub target_id: Uuid,
    pub target_author_id: Option<Uuid>,
    pub rule: String,
    pub score: i32,
    pub detail: String,
    pub report_id: Option<Uuid>,
    pub created_at: ChronoDateTimeUtc,
});

entity!(action, "actions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub target_kind: String,
    pub target_id: Uuid,
    pub target_author_id: Option<Uuid>,
    pub report_id: Option<Uuid>,
    pub reason: String,
    pub note: String,
    pub duration_hours: Option<i32>,
    pub ends_at: Option<ChronoDateTimeUtc>,
    pub reversed_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
});

entity!(appeal, "appeals", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub action_id: Uuid,
    pub appellant_id: Uuid,
    pub text: String,
    pub status: String,
    pub decided_by: Option<Uuid>,
    pub note: String,
    pub created_at: ChronoDateTimeUtc,
    pub decided_at: Option<ChronoDateTimeUtc>,
});

entity!(log, "log", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub kind: String,
    pub target_kind: String,
    pub target_id: Uuid,
    pub target_author_id: Option<Uuid>,
    pub reason: String,
    pub note: String,
    pub state_before: String,
    pub state_after: String,
    pub action_id: Option<Uuid>,
    pub report_id: Option<Uuid>,
    pub created_at: ChronoDateTimeUtc,
});

entity!(content, "contents", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub body_key: String,
    pub state: String,
    pub deleted: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
});

entity!(domain, "domains", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain: String,
    pub first_seen: ChronoDateTimeUtc,
});

entity!(account, "accounts", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub registered_at: ChronoDateTimeUtc,
    pub state: String,
});

entity!(rules, "rules", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub doc: String,
    pub updated_by: Option<Uuid>,
    pub updated_at: ChronoDateTimeUtc,
});
