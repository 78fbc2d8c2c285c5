//! Migrations carried in the app's binary (`embed_migrations!`), applied to the app's own
//! connection at start-up with exactly what `dbm upgrade` does: one transaction per
//! version, the write lock, checksums of applied scripts, history rows, backups, refusals.

use std::path::Path;

use rusqlite::Connection;

use crate::apply::{self, control, ApplyOptions, ApplyReport};
use crate::error::Result;
use crate::repository::Repository;

/// A migration repository compiled into the binary by
/// [`embed_migrations!`](crate::embed_migrations): `migrate.cfg` and every script of
/// `versions/`, checked at compile time (numbered 1..=N without gaps, an up and a down
/// script for each version).
///
/// ```no_run
/// static MIGRATIONS: dbm::EmbeddedMigrations = dbm::embed_migrations!("db_repository");
///
/// fn main() -> dbm::Result<()> {
///     let mut conn = rusqlite::Connection::open("app.db")?;
///     MIGRATIONS.upgrade(&mut conn)?; // to the latest version
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct EmbeddedMigrations {
    root: &'static str,
    config: &'static str,
    scripts: &'static [(&'static str, &'static str)],
}

impl EmbeddedMigrations {
    /// Used by `embed_migrations!`; not a stable API.
    #[doc(hidden)]
    pub const fn __new(
        root: &'static str,
        config: &'static str,
        scripts: &'static [(&'static str, &'static str)],
    ) -> Self {
        EmbeddedMigrations {
            root,
            config,
            scripts,
        }
    }

    /// The embedded scripts as a [`Repository`], for the library's other calls
    /// ([`crate::status`], [`crate::pending`], [`crate::db_version`], ...). Writing to it is refused.
    pub fn repository(&self) -> Result<Repository> {
        Repository::embedded(Path::new(self.root), self.config, self.scripts)
    }

    /// The latest version carried in the binary.
    pub fn latest(&self) -> Result<u64> {
        self.repository()?.latest()
    }

    /// Brings the database to the latest version with default [`ApplyOptions`]. A database
    /// not yet under version control and holding no tables is put under it at version 0
    /// first (as `dbm upgrade --create` does). Refused, with nothing touched, when `conn` is
    /// inside a transaction ([`crate::Error::OpenTransaction`]).
    pub fn upgrade(&self, conn: &mut Connection) -> Result<ApplyReport> {
        self.upgrade_with(conn, None, &ApplyOptions::default())
    }

    /// Like [`EmbeddedMigrations::upgrade`], to `target` (default: the latest) with `opts`.
    pub fn upgrade_with(
        &self,
        conn: &mut Connection,
        target: Option<u64>,
        opts: &ApplyOptions,
    ) -> Result<ApplyReport> {
        control::outside_transaction(conn)?;
        let repo = self.repository()?;
        control::adopt_if_empty(conn, &repo)?;
        apply::upgrade(conn, &repo, target, opts)
    }

    /// Runs the down scripts from the database's version down to `target`, one transaction
    /// per version, with default [`ApplyOptions`].
    pub fn downgrade(&self, conn: &mut Connection, target: u64) -> Result<ApplyReport> {
        self.downgrade_with(conn, Some(target), &ApplyOptions::default())
    }

    /// Like [`EmbeddedMigrations::downgrade`], to `target` (default: one version down) with `opts`.
    pub fn downgrade_with(
        &self,
        conn: &mut Connection,
        target: Option<u64>,
        opts: &ApplyOptions,
    ) -> Result<ApplyReport> {
        control::outside_transaction(conn)?;
        apply::downgrade(conn, &self.repository()?, target, opts)
    }

    /// The database's version (`None`: not under version control).
    pub fn db_version(&self, conn: &Connection) -> Result<Option<u64>> {
        control::db_version(conn, &self.repository()?)
    }
}
