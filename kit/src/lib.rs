#![doc = include_str!("../README.md")]

pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod health;
pub mod net;
pub mod paging;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod testing;
pub mod write;

pub use config::Config;
pub use error::{Error, ErrorCode, Result};
pub use services::{Backends, Services, SubgraphSpec};
