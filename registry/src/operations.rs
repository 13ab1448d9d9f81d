//! Known client operations (the router's REST routes, persisted and trusted
//! documents, recorded traffic): each must still validate against the new
//! schema, and the coordinates each one touches tell whether a breaking change
//! hurts a known client.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde::Serialize;

/// One operation document and where it came from.
#[derive(Debug, Clone)]
pub struct KnownOperation {
    /// `router/rest/movies.graphql` or `persisted.json#<id>`.
    pub source: String,
    pub document: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationReport {
    pub source: String,
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a persisted-operations manifest: {1}")]
    Manifest(PathBuf, String),
}

/// Loads `.graphql` files (each one document) and JSON manifests: either a map
/// `{ "<id>": "<document>" }` or `{ "operations": [{ "id", "body" }] }`.
pub fn load(paths: &[PathBuf]) -> Result<Vec<KnownOperation>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| LoadError::Io(path.clone(), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("graphql" | "json")
                    )
                })
                .collect();
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| LoadError::Io(file.clone(), e))?;
            if file.extension().and_then(|e| e.to_str()) == Some("json") {
                out.extend(manifest(&file, &text)?);
            } else {
                out.push(KnownOperation {
                    source: file.display().to_string(),
                    document: text,
                });
            }
        }
    }
    Ok(out)
}

fn manifest(file: &Path, text: &str) -> Result<Vec<KnownOperation>, LoadError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| LoadError::Manifest(file.to_path_buf(), e.to_string()))?;
    let name = file.display().to_string();
    if let Some(ops) = value.get("operations").and_then(|o| o.as_array()) {
        return ops
            .iter()
            .map(|op| {
                let id = op.get("id").and_then(|v| v.as_str()).unwrap_or("?");
                let body = op.get("body").and_then(|v| v.as_str()).ok_or_else(|| {
                    LoadError::Manifest(file.to_path_buf(), format!("operation {id} has no body"))
                })?;
                Ok(KnownOperation {
                    source: format!("{name}#{id}"),
                    document: body.to_string(),
                })
            })
            .collect();
    }
    match value.as_object() {
        Some(map) => map
            .iter()
            .map(|(id, body)| {
                let body = body.as_str().ok_or_else(|| {
                    LoadError::Manifest(file.to_path_buf(), format!("{id} is not a string"))
                })?;
                Ok(KnownOperation {
                    source: format!("{name}#{id}"),
                    document: body.to_string(),
                })
            })
            .collect(),
        None => Err(LoadError::Manifest(
            file.to_path_buf(),
            "expected an object".into(),
        )),
    }
}

/// REST route headers such as `# @rest(method: GET, path: "/api/v1/movies")` are
/// comments, so documents parse as they are.
pub fn validate(
    schema: &Valid<Schema>,
    op: &KnownOperation,
) -> (OperationReport, BTreeSet<String>) {
    let mut coordinates = BTreeSet::new();
    let errors = match ExecutableDocument::parse_and_validate(
        schema,
        op.document.as_str(),
        op.source.as_str(),
    ) {
        Ok(doc) => {
            for operation in doc.operations.iter() {
                collect(&operation.selection_set, &mut coordinates);
            }
            for fragment in doc.fragments.values() {
                collect(&fragment.selection_set, &mut coordinates);
            }
            Vec::new()
        }
        Err(with_errors) => {
            // Still record what the (partial) document touches, so the report can
            // say which change broke it.
            for operation in with_errors.partial.operations.iter() {
                collect(&operation.selection_set, &mut coordinates);
            }
            with_errors
                .errors
                .iter()
                .map(|e| e.error.to_string())
                .collect()
        }
    };
    (
        OperationReport {
            source: op.source.clone(),
            errors,
        },
        coordinates,
    )
}

/// Type names, `Type.field` and `Type.field(arg:)` coordinates a selection touches.
fn collect(set: &SelectionSet, out: &mut BTreeSet<String>) {
    out.insert(set.ty.to_string());
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                if field.name.starts_with("__") {
                    continue;
                }
                let coord = format!("{}.{}", set.ty, field.name);
                for arg in &field.arguments {
                    out.insert(format!("{coord}({}:)", arg.name));
                }
                out.insert(coord);
                collect(&field.selection_set, out);
            }
            Selection::InlineFragment(f) => collect(&f.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Whether a change at `coordinate` touches something in `used`.
pub fn touches(coordinate: &str, used: &BTreeSet<String>) -> bool {
    if used.contains(coordinate) {
        return true;
    }
    // `Movie` (type removed) touches `Movie.title`; `Enum.VALUE` touches nothing
    // we record, so enum changes count as used when the enum type is.
    let ty = coordinate.split(['.', '(']).next().unwrap_or(coordinate);
    if coordinate == ty {
        return used
            .iter()
            .any(|u| u == ty || u.starts_with(&format!("{ty}.")));
    }
    false
}
