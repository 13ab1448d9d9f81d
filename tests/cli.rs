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

#[test]
fn events_replay_refuses_a_bad_age_and_the_in_process_bus() {
    let out = marquee(&["events", "replay", "--since", "3x"], &[], None);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`x` is not a unit"), "{stderr}");
    let out = marquee(&["events", "replay"], &[], None);
    let line = one_line_error(&out);
    assert!(line.contains("needs NATS"), "{line}");
}

#[tokio::test]
async fn events_replay_sends_dead_letters_back_to_their_consumer() {
    use kit::events::{dead_letter_subject, replay_subject, Bus, Event, NatsBus};
    let Ok(nats) = std::env::var("NATS_URL") else {
        assert!(
            !kit::testing::services_required(),
            "NATS_URL is required to run this test"
        );
        eprintln!("skipping: NATS_URL is not set");
        return;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let config = kit::config::BusConfig {
        subject_prefix: format!("replaycli{}", &tag[..12]),
        stream: format!("REPLAYCLI{}", &tag[..12]),
        max_age_hours: 1,
        ..Default::default()
    };
    let bus = NatsBus::connect(&nats.parse().unwrap(), &config)
        .await
        .unwrap();
    let prefix = config.subject_prefix.as_str();
    let failed = Event::new(prefix, "social.followed", None, serde_json::json!({"n": 1}));
    for consumer in ["c1", "c2"] {
        let mut letter = Event::new(
            prefix,
            &format!("deadletter.{consumer}"),
            None,
            serde_json::json!({ "event": failed, "error": "the database was away\nmore" }),
        );
        letter.subject = dead_letter_subject(prefix, consumer);
        bus.publish(&letter).await.unwrap();
    }
    let env = [
        ("NATS_URL", nats.as_str()),
        ("MARQUEE__BUS__SUBJECT_PREFIX", prefix),
        ("MARQUEE__BUS__STREAM", config.stream.as_str()),
    ];
    let since = chrono::Utc::now() - chrono::Duration::minutes(10);

    let out = marquee(
        &["events", "replay", "--dry-run", "--since", "1h"],
        &env,
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let sent = bus
        .replay(&format!("{prefix}.replay.>"), since, 10)
        .await
        .unwrap();
    assert!(sent.is_empty(), "a dry run sent {sent:?}");

    let out = marquee(&["events", "replay", "--consumer", "c1"], &env, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields[0], "c1");
    assert_eq!(fields[1], failed.id.to_string());
    assert_eq!(fields[2], "social.followed");
    assert_eq!(fields[4], "the database was away");
    let sent = bus
        .replay(&format!("{prefix}.replay.>"), since, 10)
        .await
        .unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].subject, replay_subject(prefix, "c1"));
    assert_eq!(sent[0].payload["event"]["id"], failed.id.to_string());
}
