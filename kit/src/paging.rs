//! Paged lists, written once for every subgraph: the page size rule of every
//! `first`/`last` argument, the `Page` a store returns, and the Relay
//! `Connection`/`Edge` types a schema returns, named after their node
//! (`PostConnection`, `MovieEdge`) beside the shared `PageInfo`.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::{MetaField, MetaType, MetaTypeId, Registry};
use async_graphql::resolver_utils::{resolve_container, ContainerType};
use async_graphql::{
    Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult, SimpleObject,
    TypeName, Value,
};
use serde::{Deserialize, Serialize};

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::Error;

pub use crate::graphql::PageInfo;

/// Rows a list returns when `first` is not given.
pub const DEFAULT_PAGE: u64 = 20;
/// The most rows one page may ask for.
pub const MAX_PAGE: u64 = 100;

/// `first` within 1..=`MAX_PAGE` (`DEFAULT_PAGE` when absent).
pub fn page_size(first: Option<i32>) -> Result<u64, Error> {
    page_size_of("first", first)
}

/// `page_size` for an argument of another name (`last`); errors name it.
pub fn page_size_of(field: &str, n: Option<i32>) -> Result<u64, Error> {
    match n {
        None => Ok(DEFAULT_PAGE),
        Some(n) if n >= 1 && n as u64 <= MAX_PAGE => Ok(n as u64),
        Some(_) => Err(Error::bad_input(
            field,
            format!("{field} must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// One page of rows, each with its cursor, as a store returns it (lists that
/// cache keep it as JSON).
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    /// Whether rows come before this page (after a cursor: assumed so).
    pub has_previous_page: bool,
    /// Rows in the whole list, for lists that count them (`Paged::COUNTED`);
    /// 0 for the others.
    pub total_count: u64,
}

impl<T> Page<T> {
    /// `rows` (at most the page's size), each keyed by `cursor`.
    pub fn new(
        rows: Vec<T>,
        has_previous_page: bool,
        has_next_page: bool,
        cursor: impl Fn(&T) -> String,
    ) -> Self {
        Self {
            items: rows.into_iter().map(|r| (cursor(&r), r)).collect(),
            has_next_page,
            has_previous_page,
            total_count: 0,
        }
    }
}

/// A GraphQL type that lists are paged over. Its connection and edge types
/// are `{NAME}Connection` and `{NAME}Edge`.
pub trait Paged: OutputType {
    /// The prefix of the connection and edge type names (`Follow` for
    /// `FollowNode`'s `FollowConnection`).
    const NAME: &'static str;
    /// Whether the connection carries `totalCount: Int!`.
    const COUNTED: bool = false;
}

// A node of a connection with its cursor. (No doc comment: it would become
// the type's description in every subgraph's SDL.)
#[derive(SimpleObject)]
#[graphql(name_type)]
pub struct Edge<T: Paged> {
    pub cursor: String,
    pub node: T,
}

impl<T: Paged> TypeName for Edge<T> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Edge", T::NAME))
    }
}

/// A Relay connection: `edges`, `pageInfo`, and `totalCount` where the node
/// type is `Paged::COUNTED`. Written by hand rather than derived because the
/// derive cannot leave a field out of some of a generic's types.
pub struct Connection<T: Paged> {
    pub edges: Vec<Edge<T>>,
    pub page_info: PageInfo,
    /// Rows in the whole list; in the schema only when `T::COUNTED`.
    pub total_count: u64,
}

impl<T: Paged> Connection<T> {
    /// The connection of `page`, its rows made nodes by `node`.
    pub fn from_page<M>(page: Page<M>, node: impl Fn(M) -> T) -> Self {
        let edges: Vec<Edge<T>> = page
            .items
            .into_iter()
            .map(|(cursor, m)| Edge {
                cursor,
                node: node(m),
            })
            .collect();
        Self {
            page_info: PageInfo::new(
                edges.iter().map(|e| e.cursor.as_str()),
                page.has_previous_page,
                page.has_next_page,
            ),
            edges,
            total_count: page.total_count,
        }
    }
}

/// A field of `Connection` as the registry holds it.
fn meta_field(name: &str, ty: String) -> MetaField {
    MetaField {
        name: name.to_string(),
        description: None,
        args: Default::default(),
        ty,
        deprecation: Default::default(),
        cache_control: Default::default(),
        external: false,
        requires: None,
        provides: None,
        visible: None,
        shareable: false,
        inaccessible: false,
        tags: vec![],
        override_from: None,
        compute_complexity: None,
        directive_invocations: vec![],
        requires_scopes: vec![],
    }
}

impl<T: Paged> OutputType for Connection<T> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Connection", T::NAME))
    }

    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_output_type::<Self, _>(MetaTypeId::Object, |registry| {
            let mut fields = async_graphql::indexmap::IndexMap::new();
            let edges = <Vec<Edge<T>> as OutputType>::create_type_info(registry);
            fields.insert("edges".to_string(), meta_field("edges", edges));
            let page_info = <PageInfo as OutputType>::create_type_info(registry);
            fields.insert("pageInfo".to_string(), meta_field("pageInfo", page_info));
            if T::COUNTED {
                let count = <u64 as OutputType>::create_type_info(registry);
                fields.insert("totalCount".to_string(), meta_field("totalCount", count));
            }
            MetaType::Object {
                name: Self::type_name().into_owned(),
                description: None,
                fields,
                cache_control: Default::default(),
                extends: false,
                shareable: false,
                resolvable: true,
                inaccessible: false,
                interface_object: false,
                tags: vec![],
                keys: None,
                visible: None,
                is_subscription: false,
                rust_typename: Some(std::any::type_name::<Self>()),
                directive_invocations: vec![],
                requires_scopes: vec![],
            }
        })
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<T: Paged> ContainerType for Connection<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        let inner = ctx.with_selection_set(&ctx.item.node.selection_set);
        match ctx.item.node.name.node.as_str() {
            "edges" => OutputType::resolve(&self.edges, &inner, ctx.item)
                .await
                .map(Some),
            "pageInfo" => OutputType::resolve(&self.page_info, &inner, ctx.item)
                .await
                .map(Some),
            "totalCount" if T::COUNTED => OutputType::resolve(&self.total_count, &inner, ctx.item)
                .await
                .map(Some),
            _ => Ok(None),
        }
    }
}

impl<T: Paged> ObjectType for Connection<T> {}

/// `n` rows of `select` ordered by `col` (a UUIDv7 column), after `after`:
/// one keyset page, one extra row read to know whether another follows.
pub async fn keyset_page<E, C>(
    db: &C,
    select: Select<E>,
    col: E::Column,
    desc: bool,
    n: u64,
    after: Option<Uuid>,
    key: impl Fn(&E::Model) -> Uuid,
) -> Result<Page<E::Model>, Error>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let mut q = select;
    if let Some(a) = after {
        q = q.filter(if desc { col.lt(a) } else { col.gt(a) });
    }
    q = if desc {
        q.order_by_desc(col)
    } else {
        q.order_by_asc(col)
    };
    let mut rows = q.limit(n + 1).all(db).await?;
    let has_next_page = rows.len() as u64 > n;
    rows.truncate(n as usize);
    Ok(Page::new(rows, after.is_some(), has_next_page, |m| {
        key(m).to_string()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_one_to_a_hundred_twenty_by_default() {
        assert_eq!(page_size(None).ok(), Some(DEFAULT_PAGE));
        assert_eq!(page_size(Some(1)).ok(), Some(1));
        assert_eq!(page_size(Some(100)).ok(), Some(100));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(101)).is_err());
        let e = page_size_of("last", Some(-1)).expect_err("out of range");
        assert!(e.message.contains("last must be between 1 and 100"));
    }

    #[derive(SimpleObject)]
    struct Plain {
        n: i32,
    }
    impl Paged for Plain {
        const NAME: &'static str = "Plain";
    }

    #[derive(SimpleObject)]
    struct Counted {
        n: i32,
    }
    impl Paged for Counted {
        const NAME: &'static str = "Tally";
        const COUNTED: bool = true;
    }

    struct Root;

    #[async_graphql::Object]
    impl Root {
        async fn plain(&self) -> Connection<Plain> {
            Connection::from_page(Page::new(vec![1, 2], false, true, |n| n.to_string()), |n| {
                Plain { n }
            })
        }
        async fn counted(&self) -> Connection<Counted> {
            let page = Page {
                total_count: 7,
                ..Page::new(vec![3], true, false, |n| format!("c{n}"))
            };
            Connection::from_page(page, |n| Counted { n })
        }
    }

    fn schema(
    ) -> async_graphql::Schema<Root, async_graphql::EmptyMutation, async_graphql::EmptySubscription>
    {
        async_graphql::Schema::new(
            Root,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
    }

    #[test]
    fn connections_are_named_after_their_node_and_count_only_when_asked() {
        let sdl = schema().sdl();
        assert!(
            sdl.contains(
                "type PlainConnection {\n\tedges: [PlainEdge!]!\n\tpageInfo: PageInfo!\n}"
            ),
            "{sdl}"
        );
        assert!(
            sdl.contains("type PlainEdge {\n\tcursor: String!\n\tnode: Plain!\n}"),
            "{sdl}"
        );
        assert!(
            sdl.contains("type TallyConnection {\n\tedges: [TallyEdge!]!\n\tpageInfo: PageInfo!\n\ttotalCount: Int!\n}"),
            "{sdl}"
        );
    }

    #[tokio::test]
    async fn a_connection_answers_its_edges_page_info_and_count() {
        let r = schema()
            .execute(
                "{ plain { edges { cursor node { n } } pageInfo { hasNextPage endCursor } }
                   counted { totalCount pageInfo { hasPreviousPage startCursor } } }",
            )
            .await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let data = r.data.into_json().expect("a JSON answer");
        assert_eq!(data["plain"]["edges"][1]["cursor"], "2");
        assert_eq!(data["plain"]["edges"][1]["node"]["n"], 2);
        assert_eq!(data["plain"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(data["plain"]["pageInfo"]["endCursor"], "2");
        assert_eq!(data["counted"]["totalCount"], 7);
        assert_eq!(data["counted"]["pageInfo"]["hasPreviousPage"], true);
        assert_eq!(data["counted"]["pageInfo"]["startCursor"], "c3");
        let unknown = schema().execute("{ plain { totalCount } }").await;
        assert!(
            !unknown.errors.is_empty(),
            "an uncounted connection has no totalCount"
        );
    }

    #[test]
    fn a_page_keeps_its_rows_in_order_with_their_cursors() {
        let p = Page::new(vec![3, 1, 2], true, false, |n| n.to_string());
        let cursors: Vec<&str> = p.items.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(cursors, ["3", "1", "2"]);
        assert!(p.has_previous_page && !p.has_next_page && p.total_count == 0);
    }
}
