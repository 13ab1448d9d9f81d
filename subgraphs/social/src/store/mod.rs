//! The social graph's writes and reads, split by area (one `impl Social`
//! block each); every SQL statement of the subgraph lives here. Every write
//! is authorized here (the schema only maps arguments), runs in one
//! transaction with its counters, its notifications and its outbox events,
//! and starts with a write so that SQLite takes its write lock before
//! reading (no lock upgrades) and PostgreSQL row-locks what the counters
//! depend on. Nothing here knows GraphQL.

mod chat;
mod comments;
mod deletion;
mod follow_requests;
mod likes;
pub mod model;
mod moderated;
mod notifications;
mod posts;
mod profiles;
mod reviews;
pub mod text;
mod watchlist;

use kit::auth::{Claims, Role};
use kit::{Error, Services};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query as Sql};
use sea_orm::{Condition, ConnectionTrait, DatabaseTransaction, FromQueryResult, TransactionTrait};
use uuid::Uuid;

pub use follow_requests::FollowState;
pub use kit::paging::{Page, MAX_PAGE};
pub use moderated::Decision;

/// Replies to replies nest this deep at most (a top-level comment is depth 0).
pub const MAX_DEPTH: i32 = 8;
/// Members of a group chat, the creator included.
pub const MAX_ROOM_MEMBERS: usize = 50;

/// What a like, a comment or a notification points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Post(Uuid),
    Comment(Uuid),
    Review(Uuid),
}

impl Target {
    pub fn kind(self) -> &'static str {
        match self {
            Target::Post(_) => "POST",
            Target::Comment(_) => "COMMENT",
            Target::Review(_) => "REVIEW",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Target::Post(id) | Target::Comment(id) | Target::Review(id) => id,
        }
    }
}

/// Why someone is notified; notifications of one kind about one target group
/// while unread ("A and 3 others liked your post").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    Followed,
    FollowRequested,
    PostLiked,
    CommentLiked,
    ReviewLiked,
    PostCommented,
    ReviewCommented,
    CommentReplied,
    Mentioned,
    PostReshared,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Followed => "FOLLOWED",
            Notify::FollowRequested => "FOLLOW_REQUESTED",
            Notify::PostLiked => "POST_LIKED",
            Notify::CommentLiked => "COMMENT_LIKED",
            Notify::ReviewLiked => "REVIEW_LIKED",
            Notify::PostCommented => "POST_COMMENTED",
            Notify::ReviewCommented => "REVIEW_COMMENTED",
            Notify::CommentReplied => "COMMENT_REPLIED",
            Notify::Mentioned => "MENTIONED",
            Notify::PostReshared => "POST_RESHARED",
        }
    }

    fn liked(t: Target) -> Self {
        match t {
            Target::Post(_) => Notify::PostLiked,
            Target::Comment(_) => Notify::CommentLiked,
            Target::Review(_) => Notify::ReviewLiked,
        }
    }
}

/// The orders of a title's reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewSort {
    Newest,
    Top,
    Highest,
    Lowest,
}

/// A cursor is the id (UUIDv7) the list is ordered by.
pub fn cursor(field: &str, raw: Option<&str>) -> Result<Option<Uuid>, Error> {
    raw.map(|c| Uuid::parse_str(c).map_err(|_| Error::bad_input(field, "not a valid cursor")))
        .transpose()
}

pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| Error::bad_input(field, "not a valid id"))
}

/// The caller's user id.
pub fn me(claims: &Claims) -> Result<Uuid, Error> {
    Uuid::parse_str(&claims.sub).map_err(|_| Error::unauthenticated())
}

pub use kit::paging::keyset_page as page;

/// The rows of `table` where `partition` is one of `keys`, numbered per
/// partition in `order`, the first `n + 1` of each (one more than asked, to
/// tell whether there are more), filtered by `filter`: the first pages of
/// many lists in one statement.
pub(crate) async fn windowed<M: FromQueryResult>(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    partition: &str,
    order: &str,
    keys: Vec<Uuid>,
    filter: Condition,
    n: u64,
) -> Result<Vec<M>, Error> {
    let inner = Sql::select()
        .column(Asterisk)
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {order})"
            )),
            Alias::new("rn"),
        )
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(partition)).is_in(keys))
        .cond_where(filter)
        .to_owned();
    let outer = Sql::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("t"))
        .and_where(Expr::col(Alias::new("rn")).lte(n as i64 + 1))
        .to_owned();
    let stmt = db.get_database_backend().build(&outer);
    Ok(M::find_by_statement(stmt).all(db).await?)
}

/// The rows of one list's first page per key, in the list's order, and
/// whether more follow; `rows` hold up to `n + 1` per key (`windowed`).
pub(crate) fn first_pages<M>(
    keys: &[Uuid],
    rows: Vec<M>,
    n: u64,
    key: impl Fn(&M) -> Option<Uuid>,
    order: impl Fn(&M, &M) -> std::cmp::Ordering,
) -> std::collections::HashMap<Uuid, (Vec<M>, bool)> {
    let mut by: std::collections::HashMap<Uuid, Vec<M>> = std::collections::HashMap::new();
    for row in rows {
        if let Some(k) = key(&row) {
            by.entry(k).or_default().push(row);
        }
    }
    keys.iter()
        .map(|k| {
            let mut list = by.remove(k).unwrap_or_default();
            list.sort_by(&order);
            let more = list.len() as u64 > n;
            list.truncate(n as usize);
            (*k, (list, more))
        })
        .collect()
}

pub struct Social {
    pub services: Services,
}

impl Social {
    pub fn new(services: Services) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { services })
    }

    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.services.db
    }

    async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        Ok(self.db().begin().await?)
    }

    /// Commits and wakes the outbox relay (social caches no answers).
    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), Error> {
        self.services.commit(txn, &[]).await
    }

    /// Writes `social.<name>` (plus routing tokens) to the outbox.
    async fn event<C: ConnectionTrait>(
        &self,
        conn: &C,
        name: &str,
        actor: Uuid,
        routed: &[&str],
        payload: serde_json::Value,
    ) -> Result<(), Error> {
        self.services
            .record_event(conn, name, Some(actor.to_string()), payload, routed)
            .await
    }
}

fn check_score(field: &str, s: i32) -> Result<(), Error> {
    if (1..=10).contains(&s) {
        Ok(())
    } else {
        Err(Error::bad_input(
            field,
            "a score is a whole number from 1 to 10",
        ))
    }
}

fn owner_or_moderator(claims: &Claims, author: Uuid, what: &str) -> Result<(), Error> {
    if me(claims)? == author || claims.has_role(Role::Moderator) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "only the author, a moderator or an admin removes a {what}"
        )))
    }
}
