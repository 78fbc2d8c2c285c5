//! dbm: schema migrations for SQLite.
//!
//! Pipeline (one module per stage, see ARCHITECTURE.md):
//! [`model`] → [`inspect`] → [`diff`] → [`plan`] → [`repository`] → [`apply`] → [`cli`].

pub mod apply;
pub mod cli;
pub mod config;
pub mod diff;
pub mod error;
pub mod inspect;
pub mod lint;
pub mod model;
pub mod plan;
pub mod repository;
pub mod sql;
pub mod workflow;

pub use error::{Error, Result};
