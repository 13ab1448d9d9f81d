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
