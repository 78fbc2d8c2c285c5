//! One version step, atomically: foreign keys off *outside* the transaction (the pragma is a
//! no-op inside one), `BEGIN IMMEDIATE`, the version re-read under the write lock, the
//! script, `foreign_key_check`, control row and history row, the caller's `before_commit`,
//! COMMIT. Any error leaves the database as it was.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::control::{db_version, not_controlled, record_step};
use crate::error::{is_busy, is_environment, Error, LockHolder, Result};
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
    /// Going up: SHA-256 of the version's down script, recorded with it so that a
    /// downgrade through an edited one is refused. `None` records none.
    pub down_checksum: Option<&'a str>,
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

/// The lock-wait budget of one run: every wait for another connection's lock, summed, stays
/// under it. SQLite's own busy timeout counts per locking event: in rollback-journal mode a
/// reader makes every cache spill of a long script wait the full timeout, then COMMIT again.
#[derive(Debug, Clone)]
pub(crate) struct Wait {
    budget: Duration,
    waited: Arc<Mutex<Duration>>,
    /// Set (by a Ctrl-C handler) to stop waiting at once.
    stop: Option<Arc<AtomicBool>>,
}

impl Wait {
    pub fn new(budget: Duration) -> Wait {
        Wait {
            budget,
            waited: Arc::default(),
            stop: None,
        }
    }

    /// A budget that also ends as soon as `stop` is set.
    pub fn stoppable(budget: Duration, stop: Option<Arc<AtomicBool>>) -> Wait {
        Wait {
            stop,
            ..Wait::new(budget)
        }
    }

    /// How long this run has waited for locks so far.
    pub fn waited(&self) -> Duration {
        self.waited.lock().map_or(self.budget, |w| *w)
    }

    /// The busy handler: sleeps (backing off like SQLite's, up to 100 ms) while the budget
    /// lasts, then gives up, so a later lock attempt fails at once.
    fn handler(&self) -> impl FnMut(i32) -> bool + Send + 'static {
        let (budget, waited) = (self.budget, Arc::clone(&self.waited));
        let stop = self.stop.clone();
        move |count| {
            if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                return false;
            }
            let Ok(mut w) = waited.lock() else {
                return false;
            };
            let left = budget.saturating_sub(*w);
            if left.is_zero() {
                return false;
            }
            let step = [1u64, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50]
                .get(count.max(0) as usize)
                .copied()
                .unwrap_or(100);
            let nap = Duration::from_millis(step).min(left);
            let started = Instant::now();
            std::thread::sleep(nap);
            *w += started.elapsed().max(nap);
            true
        }
    }

    /// A busy error as [`Error::Locked`], naming who holds the lock and how long this run
    /// waited; anything else as it is.
    pub fn locked(&self, e: rusqlite::Error, holder: LockHolder) -> Error {
        if is_busy(&e) {
            Error::Locked {
                waited_secs: self.waited().as_millis().div_ceil(1000) as u64,
                holder,
            }
        } else {
            Error::Sqlite(e)
        }
    }
}

/// Installs the run's lock-wait budget ([`Wait`]) on the connection for the guard's life;
/// restores the caller's busy timeout on drop, on every path.
pub(crate) struct ConnGuard<'c> {
    conn: &'c Connection,
    busy_ms: i64,
    pub wait: Wait,
}

impl<'c> ConnGuard<'c> {
    pub fn new(conn: &'c mut Connection, budget: Duration) -> Result<Self> {
        Self::with_wait(conn, Wait::new(budget))
    }

    pub fn with_wait(conn: &'c mut Connection, wait: Wait) -> Result<Self> {
        let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        conn.busy_handler(Some(wait.handler()))?;
        Ok(ConnGuard {
            conn,
            busy_ms,
            wait,
        })
    }

    pub fn conn(&self) -> &'c Connection {
        self.conn
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        // `busy_ms` came from SQLite as an int, so it converts back without overflow.
        let _ = self.conn.busy_timeout(Duration::from_millis(
            self.busy_ms.clamp(0, i32::MAX as i64) as u64,
        ));
    }
}

/// Switches foreign keys off for the guard's life (the pragma is a no-op inside a
/// transaction, so this comes before BEGIN); restores them on drop, on every path.
struct ForeignKeysOff<'c> {
    conn: &'c Connection,
    restore: bool,
}

impl<'c> ForeignKeysOff<'c> {
    fn new(conn: &'c Connection) -> Result<Self> {
        if !conn.is_autocommit() {
            return Err(Error::OpenTransaction);
        }
        let mut guard = ForeignKeysOff {
            conn,
            restore: false,
        };
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
        if fk != 0 {
            conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            guard.restore = true;
            let now: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            if now != 0 {
                return Err(Error::ForeignKeysStayOn);
            }
        }
        Ok(guard)
    }
}

impl Drop for ForeignKeysOff<'_> {
    fn drop(&mut self) {
        if self.restore {
            let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        }
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

/// Runs one step, waiting for locks at most what is left of `wait`'s budget (the connection
/// must carry its handler: see [`ConnGuard`]).
pub(crate) fn run(
    conn: &Connection,
    step: &Step<'_>,
    wait: &Wait,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Attempt> {
    run_hooked(conn, step, wait, &mut |_| Ok(()), before_commit)
}

/// [`run`], with `before_script` called under the write lock once the version is known to be
/// `from` (there is work), before the script changes anything: what another connection
/// reads then is the database as the step finds it, and no writer can change it.
pub(crate) fn run_hooked(
    conn: &Connection,
    step: &Step<'_>,
    wait: &Wait,
    before_script: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Attempt> {
    let result = attempt(conn, step, wait, before_script, before_commit);
    if let Err(Error::Sqlite(e)) = &result {
        if is_environment(e) {
            // A full disk leaves SQLite's pager in its error state with a hot journal, which
            // only a writer rolls back: roll it back now, on this connection, rather than
            // leave every read-only command failing until the next write.
            let _ = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            });
        }
    }
    result
}

fn attempt(
    conn: &Connection,
    step: &Step<'_>,
    wait: &Wait,
    before_script: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Attempt> {
    let _fk = ForeignKeysOff::new(conn)?;
    // In rollback-journal mode BEGIN IMMEDIATE waits only for another writer; once dbm holds
    // the RESERVED lock, only readers can keep it from writing the file (a cache spill, COMMIT).
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| wait.locked(e, LockHolder::Writer))?;
    let reader = |e: Error| match e {
        Error::Sqlite(e) => wait.locked(e, LockHolder::Reader),
        e => e,
    };
    let found = db_version(&tx, step.repo)?;
    if found != Some(step.from) {
        return Ok(Attempt::Stale { found });
    }
    before_script(&tx)?;
    let started = Instant::now();
    run_script_checking_foreign_keys(&tx, step).map_err(reader)?;
    let duration_ms = started.elapsed().as_millis() as u64;
    record_step(&tx, step, duration_ms).map_err(reader)?;
    before_commit()?;
    tx.commit().map_err(|e| reader(Error::Sqlite(e)))?;
    Ok(Attempt::Applied { duration_ms })
}

/// Runs the script, then fails only on foreign-key violations it introduced: orphans that
/// were in the database before (an FK to a table that no longer exists, rows inserted with
/// foreign keys off) do not block every later version. The common case costs one check
/// after the script; only when it finds violations is the script rolled back to a
/// savepoint, the tables named counted as they were, and the script run again.
fn run_script_checking_foreign_keys(tx: &Connection, step: &Step<'_>) -> Result<()> {
    tx.execute_batch("SAVEPOINT dbm_script")?;
    run_script(tx, step.sql, step.file)?;
    let after = foreign_key_violations(tx)?;
    if !after.is_empty() {
        tx.execute_batch("ROLLBACK TO dbm_script")?;
        let before = after
            .iter()
            .map(|(table, _)| Ok((table.clone(), violations_in(tx, table)?)))
            .collect::<Result<HashMap<String, i64>>>()?;
        let introduced = |after: Vec<(String, i64)>| -> Vec<(String, i64)> {
            after
                .into_iter()
                .filter_map(|(t, n)| {
                    let was = before.get(&t).copied().unwrap_or(0);
                    (n > was).then_some((t, n - was))
                })
                .collect()
        };
        let violations = introduced(after);
        if violations.is_empty() {
            run_script(tx, step.sql, step.file)?;
            let violations = introduced(foreign_key_violations(tx)?);
            if !violations.is_empty() {
                return Err(Error::ForeignKeys {
                    file: step.file.to_path_buf(),
                    violations,
                });
            }
        } else {
            return Err(Error::ForeignKeys {
                file: step.file.to_path_buf(),
                violations,
            });
        }
    }
    tx.execute_batch("RELEASE dbm_script")?;
    Ok(())
}

/// The violations `pragma_foreign_key_check` reports whose parent table exists. A foreign
/// key to a missing table is a schema fact the model warns about, not a row problem: no row
/// can satisfy it, so the downgrade of a step that repaired one (pointed it at an existing
/// table) must not be refused for restoring it with rows in place.
pub(super) const PARENT_EXISTS: &str = "EXISTS (SELECT 1 FROM sqlite_schema AS s WHERE s.type = 'table' AND s.name = v.parent COLLATE NOCASE)";

/// Rows of `table` that violate its foreign keys (0 for a table that does not exist).
fn violations_in(conn: &Connection, table: &str) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM pragma_foreign_key_check(?1) AS v WHERE {PARENT_EXISTS}"),
        [table],
        |r| r.get(0),
    )?)
}

fn foreign_key_violations(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        &format!("SELECT v.\"table\", count(*) FROM pragma_foreign_key_check AS v WHERE {PARENT_EXISTS} GROUP BY v.\"table\" ORDER BY v.\"table\""),
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
    apply_version_hooked(conn, step, None, &mut |_| Ok(()), before_commit)
}

/// [`apply_version`] with [`run_hooked`]'s `before_script`, and a flag that, once set,
/// ends any wait for a lock at once.
pub(crate) fn apply_version_hooked(
    conn: &mut Connection,
    step: &Step<'_>,
    stop: Option<Arc<AtomicBool>>,
    before_script: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<StepOutcome> {
    let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    let wait = Wait::stoppable(Duration::from_millis(busy_ms.max(0) as u64), stop);
    let guard = ConnGuard::with_wait(conn, wait)?;
    match run_hooked(
        guard.conn(),
        step,
        &guard.wait,
        before_script,
        before_commit,
    )? {
        Attempt::Applied { duration_ms } => Ok(StepOutcome::Applied { duration_ms }),
        Attempt::Stale { found: Some(v) } if v == step.to => Ok(StepOutcome::AlreadyApplied),
        Attempt::Stale { found: Some(v) } => Err(Error::AtVersion {
            found: v,
            expected: step.from,
        }),
        Attempt::Stale { found: None } => Err(not_controlled(step.repo)),
    }
}
