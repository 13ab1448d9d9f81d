//! Categories (genres and collections), people and credits.

use std::collections::HashMap;

use chrono::Utc;
use kit::Error;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::model::{category, credit, person};
use super::*;

impl Catalog {
    pub async fn create_category(
        &self,
        name: &str,
        kind: &str,
        actor: &str,
    ) -> Result<category::Model, Error> {
        let name = clean_line("input.name", name, 60)?;
        let slug = slugify(&name);
        if category::Entity::find()
            .filter(category::Column::Slug.eq(slug.clone()))
            .count(self.db())
            .await?
            > 0
        {
            return Err(
                Error::conflict(format!("a category `{slug}` exists")).with_field("input.name")
            );
        }
        let c = category::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug),
            name: Set(name),
            kind: Set(kind.into()),
            created_at: Set(Utc::now()),
        }
        .insert(self.db())
        .await?;
        tracing::info!(category = %c.slug, actor, "category created");
        self.bump().await;
        Ok(c)
    }

    pub async fn create_person(&self, name: &str) -> Result<person::Model, Error> {
        let name = clean_line("input.name", name, 120)?;
        let base = slugify(&name);
        let mut slug = base.clone();
        if person::Entity::find()
            .filter(person::Column::Slug.eq(slug.clone()))
            .count(self.db())
            .await?
            > 0
        {
            slug = format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..6]);
        }
        Ok(person::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug),
            name: Set(name),
            created_at: Set(Utc::now()),
        }
        .insert(self.db())
        .await?)
    }

    pub async fn add_credit(
        &self,
        title_id: Uuid,
        person_id: Uuid,
        kind: &str,
        role: &str,
    ) -> Result<credit::Model, Error> {
        self.get_title(title_id).await?;
        person::Entity::find_by_id(person_id)
            .one(self.db())
            .await?
            .ok_or_else(|| Error::not_found("person"))?;
        let role = clean_line("input.role", role, 120)?;
        let position = credit::Entity::find()
            .filter(credit::Column::TitleId.eq(title_id))
            .count(self.db())
            .await? as i32;
        let c = credit::ActiveModel {
            id: Set(Uuid::now_v7()),
            title_id: Set(title_id),
            person_id: Set(person_id),
            kind: Set(kind.into()),
            character: Set((kind == "CAST").then(|| role.clone())),
            job: Set((kind == "CREW").then_some(role)),
            position: Set(position),
        }
        .insert(self.db())
        .await?;
        self.bump().await;
        Ok(c)
    }

    pub async fn remove_credit(&self, id: Uuid) -> Result<bool, Error> {
        let r = credit::Entity::delete_by_id(id).exec(self.db()).await?;
        if r.rows_affected == 0 {
            return Err(Error::not_found("credit"));
        }
        self.bump().await;
        Ok(true)
    }

    /// Every category (of `kind`, `GENRE` or `COLLECTION`, when given), by name.
    pub async fn categories(&self, kind: Option<&str>) -> Result<Vec<category::Model>, Error> {
        let mut q = category::Entity::find().order_by_asc(category::Column::Name);
        if let Some(k) = kind {
            q = q.filter(category::Column::Kind.eq(k));
        }
        Ok(q.all(self.db()).await?)
    }

    /// The category with `slug` (any case, surrounding blanks ignored).
    pub async fn category_by_slug(&self, slug: &str) -> Result<Option<category::Model>, Error> {
        Ok(category::Entity::find()
            .filter(category::Column::Slug.eq(slug.trim().to_lowercase()))
            .one(self.db())
            .await?)
    }

    /// The categories of `ids`.
    pub async fn categories_by_id(&self, ids: &[Uuid]) -> Result<Vec<category::Model>, Error> {
        Ok(category::Entity::find()
            .filter(category::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// The people of `ids`.
    pub async fn people_by_id(&self, ids: &[Uuid]) -> Result<Vec<person::Model>, Error> {
        Ok(person::Entity::find()
            .filter(person::Column::Id.is_in(ids.iter().copied()))
            .all(self.db())
            .await?)
    }

    /// The credits of each title in `titles`, in billing order.
    pub async fn credits_of(
        &self,
        titles: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<credit::Model>>, Error> {
        let rows = credit::Entity::find()
            .filter(credit::Column::TitleId.is_in(titles.iter().copied()))
            .order_by_asc(credit::Column::Position)
            .all(self.db())
            .await?;
        let mut out: HashMap<Uuid, Vec<credit::Model>> = HashMap::new();
        for c in rows {
            out.entry(c.title_id).or_default().push(c);
        }
        Ok(out)
    }

    /// The credits of each person in `people`, by title.
    pub async fn credits_by(
        &self,
        people: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<credit::Model>>, Error> {
        let rows = credit::Entity::find()
            .filter(credit::Column::PersonId.is_in(people.iter().copied()))
            .order_by_asc(credit::Column::TitleId)
            .all(self.db())
            .await?;
        let mut out: HashMap<Uuid, Vec<credit::Model>> = HashMap::new();
        for c in rows {
            out.entry(c.person_id).or_default().push(c);
        }
        Ok(out)
    }
}
