#![doc = include_str!("../README.md")]

pub mod check;
pub mod classify;
pub mod lint;
pub mod model;
pub mod operations;

pub use check::{check, Base, Inputs, Report, SubgraphSdl};
pub use classify::{classify, Change, ChangeKind, Severity};
pub use model::ApiSchema;
