//! dbm: schema migrations for SQLite. Declare the schema (TOML, or Rust with the builder);
//! dbm compares it with the live database, writes the next numbered up and down SQL scripts
//! (verified on a scratch copy before they are written) and applies them, one transaction
//! per version, on a connection you lend it.
//!
//! One function per use case: [`migrate`] (or [`draft`] then [`Draft::apply`]), [`generate`],
//! [`upgrade`] / [`downgrade`] (and [`rollout`] over many databases), [`status`],
//! [`round_trip`] (`dbm test`), [`compare`] (diff and check), [`lint`], [`discard`].
//! The `dbm` command line (feature `cli`, on by default) parses arguments, calls one of them
//! and prints.
//!
//! A model comes from a TOML file ([`model::file::load`], what `--model` reads), the builder
//! ([`SchemaBuilder`], [`table`], [`col`]) or the app's own structs (`#[derive(dbm::Table)]`
//! and `dbm::schema![A, B]`, feature `derive`). An app carries its scripts in its binary with
//! `dbm::embed_migrations!` and upgrades at start-up through [`EmbeddedMigrations`];
//! `dbm::cli::run_with_model` is a `dbm` with the model built in. The README's tutorial walks
//! through all three.
//!
//! A model declared with the builder, a repository and a database created in a temporary
//! folder, the first migration written and applied from the model, then a second database
//! brought to the same version from the written scripts (what an app does at start-up):
//!
//! ```
//! use dbm::{col, table, ApplyOptions, MigrateOptions, Repository, SchemaBuilder};
//!
//! let dir = tempfile::tempdir()?;
//! let (repo, _) = Repository::create(&dir.path().join("db_repository"), "app")?;
//! let mut conn = rusqlite::Connection::open(dir.path().join("app.db"))?;
//! dbm::version_control(&conn, &repo, 0)?; // `dbm create`
//! let model = SchemaBuilder::new()
//!     .table(
//!         table("user")
//!             .column(col("id", "integer").primary_key())
//!             .column(col("nickname", "string(64)").unique()),
//!     )
//!     .build()?;
//! // `dbm migrate`: diff, write 001_*.up.sql / .down.sql (verified first), apply.
//! let done = dbm::migrate(&mut conn, &repo, &model, &MigrateOptions::default())?;
//! assert_eq!(done.map(|d| d.files.version), Some(1));
//! assert_eq!(dbm::db_version(&conn, &repo)?, Some(1));
//! let reserved = dbm::reserved(&repo); // the control tables, not the user's schema
//! assert!(dbm::compare(&conn, &reserved, &model)?.is_empty()); // `dbm check`
//!
//! // `dbm upgrade --create` on another database, from the scripts alone.
//! let mut other = rusqlite::Connection::open(dir.path().join("other.db"))?;
//! dbm::adopt_if_empty(&other, &repo)?;
//! let report = dbm::upgrade(&mut other, &repo, None, &ApplyOptions::default())?;
//! assert_eq!(report.steps, [(0, 1)]);
//! assert_eq!(dbm::inspect(&other, &reserved)?, dbm::inspect(&conn, &reserved)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pipeline behind it (one module per stage, see ARCHITECTURE.md): model → normalise →
//! inspect → diff → plan → repository → apply.

#![warn(missing_docs)]

extern crate self as dbm;

mod apply;
mod declare;
mod diff;
mod embedded;
mod error;
mod exec;
mod inspect;
pub mod model;
mod normalize;
mod ops;
mod plan;
mod precheck;
mod progress;
mod repository;
mod risk;
mod rollout;
mod script;
mod sql;

#[cfg(feature = "cli")]
pub mod cli;

pub use apply::{
    adopt_if_empty, apply_version, db_version, downgrade, downgrade_sql, drop_version_control,
    history, pending, reserved, upgrade, upgrade_sql, version_control, ApplyOptions, ApplyReport,
    BackupPolicy, HistoryRow, PendingStep, Step, StepOutcome, HISTORY_TABLE,
};
#[cfg(feature = "derive")]
pub use dbm_derive::{embed_migrations, Table};
pub use declare::{SqlType, Table};
pub use diff::Described;
pub use embedded::EmbeddedMigrations;
pub use error::{
    Error, LockHolder, ModelError, ModifiedScript, RepositoryError, Result, ScriptProblem,
    SourceSnippet,
};
pub use model::builder::{col, table, ColumnBuilder, SchemaBuilder, TableBuilder};
pub use model::{Reserved, Schema};
pub use ops::compare::{compare, Comparison};
pub use ops::discard::discard;
pub use ops::generate::{generate, Migration};
pub use ops::lint::{lint, Finding, LintFinding};
pub use ops::migrate::{draft, migrate, Draft, MigrateOptions, Migrated};
pub use ops::roundtrip::{round_trip, TestEvent};
pub use ops::status::{status, Drift, Status};
pub use plan::PlanOptions;
pub use precheck::{AtStake, LostTable, Offence};
pub use progress::{Progress, ProgressEvent};
pub use repository::{PendingVersion, Repository, VersionFiles};
pub use risk::{Hazard, Risk};
pub use rollout::{
    rollout, rollout_with, survey, DatabaseReport, Databases, Failure, Goal, Outcome,
    RolloutOptions, RolloutReport, StopReason, SurveyOptions,
};
pub use script::Direction;

/// Prints `schema` as model TOML on stdout ([`Schema::to_toml`]): all that the program behind
/// `dbm --model-command` (or `model_command` in dbm.toml) has to do.
///
/// ```no_run
/// # #[derive(dbm::Table)] struct User { #[dbm(primary_key)] id: i64 }
/// // src/bin/schema.rs; then `dbm --model-command "cargo run -q --bin schema" migrate`
/// fn main() -> dbm::Result<()> {
///     dbm::print_model(&dbm::schema![User]?)
/// }
/// ```
pub fn print_model(schema: &Schema) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(schema.to_toml().as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::File {
            path: "<stdout>".into(),
            message: e.to_string(),
        })
}

/// What `#[derive(dbm::Table)]` expands to refers to; not an API.
#[doc(hidden)]
pub mod __private {
    pub use crate::declare::FieldType;
}

/// Reads the user's schema from a live database, leaving out the `reserved` tables (see
/// [`reserved`] for a repository's).
pub fn inspect(conn: &rusqlite::Connection, reserved: &Reserved) -> Result<Schema> {
    inspect::inspect(conn, reserved)
}

/// Stage functions for the benchmarks, which time each stage alone. Not a stable API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    use crate::{PlanOptions, Reserved, Result, Schema};

    /// A change list, opaque.
    #[derive(Debug)]
    pub struct Changes(Vec<crate::diff::Change>);

    impl Changes {
        pub fn len(&self) -> usize {
            self.0.len()
        }
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// The diff stage alone (no rename hints).
    pub fn diff(from: &Schema, to: &Schema) -> Changes {
        Changes(crate::diff::diff(
            from,
            to,
            &crate::diff::Renames::default(),
        ))
    }

    /// The plan stage alone; the number of statements.
    pub fn plan(
        changes: &Changes,
        from: &Schema,
        to: &Schema,
        opts: &PlanOptions,
    ) -> Result<usize> {
        crate::plan::plan(&changes.0, from, to, opts).map(|p| p.statements.len())
    }

    /// The canonical form of a model (normalise stage).
    pub fn canonical(model: &Schema) -> Result<Schema> {
        crate::normalize::canonical(model, &Reserved::default())
    }

    /// The DDL that creates a schema in an empty database.
    pub fn create_all(schema: &Schema) -> Vec<String> {
        crate::model::ddl::create_all(schema)
    }
}
