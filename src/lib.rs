//! Marquee as a library: the subgraphs this build contains and `start`, which
//! runs a set of them in one process. The `marquee` binary and the end-to-end
//! tests both start the system through it.

pub mod schema;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use kit::services::{launch, Running};
use kit::{Backends, Config, SubgraphSpec};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The subgraphs this build contains, in port order.
pub fn subgraphs() -> Vec<SubgraphSpec> {
    vec![
        users::spec(),
        content::spec(),
        social::spec(),
        moderation::spec(),
    ]
}

/// A subgraph by name, or an error listing the ones there are.
pub fn subgraph(name: &str) -> anyhow::Result<SubgraphSpec> {
    subgraphs()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<_> = subgraphs().iter().map(|s| s.name).collect();
            anyhow::anyhow!(
                "no subgraph named `{name}` (this build has: {})",
                names.join(", ")
            )
        })
}

/// Processes running in this process, stopped together.
pub struct Stack {
    pub config: Arc<Config>,
    pub backends: Backends,
    pub processes: Vec<Running>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Stack {
    /// Where process `name` listens.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.processes
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.addr)
    }

    /// `http://addr` of process `name`.
    pub fn url(&self, name: &str) -> Option<String> {
        self.addr(name).map(|a| format!("http://{a}"))
    }

    /// Resolves when the stack is told to stop.
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await
    }

    /// Stops accepting, drains requests, flushes outboxes and waits for
    /// background work to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for p in self.processes {
            let _ = p.server.await;
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Starts `specs` (seeding them when `seed`) on the backends `config` names.
/// On failure, whatever had started is stopped again.
pub async fn start(
    config: Arc<Config>,
    specs: &[SubgraphSpec],
    seed: bool,
) -> anyhow::Result<Stack> {
    let backends = Backends::connect(&config).await?;
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let mut stack = Stack {
        config: config.clone(),
        backends,
        processes: Vec::new(),
        shutdown,
        tasks,
    };
    for spec in specs {
        match launch(
            spec,
            config.clone(),
            &stack.backends,
            stack.shutdown.clone(),
            stack.tasks.clone(),
            seed,
        )
        .await
        {
            Ok(r) => stack.processes.push(r),
            Err(e) => {
                stack.stop().await;
                return Err(e);
            }
        }
    }
    Ok(stack)
}

impl Stack {
    /// Starts the router on its configured port in front of `source`.
    pub async fn start_router(
        &mut self,
        source: router::SupergraphSource,
    ) -> anyhow::Result<SocketAddr> {
        let addr = self
            .config
            .listen
            .addr_of("router")
            .context("listen: no router port")?;
        let listener = kit::server::bind("router", addr).await?;
        let app = router::app_with_events(
            self.config.clone(),
            source,
            &self.backends.cache,
            Some(self.backends.bus.clone()),
        )
        .await?;
        let grace = Duration::from_secs(self.config.shutdown_grace_secs);
        let stop = self.shutdown.child_token();
        let server = tokio::spawn(kit::server::serve(listener, app, stop.clone(), grace));
        self.processes.push(Running {
            name: "router",
            addr,
            server,
            stop,
        });
        Ok(addr)
    }

    /// Composes the subgraphs running in this stack (their SDL from code, their
    /// routing URLs from where they listen) into `<data_dir>/supergraph.graphql`
    /// and starts the router on it.
    pub async fn start_router_over_self(
        &mut self,
        specs: &[SubgraphSpec],
    ) -> anyhow::Result<SocketAddr> {
        let subgraphs: Vec<router::SubgraphSdl> = specs
            .iter()
            .filter_map(|spec| {
                let addr = self.addr(spec.name)?;
                Some(router::SubgraphSdl {
                    name: spec.name.to_string(),
                    routing_url: format!("http://{addr}/graphql"),
                    sdl: (spec.sdl)(),
                })
            })
            .collect();
        let sdl = router::compose(&subgraphs)?;
        std::fs::create_dir_all(&self.config.data_dir)?;
        let path: PathBuf = self.config.data_dir.join("supergraph.graphql");
        std::fs::write(&path, sdl).with_context(|| format!("cannot write {}", path.display()))?;
        self.start_router(router::SupergraphSource::Composed(path))
            .await
    }
}
