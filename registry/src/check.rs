//! `marquee schema check`: drift between code and the committed SDL,
//! composition, change classification against a base supergraph, known
//! operations, acknowledgements; one report, readable or JSON, and an exit code
//! (0 ok, 1 breaking or out of date, 2 could not check).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use apollo_compiler::Schema;
use serde::{Deserialize, Serialize};

use crate::classify::{classify, Change, ChangeKind, Severity};
use crate::lint::{self, Finding};
use crate::model::{ApiSchema, Kind};
use crate::operations::{self, KnownOperation, OperationReport};

/// A subgraph's SDL as exported from code.
#[derive(Debug, Clone)]
pub struct SubgraphSdl {
    pub name: String,
    pub sdl: String,
}

/// Where the previous supergraph comes from.
#[derive(Debug, Clone)]
pub enum Base {
    /// The merge base with `main`, or the previous commit when on `main`.
    Auto,
    /// A git revision.
    Rev(String),
    /// A supergraph file.
    File(PathBuf),
}

pub struct Inputs {
    pub subgraphs: Vec<SubgraphSdl>,
    /// Holds `<name>.graphql`, `supergraph.graphql`, `acknowledged-changes.yaml`
    /// and `owners.yaml` (the owner of each entity several subgraphs resolve).
    pub schema_dir: PathBuf,
    pub base: Base,
    /// `.graphql` files, directories of them, and persisted-operation manifests.
    pub operations: Vec<PathBuf>,
}

/// `schema/acknowledged-changes.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgements {
    #[serde(default)]
    pub acknowledged: Vec<Acknowledged>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledged {
    /// e.g. `Movie.rating`.
    pub coordinate: String,
    /// e.g. `FIELD_REMOVED`.
    pub change: ChangeKind,
    /// Why breaking clients is acceptable.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub file: String,
    pub diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportedChange {
    #[serde(flatten)]
    pub change: Change,
    /// Known operations that touch the coordinate.
    pub used_by: Vec<String>,
    /// The acknowledgement's reason, when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

/// A lint finding and its acknowledgement, when listed.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedLint {
    /// `NON_NULL_ACROSS_SUBGRAPHS`.
    pub lint: ChangeKind,
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub base: String,
    pub drift: Vec<Drift>,
    pub errors: Vec<String>,
    /// Lint findings on the subgraphs' SDL (blocking unless acknowledged).
    pub lints: Vec<ReportedLint>,
    pub changes: Vec<ReportedChange>,
    pub operations_checked: usize,
    pub broken_operations: Vec<OperationReport>,
}

impl Report {
    /// Breaking changes that block: unacknowledged and used by a known
    /// operation (or with no known operations to judge by).
    pub fn blocking(&self) -> impl Iterator<Item = &ReportedChange> {
        let judge_by_use = self.operations_checked > 0;
        self.changes.iter().filter(move |c| {
            c.change.severity == Severity::Breaking
                && c.acknowledged.is_none()
                && (!judge_by_use || !c.used_by.is_empty())
        })
    }

    /// Whether `source` breaks only through acknowledged changes: some
    /// acknowledged breaking change touches it and no unacknowledged one does.
    pub fn broken_by_acknowledged_changes(&self, source: &str) -> bool {
        let touching = || {
            self.changes.iter().filter(move |c| {
                c.change.severity == Severity::Breaking && c.used_by.iter().any(|u| u == source)
            })
        };
        touching().any(|c| c.acknowledged.is_some()) && touching().all(|c| c.acknowledged.is_some())
    }

    /// Known operations that no longer validate, apart from those broken only
    /// by acknowledged changes.
    pub fn blocking_operations(&self) -> impl Iterator<Item = &OperationReport> {
        self.broken_operations
            .iter()
            .filter(|op| !self.broken_by_acknowledged_changes(&op.source))
    }

    /// Lint findings without an acknowledgement.
    pub fn blocking_lints(&self) -> impl Iterator<Item = &ReportedLint> {
        self.lints.iter().filter(|l| l.acknowledged.is_none())
    }

    pub fn exit_code(&self) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if !self.drift.is_empty()
            || self.blocking_lints().next().is_some()
            || self.blocking_operations().next().is_some()
            || self.blocking().next().is_some()
        {
            1
        } else {
            0
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "schema check against {}", self.base);
        for e in &self.errors {
            let _ = writeln!(out, "\nERROR {e}");
        }
        for d in &self.drift {
            let _ = writeln!(
                out,
                "\nOUT OF DATE {} (run `marquee schema export` and `marquee schema compose`):\n{}",
                d.file, d.diff
            );
        }
        if !self.lints.is_empty() {
            let _ = writeln!(out, "\nLints ({}):", self.lints.len());
            for l in &self.lints {
                let mut line = format!(
                    "  {:<40} NON_NULL_ACROSS_SUBGRAPHS {}: {} ({})",
                    l.finding.coordinate, l.finding.ty, l.finding.message, l.finding.subgraph
                );
                if let Some(reason) = &l.acknowledged {
                    let _ = write!(line, " [acknowledged: {reason}]");
                }
                let _ = writeln!(out, "{line}");
            }
        }
        let blocking: BTreeSet<(String, String)> = self
            .blocking()
            .map(|c| (c.change.coordinate.clone(), format!("{:?}", c.change.kind)))
            .collect();
        for (severity, title) in [
            (Severity::Breaking, "Breaking"),
            (Severity::Dangerous, "Dangerous"),
            (Severity::Safe, "Safe"),
        ] {
            let group: Vec<_> = self
                .changes
                .iter()
                .filter(|c| c.change.severity == severity)
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title} ({}):", group.len());
            for c in group {
                let mut line = format!("  {:<40} {}", c.change.coordinate, c.change.message);
                if let Some(reason) = &c.acknowledged {
                    let _ = write!(line, " [acknowledged: {reason}]");
                } else if severity == Severity::Breaking {
                    if !c.used_by.is_empty() {
                        let _ = write!(line, " [used by: {}]", c.used_by.join(", "));
                    } else if !blocking
                        .contains(&(c.change.coordinate.clone(), format!("{:?}", c.change.kind)))
                    {
                        line.push_str(" [no known operation uses it: safe for known clients]");
                    }
                }
                let _ = writeln!(out, "{line}");
            }
        }
        for op in &self.broken_operations {
            let excused = if self.broken_by_acknowledged_changes(&op.source) {
                " (by acknowledged changes only)"
            } else {
                ""
            };
            let _ = writeln!(out, "\nBROKEN OPERATION {}{excused}:", op.source);
            for e in &op.errors {
                let _ = writeln!(out, "  {e}");
            }
        }
        let _ = writeln!(
            out,
            "\n{} change(s), {} known operation(s) checked, {} blocking: {}",
            self.changes.len(),
            self.operations_checked,
            self.blocking().count()
                + self.blocking_operations().count()
                + self.blocking_lints().count()
                + self.drift.len(),
            match self.exit_code() {
                0 => "ok",
                1 => "FAILED",
                _ => "ERROR",
            }
        );
        out
    }
}

fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{path} (committed)"),
            &format!("{path} (from code)"),
        )
        .to_string()
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The base supergraph's SDL and a description of where it came from.
fn base_supergraph(base: &Base, schema_dir: &Path) -> Result<Option<(String, String)>, String> {
    let path = schema_dir.join("supergraph.graphql");
    match base {
        Base::File(file) => std::fs::read_to_string(file)
            .map(|s| Some((s, file.display().to_string())))
            .map_err(|e| format!("{}: {e}", file.display())),
        Base::Rev(rev) => show(rev, &path)
            .map(Some)
            .ok_or_else(|| format!("{}: not found at {rev}", path.display())),
        Base::Auto => {
            let head = git(&["rev-parse", "HEAD"]);
            let main = git(&["merge-base", "HEAD", "origin/main"])
                .or_else(|| git(&["merge-base", "HEAD", "main"]));
            let rev = match (head, main) {
                (Some(h), Some(m)) if h != m => m,
                (Some(_), _) => match git(&["rev-parse", "--verify", "--quiet", "HEAD~1"]) {
                    Some(prev) => prev,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            Ok(show(&rev, &path))
        }
    }
}

fn show(rev: &str, path: &Path) -> Option<(String, String)> {
    let prefix = git(&["rev-parse", "--show-prefix"]).unwrap_or_default();
    let spec = format!("{rev}:{prefix}{}", path.display());
    let sdl = git(&["show", &spec])?;
    Some((
        sdl,
        format!("{} at {}", path.display(), &rev[..rev.len().min(12)]),
    ))
}

/// Turns subgraph SDLs into a supergraph SDL, or composition errors.
pub type Composer<'a> = &'a dyn Fn(&[SubgraphSdl]) -> Result<String, Vec<String>>;

/// Runs every step; `compose` is the router's composition.
pub fn check(inputs: &Inputs, compose: Composer<'_>) -> Report {
    let mut report = Report {
        base: "nothing (no previous supergraph)".into(),
        drift: Vec::new(),
        errors: Vec::new(),
        lints: Vec::new(),
        changes: Vec::new(),
        operations_checked: 0,
        broken_operations: Vec::new(),
    };
    for sub in &inputs.subgraphs {
        let path = inputs.schema_dir.join(format!("{}.graphql", sub.name));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != sub.sdl {
            report.drift.push(Drift {
                file: path.display().to_string(),
                diff: unified(&path.display().to_string(), &committed, &sub.sdl),
            });
        }
    }
    let acks: Acknowledgements =
        match std::fs::read_to_string(inputs.schema_dir.join("acknowledged-changes.yaml")) {
            Ok(text) => match serde_yaml::from_str(&text) {
                Ok(a) => a,
                Err(e) => {
                    report
                        .errors
                        .push(format!("acknowledged-changes.yaml: {e}"));
                    return report;
                }
            },
            Err(_) => Acknowledgements::default(),
        };

    let owners: BTreeMap<String, String> =
        match std::fs::read_to_string(inputs.schema_dir.join("owners.yaml")) {
            Ok(text) => match serde_yaml::from_str(&text) {
                Ok(o) => o,
                Err(e) => {
                    report.errors.push(format!("owners.yaml: {e}"));
                    return report;
                }
            },
            Err(_) => BTreeMap::new(),
        };
    match lint::non_null_across_subgraphs(&inputs.subgraphs, &owners) {
        Ok(findings) => {
            report.lints = findings
                .into_iter()
                .map(|finding| ReportedLint {
                    acknowledged: acks
                        .acknowledged
                        .iter()
                        .find(|a| {
                            a.coordinate == finding.coordinate
                                && a.change == ChangeKind::NonNullAcrossSubgraphs
                        })
                        .map(|a| a.reason.clone()),
                    lint: ChangeKind::NonNullAcrossSubgraphs,
                    finding,
                })
                .collect()
        }
        Err(errors) => {
            report.errors.extend(errors);
            return report;
        }
    }

    let supergraph = match compose(&inputs.subgraphs) {
        Ok(s) => s,
        Err(errors) => {
            report
                .errors
                .extend(errors.into_iter().map(|e| format!("composition: {e}")));
            return report;
        }
    };
    let path = inputs.schema_dir.join("supergraph.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != supergraph {
        report.drift.push(Drift {
            file: path.display().to_string(),
            diff: unified(&path.display().to_string(), &committed, &supergraph),
        });
    }
    let new = match ApiSchema::parse(&supergraph, "supergraph.graphql") {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    let old = match base_supergraph(&inputs.base, &inputs.schema_dir) {
        Ok(Some((sdl, from))) => {
            report.base = from;
            match ApiSchema::parse(&sdl, "base supergraph") {
                Ok(s) => Some(s),
                Err(e) => {
                    report.errors.push(e.to_string());
                    return report;
                }
            }
        }
        Ok(None) => None,
        Err(e) => {
            report.errors.push(format!("base: {e}"));
            return report;
        }
    };

    // Known operations, validated against the new client-facing schema.
    let known: Vec<KnownOperation> = match operations::load(&inputs.operations) {
        Ok(k) => k,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    let mut usage: Vec<(String, BTreeSet<String>)> = Vec::new();
    if !known.is_empty() {
        let api = match Schema::parse_and_validate(new.to_sdl(), "api-schema.graphql") {
            Ok(s) => s,
            Err(e) => {
                report
                    .errors
                    .push(format!("the client-facing schema is invalid: {}", e.errors));
                return report;
            }
        };
        // What an operation touches is read against the base too: a field it
        // uses that the change removed is absent from its new-schema reading.
        let base_api = old
            .as_ref()
            .and_then(|o| Schema::parse_and_validate(o.to_sdl(), "base-api-schema.graphql").ok());
        for op in &known {
            let (r, mut used) = operations::validate(&api, op);
            if let Some(base_api) = &base_api {
                used.extend(operations::validate(base_api, op).1);
            }
            if !r.errors.is_empty() {
                report.broken_operations.push(r);
            }
            usage.push((op.source.clone(), used));
        }
        report.operations_checked = known.len();
    }

    if let Some(old) = old {
        for change in classify(&old, &new) {
            let field_level = old
                .types
                .get(change.coordinate.split(['.', '(']).next().unwrap_or(""))
                .is_some_and(|t| matches!(t.kind, Kind::Object | Kind::Interface));
            let used_by = usage
                .iter()
                // Only field coordinates are recorded per operation; for enum
                // values, input fields and union members every operation counts.
                .filter(|(_, used)| !field_level || operations::touches(&change.coordinate, used))
                .map(|(source, _)| source.clone())
                .collect();
            let acknowledged = acks
                .acknowledged
                .iter()
                .find(|a| a.coordinate == change.coordinate && a.change == change.kind)
                .map(|a| a.reason.clone());
            report.changes.push(ReportedChange {
                change,
                used_by,
                acknowledged,
            });
        }
    }
    report
}
