//! Four small in-process subgraphs (async-graphql, Federation v2) on free
//! ports, and a router in front of them. Each subgraph counts the requests it
//! gets and keeps their bodies, so tests can assert one call per fetch step.
//!
//! - catalog: owns `Movie` (`@key(id)` and `@key(slug)`), `Person`, interface
//!   `Node`, union `SearchResult`; `Movie.title` is `@shareable`,
//!   `Movie.internalCode` `@inaccessible`.
//! - reviews: owns `Review`; adds `Movie.reviews`, `Movie.era @requires(year)`,
//!   `Review.author @provides(name)`, and a `User.nickname` users overrides.
//! - users: owns `User`; `User.nickname @override(from: "reviews")`.
//! - inventory: `Movie @key(slug)` with `inStock` and a shareable `title`;
//!   `Media @interfaceObject` (catalog's interface `Media @key(id)`) with `popularity`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::{EmptyMutation, EmptySubscription, SDLExportOptions, Schema};
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::routing::{get, post_service};
use axum::Router;

pub mod catalog {
    use async_graphql::{Interface, Object, Union, ID};

    #[derive(Clone)]
    pub struct Movie {
        pub id: &'static str,
        pub slug: &'static str,
        pub title: &'static str,
        pub year: i32,
    }

    pub const MOVIES: [Movie; 3] = [
        Movie {
            id: "m1",
            slug: "alien",
            title: "Alien",
            year: 1979,
        },
        Movie {
            id: "m2",
            slug: "heat",
            title: "Heat",
            year: 1995,
        },
        Movie {
            id: "m3",
            slug: "arrival",
            title: "Arrival",
            year: 2016,
        },
    ];

    #[Object]
    impl Movie {
        async fn id(&self) -> ID {
            ID(self.id.into())
        }
        async fn slug(&self) -> &str {
            self.slug
        }
        #[graphql(shareable)]
        async fn title(&self) -> String {
            self.title.to_string()
        }
        async fn year(&self) -> i32 {
            self.year
        }
        #[graphql(inaccessible)]
        async fn internal_code(&self) -> String {
            format!("INT-{}", self.id)
        }
        async fn director(&self) -> Person {
            Person {
                id: "p1",
                name: "Ridley Scott",
            }
        }
    }

    #[derive(Clone)]
    pub struct Person {
        pub id: &'static str,
        pub name: &'static str,
    }

    #[Object]
    impl Person {
        async fn id(&self) -> ID {
            ID(self.id.into())
        }
        async fn name(&self) -> &str {
            self.name
        }
    }

    #[derive(Interface)]
    #[graphql(field(name = "id", ty = "ID"))]
    pub enum Node {
        Movie(Movie),
        Person(Person),
    }

    /// An entity interface: inventory extends it as an `@interfaceObject`.
    #[derive(Interface)]
    #[graphql(field(name = "id", ty = "ID"), field(name = "title", ty = "String"))]
    pub enum Media {
        Movie(Movie),
    }

    #[derive(Union)]
    pub enum SearchResult {
        Movie(Movie),
        Person(Person),
    }

    /// An entity whose key may be null (e2: a draft without an isbn).
    #[derive(async_graphql::SimpleObject, Clone)]
    pub struct Edition {
        pub isbn: Option<String>,
        pub format: String,
    }

    pub fn editions() -> Vec<Edition> {
        [
            (Some("i1"), "hardcover"),
            (None, "draft"),
            (Some("i2"), "paperback"),
        ]
        .map(|(isbn, format)| Edition {
            isbn: isbn.map(str::to_string),
            format: format.into(),
        })
        .to_vec()
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn movies(&self) -> Vec<Movie> {
            MOVIES.to_vec()
        }
        /// A nullable list (`[Movie!]`), for null propagation into lists.
        async fn maybe_movies(&self) -> Option<Vec<Movie>> {
            Some(MOVIES.to_vec())
        }
        async fn movie(&self, id: ID) -> Option<Movie> {
            MOVIES.iter().find(|m| m.id == id.as_str()).cloned()
        }
        async fn node(&self, id: ID) -> Option<Node> {
            if id.as_str() == "p1" {
                return Some(Node::Person(Person {
                    id: "p1",
                    name: "Ridley Scott",
                }));
            }
            MOVIES
                .iter()
                .find(|m| m.id == id.as_str())
                .cloned()
                .map(Node::Movie)
        }
        async fn search(&self, term: String) -> Vec<SearchResult> {
            let mut out: Vec<SearchResult> = MOVIES
                .iter()
                .filter(|m| m.title.to_lowercase().contains(&term.to_lowercase()))
                .cloned()
                .map(SearchResult::Movie)
                .collect();
            if "ridley scott".contains(&term.to_lowercase()) {
                out.push(SearchResult::Person(Person {
                    id: "p1",
                    name: "Ridley Scott",
                }));
            }
            out
        }
        #[graphql(entity)]
        async fn find_movie_by_id(&self, id: ID) -> Option<Movie> {
            MOVIES.iter().find(|m| m.id == id.as_str()).cloned()
        }
        #[graphql(entity)]
        async fn find_movie_by_slug(&self, slug: String) -> Option<Movie> {
            MOVIES.iter().find(|m| m.slug == slug).cloned()
        }
        #[graphql(entity)]
        async fn find_media_by_id(&self, id: ID) -> Option<Media> {
            MOVIES
                .iter()
                .find(|m| m.id == id.as_str())
                .cloned()
                .map(Media::Movie)
        }
        async fn editions(&self) -> Vec<Edition> {
            editions()
        }
        #[graphql(entity)]
        async fn find_edition_by_isbn(&self, isbn: String) -> Option<Edition> {
            editions()
                .into_iter()
                .find(|e| e.isbn.as_deref() == Some(isbn.as_str()))
        }
        #[graphql(entity)]
        async fn find_person_by_id(&self, id: ID) -> Option<Person> {
            (id.as_str() == "p1").then_some(Person {
                id: "p1",
                name: "Ridley Scott",
            })
        }
    }
}

pub mod reviews {
    use async_graphql::{Error, ErrorExtensions, Object, ID};

    pub struct Review {
        pub id: &'static str,
        pub movie: &'static str,
        pub author: &'static str,
        pub body: &'static str,
    }

    pub const REVIEWS: [Review; 3] = [
        Review {
            id: "r1",
            movie: "m1",
            author: "u1",
            body: "Terrifying.",
        },
        Review {
            id: "r2",
            movie: "m1",
            author: "u2",
            body: "A classic.",
        },
        Review {
            id: "r3",
            movie: "m2",
            author: "u1",
            body: "That diner scene.",
        },
    ];

    fn name_of(user: &str) -> &'static str {
        match user {
            "u1" => "Ann",
            _ => "Bob",
        }
    }

    pub struct Movie {
        pub id: ID,
        pub year: Option<i32>,
    }

    #[Object]
    impl Movie {
        async fn id(&self) -> &ID {
            &self.id
        }
        #[graphql(external)]
        async fn year(&self) -> Option<i32> {
            self.year
        }
        async fn reviews(&self) -> Vec<ReviewObject> {
            REVIEWS
                .iter()
                .filter(|r| r.movie == self.id.as_str())
                .map(|r| ReviewObject(r.id))
                .collect()
        }
        /// Needs the movie's year, which catalog owns.
        #[graphql(requires = "year")]
        async fn era(&self) -> String {
            match self.year {
                Some(y) if y < 1990 => "classic".into(),
                Some(_) => "modern".into(),
                None => "unknown (year not provided)".into(),
            }
        }
        /// Ratings given through `rateMovie` (to every movie: the count is global).
        async fn rating_count(&self, ctx: &async_graphql::Context<'_>) -> i32 {
            ctx.data_unchecked::<Ratings>()
                .0
                .load(std::sync::atomic::Ordering::SeqCst) as i32
        }
        /// Fails for m2: a non-null field whose error nulls its parent.
        async fn box_office(&self) -> Result<i32, Error> {
            if self.id.as_str() == "m2" {
                return Err(Error::new("box office data is missing")
                    .extend_with(|_, e| e.set("code", "NOT_FOUND")));
            }
            Ok(100)
        }
        /// Fails for m1, nullable: the error stays on the field.
        async fn trivia(&self) -> Result<Option<String>, Error> {
            if self.id.as_str() == "m1" {
                return Err(Error::new("trivia is unavailable")
                    .extend_with(|_, e| e.set("code", "SERVICE_UNAVAILABLE")));
            }
            Ok(Some(format!("trivia about {}", self.id.as_str())))
        }
    }

    #[derive(Default)]
    pub struct Ratings(pub std::sync::atomic::AtomicUsize);

    pub struct Mutation;

    #[Object]
    impl Mutation {
        /// Counts a rating and answers the movie, whose other fields live in catalog.
        async fn rate_movie(&self, ctx: &async_graphql::Context<'_>, id: ID, stars: i32) -> Movie {
            let _ = stars;
            ctx.data_unchecked::<Ratings>()
                .0
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Movie { id, year: None }
        }
    }

    pub struct ReviewObject(pub &'static str);

    impl ReviewObject {
        fn review(&self) -> &'static Review {
            REVIEWS
                .iter()
                .find(|r| r.id == self.0)
                .expect("review ids come from REVIEWS")
        }
    }

    #[Object(name = "Review")]
    impl ReviewObject {
        async fn id(&self) -> ID {
            ID(self.0.into())
        }
        async fn body(&self) -> &str {
            self.review().body
        }
        #[graphql(provides = "name")]
        async fn author(&self) -> User {
            let id = self.review().author;
            User {
                id: ID(id.into()),
                name: Some(name_of(id)),
            }
        }
        async fn movie(&self) -> Movie {
            Movie {
                id: ID(self.review().movie.into()),
                year: None,
            }
        }
    }

    pub struct User {
        pub id: ID,
        pub name: Option<&'static str>,
    }

    #[Object]
    impl User {
        async fn id(&self) -> &ID {
            &self.id
        }
        #[graphql(external)]
        async fn name(&self) -> Option<&str> {
            self.name
        }
        /// Overridden by users: the router must never ask reviews for it.
        #[graphql(shareable)]
        async fn nickname(&self) -> String {
            "from-reviews".into()
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn latest_review(&self) -> ReviewObject {
            ReviewObject("r3")
        }
        #[graphql(entity)]
        async fn find_movie(&self, #[graphql(key)] id: ID, year: Option<i32>) -> Movie {
            Movie { id, year }
        }
        #[graphql(entity)]
        async fn find_user(&self, #[graphql(key)] id: ID) -> User {
            User { id, name: None }
        }
        /// Strict, as a typed subgraph is: a null `isbn` fails the whole
        /// `_entities` call.
        #[graphql(entity)]
        async fn find_edition(&self, #[graphql(key)] isbn: String) -> EditionRating {
            EditionRating { isbn }
        }
    }

    pub struct EditionRating {
        pub isbn: String,
    }

    #[Object(name = "Edition")]
    impl EditionRating {
        async fn isbn(&self) -> &str {
            &self.isbn
        }
        async fn rating(&self) -> Option<i32> {
            Some(if self.isbn == "i1" { 5 } else { 3 })
        }
    }
}

pub mod users {
    use async_graphql::{Object, ID};

    pub struct User {
        pub id: ID,
    }

    #[Object]
    impl User {
        async fn id(&self) -> &ID {
            &self.id
        }
        #[graphql(shareable)]
        async fn name(&self) -> &str {
            match self.id.as_str() {
                "u1" => "Ann",
                _ => "Bob",
            }
        }
        async fn email(&self) -> String {
            format!("{}@example.com", self.id.as_str())
        }
        #[graphql(shareable, override_from = "reviews")]
        async fn nickname(&self) -> String {
            format!("nick-{}", self.id.as_str())
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn me(&self) -> User {
            User {
                id: ID("u1".into()),
            }
        }
        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> User {
            User { id }
        }
    }
}

pub mod inventory {
    use async_graphql::{Object, SimpleObject, ID};

    /// Catalog's `Media` interface, seen from here without its implementations.
    #[derive(SimpleObject)]
    #[graphql(interface_object)]
    pub struct Media {
        pub id: ID,
        pub popularity: i32,
    }

    fn popularity(id: &str) -> i32 {
        match id {
            "m1" => 80,
            "m2" => 60,
            _ => 95,
        }
    }

    pub struct Movie {
        pub slug: String,
    }

    #[Object]
    impl Movie {
        async fn slug(&self) -> &str {
            &self.slug
        }
        async fn in_stock(&self) -> Option<bool> {
            Some(self.slug != "heat")
        }
        #[graphql(shareable)]
        async fn title(&self) -> String {
            match self.slug.as_str() {
                "alien" => "Alien",
                "heat" => "Heat",
                _ => "Arrival",
            }
            .into()
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn restock_count(&self) -> i32 {
            3
        }
        async fn top_media(&self) -> Vec<Media> {
            ["m3", "m1"]
                .into_iter()
                .map(|id| Media {
                    id: ID(id.into()),
                    popularity: popularity(id),
                })
                .collect()
        }
        #[graphql(entity)]
        async fn find_media_by_id(&self, id: ID) -> Media {
            let popularity = popularity(id.as_str());
            Media { id, popularity }
        }
        #[graphql(entity)]
        async fn find_movie_by_slug(&self, slug: String) -> Movie {
            Movie { slug }
        }
    }
}

/// A running test subgraph.
pub struct TestSubgraph {
    pub name: &'static str,
    pub sdl: String,
    pub addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    headers: Arc<Mutex<Vec<http::HeaderMap>>>,
    app: Router,
    task: Mutex<tokio::task::JoinHandle<()>>,
}

impl TestSubgraph {
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }
    /// GraphQL requests received so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
    /// Headers of each GraphQL request received.
    pub fn headers(&self) -> Vec<http::HeaderMap> {
        self.headers.lock().unwrap().clone()
    }
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        self.bodies.lock().unwrap().clear();
    }
    pub fn stop(&self) {
        self.task.lock().unwrap().abort();
    }
    /// Serves again on the same address after `stop`.
    pub async fn restart(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let app = self.app.clone();
        *self.task.lock().unwrap() = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
    }
}

async fn start<Q>(name: &'static str, query: Q) -> TestSubgraph
where
    Q: async_graphql::ObjectType + 'static,
{
    start_with_mutation(name, query, EmptyMutation).await
}

async fn start_with_mutation<Q, M>(name: &'static str, query: Q, mutation: M) -> TestSubgraph
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
{
    let schema = Schema::build(query, mutation, EmptySubscription)
        .data(reviews::Ratings::default())
        .enable_federation()
        .finish();
    let sdl = schema.sdl_with_options(SDLExportOptions::new().federation().compose_directive());
    let calls = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let headers = Arc::new(Mutex::new(Vec::new()));
    let (c, b, h) = (calls.clone(), bodies.clone(), headers.clone());
    let app = Router::new()
        .route(
            "/graphql",
            post_service(async_graphql_axum::GraphQL::new(schema)),
        )
        .route("/health/ready", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let (c, b, h) = (c.clone(), b.clone(), h.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                    if parts.uri.path() == "/graphql" {
                        c.fetch_add(1, Ordering::SeqCst);
                        h.lock().unwrap().push(parts.headers.clone());
                        if let Ok(v) = serde_json::from_slice(&bytes) {
                            b.lock().unwrap().push(v);
                        }
                    }
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
            },
        ));
    let port = kit::testing::free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let served = app.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, served).await.unwrap();
    });
    TestSubgraph {
        name,
        sdl,
        addr,
        calls,
        bodies,
        headers,
        app,
        task: Mutex::new(task),
    }
}

/// The four subgraphs and a router over them.
pub struct Stack {
    pub catalog: TestSubgraph,
    pub reviews: TestSubgraph,
    pub users: TestSubgraph,
    pub inventory: TestSubgraph,
    pub router: SocketAddr,
    pub engine: Arc<router::Engine>,
    pub dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the stack; `adjust` may change the router config first.
    pub async fn start_with(adjust: impl FnOnce(&mut kit::Config)) -> Self {
        Self::start_with_policies(adjust, |_| {}).await
    }

    /// Starts the stack; `policies` may change the HTTP policies built from the config.
    pub async fn start_with_policies(
        adjust: impl FnOnce(&mut kit::Config),
        policies_of: impl FnOnce(&mut router::Policies),
    ) -> Self {
        let catalog = start("catalog", catalog::Query).await;
        let reviews = start_with_mutation("reviews", reviews::Query, reviews::Mutation).await;
        let users = start("users", users::Query).await;
        let inventory = start("inventory", inventory::Query).await;
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = String::from("federation_version: =2.3.2\nsubgraphs:\n");
        for s in [&catalog, &reviews, &users, &inventory] {
            std::fs::write(dir.path().join(format!("{}.graphql", s.name)), &s.sdl).unwrap();
            yaml.push_str(&format!(
                "  {name}:\n    routing_url: {url}\n    schema:\n      file: ./{name}.graphql\n",
                name = s.name,
                url = s.url()
            ));
        }
        let config_path = dir.path().join("supergraph.yaml");
        std::fs::write(&config_path, yaml).unwrap();
        let mut config = kit::Config::default();
        config.router.reload_interval_secs = 0;
        adjust(&mut config);
        let source = router::SupergraphSource::from_path(&config_path);
        let engine = router::engine(&config, &source).await.unwrap();
        let cache = kit::cache::Cache::in_process(10_000, "t");
        let mut policies = router::Policies::from_config(&config, &cache).unwrap();
        // The engine's suites send no real tokens; the policy suites do.
        policies.verifier = None;
        policies_of(&mut policies);
        let app = router::routes(engine.clone(), policies);
        let port = kit::testing::free_port();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            catalog,
            reviews,
            users,
            inventory,
            router: addr,
            engine,
            dir,
            client: reqwest::Client::new(),
        }
    }

    pub fn subgraphs(&self) -> [&TestSubgraph; 4] {
        [&self.catalog, &self.reviews, &self.users, &self.inventory]
    }

    pub fn reset_counts(&self) {
        self.subgraphs().iter().for_each(|s| s.reset());
    }

    /// (catalog, reviews, users, inventory) request counts.
    pub fn counts(&self) -> [usize; 4] {
        self.subgraphs().map(|s| s.calls())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.router, path)
    }

    /// POSTs `body` to `/graphql` and returns the JSON answer.
    pub async fn post(&self, body: serde_json::Value) -> serde_json::Value {
        self.client
            .post(self.url("/graphql"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn query(&self, query: &str) -> serde_json::Value {
        self.post(serde_json::json!({ "query": query })).await
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}
