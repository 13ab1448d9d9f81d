//! The rule set: one JSON document (row 1 of `rules`), the defaults until an
//! admin first edits it.

use chrono::Utc;
use kit::auth::Claims;
use kit::Error;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::model::rules as row;
use super::{admin, Moderation};
use crate::rules::Rules;

impl Moderation {
    /// The rule set in force.
    pub async fn rules(&self) -> Result<Rules, Error> {
        self.rules_on(self.db()).await
    }

    pub(super) async fn rules_on<C: ConnectionTrait>(&self, conn: &C) -> Result<Rules, Error> {
        Ok(match row::Entity::find_by_id(1).one(conn).await? {
            Some(r) => serde_json::from_str(&r.doc).map_err(Error::internal)?,
            None => Rules::default(),
        })
    }

    /// Replaces the rule set (admins only), after checking it.
    pub async fn set_rules(&self, claims: &Claims, mut rules: Rules) -> Result<Rules, Error> {
        let by = admin(claims)?;
        let mut words: Vec<String> = Vec::new();
        for w in rules.words.iter().map(|w| w.trim().to_lowercase()) {
            if !words.contains(&w) {
                words.push(w);
            }
        }
        rules.words = words;
        rules
            .check()
            .map_err(|(field, msg)| Error::bad_input(field, msg))?;
        let doc = serde_json::to_string(&rules).map_err(Error::internal)?;
        let txn = self.begin().await?;
        row::Entity::insert(row::ActiveModel {
            id: Set(1),
            doc: Set(doc),
            updated_by: Set(Some(by)),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(row::Column::Id)
                .update_columns([
                    row::Column::Doc,
                    row::Column::UpdatedBy,
                    row::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        self.commit(txn).await?;
        Ok(rules)
    }
}
