//! GraphQL over HTTP as the spec says: methods, media types, status codes;
//! introspection, GraphiQL, batching, health and metrics.

mod common;

use common::Stack;
use serde_json::{json, Value};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn get_serves_queries_and_refuses_mutations_with_405() {
    let stack = Stack::start().await;
    let r = stack
        .client()
        .get(stack.url("/graphql"))
        .header("graphql-preflight", "1")
        .query(&[
            ("query", "query Q($id: ID!) { movie(id: $id) { title } }"),
            ("variables", r#"{"id": "m1"}"#),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"data": {"movie": {"title": "Alien"}}})
    );
    let r = stack
        .client()
        .get(stack.url("/graphql"))
        .header("graphql-preflight", "1")
        .query(&[("query", "mutation { anything }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

#[tokio::test]
async fn graphql_response_media_type_answers_request_errors_with_400() {
    let stack = Stack::start().await;
    let send = |accept: &'static str, query: &'static str| {
        stack
            .client()
            .post(stack.url("/graphql"))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let r = send(GRAPHQL_RESPONSE, "{ movies { nope } }").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], GRAPHQL_RESPONSE);
    let r = send(GRAPHQL_RESPONSE, "{ movies { ").await.unwrap();
    assert_eq!(r.status(), 400);
    // Field errors are not request errors: the operation ran.
    let r = send(GRAPHQL_RESPONSE, "{ movies { title trivia } }")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The legacy media type answers every well-formed request with 200.
    let r = send("application/json", "{ movies { nope } }")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn malformed_bodies_and_media_types_are_rejected() {
    let stack = Stack::start().await;
    let r = stack
        .client()
        .post(stack.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = stack
        .client()
        .post(stack.url("/graphql"))
        .header("content-type", "text/plain")
        .body("{ movies { title } }")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = stack.post(json!([{ "query": "{ __typename }" }])).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn batched_requests_answer_in_order_when_enabled() {
    let stack = Stack::start_with(|c| c.router.batching = true).await;
    let r = stack
        .post(json!([
            { "query": "{ movie(id: \"m1\") { title } }" },
            { "query": "{ movie(id: \"m2\") { title } }" }
        ]))
        .await;
    assert_eq!(
        r,
        json!([
            {"data": {"movie": {"title": "Alien"}}},
            {"data": {"movie": {"title": "Heat"}}}
        ])
    );
}

#[tokio::test]
async fn introspection_is_served_by_the_router_without_federation_internals() {
    let stack = Stack::start().await;
    let r = stack
        .query("{ __schema { queryType { name } types { name } } }")
        .await;
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "Query");
    let names: Vec<&str> = r["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for present in [
        "Movie",
        "Review",
        "User",
        "Node",
        "SearchResult",
        "String",
        "__Type",
    ] {
        assert!(names.contains(&present), "{present} missing from {names:?}");
    }
    for hidden in [
        "join__Graph",
        "join__FieldSet",
        "link__Purpose",
        "_Any",
        "_Entity",
        "_Service",
    ] {
        assert!(!names.contains(&hidden), "{hidden} shown in {names:?}");
    }
    let r = stack
        .query(r#"{ __type(name: "Query") { fields { name } } }"#)
        .await;
    let fields: Vec<&str> = r["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"movies"));
    assert!(!fields.iter().any(|f| f.starts_with('_')), "{fields:?}");
    assert_eq!(stack.counts(), [0, 0, 0, 0]);
}

#[tokio::test]
async fn graphiqls_full_introspection_query_succeeds_and_mixes_with_data() {
    let stack = Stack::start().await;
    let r = stack.query(INTROSPECTION_QUERY).await;
    assert!(r.get("errors").is_none(), "{r}");
    let types = r["data"]["__schema"]["types"].as_array().unwrap();
    let movie = types.iter().find(|t| t["name"] == "Movie").unwrap();
    assert_eq!(movie["kind"], "OBJECT");
    assert_eq!(
        movie["interfaces"],
        json!([{"kind": "INTERFACE", "name": "Media", "ofType": null}, {"kind": "INTERFACE", "name": "Node", "ofType": null}])
    );
    let movies = r["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Query")
        .unwrap()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "movies")
        .unwrap()["type"]
        .clone();
    assert_eq!(
        movies,
        json!({"kind": "NON_NULL", "name": null, "ofType": {"kind": "LIST", "name": null, "ofType":
            {"kind": "NON_NULL", "name": null, "ofType": {"kind": "OBJECT", "name": "Movie", "ofType": null}}}})
    );
    let r = stack
        .query(r#"{ movie(id: "m1") { title } __type(name: "Node") { possibleTypes { name } } }"#)
        .await;
    assert_eq!(
        r,
        json!({"data": {"movie": {"title": "Alien"}, "__type": {"possibleTypes": [{"name": "Movie"}, {"name": "Person"}]}}})
    );
}

#[tokio::test]
async fn browsers_get_graphiql_with_assets_built_in() {
    let stack = Stack::start().await;
    let page = stack
        .client()
        .get(stack.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/graphiql/graphiql.min.js"));
    assert!(
        !html.contains("https://"),
        "the page must not need the internet"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        let r = stack
            .client()
            .get(stack.url(&format!("/graphiql/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert!(r.bytes().await.unwrap().len() > 1000, "{asset}");
    }
}

#[tokio::test]
async fn readiness_aggregates_every_subgraph() {
    let stack = Stack::start().await;
    let r = stack
        .client()
        .get(stack.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["checks"].as_array().unwrap().len(), 4);
    stack.users.stop();
    let r = stack
        .client()
        .get(stack.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let report: Value = r.json().await.unwrap();
    let users = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "users")
        .unwrap()
        .clone();
    assert_eq!(users["status"], "fail");
    let r = stack
        .client()
        .get(stack.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn client_headers_reach_the_subgraphs_and_plans_are_cached() {
    let stack = Stack::start().await;
    // Install the recorder before counting.
    stack
        .client()
        .get(stack.url("/metrics"))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let r = stack
            .client()
            .post(stack.url("/graphql"))
            .header("authorization", "Bearer abc")
            .header("x-request-id", "req-42")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .json(&json!({"query": "{ movies { title } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let headers = &stack.catalog.headers()[0];
    assert_eq!(headers["authorization"], "Bearer abc");
    assert_eq!(headers["x-request-id"], "req-42");
    let traceparent = headers["traceparent"].to_str().unwrap();
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    // The second, identical request was planned from the cache.
    let metrics = stack
        .client()
        .get(stack.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("marquee_router_plan_cache_hits_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("marquee_router_plan_cache_misses_total"),
        "{metrics}"
    );
}

const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}
"#;
