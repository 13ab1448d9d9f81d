//! The binary refuses bad configuration with one line that names the problem,
//! and never panics doing so.

use std::process::{Command, Output};

fn marquee(args: &[&str], env: &[(&str, &str)], config: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_marquee"));
    cmd.current_dir(dir.path())
        .args(args)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("NATS_URL")
        .env_remove("ELASTICSEARCH_URL")
        .env("MARQUEE__LOG__LEVEL", "off");
    if let Some(yaml) = config {
        std::fs::write(dir.path().join("marquee.yaml"), yaml).unwrap();
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "exited 0");
    assert_ne!(
        out.status.code(),
        Some(101),
        "panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        stderr.lines().count(),
        1,
        "expected one line, got:\n{stderr}"
    );
    assert!(stderr.starts_with("marquee: "), "{stderr}");
    stderr
}

#[test]
fn unknown_config_key_is_named() {
    let out = marquee(&["migrate"], &[], Some("database:\n  max_conections: 3\n"));
    let line = one_line_error(&out);
    assert!(
        line.contains("database") && line.contains("max_conections"),
        "{line}"
    );
}

#[test]
fn malformed_url_from_the_environment_is_named() {
    let out = marquee(&["dev"], &[("REDIS_URL", "not a url")], None);
    let line = one_line_error(&out);
    assert!(line.contains("cache.url"), "{line}");
}

#[test]
fn unreachable_redis_is_named() {
    let out = marquee(&["dev"], &[("REDIS_URL", "redis://127.0.0.1:1")], None);
    let line = one_line_error(&out);
    assert!(
        line.contains("Redis") && line.contains("127.0.0.1:1"),
        "{line}"
    );
}

#[test]
fn unreachable_nats_is_named() {
    let out = marquee(&["dev"], &[("NATS_URL", "nats://127.0.0.1:1")], None);
    let line = one_line_error(&out);
    assert!(
        line.contains("NATS") && line.contains("127.0.0.1:1"),
        "{line}"
    );
}

#[test]
fn unknown_subgraph_is_named() {
    let out = marquee(&["subgraph", "nope"], &[], None);
    let line = one_line_error(&out);
    assert!(line.contains("nope"), "{line}");
}

#[test]
fn search_reindex_rebuilds_the_index_from_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_marquee"));
        cmd.current_dir(dir.path())
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("NATS_URL")
            .env_remove("ELASTICSEARCH_URL")
            .env("MARQUEE__LOG__LEVEL", "off");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    for step in [&["migrate"][..], &["seed"][..]] {
        let out = run(step, &[]);
        assert!(out.status.success(), "{step:?}: {out:?}");
    }
    let index = data.join("search").join("content");
    std::fs::remove_dir_all(&index).unwrap();
    let out = run(&["search", "reindex"], &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let n: usize = stdout
        .trim()
        .strip_prefix("content: ")
        .and_then(|s| s.strip_suffix(" titles indexed"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(n >= 350, "{stdout}");
    // Not a terminal: progress comes as plain lines on stderr.
    assert!(
        stderr.contains(&format!("search reindex: {n}/{n} titles")),
        "{stderr}"
    );
    assert!(index.join("v1").join("meta.json").exists());

    let out = run(
        &["search", "reindex"],
        &[("ELASTICSEARCH_URL", "http://127.0.0.1:1/")],
    );
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("marquee: search index: elasticsearch"),
        "{stderr}"
    );
}
