//! Categories (genres and collections), people and their credits.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, ID};
use kit::paging::Connection;
use uuid::Uuid;

use super::loaders::{CategoryKey, CreditsBy, PersonKey, TitleKey};
use super::titles::{title_connection, Movie, MovieSort, Series, Title};
use super::{admin, catalog, entity_row, loader, parse_id};
use crate::store::model::{category, credit, person};
use crate::store::{Filter, PageArgs, MOVIE, SERIES};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    Genre,
    Collection,
}

impl CategoryKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Genre => "GENRE",
            CategoryKind::Collection => "COLLECTION",
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CreditKind {
    Cast,
    Crew,
}

// The row's fields are copied at construction; the lists are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Category {
    pub id: ID,
    pub slug: String,
    pub name: String,
    pub kind: CategoryKind,
}

impl From<category::Model> for Category {
    fn from(c: category::Model) -> Self {
        Self {
            id: ID(c.id.to_string()),
            kind: if c.kind == "GENRE" {
                CategoryKind::Genre
            } else {
                CategoryKind::Collection
            },
            slug: c.slug,
            name: c.name,
        }
    }
}

#[ComplexObject]
impl Category {
    /// This category's movies, paged like `movies`.
    async fn movies(
        &self,
        ctx: &Context<'_>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Movie>> {
        let filter = Filter {
            kind: Some(MOVIE),
            categories: vec![self.slug.clone()],
            ..Filter::default()
        };
        let args = PageArgs {
            first,
            after: after.as_deref(),
            last,
            before: before.as_deref(),
        };
        title_connection(ctx, &filter, sort, args).await
    }
    /// This category's series, paged like `seriesList`.
    async fn series(
        &self,
        ctx: &Context<'_>,
        sort: Option<MovieSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Series>> {
        let filter = Filter {
            kind: Some(SERIES),
            categories: vec![self.slug.clone()],
            ..Filter::default()
        };
        let args = PageArgs {
            first,
            after: after.as_deref(),
            ..PageArgs::default()
        };
        title_connection(ctx, &filter, sort, args).await
    }
}

// The row's fields are copied at construction; the credits are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Person {
    #[graphql(skip)]
    uuid: Uuid,
    pub id: ID,
    pub slug: String,
    pub name: String,
}

impl From<person::Model> for Person {
    fn from(p: person::Model) -> Self {
        Self {
            uuid: p.id,
            id: ID(p.id.to_string()),
            slug: p.slug,
            name: p.name,
        }
    }
}

#[ComplexObject]
impl Person {
    /// Every credit of this person.
    async fn credits(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Credit>> {
        Ok(loader(ctx)
            .load_one(CreditsBy(self.uuid))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Credit::from)
            .collect())
    }
}

// The row's fields are copied at construction; the links are resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Credit {
    #[graphql(skip)]
    person_id: Uuid,
    #[graphql(skip)]
    title_id: Uuid,
    pub id: ID,
    pub kind: CreditKind,
    /// The character played (cast).
    pub character: Option<String>,
    /// The job done (crew), e.g. Director.
    pub job: Option<String>,
    pub position: i32,
}

impl From<credit::Model> for Credit {
    fn from(c: credit::Model) -> Self {
        Self {
            person_id: c.person_id,
            title_id: c.title_id,
            id: ID(c.id.to_string()),
            kind: if c.kind == "CAST" {
                CreditKind::Cast
            } else {
                CreditKind::Crew
            },
            character: c.character,
            job: c.job,
            position: c.position,
        }
    }
}

#[ComplexObject]
impl Credit {
    async fn person(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Person>> {
        Ok(loader(ctx)
            .load_one(PersonKey(self.person_id))
            .await?
            .map(Person::from))
    }
    /// The movie or series credited.
    async fn title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Title>> {
        Ok(loader(ctx)
            .load_one(TitleKey(self.title_id))
            .await?
            .map(Title::from))
    }
}

#[derive(InputObject)]
pub struct CategoryInput {
    pub name: String,
    pub kind: CategoryKind,
}

#[derive(InputObject)]
pub struct PersonInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct CreditInput {
    pub title_id: ID,
    pub person_id: ID,
    pub kind: CreditKind,
    /// The character (cast) or the job (crew).
    pub role: String,
}

#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    async fn categories(
        &self,
        ctx: &Context<'_>,
        kind: Option<CategoryKind>,
    ) -> async_graphql::Result<Vec<Category>> {
        Ok(catalog(ctx)
            .categories(kind.map(CategoryKind::as_str))
            .await?
            .into_iter()
            .map(Category::from)
            .collect())
    }

    async fn category(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Category>> {
        Ok(catalog(ctx)
            .category_by_slug(&slug)
            .await?
            .map(Category::from))
    }

    async fn person(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Person>> {
        let id = parse_id("id", &id)?;
        Ok(loader(ctx).load_one(PersonKey(id)).await?.map(Person::from))
    }

    #[graphql(entity)]
    async fn find_person_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Person>> {
        Ok(entity_row(ctx, &id, PersonKey).await?.map(Person::from))
    }

    #[graphql(entity)]
    async fn find_category_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Category>> {
        Ok(entity_row(ctx, &id, CategoryKey).await?.map(Category::from))
    }
}

#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    #[graphql(requires_scopes = "admin")]
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CategoryInput,
    ) -> async_graphql::Result<Category> {
        let actor = admin(ctx)?;
        Ok(Category::from(
            catalog(ctx)
                .create_category(&input.name, input.kind.as_str(), actor)
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: PersonInput,
    ) -> async_graphql::Result<Person> {
        admin(ctx)?;
        Ok(Person::from(catalog(ctx).create_person(&input.name).await?))
    }

    #[graphql(requires_scopes = "admin")]
    async fn add_credit(
        &self,
        ctx: &Context<'_>,
        input: CreditInput,
    ) -> async_graphql::Result<Credit> {
        admin(ctx)?;
        let kind = match input.kind {
            CreditKind::Cast => "CAST",
            CreditKind::Crew => "CREW",
        };
        Ok(Credit::from(
            catalog(ctx)
                .add_credit(
                    parse_id("input.titleId", &input.title_id)?,
                    parse_id("input.personId", &input.person_id)?,
                    kind,
                    &input.role,
                )
                .await?,
        ))
    }

    #[graphql(requires_scopes = "admin")]
    async fn remove_credit(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        admin(ctx)?;
        Ok(catalog(ctx).remove_credit(parse_id("id", &id)?).await?)
    }
}
