//! Moderation's writes and reads, one `impl Moderation` block per area;
//! every SQL statement of the subgraph lives here. Every write is authorized
//! here (the schema maps arguments), runs in one transaction with its log
//! entry and its outbox events, and nothing here knows GraphQL.

mod actions;
mod appeals;
pub mod content;
pub mod model;
mod reports;
mod settings;
mod status;

use kit::auth::{Claims, Role};
use kit::{Error, Services};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

pub use actions::{ActionKind, LogFilter, Resolution};
pub use appeals::AppealStatus;
pub use kit::paging::Page;
pub use reports::{QueueFilter, QueueSort};
pub use status::{Status, StatusKey};

/// What a report, flag or action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Post(Uuid),
    Comment(Uuid),
    Review(Uuid),
    User(Uuid),
    ChatMessage(Uuid),
}

impl Target {
    pub fn kind(self) -> &'static str {
        match self {
            Target::Post(_) => "POST",
            Target::Comment(_) => "COMMENT",
            Target::Review(_) => "REVIEW",
            Target::User(_) => "USER",
            Target::ChatMessage(_) => "CHAT_MESSAGE",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Target::Post(id)
            | Target::Comment(id)
            | Target::Review(id)
            | Target::User(id)
            | Target::ChatMessage(id) => id,
        }
    }

    pub fn of(kind: &str, id: Uuid) -> Option<Self> {
        Some(match kind {
            "POST" => Target::Post(id),
            "COMMENT" => Target::Comment(id),
            "REVIEW" => Target::Review(id),
            "USER" => Target::User(id),
            "CHAT_MESSAGE" => Target::ChatMessage(id),
            _ => return None,
        })
    }

    /// Content (not an account).
    pub fn is_content(self) -> bool {
        !matches!(self, Target::User(_))
    }
}

/// The report reasons, gravest first.
pub const REASONS: [&str; 7] = [
    "HATE",
    "HARASSMENT",
    "NSFW",
    "MISINFORMATION",
    "SPAM",
    "SPOILER",
    "OTHER",
];

pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::bad_input(field, "not a valid id"))
}

/// A cursor is the id (UUIDv7) the list is ordered by.
pub fn cursor(field: &str, raw: Option<&str>) -> Result<Option<Uuid>, Error> {
    raw.map(|c| parse_id(field, c)).transpose()
}

/// The caller's user id.
pub fn me(claims: &Claims) -> Result<Uuid, Error> {
    Uuid::parse_str(&claims.sub).map_err(|_| Error::unauthenticated())
}

/// The caller, when a moderator or an admin.
pub fn moderator(claims: &Claims) -> Result<Uuid, Error> {
    if claims.has_role(Role::Moderator) {
        me(claims)
    } else {
        Err(Error::forbidden("moderators and admins only"))
    }
}

/// The caller, when an admin.
pub fn admin(claims: &Claims) -> Result<Uuid, Error> {
    if claims.has_role(Role::Admin) {
        me(claims)
    } else {
        Err(Error::forbidden("admins only"))
    }
}

/// Plain text of at most `max` characters (control characters but newlines
/// and tabs removed, trimmed).
pub fn clean(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let s = s.trim().to_string();
    if s.chars().count() > max {
        return Err(Error::bad_input(field, format!("at most {max} characters")));
    }
    Ok(s)
}

pub use kit::paging::keyset_page as page;

pub struct Moderation {
    pub services: Services,
}

impl Moderation {
    pub fn new(services: Services) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { services })
    }

    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        Ok(self.db().begin().await?)
    }

    /// Commits and wakes the outbox relay.
    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        self.services.commit(txn, &[]).await
    }

    /// Writes `moderation.<name>` to the outbox.
    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        self.services
            .record_event(conn, name, actor.map(|a| a.to_string()), payload, &[])
            .await
    }
}
