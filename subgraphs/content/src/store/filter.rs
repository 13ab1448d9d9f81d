//! The title filter (`crate::filter`) as SQL.

use kit::Error;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition};

use super::model::{category, title, title_category};
pub use crate::filter::Filter;

/// Movies in any (or all) of the categories `slugs`, optionally of one kind.
fn in_categories(slugs: Vec<String>, all: bool, kind: Option<&str>) -> Condition {
    let n = slugs.len();
    let mut sub = Query::select();
    sub.column((title_category::Entity, title_category::Column::TitleId))
        .from(title_category::Entity)
        .inner_join(
            category::Entity,
            Expr::col((category::Entity, category::Column::Id))
                .equals((title_category::Entity, title_category::Column::CategoryId)),
        )
        .and_where(Expr::col((category::Entity, category::Column::Slug)).is_in(slugs));
    if let Some(k) = kind {
        sub.and_where(Expr::col((category::Entity, category::Column::Kind)).eq(k));
    }
    if all {
        sub.group_by_col((title_category::Entity, title_category::Column::TitleId))
            .and_having(Expr::cust(format!(
                "COUNT(DISTINCT \"categories\".\"id\") = {n}"
            )));
    }
    Condition::all().add(title::Column::Id.in_subquery(sub.to_owned()))
}

impl Filter {
    /// The `WHERE` of a title list: live titles passing the filter.
    pub fn condition(&self) -> Result<Condition, Error> {
        let f = self.normalised()?;
        let mut c = Condition::all().add(title::Column::DeletedAt.is_null());
        if let Some(k) = f.kind {
            c = c.add(title::Column::Kind.eq(k));
        }
        if !f.genres.is_empty() {
            c = c.add(in_categories(f.genres, f.all_genres, Some("GENRE")));
        }
        if !f.categories.is_empty() {
            c = c.add(in_categories(f.categories, f.all_genres, None));
        }
        if let Some(y) = f.year {
            c = c.add(title::Column::Year.eq(y));
        }
        if let Some(d) = f.released_from {
            c = c.add(title::Column::ReleaseDate.gte(d.to_string()));
        }
        if let Some(d) = f.released_to {
            c = c.add(title::Column::ReleaseDate.lte(d.to_string()));
        }
        if let Some(v) = f.rating_min {
            c = c.add(title::Column::RatingAverage.gte(v));
        }
        if let Some(v) = f.rating_max {
            c = c.add(title::Column::RatingAverage.lte(v));
        }
        if let Some(v) = f.min_votes {
            c = c.add(title::Column::RatingCount.gte(v));
        }
        if let Some(v) = f.runtime_min {
            c = c.add(title::Column::Runtime.gte(v));
        }
        if let Some(v) = f.runtime_max {
            c = c.add(title::Column::Runtime.lte(v));
        }
        if let Some(l) = f.language {
            c = c.add(title::Column::Language.eq(l));
        }
        if let Some(s) = f.status {
            c = c.add(title::Column::Status.eq(s));
        }
        Ok(c)
    }
}
