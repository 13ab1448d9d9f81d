//! The `content` schema: the catalog (movies and series, one `titles` table
//! told apart by `kind`; seasons and episodes of series), its categories,
//! people and credits, editorial featured slots and de-duplicated views (which feed
//! trending).

use sea_orm_migration::prelude::*;

use crate::{ts, ts_null};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(kit::events::outbox::Migration),
            Box::new(Initial),
            Box::new(RatingsFromSocial),
        ]
    }
}

struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261124_000002_content"
    }
}

fn a(name: &str) -> Alias {
    Alias::new(name)
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(a(name)).text().not_null().to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(a(name)).text().null().to_owned()
}

fn uuid_pk(name: &str) -> ColumnDef {
    ColumnDef::new(a(name))
        .uuid()
        .not_null()
        .primary_key()
        .to_owned()
}

fn index(
    m: &SchemaManager<'_>,
    table: &str,
    name: &str,
    cols: &[&str],
    unique: bool,
) -> IndexCreateStatement {
    let _ = m;
    let mut i = Index::create();
    i.name(name).table(a(table));
    for c in cols {
        i.col(a(c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("titles"))
                .col(uuid_pk("id"))
                // MOVIE or SERIES.
                .col(ColumnDef::new(a("kind")).string().not_null())
                .col(ColumnDef::new(a("slug")).string().not_null().unique_key())
                .col(text("title"))
                // Lowercased title: what TITLE_ASC sorts by.
                .col(text("title_key"))
                .col(text_null("original_title"))
                .col(text("overview"))
                .col(text_null("tagline"))
                // ISO date, YYYY-MM-DD.
                .col(ColumnDef::new(a("release_date")).string().null())
                .col(ColumnDef::new(a("year")).integer().null())
                .col(ColumnDef::new(a("runtime")).integer().null())
                .col(ColumnDef::new(a("language")).string().not_null())
                .col(ColumnDef::new(a("status")).string().not_null())
                .col(
                    ColumnDef::new(a("rating_average"))
                        .double()
                        .not_null()
                        .default(0.0),
                )
                .col(
                    ColumnDef::new(a("rating_count"))
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(a("popularity"))
                        .double()
                        .not_null()
                        .default(0.0),
                )
                // log2 of the time-decayed view score, in half-lives since the epoch.
                .col(
                    ColumnDef::new(a("trend_day"))
                        .double()
                        .not_null()
                        .default(0.0),
                )
                .col(
                    ColumnDef::new(a("trend_week"))
                        .double()
                        .not_null()
                        .default(0.0),
                )
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("titles_popularity", &["popularity", "id"][..]),
            ("titles_rating", &["rating_average", "id"][..]),
            ("titles_release", &["release_date", "id"][..]),
            ("titles_title", &["title_key", "id"][..]),
            ("titles_trend_day", &["trend_day", "id"][..]),
            ("titles_trend_week", &["trend_week", "id"][..]),
        ] {
            let cols: Vec<&str> = std::iter::once("kind")
                .chain(cols.iter().copied())
                .collect();
            m.create_index(index(m, "titles", name, &cols, false))
                .await?;
        }
        m.create_table(
            Table::create()
                .table(a("categories"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("slug")).string().not_null().unique_key())
                .col(text("name"))
                // GENRE or COLLECTION.
                .col(ColumnDef::new(a("kind")).string().not_null())
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("title_categories"))
                .col(ColumnDef::new(a("title_id")).uuid().not_null())
                .col(ColumnDef::new(a("category_id")).uuid().not_null())
                .primary_key(Index::create().col(a("title_id")).col(a("category_id")))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("title_categories"), a("title_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(a("title_categories"), a("category_id"))
                        .to(a("categories"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            m,
            "title_categories",
            "title_categories_category",
            &["category_id", "title_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(a("people"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("slug")).string().not_null().unique_key())
                .col(text("name"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("credits"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("title_id")).uuid().not_null())
                .col(ColumnDef::new(a("person_id")).uuid().not_null())
                // CAST or CREW.
                .col(ColumnDef::new(a("kind")).string().not_null())
                .col(text_null("character"))
                .col(text_null("job"))
                .col(ColumnDef::new(a("position")).integer().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(a("credits"), a("title_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(a("credits"), a("person_id"))
                        .to(a("people"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            m,
            "credits",
            "credits_title",
            &["title_id", "position"],
            false,
        ))
        .await?;
        m.create_index(index(m, "credits", "credits_person", &["person_id"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("featured"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("title_id")).uuid().not_null())
                .col(ColumnDef::new(a("rank")).integer().not_null())
                .col(ts("starts_at"))
                .col(ts("ends_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("featured"), a("title_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("views"))
                // A user id, or a hash of the anonymous client.
                .col(ColumnDef::new(a("viewer")).string().not_null())
                .col(ColumnDef::new(a("title_id")).uuid().not_null())
                // Hours since the epoch: one view per viewer, title and hour.
                .col(ColumnDef::new(a("hour")).big_integer().not_null())
                .col(ColumnDef::new(a("user_id")).uuid().null())
                .col(ts("at"))
                .primary_key(
                    Index::create()
                        .col(a("viewer"))
                        .col(a("title_id"))
                        .col(a("hour")),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(a("views"), a("title_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(m, "views", "views_user", &["user_id", "at"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("seasons"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("series_id")).uuid().not_null())
                .col(ColumnDef::new(a("number")).integer().not_null())
                .col(text("name"))
                .col(text("overview"))
                // ISO date, YYYY-MM-DD.
                .col(ColumnDef::new(a("air_date")).string().null())
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("seasons"), a("series_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            m,
            "seasons",
            "seasons_number",
            &["series_id", "number"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(a("episodes"))
                .col(uuid_pk("id"))
                .col(ColumnDef::new(a("season_id")).uuid().not_null())
                .col(ColumnDef::new(a("series_id")).uuid().not_null())
                .col(ColumnDef::new(a("number")).integer().not_null())
                .col(text("title"))
                .col(text("overview"))
                .col(ColumnDef::new(a("air_date")).string().null())
                .col(ColumnDef::new(a("runtime")).integer().null())
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("episodes"), a("season_id"))
                        .to(a("seasons"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(a("episodes"), a("series_id"))
                        .to(a("titles"), a("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            m,
            "episodes",
            "episodes_number",
            &["season_id", "number"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "episodes",
            "seasons",
            "views",
            "featured",
            "credits",
            "people",
            "title_categories",
            "categories",
            "titles",
        ] {
            m.drop_table(Table::drop().table(a(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Ratings made in the social subgraph join the catalog's own figures (the
/// demo catalog's vote counts): `rating_base_*` are the figures from
/// elsewhere, `rating_version` the newest social aggregate applied.
struct RatingsFromSocial;

impl MigrationName for RatingsFromSocial {
    fn name(&self) -> &str {
        "m20261125_000004_content_social_ratings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RatingsFromSocial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(a("rating_base_sum"))
                .double()
                .not_null()
                .default(0.0)
                .to_owned(),
            ColumnDef::new(a("rating_base_count"))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(a("rating_version"))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(a("titles"))
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // What the catalog holds so far came from elsewhere.
        let update = Query::update()
            .table(a("titles"))
            .value(
                a("rating_base_sum"),
                Expr::col(a("rating_average")).mul(Expr::col(a("rating_count"))),
            )
            .value(a("rating_base_count"), Expr::col(a("rating_count")))
            .to_owned();
        m.exec_stmt(update).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["rating_base_sum", "rating_base_count", "rating_version"] {
            m.alter_table(
                Table::alter()
                    .table(a("titles"))
                    .drop_column(a(col))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
