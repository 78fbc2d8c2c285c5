//! One version step, atomically: foreign keys off *outside* the transaction (the pragma is a
//! no-op inside one), `BEGIN IMMEDIATE`, the version re-read under the write lock, the
//! script, `foreign_key_check`, control row and history row, the caller's `before_commit`,
//! COMMIT. Any error leaves the database as it was.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthContext, Authorization};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::control::{db_version, not_controlled, record_step};
use super::fk_scope::{
    foreign_key_violations, schema_version, violations_in, Scope, Tables, Touched,
};
use crate::error::{is_busy, is_environment, Error, LockHolder, Result};
use crate::exec::{run_statements, Statements};
use crate::progress::{ProgressEvent, Watch};
use crate::repository::Repository;
use crate::script::Direction;

/// One version step: which script moves the database from `from` to `to`.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The repository whose control row the step moves.
    pub repo: &'a Repository,
    /// The script's text and where it comes from (named in errors).
    pub sql: &'a str,
    /// The script's file, named in errors and in the history.
    pub file: &'a Path,
    /// The version the database must be at; another migrator having moved it makes the step a no-op.
    pub from: u64,
    /// The version the step leaves it at.
    pub to: u64,
    /// Up or down, recorded in the history.
    pub direction: Direction,
    /// SHA-256 of `sql`, recorded in the history.
    pub checksum: &'a str,
    /// Going up: SHA-256 of the version's down script, recorded with it so that a
    /// downgrade through an edited one is refused. `None` records none.
    pub down_checksum: Option<&'a str>,
}

/// A step with its script split once ([`Statements`]), as the runner hands it on. `stmts` is
/// `None` when the script is refused (text that does not split, transaction control): the
/// step makes that error again where the script would run, once the version check has found
/// work to do, so a refused script fails exactly as it would have run.
pub(crate) struct Ready<'a> {
    pub step: Step<'a>,
    stmts: Option<Statements<'a>>,
}

impl<'a> Ready<'a> {
    pub(crate) fn new(step: Step<'a>) -> Ready<'a> {
        Ready {
            step,
            stmts: Statements::new(step.sql, step.file).ok(),
        }
    }

    /// Whether the script loses data (a refused one counts as it reads).
    pub(crate) fn destroys_data(&self) -> bool {
        match &self.stmts {
            Some(s) => s.destroys_data(),
            None => super::backup::destroys_data(self.step.sql),
        }
    }
}

/// Result of one [`apply_version`] step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step ran and committed.
    Applied {
        /// How long the script took.
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
    /// Filled by the authorizer [`ConnGuard`] installs.
    touched: Arc<Mutex<Touched>>,
    /// The run's index of the schema's tables, for the scoped foreign-key check.
    tables: Arc<Mutex<Tables>>,
    /// The run's observer and stop flag, behind the progress handler [`ConnGuard`] installs.
    pub watch: Option<Arc<Watch>>,
}

impl Wait {
    pub fn new(budget: Duration) -> Wait {
        Wait {
            budget,
            waited: Arc::default(),
            stop: None,
            touched: Arc::default(),
            tables: Arc::default(),
            watch: None,
        }
    }

    /// A budget that also ends as soon as `stop` is set.
    pub fn stoppable(budget: Duration, stop: Option<Arc<AtomicBool>>) -> Wait {
        Wait {
            stop,
            ..Wait::new(budget)
        }
    }

    /// [`Wait::stoppable`] that also reports to `watch` (and stops a running statement once
    /// its stop flag is set).
    pub fn watched(
        budget: Duration,
        watch: Option<Arc<Watch>>,
        stop: Option<Arc<AtomicBool>>,
    ) -> Wait {
        Wait {
            watch,
            ..Wait::stoppable(budget, stop)
        }
    }

    fn emit(&self, event: impl FnOnce() -> ProgressEvent) {
        if let Some(w) = self.watch.as_ref().filter(|w| w.observed()) {
            w.emit(event());
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

/// Installs the run's lock-wait budget ([`Wait`]), the authorizer that records what a
/// script writes ([`Touched`]) and, with a [`Watch`], the progress handler on the connection
/// for the guard's life; restores the caller's busy timeout and removes the authorizer and
/// the progress handler on drop, on every path.
pub(crate) struct ConnGuard<'c> {
    conn: &'c mut Connection,
    busy_ms: i64,
    pub wait: Wait,
}

impl<'c> ConnGuard<'c> {
    pub fn with_wait(conn: &'c mut Connection, wait: Wait) -> Result<Self> {
        let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        conn.busy_handler(Some(wait.handler()))?;
        let touched = Arc::clone(&wait.touched);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if let Ok(mut t) = touched.lock() {
                t.note(&ctx);
            }
            Authorization::Allow
        }))?;
        if let Some(w) = &wait.watch {
            w.install(conn)?;
        }
        Ok(ConnGuard {
            conn,
            busy_ms,
            wait,
        })
    }

    pub fn conn(&self) -> &Connection {
        self.conn
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .conn
            .authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        if self.wait.watch.is_some() {
            Watch::uninstall(self.conn);
        }
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
    step: &Ready<'_>,
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
    step: &Ready<'_>,
    wait: &Wait,
    before_script: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Attempt> {
    recover(
        conn,
        attempt(conn, &[step], wait, before_script, before_commit),
    )
}

/// Runs consecutive steps in ONE transaction (`ApplyOptions::single_transaction`): each
/// step's script, foreign-key check, control and history rows as in [`run`], one COMMIT;
/// any error rolls them all back. An empty list does nothing.
pub(crate) fn run_all(conn: &Connection, steps: &[&Ready<'_>], wait: &Wait) -> Result<Attempt> {
    if steps.is_empty() {
        return Ok(Attempt::Applied { duration_ms: 0 });
    }
    recover(
        conn,
        attempt(conn, steps, wait, &mut |_| Ok(()), &mut || Ok(())),
    )
}

fn recover(conn: &Connection, result: Result<Attempt>) -> Result<Attempt> {
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

/// `steps` (non-empty, consecutive) in one transaction.
fn attempt(
    conn: &Connection,
    steps: &[&Ready<'_>],
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
    let Some(first) = steps.first().map(|r| &r.step) else {
        return Ok(Attempt::Applied { duration_ms: 0 });
    };
    let found = db_version(&tx, first.repo)?;
    if found != Some(first.from) {
        return Ok(Attempt::Stale { found });
    }
    before_script(&tx)?;
    let mut total = 0;
    for ready in steps {
        let step = &ready.step;
        wait.emit(|| ProgressEvent::VersionStarted {
            from: step.from,
            to: step.to,
            direction: step.direction,
            file: step.file.to_path_buf(),
        });
        let started = Instant::now();
        run_script_checking_foreign_keys(&tx, ready, wait).map_err(reader)?;
        let duration_ms = started.elapsed().as_millis() as u64;
        record_step(&tx, step, duration_ms).map_err(reader)?;
        total += duration_ms;
        wait.emit(|| ProgressEvent::VersionDone {
            from: step.from,
            to: step.to,
            elapsed: started.elapsed(),
        });
    }
    before_commit()?;
    tx.commit().map_err(|e| reader(Error::Sqlite(e)))?;
    Ok(Attempt::Applied { duration_ms: total })
}

/// Runs the script, then fails only on foreign-key violations it introduced: orphans that
/// were in the database before (an FK to a table that no longer exists, rows inserted with
/// foreign keys off) do not block every later version. The common case costs one check
/// after the script, over the tables it wrote and their children ([`Touched`]); only when
/// it finds violations is the script rolled back to a savepoint, the tables named counted
/// as they were, and the script run again.
fn run_script_checking_foreign_keys(tx: &Connection, ready: &Ready<'_>, wait: &Wait) -> Result<()> {
    let step = &ready.step;
    let before = schema_version(tx)?;
    let check = |scope: &Scope| foreign_key_violations(tx, scope, &wait.tables, before);
    tx.execute_batch("SAVEPOINT dbm_script")?;
    let scope = run_recording(tx, ready, wait)?;
    let after = check(&scope)?;
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
            let scope = run_recording(tx, ready, wait)?;
            let violations = introduced(check(&scope)?);
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

/// Runs the script with the authorizer recording, and returns what it may have written.
fn run_recording(tx: &Connection, ready: &Ready<'_>, wait: &Wait) -> Result<Scope> {
    if let Ok(mut t) = wait.touched.lock() {
        t.start();
    }
    let (step, watch) = (&ready.step, wait.watch.as_deref());
    let ran = match &ready.stmts {
        Some(stmts) => run_statements(tx, stmts, step.file, watch),
        None => Statements::new(step.sql, step.file)
            .and_then(|stmts| run_statements(tx, &stmts, step.file, watch)),
    };
    let scope = wait
        .touched
        .lock()
        .map_or(Scope::Everything, |mut t| t.finish());
    ran.map(|()| scope)
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
    apply_version_hooked(conn, step, None, None, &mut |_| Ok(()), before_commit)
}

/// [`apply_version`] with [`run_hooked`]'s `before_script`, and a flag that, once set,
/// ends any wait for a lock at once (and, with a `watch`, the running statement).
pub(crate) fn apply_version_hooked(
    conn: &mut Connection,
    step: &Step<'_>,
    watch: Option<Arc<Watch>>,
    stop: Option<Arc<AtomicBool>>,
    before_script: &mut dyn FnMut(&Connection) -> Result<()>,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<StepOutcome> {
    let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    let wait = Wait::watched(Duration::from_millis(busy_ms.max(0) as u64), watch, stop);
    let guard = ConnGuard::with_wait(conn, wait)?;
    match run_hooked(
        guard.conn(),
        &Ready::new(*step),
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
