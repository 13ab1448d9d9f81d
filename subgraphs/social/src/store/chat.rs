//! Chat rooms (direct and group), members, messages, typing and read marks.

use chrono::{DateTime, Utc};
use kit::Error;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use sea_orm::sea_query::Alias;
use uuid::Uuid;

use super::model::*;
use super::{page, text, Page, Social, MAX_ROOM_MEMBERS};

impl Social {
    /// A direct room (one other member, no name: the pair's one room, made
    /// once) or a group room; the creator is a member.
    pub async fn create_room(
        &self,
        me: Uuid,
        member_ids: &[Uuid],
        name: Option<&str>,
    ) -> Result<chat_room::Model, Error> {
        let mut others: Vec<Uuid> = member_ids.iter().copied().filter(|m| *m != me).collect();
        others.sort();
        others.dedup();
        if others.is_empty() {
            return Err(Error::bad_input(
                "memberIds",
                "name at least one other member",
            ));
        }
        if others.len() + 1 > MAX_ROOM_MEMBERS {
            return Err(Error::bad_input(
                "memberIds",
                format!("a room holds at most {MAX_ROOM_MEMBERS} members"),
            ));
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text::body("name", n, text::ROOM_NAME_MAX))
            .transpose()?;
        for o in &others {
            self.refuse_if_blocked(me, *o, "chat with this user")
                .await?;
        }
        let direct_key = (others.len() == 1 && name.is_none()).then(|| {
            let mut pair = [me, others[0]];
            pair.sort();
            format!("{}:{}", pair[0], pair[1])
        });
        if let Some(k) = &direct_key {
            if let Some(r) = chat_room::Entity::find()
                .filter(chat_room::Column::DirectKey.eq(k.clone()))
                .one(self.db())
                .await?
            {
                return Ok(r);
            }
        }
        let now = Utc::now();
        let id = Uuid::now_v7();
        let room = chat_room::Model {
            id,
            name,
            direct_key,
            created_by: me,
            created_at: now,
            activity: id,
        };
        let txn = self.begin().await?;
        let inserted = chat_room::Entity::insert(chat_room::ActiveModel::from(room.clone()))
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = &inserted {
            if kit::db::is_unique_violation(e) {
                // The same direct room was made at the same moment: use it.
                txn.rollback().await?;
                let k = room.direct_key.clone().unwrap_or_default();
                return chat_room::Entity::find()
                    .filter(chat_room::Column::DirectKey.eq(k))
                    .one(self.db())
                    .await?
                    .ok_or_else(|| Error::conflict("the room is being created; try again"));
            }
        }
        inserted?;
        chat_member::Entity::insert_many(std::iter::once(me).chain(others.iter().copied()).map(
            |u| chat_member::ActiveModel {
                room_id: Set(id),
                user_id: Set(u),
                joined_at: Set(now),
                last_read: Set(None),
            },
        ))
        .exec_without_returning(&txn)
        .await?;
        self.event(
            &txn,
            "chat_room_created",
            me,
            &[],
            json!({ "roomId": id, "memberIds": std::iter::once(me).chain(others.iter().copied()).collect::<Vec<_>>() }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(room)
    }

    /// The group room `room`, when `me` is a member who may change who is in
    /// it; direct rooms keep their pair.
    pub(super) async fn group_room(&self, me: Uuid, room: Uuid) -> Result<chat_room::Model, Error> {
        let r = self.member_room(me, room).await?;
        if r.direct_key.is_some() {
            return Err(Error::bad_input(
                "roomId",
                "a direct room keeps its two members",
            ));
        }
        Ok(r)
    }

    /// Adds members to a group room: its creator does; blocked pairs are refused.
    pub async fn add_members(
        &self,
        me: Uuid,
        room: Uuid,
        member_ids: &[Uuid],
    ) -> Result<chat_room::Model, Error> {
        let r = self.group_room(me, room).await?;
        if r.created_by != me {
            return Err(Error::forbidden("only the room's creator adds members"));
        }
        let present: Vec<Uuid> = self
            .room_members(room)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        let mut new: Vec<Uuid> = member_ids
            .iter()
            .copied()
            .filter(|m| !present.contains(m))
            .collect();
        new.sort();
        new.dedup();
        if new.is_empty() {
            return Ok(r);
        }
        if present.len() + new.len() > MAX_ROOM_MEMBERS {
            return Err(Error::bad_input(
                "memberIds",
                format!("a room holds at most {MAX_ROOM_MEMBERS} members"),
            ));
        }
        for o in &new {
            self.refuse_if_blocked(me, *o, "chat with this user")
                .await?;
        }
        let now = Utc::now();
        let txn = self.begin().await?;
        chat_member::Entity::insert_many(new.iter().map(|u| chat_member::ActiveModel {
            room_id: Set(room),
            user_id: Set(*u),
            joined_at: Set(now),
            last_read: Set(None),
        }))
        .on_conflict(
            OnConflict::columns([chat_member::Column::RoomId, chat_member::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        self.event(
            &txn,
            "chat_members_added",
            me,
            &[&room.to_string()],
            json!({ "roomId": room, "memberIds": new }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(r)
    }

    /// Takes `user` out of a group room: the room's creator removes anyone,
    /// anyone removes (leaves) themselves. When the creator leaves, the
    /// longest-standing member takes the room over. Their live subscriptions
    /// to the room end (`chat_member_removed`).
    pub async fn remove_member(&self, me: Uuid, room: Uuid, user: Uuid) -> Result<bool, Error> {
        let r = self.group_room(me, room).await?;
        if user != me && r.created_by != me {
            return Err(Error::forbidden(
                "only the room's creator removes other members",
            ));
        }
        let txn = self.begin().await?;
        let removed = chat_member::Entity::delete_many()
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(user))
            .exec(&txn)
            .await?
            .rows_affected;
        if removed == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        if user == r.created_by {
            let heir = chat_member::Entity::find()
                .filter(chat_member::Column::RoomId.eq(room))
                .order_by_asc(chat_member::Column::JoinedAt)
                .order_by_asc(chat_member::Column::UserId)
                .one(&txn)
                .await?;
            if let Some(heir) = heir {
                chat_room::Entity::update_many()
                    .col_expr(chat_room::Column::CreatedBy, Expr::value(heir.user_id))
                    .filter(chat_room::Column::Id.eq(room))
                    .exec(&txn)
                    .await?;
            }
        }
        self.event(
            &txn,
            "chat_member_removed",
            me,
            &[&room.to_string()],
            json!({ "roomId": room, "userId": user }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(true)
    }

    pub async fn room_members(&self, room: Uuid) -> Result<Vec<chat_member::Model>, Error> {
        Ok(chat_member::Entity::find()
            .filter(chat_member::Column::RoomId.eq(room))
            .order_by_asc(chat_member::Column::JoinedAt)
            .limit(MAX_ROOM_MEMBERS as u64)
            .all(self.db())
            .await?)
    }

    /// The room, when `me` is a member; `FORBIDDEN` otherwise (and
    /// `NOT_FOUND` when there is no such room).
    pub async fn member_room(&self, me: Uuid, room: Uuid) -> Result<chat_room::Model, Error> {
        let r = chat_room::Entity::find_by_id(room)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("chat room"))?;
        if chat_member::Entity::find_by_id((room, me))
            .one(self.db())
            .await?
            .is_none()
        {
            return Err(Error::forbidden(
                "only the room's members read or write in it",
            ));
        }
        Ok(r)
    }

    /// Message `id`, when `me` is a member of its room.
    pub async fn message_for(
        &self,
        me: Uuid,
        id: Uuid,
    ) -> Result<Option<chat_message::Model>, Error> {
        let Some(m) = chat_message::Entity::find_by_id(id).one(self.db()).await? else {
            return Ok(None);
        };
        let member = chat_member::Entity::find_by_id((m.room_id, me))
            .one(self.db())
            .await?
            .is_some();
        Ok(member.then_some(m))
    }

    /// Tells the room's live subscribers that `me` is typing: ephemeral (core
    /// NATS, nothing stored), members only.
    pub async fn typing(&self, me: Uuid, room: Uuid) -> Result<DateTime<Utc>, Error> {
        self.member_room(me, room).await?;
        let at = Utc::now();
        let e = self
            .services
            .event(
                "chat_typing",
                Some(me.to_string()),
                json!({ "roomId": room, "user": { "__typename": "User", "id": me }, "at": at }),
            )
            .routed(&[&room.to_string()]);
        self.services
            .bus
            .publish_ephemeral(&e)
            .await
            .map_err(|e| Error::unavailable("the event bus", e))?;
        Ok(at)
    }

    pub async fn send_message(
        &self,
        me: Uuid,
        room: Uuid,
        body: &str,
    ) -> Result<chat_message::Model, Error> {
        let body = text::body("body", body, text::MESSAGE_MAX)?;
        let r = self.member_room(me, room).await?;
        if r.direct_key.is_some() {
            for m in self.room_members(room).await? {
                if m.user_id != me {
                    self.refuse_if_blocked(me, m.user_id, "message this user")
                        .await?;
                }
            }
        }
        let msg = chat_message::Model {
            id: Uuid::now_v7(),
            room_id: room,
            author_id: me,
            body,
            created_at: Utc::now(),
            hidden: None,
        };
        let txn = self.begin().await?;
        chat_message::Entity::insert(chat_message::ActiveModel::from(msg.clone()))
            .exec_without_returning(&txn)
            .await?;
        chat_room::Entity::update_many()
            .col_expr(chat_room::Column::Activity, Expr::value(msg.id))
            .filter(chat_room::Column::Id.eq(room))
            .exec(&txn)
            .await?;
        chat_member::Entity::update_many()
            .col_expr(chat_member::Column::LastRead, Expr::value(msg.id))
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(me))
            .exec(&txn)
            .await?;
        self.event(
            &txn,
            "chat_message_sent",
            me,
            &[&room.to_string()],
            json!({ "messageId": msg.id, "roomId": room, "authorId": me, "body": msg.body, "createdAt": msg.created_at }),
        )
        .await?;
        self.commit(txn).await?;
        Ok(msg)
    }

    /// `me`'s rooms, the most recently active first.
    pub async fn rooms(
        &self,
        me: Uuid,
        n: u64,
        after: Option<Uuid>,
    ) -> Result<Page<chat_room::Model>, Error> {
        let mine = Query::select()
            .column(chat_member::Column::RoomId)
            .from(chat_member::Entity)
            .and_where(Expr::col(chat_member::Column::UserId).eq(me))
            .to_owned();
        let q = chat_room::Entity::find().filter(chat_room::Column::Id.in_subquery(mine));
        page(
            self.db(),
            q,
            chat_room::Column::Activity,
            true,
            n,
            after,
            |r| r.activity,
        )
        .await
    }

    /// Messages of a room, newest first, before `before`.
    pub async fn messages(
        &self,
        me: Uuid,
        room: Uuid,
        n: u64,
        before: Option<Uuid>,
    ) -> Result<Page<chat_message::Model>, Error> {
        self.member_room(me, room).await?;
        // Messages moderation hid are their author's alone.
        let q = chat_message::Entity::find()
            .filter(chat_message::Column::RoomId.eq(room))
            .filter(
                Condition::any()
                    .add(chat_message::Column::Hidden.is_null())
                    .add(chat_message::Column::AuthorId.eq(me)),
            );
        page(
            self.db(),
            q,
            chat_message::Column::Id,
            true,
            n,
            before,
            |m| m.id,
        )
        .await
    }

    pub async fn mark_room_read(&self, me: Uuid, room: Uuid) -> Result<(), Error> {
        let r = self.member_room(me, room).await?;
        let txn = self.begin().await?;
        chat_member::Entity::update_many()
            .col_expr(chat_member::Column::LastRead, Expr::value(r.activity))
            .filter(chat_member::Column::RoomId.eq(room))
            .filter(chat_member::Column::UserId.eq(me))
            .exec(&txn)
            .await?;
        self.commit(txn).await
    }

    /// The members of each of `rooms`.
    pub async fn members_of(&self, rooms: &[Uuid]) -> Result<Vec<chat_member::Model>, Error> {
        Ok(chat_member::Entity::find()
            .filter(chat_member::Column::RoomId.is_in(rooms.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// The messages of `ids`.
    pub async fn messages_by_id(&self, ids: &[Uuid]) -> Result<Vec<chat_message::Model>, Error> {
        Ok(chat_message::Entity::find()
            .filter(chat_message::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// For each of `rooms` with any, how many messages from others `user`
    /// has not read (those after their read mark).
    pub async fn unread_counts(
        &self,
        user: Uuid,
        rooms: &[Uuid],
    ) -> Result<Vec<(Uuid, i64)>, Error> {
        let (m, cm) = (Alias::new("m"), Alias::new("cm"));
        let stmt = Query::select()
            .expr_as(
                Expr::col((m.clone(), Alias::new("room_id"))),
                Alias::new("room_id"),
            )
            .expr_as(
                Expr::col((m.clone(), Alias::new("id"))).count(),
                Alias::new("n"),
            )
            .from_as(chat_message::Entity, m.clone())
            .inner_join(
                sea_orm::sea_query::TableRef::TableAlias(
                    sea_orm::sea_query::SeaRc::new(Alias::new("chat_members")),
                    sea_orm::sea_query::SeaRc::new(cm.clone()),
                ),
                Condition::all()
                    .add(
                        Expr::col((cm.clone(), Alias::new("room_id")))
                            .equals((m.clone(), Alias::new("room_id"))),
                    )
                    .add(Expr::col((cm.clone(), Alias::new("user_id"))).eq(user)),
            )
            .and_where(Expr::col((m.clone(), Alias::new("room_id"))).is_in(rooms.iter().copied()))
            .and_where(Expr::col((m.clone(), Alias::new("author_id"))).ne(user))
            .cond_where(
                Condition::any()
                    .add(Expr::col((cm.clone(), Alias::new("last_read"))).is_null())
                    .add(
                        Expr::col((m.clone(), Alias::new("id")))
                            .gt(Expr::col((cm.clone(), Alias::new("last_read")))),
                    ),
            )
            .group_by_col((m.clone(), Alias::new("room_id")))
            .to_owned();
        let db = self.db();
        let rows = db.query_all(db.get_database_backend().build(&stmt)).await?;
        rows.iter()
            .map(|row| -> Result<(Uuid, i64), Error> {
                Ok((row.try_get("", "room_id")?, row.try_get("", "n")?))
            })
            .collect()
    }
}
