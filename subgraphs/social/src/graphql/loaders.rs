//! The per-request DataLoaders: one key type per question a page asks per
//! item, each answered for a whole batch of keys by one store call.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use kit::Error;
use uuid::Uuid;

use super::RatingBucket;
use crate::store::model::*;
use crate::store::{Social, Target};

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PostKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ReviewKey(pub Uuid);
/// Whether `user` liked the target.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Liked(pub Uuid, pub Target);
/// The first `n` comments under a post, review (top level) or comment (replies).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Thread(pub Target, pub u64);
/// The newest `n` reviews of a title.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ReviewsOf(pub Uuid, pub u64);
/// Followers (`true`) or followees of a user: how many.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FollowCount(pub Uuid, pub bool);
/// Whether the first user follows the second.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Follows(pub Uuid, pub Uuid);
/// Where the first user stands with the second (follow, request, none).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FollowStateOf(pub Uuid, pub Uuid);
/// The user's score of the title.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct RatingOf(pub Uuid, pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct InWatchlist(pub Uuid, pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Histogram(pub Uuid);
/// The latest `n` actors of a notification.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ActorsOf(pub Uuid, pub u64);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProfileKey(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MembersOf(pub Uuid);
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct MessageKey(pub Uuid);
/// Messages in the room the user has not read.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct Unread(pub Uuid, pub Uuid);

pub struct Loaders {
    pub(super) social: Arc<Social>,
    /// Who asks: moderation-hidden content is theirs to see only when they
    /// wrote it or are staff.
    pub(super) viewer: Viewing,
}

/// The caller as the loaders see it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Viewing {
    pub user: Option<Uuid>,
    pub staff: bool,
}

impl Viewing {
    /// Whether content by `author` hidden as `hidden` is visible to the caller.
    pub fn sees(&self, author: Uuid, hidden: &Option<String>) -> bool {
        hidden.is_none() || self.staff || self.user == Some(author)
    }
}

type LoadResult<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

fn gql(e: impl Into<Error>) -> async_graphql::Error {
    e.into().into()
}

/// Groups keys by what one statement can answer for all of them.
fn grouped<K, G: std::hash::Hash + Eq>(
    keys: &[K],
    group: impl Fn(&K) -> (G, Uuid),
) -> HashMap<G, Vec<Uuid>> {
    let mut out: HashMap<G, Vec<Uuid>> = HashMap::new();
    for k in keys {
        let (g, id) = group(k);
        out.entry(g).or_default().push(id);
    }
    out
}

impl Loader<PostKey> for Loaders {
    type Value = post::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[PostKey]) -> LoadResult<PostKey, post::Model> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.social.posts_by_id(&ids).await.map_err(gql)?;
        Ok(rows
            .into_iter()
            .filter(|p| self.viewer.sees(p.author_id, &p.hidden))
            .map(|p| (PostKey(p.id), p))
            .collect())
    }
}

impl Loader<ReviewKey> for Loaders {
    type Value = review::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ReviewKey]) -> LoadResult<ReviewKey, review::Model> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.social.reviews_by_id(&ids).await.map_err(gql)?;
        Ok(rows
            .into_iter()
            .filter(|r| self.viewer.sees(r.author_id, &r.hidden))
            .map(|r| (ReviewKey(r.id), r))
            .collect())
    }
}

impl Loader<Liked> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Liked]) -> LoadResult<Liked, bool> {
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let targets: Vec<Uuid> = keys.iter().map(|k| k.1.id()).collect();
        let rows = self
            .social
            .likes_among(&users, &targets)
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                let hit = rows.iter().any(|l| {
                    l.user_id == k.0 && l.target_id == k.1.id() && l.target_kind == k.1.kind()
                });
                (*k, hit)
            })
            .collect())
    }
}

impl Loader<Thread> for Loaders {
    type Value = (Vec<comment::Model>, bool);
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Thread]) -> LoadResult<Thread, (Vec<comment::Model>, bool)> {
        let mut out = HashMap::new();
        // One statement per (kind of parent, page size) in the batch.
        for ((kind, n), ids) in grouped(keys, |k| ((k.0.kind(), k.1), k.0.id())) {
            let pages = self
                .social
                .first_comments(kind, &ids, n)
                .await
                .map_err(gql)?;
            for (id, page) in pages {
                let target = match kind {
                    "POST" => Target::Post(id),
                    "REVIEW" => Target::Review(id),
                    _ => Target::Comment(id),
                };
                out.insert(Thread(target, n), page);
            }
        }
        Ok(out)
    }
}

impl Loader<ReviewsOf> for Loaders {
    type Value = (Vec<review::Model>, bool);
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ReviewsOf]) -> LoadResult<ReviewsOf, (Vec<review::Model>, bool)> {
        let mut out = HashMap::new();
        for (n, ids) in grouped(keys, |k| (k.1, k.0)) {
            let pages = self.social.first_reviews(&ids, n).await.map_err(gql)?;
            out.extend(pages.into_iter().map(|(id, p)| (ReviewsOf(id, n), p)));
        }
        Ok(out)
    }
}

impl Loader<FollowCount> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[FollowCount]) -> LoadResult<FollowCount, i64> {
        let mut out: HashMap<FollowCount, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (followers, ids) in grouped(keys, |k| (k.1, k.0)) {
            let counts = self
                .social
                .follow_counts(&ids, followers)
                .await
                .map_err(gql)?;
            for (id, n) in counts {
                out.insert(FollowCount(id, followers), n);
            }
        }
        Ok(out)
    }
}

impl Loader<Follows> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Follows]) -> LoadResult<Follows, bool> {
        let followers: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let followees: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
        let rows = self
            .social
            .follows_among(&followers, &followees)
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                (
                    *k,
                    rows.iter()
                        .any(|f| f.follower_id == k.0 && f.followee_id == k.1),
                )
            })
            .collect())
    }
}

impl Loader<FollowStateOf> for Loaders {
    type Value = crate::store::FollowState;
    type Error = async_graphql::Error;
    async fn load(
        &self,
        keys: &[FollowStateOf],
    ) -> LoadResult<FollowStateOf, crate::store::FollowState> {
        let mut out = HashMap::new();
        for (viewer, targets) in grouped(keys, |k| (k.0, k.1)) {
            for (target, state) in self
                .social
                .follow_states(viewer, &targets)
                .await
                .map_err(gql)?
            {
                out.insert(FollowStateOf(viewer, target), state);
            }
        }
        Ok(out)
    }
}

impl Loader<RatingOf> for Loaders {
    type Value = i32;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[RatingOf]) -> LoadResult<RatingOf, i32> {
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let titles: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
        let rows = self
            .social
            .ratings_among(&users, &titles)
            .await
            .map_err(gql)?;
        Ok(rows
            .into_iter()
            .map(|r| (RatingOf(r.user_id, r.title_id), r.score))
            .filter(|(k, _)| keys.contains(k))
            .collect())
    }
}

impl Loader<InWatchlist> for Loaders {
    type Value = bool;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[InWatchlist]) -> LoadResult<InWatchlist, bool> {
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let titles: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
        let rows = self
            .social
            .watchlist_among(&users, &titles)
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                (
                    *k,
                    rows.iter().any(|w| w.user_id == k.0 && w.title_id == k.1),
                )
            })
            .collect())
    }
}

impl Loader<Histogram> for Loaders {
    type Value = Vec<RatingBucket>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Histogram]) -> LoadResult<Histogram, Vec<RatingBucket>> {
        let titles: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.social.score_counts(&titles).await.map_err(gql)?;
        let mut out: HashMap<Histogram, Vec<RatingBucket>> = keys
            .iter()
            .map(|k| {
                (
                    *k,
                    (1..=10)
                        .map(|score| RatingBucket { score, count: 0 })
                        .collect(),
                )
            })
            .collect();
        for (title, score, n) in rows {
            if let Some(b) = out
                .get_mut(&Histogram(title))
                .and_then(|v| v.get_mut((score - 1).clamp(0, 9) as usize))
            {
                b.count = n;
            }
        }
        Ok(out)
    }
}

impl Loader<ActorsOf> for Loaders {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ActorsOf]) -> LoadResult<ActorsOf, Vec<Uuid>> {
        let mut out = HashMap::new();
        for (n, ids) in grouped(keys, |k| (k.1, k.0)) {
            let actors = self.social.latest_actors(&ids, n).await.map_err(gql)?;
            out.extend(actors.into_iter().map(|(id, a)| (ActorsOf(id, n), a)));
        }
        Ok(out)
    }
}

impl Loader<ProfileKey> for Loaders {
    type Value = profile::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[ProfileKey]) -> LoadResult<ProfileKey, profile::Model> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let map = self.social.profiles(&ids).await?;
        Ok(map.into_iter().map(|(k, v)| (ProfileKey(k), v)).collect())
    }
}

impl Loader<MembersOf> for Loaders {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MembersOf]) -> LoadResult<MembersOf, Vec<Uuid>> {
        let rooms: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.social.members_of(&rooms).await.map_err(gql)?;
        let mut out: HashMap<MembersOf, Vec<Uuid>> = HashMap::new();
        for m in rows {
            out.entry(MembersOf(m.room_id)).or_default().push(m.user_id);
        }
        Ok(out)
    }
}

impl Loader<MessageKey> for Loaders {
    type Value = chat_message::Model;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[MessageKey]) -> LoadResult<MessageKey, chat_message::Model> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = self.social.messages_by_id(&ids).await.map_err(gql)?;
        Ok(rows
            .into_iter()
            .filter(|m| self.viewer.sees(m.author_id, &m.hidden))
            .map(|m| (MessageKey(m.id), m))
            .collect())
    }
}

impl Loader<Unread> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;
    async fn load(&self, keys: &[Unread]) -> LoadResult<Unread, i64> {
        let mut out: HashMap<Unread, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (user, rooms) in grouped(keys, |k| (k.1, k.0)) {
            let counts = self.social.unread_counts(user, &rooms).await.map_err(gql)?;
            for (room, n) in counts {
                out.insert(Unread(room, user), n);
            }
        }
        Ok(out)
    }
}
