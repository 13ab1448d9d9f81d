//! `marquee schema export | compose | check`: each subgraph's SDL from code,
//! the supergraph composed by the router's composer from `supergraph.yaml`, and
//! the registry checks over both.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Writes each subgraph's SDL, exported from code, to `<dir>/<name>.graphql`.
pub fn export(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for spec in crate::subgraphs() {
        let path = dir.join(format!("{}.graphql", spec.name));
        std::fs::write(&path, (spec.sdl)())
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Composes what `config` (a rover `supergraph.yaml`) lists into `out`.
pub async fn compose(config: &Path, out: &Path) -> anyhow::Result<()> {
    let parsed = router::SupergraphConfig::read(config)?;
    let base = config.parent().unwrap_or(Path::new("."));
    let subgraphs = parsed.load(base).await?;
    let sdl = router::compose(&subgraphs)?;
    std::fs::write(out, sdl).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

pub struct CheckOptions {
    /// The rover config that says what is composed.
    pub config: PathBuf,
    /// Holds the committed SDL files and `acknowledged-changes.yaml`.
    pub schema_dir: PathBuf,
    pub base: registry::Base,
    /// Extra operation files or directories (recorded client traffic).
    pub operations: Vec<PathBuf>,
    /// Check the SDL files in `schema_dir` instead of exporting from code (as
    /// `rover subgraph check --schema` does); drift is then not checked.
    pub from_files: bool,
}

/// Where the router keeps operations clients depend on.
const KNOWN_OPERATION_DIRS: [&str; 2] = ["router/rest", "router/persisted"];

pub fn check(options: &CheckOptions) -> anyhow::Result<registry::Report> {
    let parsed = router::SupergraphConfig::read(&options.config)?;
    let specs = crate::subgraphs();
    let mut subgraphs = Vec::new();
    for name in parsed.subgraphs.keys() {
        let from_code = specs
            .iter()
            .find(|s| s.name == name)
            .filter(|_| !options.from_files);
        let sdl = match from_code {
            Some(spec) => (spec.sdl)(),
            None => {
                let path = options.schema_dir.join(format!("{name}.graphql"));
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?
            }
        };
        subgraphs.push(registry::SubgraphSdl {
            name: name.clone(),
            sdl,
        });
    }
    let routing: std::collections::BTreeMap<String, String> = parsed
        .subgraphs
        .iter()
        .map(|(n, s)| (n.clone(), s.routing_url.clone()))
        .collect();
    let composer = |subs: &[registry::SubgraphSdl]| -> Result<String, Vec<String>> {
        let input: Vec<router::SubgraphSdl> = subs
            .iter()
            .map(|s| router::SubgraphSdl {
                name: s.name.clone(),
                routing_url: routing.get(&s.name).cloned().unwrap_or_default(),
                sdl: s.sdl.clone(),
            })
            .collect();
        router::compose(&input).map_err(|e| match e {
            router::CompositionError::Compose(errors) => errors,
            other => vec![other.to_string()],
        })
    };
    let mut operations: Vec<PathBuf> = KNOWN_OPERATION_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    operations.extend(options.operations.iter().cloned());
    let inputs = registry::Inputs {
        subgraphs,
        schema_dir: options.schema_dir.clone(),
        base: options.base.clone(),
        operations,
    };
    let mut report = registry::check(&inputs, &composer);
    if options.from_files {
        // Files checked as given cannot drift from themselves; only the
        // supergraph could, and it is recomposed from them.
        report
            .drift
            .retain(|d| !d.file.ends_with("supergraph.graphql"));
    }
    Ok(report)
}
