//! One version step, atomically: foreign keys off *outside* the transaction (the pragma is a
//! no-op inside one), `BEGIN IMMEDIATE`, the version re-read under the write lock, the
//! script, `foreign_key_check`, control row and history row, the caller's `before_commit`,
//! COMMIT. Any error leaves the database as it was.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::control::{db_version, not_controlled, record_step};
use crate::error::{map_busy, Error, Result};
use crate::exec::run_script;
use crate::repository::Repository;
use crate::script::Direction;

/// One version step: which script moves the database from `from` to `to`.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub repo: &'a Repository,
    /// The script's text and where it comes from (named in errors).
    pub sql: &'a str,
    pub file: &'a Path,
    pub from: u64,
    pub to: u64,
    pub direction: Direction,
    /// SHA-256 of `sql`, recorded in the history.
    pub checksum: &'a str,
}

/// Result of one [`apply_version`] step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Applied {
        duration_ms: u64,
    },
    /// Another process had already moved the database from `from` to `to`; nothing was done.
    AlreadyApplied,
}

/// Sets the busy timeout and (optionally) switches foreign keys off for the guard's life;
/// restores both on drop, on every path.
pub(crate) struct ConnGuard<'c> {
    conn: &'c Connection,
    busy_ms: i64,
    restore_fk: bool,
}

impl<'c> ConnGuard<'c> {
    pub fn new(conn: &'c Connection, busy: Duration, fk_off: bool) -> Result<Self> {
        let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        conn.busy_timeout(busy)?;
        let mut guard = ConnGuard {
            conn,
            busy_ms,
            restore_fk: false,
        };
        if fk_off {
            if !conn.is_autocommit() {
                return Err(Error::OpenTransaction);
            }
            let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            if fk != 0 {
                conn.execute_batch("PRAGMA foreign_keys = OFF")?;
                guard.restore_fk = true;
                let now: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                if now != 0 {
                    return Err(Error::ForeignKeysStayOn);
                }
            }
        }
        Ok(guard)
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        if self.restore_fk {
            let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        }
        let _ = self
            .conn
            .busy_timeout(Duration::from_millis(self.busy_ms.max(0) as u64));
    }
}

/// What one attempt at a step found.
pub(crate) enum Attempt {
    Applied {
        duration_ms: u64,
    },
    /// The database was not at `from` (`found`), so nothing ran.
    Stale {
        found: Option<u64>,
    },
}

/// Runs one step, waiting at most `busy` for the write lock.
pub(crate) fn run(
    conn: &Connection,
    step: &Step<'_>,
    busy: Duration,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Attempt> {
    let _guard = ConnGuard::new(conn, busy, true)?;
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, busy))?;
    let found = db_version(&tx, step.repo)?;
    if found != Some(step.from) {
        return Ok(Attempt::Stale { found });
    }
    let started = Instant::now();
    run_script(&tx, step.sql, step.file)?;
    let violations = foreign_key_violations(&tx)?;
    if !violations.is_empty() {
        return Err(Error::ForeignKeys {
            file: step.file.to_path_buf(),
            violations,
        });
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    record_step(&tx, step, duration_ms)?;
    before_commit()?;
    tx.commit().map_err(|e| map_busy(e, busy))?;
    Ok(Attempt::Applied { duration_ms })
}

fn foreign_key_violations(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT \"table\", count(*) FROM pragma_foreign_key_check GROUP BY \"table\" ORDER BY \"table\"",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Applies ONE version step atomically (see the module docs); `before_commit`'s error rolls
/// it back. If another process already moved the database from `from` to `to`, nothing is
/// done ([`StepOutcome::AlreadyApplied`]); any other version is an error. Waits for another
/// writer at most the connection's busy timeout.
pub fn apply_version(
    conn: &mut Connection,
    step: &Step<'_>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<StepOutcome> {
    // Keep the caller's busy timeout (the CLI sets `lock_timeout` on open) rather than
    // imposing the 30 s default.
    let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    let busy = Duration::from_millis(busy_ms.max(0) as u64);
    match run(conn, step, busy, before_commit)? {
        Attempt::Applied { duration_ms } => Ok(StepOutcome::Applied { duration_ms }),
        Attempt::Stale { found: Some(v) } if v == step.to => Ok(StepOutcome::AlreadyApplied),
        Attempt::Stale { found: Some(v) } => Err(Error::AtVersion {
            found: v,
            expected: step.from,
        }),
        Attempt::Stale { found: None } => Err(not_controlled(step.repo)),
    }
}
