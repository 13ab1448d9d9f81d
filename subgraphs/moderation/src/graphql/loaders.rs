//! The request's DataLoader: what a page of reports, actions or entities asks
//! per item, fetched in one statement per kind of key.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::store::model::{action, appeal, content, flag, report};
use crate::store::{Moderation, Status, StatusKey, Target};

pub struct Loaders {
    pub moderation: Arc<Moderation>,
}

type Failure = async_graphql::Error;

fn gql(e: kit::Error) -> Failure {
    e.to_graphql()
}

/// An action by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionKey(pub Uuid);

/// A report by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReportKey(pub Uuid);

/// The appeal of an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AppealOf(pub Uuid);

/// Distinct reporters of a target's open reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReporterCount(pub Target);

/// The latest flags on a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlagsOn(pub Target);

/// What moderation last saw a target say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TextOf(pub Target);

/// Actions against an author before a report (its id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EarlierActions(pub Uuid, pub Uuid);

/// Items per target in `FlagsOn` and `EarlierActions`.
pub const PER_ITEM: usize = 20;

impl Loader<StatusKey> for Loaders {
    type Value = Status;
    type Error = Failure;

    async fn load(&self, keys: &[StatusKey]) -> Result<HashMap<StatusKey, Status>, Failure> {
        let targets: Vec<Target> = keys.iter().map(|k| k.0).collect();
        Ok(self
            .moderation
            .statuses(&targets)
            .await
            .map_err(gql)?
            .into_iter()
            .map(|(t, s)| (StatusKey(t), s))
            .collect())
    }
}

impl Loader<ActionKey> for Loaders {
    type Value = action::Model;
    type Error = Failure;

    async fn load(&self, keys: &[ActionKey]) -> Result<HashMap<ActionKey, action::Model>, Failure> {
        Ok(self
            .moderation
            .actions(keys.iter().map(|k| k.0).collect())
            .await
            .map_err(gql)?
            .into_iter()
            .map(|a| (ActionKey(a.id), a))
            .collect())
    }
}

impl Loader<ReportKey> for Loaders {
    type Value = report::Model;
    type Error = Failure;

    async fn load(&self, keys: &[ReportKey]) -> Result<HashMap<ReportKey, report::Model>, Failure> {
        Ok(self
            .moderation
            .reports(keys.iter().map(|k| k.0).collect())
            .await
            .map_err(gql)?
            .into_iter()
            .map(|r| (ReportKey(r.id), r))
            .collect())
    }
}

// Every key gets an answer (None: no appeal), so a page that primed the
// cache with `load_many` asks nothing more for actions without one.
impl Loader<AppealOf> for Loaders {
    type Value = Option<appeal::Model>;
    type Error = Failure;

    async fn load(
        &self,
        keys: &[AppealOf],
    ) -> Result<HashMap<AppealOf, Option<appeal::Model>>, Failure> {
        let mut out: HashMap<AppealOf, Option<appeal::Model>> =
            keys.iter().map(|k| (*k, None)).collect();
        for a in self
            .moderation
            .appeals_of(keys.iter().map(|k| k.0).collect())
            .await
            .map_err(gql)?
        {
            out.insert(AppealOf(a.action_id), Some(a));
        }
        Ok(out)
    }
}

impl Loader<ReporterCount> for Loaders {
    type Value = i64;
    type Error = Failure;

    async fn load(&self, keys: &[ReporterCount]) -> Result<HashMap<ReporterCount, i64>, Failure> {
        let targets: Vec<Target> = keys.iter().map(|k| k.0).collect();
        let counts = self
            .moderation
            .reporter_counts(&targets)
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| (*k, counts.get(&k.0).copied().unwrap_or(0)))
            .collect())
    }
}

impl Loader<FlagsOn> for Loaders {
    type Value = Vec<flag::Model>;
    type Error = Failure;

    async fn load(&self, keys: &[FlagsOn]) -> Result<HashMap<FlagsOn, Vec<flag::Model>>, Failure> {
        let targets: Vec<Target> = keys.iter().map(|k| k.0).collect();
        let mut out: HashMap<FlagsOn, Vec<flag::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for f in self.moderation.flags_on_many(&targets).await.map_err(gql)? {
            if let Some(t) = Target::of(&f.target_kind, f.target_id) {
                let list = out.entry(FlagsOn(t)).or_default();
                if list.len() < PER_ITEM {
                    list.push(f);
                }
            }
        }
        Ok(out)
    }
}

impl Loader<EarlierActions> for Loaders {
    type Value = Vec<action::Model>;
    type Error = Failure;

    async fn load(
        &self,
        keys: &[EarlierActions],
    ) -> Result<HashMap<EarlierActions, Vec<action::Model>>, Failure> {
        let authors: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let all = self
            .moderation
            .actions_against_many(&authors)
            .await
            .map_err(gql)?;
        Ok(keys
            .iter()
            .map(|k| {
                let list: Vec<action::Model> = all
                    .iter()
                    .filter(|a| a.target_author_id == Some(k.0) && a.id < k.1)
                    .take(PER_ITEM)
                    .cloned()
                    .collect();
                (*k, list)
            })
            .collect())
    }
}

impl Loader<TextOf> for Loaders {
    type Value = Option<String>;
    type Error = Failure;

    async fn load(&self, keys: &[TextOf]) -> Result<HashMap<TextOf, Option<String>>, Failure> {
        let targets: Vec<Target> = keys.iter().map(|k| k.0).collect();
        let rows: Vec<content::Model> = self.moderation.contents_of(&targets).await.map_err(gql)?;
        let mut out: HashMap<TextOf, Option<String>> = keys.iter().map(|k| (*k, None)).collect();
        for c in rows {
            if let Some(t) = Target::of(&c.kind, c.id) {
                if let Some(slot) = out.get_mut(&TextOf(t)) {
                    *slot = Some(c.body);
                }
            }
        }
        Ok(out)
    }
}
