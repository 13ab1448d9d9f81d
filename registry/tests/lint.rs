//! `NON_NULL_ACROSS_SUBGRAPHS` over real SDL: the subgraphs as they were
//! before every cross-subgraph field became nullable (a copy under
//! `fixtures/before-nullable`) give the findings below; the committed schema
//! gives none.

use std::collections::BTreeMap;
use std::path::Path;

use registry::lint::non_null_across_subgraphs;
use registry::SubgraphSdl;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn owners() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("schema/owners.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn subgraphs(dir: &Path, names: &[&str]) -> Vec<SubgraphSdl> {
    names
        .iter()
        .map(|name| SubgraphSdl {
            name: name.to_string(),
            sdl: std::fs::read_to_string(dir.join(format!("{name}.graphql"))).unwrap(),
        })
        .collect()
}

/// The subgraphs `supergraph.yaml` composes, in its order.
fn composed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("supergraph.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc["subgraphs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_old_schema_has_non_null_fields_across_subgraphs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/before-nullable");
    let subs = subgraphs(&dir, &["users", "content", "social"]);
    let found = non_null_across_subgraphs(&subs, &owners()).unwrap();
    let by_coordinate: BTreeMap<&str, (&str, &str)> = found
        .iter()
        .map(|f| (f.coordinate.as_str(), (f.subgraph.as_str(), f.ty.as_str())))
        .collect();
    // What the issue saw blank whole pages: social's fields on content's and
    // users' entities, and social's references to users' accounts.
    for (coordinate, subgraph, ty) in [
        ("Movie.reviews", "social", "ReviewConnection!"),
        ("Movie.inWatchlist", "social", "Boolean!"),
        ("Movie.ratingHistogram", "social", "[RatingBucket!]!"),
        ("Series.reviews", "social", "ReviewConnection!"),
        ("User.followerCount", "social", "Int!"),
        ("User.followedByMe", "social", "Boolean!"),
        ("Post.author", "social", "User!"),
        ("Review.author", "social", "User!"),
        ("Rating.user", "social", "User!"),
        ("FollowNode.user", "social", "User!"),
        ("ChatMessage.author", "social", "User!"),
        ("ChatRoom.members", "social", "[User!]!"),
        ("Notification.actor", "social", "User!"),
        ("Mutation.follow", "social", "User!"),
    ] {
        assert_eq!(
            by_coordinate.get(coordinate),
            Some(&(subgraph, ty)),
            "{coordinate} is found: {found:#?}"
        );
    }
    // Nullable already, or the subgraph's own: not findings.
    for coordinate in [
        "Movie.myRating",
        "User.followers",
        "Query.me",
        "Movie.title",
    ] {
        assert!(!by_coordinate.contains_key(coordinate), "{coordinate}");
    }
    // Every finding is a field of one of those subgraphs that is non-null.
    assert!(found.iter().all(|f| f.ty.ends_with('!')), "{found:#?}");
}

#[test]
fn the_committed_schema_has_none() {
    let names = composed();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let subs = subgraphs(&root().join("schema"), &names);
    let found = non_null_across_subgraphs(&subs, &owners()).unwrap();
    assert!(found.is_empty(), "{found:#?}");
}
