//! Hot reload: polls the supergraph inputs' modification times and, when they
//! change, builds the new supergraph beside the old one and swaps it in. A
//! supergraph that fails to load is logged and refused; the old one serves on.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use crate::engine::Engine;
use crate::supergraph::{Supergraph, SupergraphSource};

/// What the watched files look like now: a change in any means reload.
fn fingerprint(files: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok();
            (
                f.clone(),
                meta.as_ref().and_then(|m| m.modified().ok()),
                meta.map(|m| m.len()).unwrap_or(0),
            )
        })
        .collect()
}

/// Watches `source` every `interval` until the engine is dropped.
pub fn watch(
    engine: Weak<Engine>,
    source: SupergraphSource,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = fingerprint(&source.watched_files());
        loop {
            tokio::time::sleep(interval).await;
            if engine.strong_count() == 0 {
                return;
            }
            // The watched set itself can change when supergraph.yaml does.
            let now = fingerprint(&source.watched_files());
            if now == seen {
                continue;
            }
            seen = now;
            let Some(engine) = engine.upgrade() else {
                return;
            };
            match Supergraph::load(&source).await {
                Ok(new) if new.hash() == engine.supergraph().hash() => {}
                Ok(new) => {
                    tracing::info!(
                        supergraph = %source.path().display(),
                        hash = new.hash(),
                        "supergraph reloaded"
                    );
                    metrics::counter!("marquee_router_supergraph_reloads_total").increment(1);
                    engine.swap(new);
                }
                Err(e) => {
                    tracing::error!(
                        supergraph = %source.path().display(),
                        error = %e,
                        "new supergraph refused; still serving the previous one"
                    );
                    metrics::counter!("marquee_router_supergraph_reload_failures_total")
                        .increment(1);
                }
            }
        }
    })
}
