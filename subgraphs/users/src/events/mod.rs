//! What the users subgraph publishes: each event is written to the outbox by
//! the store in the transaction of the write it describes, and leaves as
//! `users.<name>` (social follows registrations, renames and deletions).
//! It consumes no other subgraph's events.

/// A new account: `userId`, `username`, `displayName`.
pub const USER_REGISTERED: &str = "user_registered";
/// A changed profile or a verified address: `userId` and what changed.
pub const USER_UPDATED: &str = "user_updated";
/// An anonymized account: `userId`.
pub const USER_DELETED: &str = "user_deleted";
/// A new role: `userId`, `role`, `previous`.
pub const ROLE_CHANGED: &str = "role_changed";
/// A suspension: `userId`, `until`, `reason`.
pub const USER_SUSPENDED: &str = "user_suspended";
