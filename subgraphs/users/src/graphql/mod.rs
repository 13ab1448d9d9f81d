//! The users subgraph's GraphQL schema (Federation v2): the `User` entity
//! keyed by `id`, batched through a DataLoader; private fields carry
//! `@requiresScopes` for the router and are checked again here (only the
//! account itself and admins see them). Resolvers map arguments and call
//! the store; they build no SQL.

mod accounts;
mod audit;
mod auth;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema, ID};
use kit::auth::RequestMeta;
use kit::Error;
use uuid::Uuid;

use crate::store::Accounts;

pub use accounts::{User, UserFilter, UserLoader};
pub use audit::{AuditEntry, AuditFilter};
pub use auth::AuthPayload;

pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

// The root query: each area's fields, in the order the SDL lists them (a
// doc comment here would become its description in the SDL).
#[derive(MergedObject, Default)]
pub struct Query(accounts::AccountQuery, audit::AuditQuery);

// The root mutation: each area's fields, in the order the SDL lists them.
#[derive(MergedObject, Default)]
pub struct Mutation(auth::AuthMutation, accounts::AccountMutation);

pub fn build(accounts: Arc<Accounts>) -> UsersSchema {
    let loader = DataLoader::new(
        UserLoader {
            accounts: accounts.clone(),
        },
        tokio::spawn,
    );
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(32)
        .limit_complexity(5_000)
        .data(accounts)
        .data(loader)
        .finish()
}

/// The SDL the router composes (no runtime state needed).
pub fn sdl() -> String {
    kit::graphql::federated_sdl(
        &Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .enable_federation()
            .finish(),
    )
}

fn accounts<'a>(ctx: &Context<'a>) -> &'a Arc<Accounts> {
    ctx.data_unchecked::<Arc<Accounts>>()
}

fn meta(ctx: &Context<'_>) -> RequestMeta {
    ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default()
}

fn parse_id(field: &str, id: &ID) -> Result<Uuid, Error> {
    Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid user id"))
}
