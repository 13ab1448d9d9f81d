//! The four subgraphs of the gateways-benchmark scenario (accounts, inventory,
//! products, reviews) in one process, for `bench/run.sh`:
//! `bench_subgraphs [BASE_PORT]` serves them on BASE_PORT..BASE_PORT+3.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, ID};
use axum::routing::{get, post_service};
use axum::Router;

mod accounts {
    use super::*;

    #[derive(SimpleObject, Clone)]
    pub struct User {
        pub id: ID,
        pub name: String,
        pub username: String,
    }

    pub fn users() -> Vec<User> {
        [
            ("1", "Uri Goldshtein", "urigo"),
            ("2", "Dotan Simha", "dotansimha"),
            ("3", "Kamil Kisiela", "kamilkisiela"),
        ]
        .into_iter()
        .map(|(id, name, username)| User {
            id: ID(id.into()),
            name: name.into(),
            username: username.into(),
        })
        .collect()
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn me(&self) -> User {
            users().remove(0)
        }
        async fn users(&self) -> Vec<User> {
            users()
        }
        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> Option<User> {
            users().into_iter().find(|u| u.id == id)
        }
    }
}

mod products {
    use super::*;

    #[derive(SimpleObject, Clone)]
    pub struct Product {
        pub upc: String,
        pub name: String,
        pub price: i32,
        pub weight: i32,
    }

    pub fn products() -> Vec<Product> {
        [
            ("1", "Table", 899, 100),
            ("2", "Couch", 1299, 1000),
            ("3", "Glass", 15, 20),
            ("4", "Chair", 499, 100),
            ("5", "TV", 1299, 1000),
        ]
        .into_iter()
        .map(|(upc, name, price, weight)| Product {
            upc: upc.into(),
            name: name.into(),
            price,
            weight,
        })
        .collect()
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn top_products(&self, #[graphql(default = 5)] first: i32) -> Vec<Product> {
            products().into_iter().take(first.max(0) as usize).collect()
        }
        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
            products().into_iter().find(|p| p.upc == upc)
        }
    }
}

mod inventory {
    use super::*;

    pub struct Product {
        pub upc: String,
        pub price: Option<i32>,
        pub weight: Option<i32>,
    }

    #[Object]
    impl Product {
        async fn upc(&self) -> &str {
            &self.upc
        }
        // External: products resolves them; non-null like there, or
        // Apollo's composition refuses the pair.
        #[graphql(external)]
        async fn price(&self) -> i32 {
            self.price.unwrap_or_default()
        }
        #[graphql(external)]
        async fn weight(&self) -> i32 {
            self.weight.unwrap_or_default()
        }
        async fn in_stock(&self) -> bool {
            self.upc != "3"
        }
        #[graphql(requires = "price weight")]
        async fn shipping_estimate(&self) -> Option<i32> {
            let (price, weight) = (self.price?, self.weight?);
            Some(if price > 1000 { 0 } else { weight / 2 })
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        #[graphql(entity)]
        async fn find_product_by_upc(
            &self,
            #[graphql(key)] upc: String,
            price: Option<i32>,
            weight: Option<i32>,
        ) -> Product {
            Product { upc, price, weight }
        }
    }
}

mod reviews {
    use super::*;

    const BODY: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.";

    /// (review id, author id, product upc)
    const REVIEWS: [(&str, &str, &str); 6] = [
        ("1", "1", "1"),
        ("2", "1", "2"),
        ("3", "2", "3"),
        ("4", "2", "1"),
        ("5", "3", "4"),
        ("6", "3", "5"),
    ];

    pub struct Review(&'static str, &'static str, &'static str);

    #[Object]
    impl Review {
        async fn id(&self) -> ID {
            ID(self.0.into())
        }
        async fn body(&self) -> &str {
            BODY
        }
        async fn author(&self) -> User {
            User {
                id: ID(self.1.into()),
            }
        }
        async fn product(&self) -> Product {
            Product { upc: self.2.into() }
        }
    }

    pub struct User {
        pub id: ID,
    }

    #[Object]
    impl User {
        async fn id(&self) -> &ID {
            &self.id
        }
        async fn reviews(&self) -> Vec<Review> {
            REVIEWS
                .iter()
                .filter(|r| r.1 == self.id.as_str())
                .map(|r| Review(r.0, r.1, r.2))
                .collect()
        }
    }

    pub struct Product {
        pub upc: String,
    }

    #[Object]
    impl Product {
        async fn upc(&self) -> &str {
            &self.upc
        }
        async fn reviews(&self) -> Vec<Review> {
            REVIEWS
                .iter()
                .filter(|r| r.2 == self.upc)
                .map(|r| Review(r.0, r.1, r.2))
                .collect()
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> User {
            User { id }
        }
        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Product {
            Product { upc }
        }
    }
}

async fn serve<Q: async_graphql::ObjectType + 'static>(query: Q, port: u16) {
    let schema = Schema::build(query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let app = Router::new()
        .route(
            "/graphql",
            post_service(async_graphql_axum::GraphQL::new(schema)),
        )
        .route("/health/ready", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the benchmark ports are free");
    axum::serve(listener, app)
        .await
        .expect("serving never fails");
}

#[tokio::main]
async fn main() {
    let base: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(4001);
    tokio::join!(
        serve(accounts::Query, base),
        serve(inventory::Query, base + 1),
        serve(products::Query, base + 2),
        serve(reviews::Query, base + 3),
    );
}
