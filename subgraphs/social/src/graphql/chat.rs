//! Chat: rooms, messages, typing, and their queries and mutations.

use async_graphql::{ComplexObject, Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use kit::paging::{page_size, Connection, Paged};
use uuid::Uuid;

use super::loaders::{MembersOf, MessageKey, Unread};
use super::{gid, id_of, ids_of, loader, signed_in, social, viewer_id, User};
use crate::store;
use crate::store::model::{chat_message, chat_room};

// The fields before the first resolved one are copied from the row.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ChatRoom {
    #[graphql(skip)]
    row: chat_room::Model,
    pub id: ID,
    pub name: Option<String>,
    /// A two-person room without a name: the pair's one room.
    pub is_direct: bool,
}

impl From<chat_room::Model> for ChatRoom {
    fn from(row: chat_room::Model) -> Self {
        Self {
            id: gid(row.id),
            name: row.name.clone(),
            is_direct: row.direct_key.is_some(),
            row,
        }
    }
}

impl Paged for ChatRoom {
    const NAME: &'static str = "ChatRoom";
}

#[ComplexObject]
impl ChatRoom {
    /// Each is null when the users subgraph cannot answer for the account.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Option<User>>> {
        Ok(loader(ctx)
            .load_one(MembersOf(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|id| Some(User { id }))
            .collect())
    }
    async fn last_message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ChatMessage>> {
        Ok(loader(ctx)
            .load_one(MessageKey(self.row.activity))
            .await?
            .map(ChatMessage::from))
    }
    /// Messages from others the caller has not read.
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let me = signed_in(ctx)?;
        Ok(loader(ctx)
            .load_one(Unread(self.row.id, me))
            .await?
            .unwrap_or(0))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

#[derive(SimpleObject)]
pub struct ChatMessage {
    pub id: ID,
    pub room_id: ID,
    /// Null when the users subgraph cannot answer for the account.
    pub author: Option<User>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Hidden by moderation: only its author sees it.
    pub hidden: bool,
}

impl From<chat_message::Model> for ChatMessage {
    fn from(row: chat_message::Model) -> Self {
        Self {
            id: gid(row.id),
            room_id: gid(row.room_id),
            author: Some(User { id: row.author_id }),
            body: row.body,
            created_at: row.created_at,
            hidden: row.hidden.is_some(),
        }
    }
}

impl Paged for ChatMessage {
    const NAME: &'static str = "ChatMessage";
}

/// Someone typing in a room (the `chatTyping` event's payload has this shape).
#[derive(SimpleObject)]
pub struct ChatTyping {
    pub room_id: ID,
    pub user: Option<User>,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// Your chat rooms, the most recently active first.
    async fn chat_rooms(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<ChatRoom>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .rooms(
                me,
                page_size(first)?,
                store::cursor("after", after.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, ChatRoom::from))
    }

    async fn chat_room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        Ok(social(ctx).member_room(me, id_of("id", &id)?).await?.into())
    }

    /// A room's messages, newest first, older than `before` (members only).
    async fn chat_messages(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        before: Option<String>,
        first: Option<i32>,
    ) -> async_graphql::Result<Connection<ChatMessage>> {
        let me = signed_in(ctx)?;
        let p = social(ctx)
            .messages(
                me,
                id_of("roomId", &room_id)?,
                page_size(first)?,
                store::cursor("before", before.as_deref())?,
            )
            .await?;
        Ok(Connection::from_page(p, ChatMessage::from))
    }

    /// A message of a room you are a member of (null otherwise).
    #[graphql(entity)]
    async fn find_chat_message_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ChatMessage>> {
        let (Some(me), Ok(id)) = (viewer_id(ctx), Uuid::parse_str(id.as_str())) else {
            return Ok(None);
        };
        Ok(social(ctx)
            .message_for(me, id)
            .await?
            .map(ChatMessage::from))
    }
}

#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    /// A direct room (one other member, no name; the pair's existing room
    /// when there is one) or a group room; you are a member.
    async fn create_chat_room(
        &self,
        ctx: &Context<'_>,
        member_ids: Vec<ID>,
        name: Option<String>,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let members = ids_of("memberIds", &member_ids)?;
        Ok(social(ctx)
            .create_room(me, &members, name.as_deref())
            .await?
            .into())
    }

    async fn send_chat_message(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        body: String,
    ) -> async_graphql::Result<ChatMessage> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .send_message(me, id_of("roomId", &room_id)?, &body)
            .await?
            .into())
    }

    /// Adds members to a group room you created (at most 50 in all).
    async fn add_chat_members(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        member_ids: Vec<ID>,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let members = ids_of("memberIds", &member_ids)?;
        Ok(social(ctx)
            .add_members(me, id_of("roomId", &room_id)?, &members)
            .await?
            .into())
    }

    /// Removes a member from a group room you created; their live
    /// subscriptions to the room end. False when they were not in it.
    async fn remove_chat_member(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .remove_member(me, id_of("roomId", &room_id)?, id_of("userId", &user_id)?)
            .await?)
    }

    /// Leaves a group room (its oldest member takes over a room its creator leaves).
    async fn leave_chat_room(&self, ctx: &Context<'_>, room_id: ID) -> async_graphql::Result<bool> {
        let me = signed_in(ctx)?;
        Ok(social(ctx)
            .remove_member(me, id_of("roomId", &room_id)?, me)
            .await?)
    }

    /// Tells the room's members (subscribed to `chatTyping`) that you are typing.
    async fn send_chat_typing(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
    ) -> async_graphql::Result<ChatTyping> {
        let me = signed_in(ctx)?;
        let room = id_of("roomId", &room_id)?;
        let at = social(ctx).typing(me, room).await?;
        Ok(ChatTyping {
            room_id: gid(room),
            user: Some(User { id: me }),
            at,
        })
    }

    async fn mark_room_read(
        &self,
        ctx: &Context<'_>,
        room_id: ID,
    ) -> async_graphql::Result<ChatRoom> {
        let me = signed_in(ctx)?;
        let s = social(ctx);
        let room = id_of("roomId", &room_id)?;
        s.mark_room_read(me, room).await?;
        Ok(s.member_room(me, room).await?.into())
    }
}
