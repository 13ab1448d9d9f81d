//! `marquee schema check` on a scratch copy of the schema: a clean tree
//! passes, removing a field that a persisted operation uses fails naming the
//! field and the operation, and acknowledging the change makes it pass; the
//! same for a non-null field across subgraphs (`NON_NULL_ACROSS_SUBGRAPHS`).

use std::path::Path;
use std::process::{Command, Output};

fn check(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_marquee"))
        .current_dir(dir)
        .args(["schema", "check", "--from-files", "--base", "base.graphql"])
        .args(["--operations", "persisted.json"])
        .env("MARQUEE__LOG__LEVEL", "off")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch copy of the schema, with the committed supergraph as the base.
fn scratch() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("schema")).unwrap();
    std::fs::copy(root.join("supergraph.yaml"), d.join("supergraph.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("schema")).unwrap() {
        let path = entry.unwrap().path();
        // The SDL files and the owners of entities; not the acknowledgements.
        if path.extension().is_some_and(|e| e == "graphql")
            || path.file_name().is_some_and(|n| n == "owners.yaml")
        {
            std::fs::copy(&path, d.join("schema").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        root.join("schema/supergraph.graphql"),
        d.join("base.graphql"),
    )
    .unwrap();
    std::fs::write(
        d.join("persisted.json"),
        r#"{ "movie-card": "query MovieCard($slug: String) { movie(slug: $slug) { title tagline } }" }"#,
    )
    .unwrap();
    dir
}

#[test]
fn removing_a_used_field_fails_until_acknowledged() {
    let dir = scratch();
    let d = dir.path();

    let clean = check(d);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "a clean tree passes:\n{}",
        text(&clean)
    );

    let path = d.join("schema/content.graphql");
    let sdl = std::fs::read_to_string(&path).unwrap();
    // Only `Movie.tagline`: the input type `MovieInput` keeps its own.
    let mut in_movie = false;
    let without: String = sdl
        .lines()
        .filter(|l| {
            if l.starts_with("type ") {
                in_movie = l.starts_with("type Movie ");
            }
            !(in_movie && l.trim() == "tagline: String")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, sdl, "the fixture has Movie.tagline");
    std::fs::write(&path, without).unwrap();
    let broken = check(d);
    let report = text(&broken);
    assert_eq!(broken.status.code(), Some(1), "{report}");
    assert!(
        report.contains("Movie.tagline"),
        "names the field:\n{report}"
    );
    assert!(
        report.contains("movie-card"),
        "names the operation:\n{report}"
    );

    std::fs::write(
        d.join("schema/acknowledged-changes.yaml"),
        "acknowledged:\n  - coordinate: Movie.tagline\n    change: FIELD_REMOVED\n    reason: taglines move to the media subgraph\n",
    )
    .unwrap();
    let acknowledged = check(d);
    assert_eq!(
        acknowledged.status.code(),
        Some(0),
        "{}",
        text(&acknowledged)
    );
}

#[test]
fn a_non_null_field_across_subgraphs_fails_until_acknowledged() {
    let dir = scratch();
    let d = dir.path();
    let path = d.join("schema/social.graphql");
    let sdl = std::fs::read_to_string(&path).unwrap();
    // Social's follower count on users' `User`, made non-null again.
    let stricter = sdl.replacen("\tfollowerCount: Int\n", "\tfollowerCount: Int!\n", 1);
    assert_ne!(stricter, sdl, "the fixture has User.followerCount");
    std::fs::write(&path, stricter).unwrap();
    let linted = check(d);
    let report = text(&linted);
    assert_eq!(linted.status.code(), Some(1), "{report}");
    assert!(
        report.contains("User.followerCount") && report.contains("NON_NULL_ACROSS_SUBGRAPHS"),
        "names the field and the lint:\n{report}"
    );

    std::fs::write(
        d.join("schema/acknowledged-changes.yaml"),
        "acknowledged:\n  - coordinate: User.followerCount\n    change: NON_NULL_ACROSS_SUBGRAPHS\n    reason: counted from users' own rows\n",
    )
    .unwrap();
    let acknowledged = check(d);
    assert_eq!(
        acknowledged.status.code(),
        Some(0),
        "{}",
        text(&acknowledged)
    );
}
