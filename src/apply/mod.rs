//! Applying versions to a borrowed connection: one runner for both directions over the
//! control-table store ([`control`]), the one-step transaction ([`step`]), backups and
//! offline SQL.
//!
//! Every version runs in its own `BEGIN IMMEDIATE` transaction together with the control-table
//! update and a `migrate_history` row, with foreign keys switched off *outside* the transaction
//! and checked with `pragma_foreign_key_check` before COMMIT. The version is re-read under the
//! write lock, so concurrent migrators never apply a version twice.
//!
//! An app migrates its own database at start-up on the connection it already has:
//!
//! ```no_run
//! use dbm::{ApplyOptions, Repository};
//!
//! let repo = Repository::open(std::path::Path::new("db_repository"))?;
//! let mut conn = rusqlite::Connection::open("app.db")?;
//! let report = dbm::upgrade(&mut conn, &repo, None, &ApplyOptions::default())?;
//! println!("applied {} version(s)", report.steps.len());
//! # Ok::<(), dbm::Error>(())
//! ```

pub(crate) mod backup;
pub(crate) mod control;
mod fk_scope;
pub(crate) mod interrupted;
mod offline;
pub(crate) mod step;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

pub use backup::BackupPolicy;
pub use control::{
    adopt_if_empty, db_version, drop_version_control, history, reserved, version_control,
    HISTORY_TABLE,
};
pub use step::{apply_version, Step, StepOutcome};

use crate::error::{Error, LockHolder, Result};
use crate::progress::{Progress, Watch};
use crate::repository::{checksum, Repository, VersionFiles};
use crate::script::Direction;
use control::{current_version, modified, modified_down, not_controlled};
use step::Attempt;

/// Options of [`upgrade`] and [`downgrade`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Apply even if an already-applied script changed since it was applied (an up script,
    /// or going down, the down script recorded with it).
    pub allow_modified: bool,
    /// How long to wait, in all, for other connections' locks (the write lock, and readers
    /// in rollback-journal mode).
    pub busy_timeout: Duration,
    /// When to copy the database before the first step (`--backup` / `--no-backup`).
    pub backup: BackupPolicy,
    /// All pending versions in one transaction (fresh installs, CI): any failure rolls them
    /// all back, and each version still gets its control-table move and history row.
    /// Default: one transaction per version, so a failure keeps the versions before it.
    pub single_transaction: bool,
    /// Told as each part starts (backup, version, rebuild) and as rows and bytes are
    /// copied. `None` (the default) installs nothing.
    pub progress: Option<Arc<dyn Progress>>,
    /// Set it (from a Ctrl-C handler, say) to stop: a lock wait and the running statement
    /// end, the version rolls back, and the run fails with [`Error::InterruptedAt`].
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_modified: false,
            busy_timeout: Duration::from_secs(30),
            backup: BackupPolicy::Auto,
            single_transaction: false,
            progress: None,
            stop: None,
        }
    }
}

/// What [`upgrade`] / [`downgrade`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// `(from, to)` per version applied by this call, in order.
    pub steps: Vec<(u64, u64)>,
    /// The copy taken before the first step, if any.
    pub backup: Option<PathBuf>,
}

/// One row of `migrate_history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The row's id, in the order the steps ran.
    pub id: i64,
    /// The version whose script ran.
    pub version: u64,
    /// Whether its up or its down script ran.
    pub direction: Direction,
    /// SHA-256 of the script's text, compared with the file to find edited scripts.
    pub checksum: String,
    /// When the step committed (UTC, ISO 8601).
    pub applied_at: String,
    /// How long the script took.
    pub duration_ms: u64,
}

/// One version step to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingStep<'a> {
    /// The database's version before the step.
    pub from: u64,
    /// Its version after it.
    pub to: u64,
    /// Up or down: which script of the version runs.
    pub direction: Direction,
    /// The version whose script runs (`to` going up, `from` going down).
    pub files: &'a VersionFiles,
}

/// The steps from version `from` to version `to`, one version each, in order, with the
/// script each one runs. Pure: the local versions decide (like refinery's
/// `verify_migrations`); a version missing from them is an error.
pub fn pending(from: u64, to: u64, versions: &[VersionFiles]) -> Result<Vec<PendingStep<'_>>> {
    let latest = versions.last().map_or(0, |v| v.version);
    let files = |version: u64| {
        versions
            .iter()
            .find(|v| v.version == version)
            .ok_or(Error::NoSuchVersion { version, latest })
    };
    if to >= from {
        (from + 1..=to)
            .map(|v| {
                Ok(PendingStep {
                    from: v - 1,
                    to: v,
                    direction: Direction::Up,
                    files: files(v)?,
                })
            })
            .collect()
    } else {
        (to + 1..=from)
            .rev()
            .map(|v| {
                Ok(PendingStep {
                    from: v,
                    to: v - 1,
                    direction: Direction::Down,
                    files: files(v)?,
                })
            })
            .collect()
    }
}

/// The repository's versions and the database's, checked: under version control, not above
/// the latest version, applied scripts unchanged (unless allowed).
struct Checked {
    versions: Vec<VersionFiles>,
    latest: u64,
    current: u64,
}

fn check(conn: &Connection, repo: &Repository, allow_modified: bool) -> Result<Checked> {
    // A version this database committed whose marker an interrupted `migrate` left behind
    // joins the repository; the scripts of one not committed stay out of it.
    interrupted::settle(conn, repo)?;
    let versions = repo.versions()?;
    let latest = versions.last().map_or(0, |v| v.version);
    let current = current_version(conn, repo)?;
    if current > latest {
        return Err(Error::AboveLatest {
            current,
            latest,
            root: repo.root.clone(),
        });
    }
    if !allow_modified {
        let scripts = modified(conn, repo, &versions, current)?;
        if !scripts.is_empty() {
            return Err(Error::Modified { scripts });
        }
    }
    Ok(Checked {
        versions,
        latest,
        current,
    })
}

/// The checks [`upgrade`] and [`downgrade`] make before running anything (under version
/// control, not above the repository's latest version, applied scripts unchanged), for
/// the offline SQL, which must refuse in the same cases. Returns the version.
fn check_applied(conn: &Connection, repo: &Repository, allow_modified: bool) -> Result<u64> {
    check(conn, repo, allow_modified).map(|c| c.current)
}

/// Refuses a downgrade whose down scripts changed since their up scripts were applied
/// (unless allowed).
fn down_unchanged(
    conn: &Connection,
    repo: &Repository,
    steps: &[PendingStep<'_>],
    allow_modified: bool,
) -> Result<()> {
    if allow_modified {
        return Ok(());
    }
    let downs: Vec<&VersionFiles> = steps
        .iter()
        .filter(|s| s.direction == Direction::Down)
        .map(|s| s.files)
        .collect();
    // Going up there is nothing to read.
    if downs.is_empty() {
        return Ok(());
    }
    let scripts = modified_down(conn, repo, downs)?;
    if scripts.is_empty() {
        Ok(())
    } else {
        Err(Error::Modified { scripts })
    }
}

/// Upgrades to `target` (default: the latest version), one transaction per version.
/// Versions already applied by a concurrent migrator are skipped. For the run, `conn` carries
/// dbm's busy handler and authorizer; the authorizer is removed afterwards, not restored.
pub fn upgrade(
    conn: &mut Connection,
    repo: &Repository,
    target: Option<u64>,
    opts: &ApplyOptions,
) -> Result<ApplyReport> {
    run(conn, repo, opts, |c| {
        upgrade_target(c.current, c.latest, target)
    })
}

/// The version an upgrade goes to (default: the latest), which may not be below `current`.
fn upgrade_target(current: u64, latest: u64, requested: Option<u64>) -> Result<u64> {
    let target = requested.unwrap_or(latest);
    if target > latest {
        return Err(Error::UpgradeTargetMissing { target, latest });
    }
    if target < current {
        return Err(Error::WrongDirection {
            current,
            target,
            upgrade: true,
        });
    }
    Ok(target)
}

/// The version a downgrade goes to (default: one down), which must be below `current`.
fn downgrade_target(current: u64, latest: u64, requested: Option<u64>) -> Result<u64> {
    let target = match requested {
        Some(t) => t,
        None => current.checked_sub(1).ok_or(Error::AtBottom)?,
    };
    // Advice to `dbm upgrade` there would name a version the repository cannot reach.
    if target > latest {
        return Err(Error::NoSuchVersion {
            version: target,
            latest,
        });
    }
    if target >= current {
        return Err(Error::WrongDirection {
            current,
            target,
            upgrade: false,
        });
    }
    Ok(target)
}

/// Downgrades to `target` (default: one version down), running each version's down script
/// from the current version down to `target + 1`, one transaction per version.
pub fn downgrade(
    conn: &mut Connection,
    repo: &Repository,
    target: Option<u64>,
    opts: &ApplyOptions,
) -> Result<ApplyReport> {
    run(conn, repo, opts, |c| {
        downgrade_target(c.current, c.latest, target)
    })
}

/// The SQL that [`upgrade`] would run, for `sqlite3 -bail DB < file`; `conn` is `None` for
/// a database that does not exist yet (it starts at version 0).
pub fn upgrade_sql(
    conn: Option<&Connection>,
    repo: &Repository,
    target: Option<u64>,
    allow_modified: bool,
) -> Result<String> {
    let from = match conn {
        Some(c) => check_applied(c, repo, allow_modified)?,
        None => 0,
    };
    let target = upgrade_target(from, repo.latest()?, target)?;
    offline::offline_sql(repo, from, target, allow_modified)
}

/// The SQL that [`downgrade`] would run, for `sqlite3 -bail DB < file`.
pub fn downgrade_sql(
    conn: &Connection,
    repo: &Repository,
    target: Option<u64>,
    allow_modified: bool,
) -> Result<String> {
    let from = check_applied(conn, repo, allow_modified)?;
    let target = downgrade_target(from, repo.latest()?, target)?;
    down_unchanged(
        conn,
        repo,
        &pending(from, target, &repo.versions()?)?,
        allow_modified,
    )?;
    offline::offline_sql(repo, from, target, allow_modified)
}

#[cfg(test)]
pub(crate) use offline::offline_sql;

/// The runner behind [`upgrade`] and [`downgrade`]: checks, target, backup, then one step
/// per version until the database is at the target.
fn run(
    conn: &mut Connection,
    repo: &Repository,
    opts: &ApplyOptions,
    target_of: impl FnOnce(&Checked) -> Result<u64>,
) -> Result<ApplyReport> {
    // No open transaction, before anything is read or copied.
    control::outside_transaction(conn)?;
    let watch = Watch::new(opts.progress.clone(), opts.stop.clone());
    let wait = step::Wait::watched(opts.busy_timeout, watch, opts.stop.clone());
    let guard = step::ConnGuard::with_wait(conn, wait)?;
    let (conn, wait) = (guard.conn(), &guard.wait);
    let checked = check(conn, repo, opts.allow_modified)?;
    let target = target_of(&checked)?;
    let steps = pending(checked.current, target, &checked.versions)?;
    down_unchanged(conn, repo, &steps, opts.allow_modified)?;
    // Per step: the script, and going up the down script's checksum to record with it.
    let mut scripts: HashMap<(u64, u64), (PathBuf, String, Option<String>)> = HashMap::new();
    for s in &steps {
        let sql = repo.read_script(s.files, s.direction)?;
        let down_sum = match s.direction {
            Direction::Up => Some(checksum(
                repo.read_script(s.files, Direction::Down)?.as_bytes(),
            )),
            Direction::Down => None,
        };
        scripts.insert(
            (s.from, s.to),
            (s.files.script(s.direction).to_path_buf(), sql, down_sum),
        );
    }
    let mut report = ApplyReport::default();
    if steps.is_empty() {
        return Ok(report);
    }
    let up = target > checked.current;
    let direction = if up { Direction::Up } else { Direction::Down };
    let sums: HashMap<(u64, u64), String> = scripts
        .iter()
        .map(|(k, (_, sql, _))| (*k, checksum(sql.as_bytes())))
        .collect();
    // Each script split once, for the backup decision and every run of it.
    let ready: HashMap<(u64, u64), step::Ready<'_>> = scripts
        .iter()
        .filter_map(|(&(from, to), (file, sql, down_sum))| {
            let step = Step {
                repo,
                sql,
                file,
                from,
                to,
                direction,
                checksum: sums.get(&(from, to))?,
                down_checksum: down_sum.as_deref(),
            };
            Some(((from, to), step::Ready::new(step)))
        })
        .collect();
    let stopped = || {
        opts.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    // A request to stop wins over the error it caused (an interrupted statement, a lock
    // wait cut short): whatever was running rolled back.
    let interrupted = |e: Error| match stopped() {
        true => Error::InterruptedAt {
            version: current_version(conn, repo).unwrap_or(checked.current),
        },
        false => e,
    };
    if backup::wanted(opts.backup, || ready.values().any(|r| r.destroys_data())) {
        report.backup = backup::take(conn, checked.current, wait.watch.as_deref())
            .map_err(|e| interrupted(locked(e, wait)))?;
    }
    let stop = |report: ApplyReport, e: Error| {
        let e = interrupted(e);
        if report.steps.is_empty() && report.backup.is_none() {
            e
        } else {
            Error::Stopped {
                report,
                source: Box::new(e),
            }
        }
    };
    let step_of = |from: u64, to: u64| ready.get(&(from, to));
    if opts.single_transaction {
        let all: Option<Vec<&step::Ready<'_>>> =
            steps.iter().map(|s| step_of(s.from, s.to)).collect();
        match step::run_all(conn, &all.unwrap_or_default(), wait) {
            Ok(Attempt::Applied { .. }) => {
                report.steps = steps.iter().map(|s| (s.from, s.to)).collect();
                return Ok(report);
            }
            // Another migrator moved the database meanwhile: go on one version at a time.
            Ok(Attempt::Stale { .. }) => {}
            Err(e) => return Err(stop(report, e)),
        }
    }
    // Each step re-reads the version under the write lock and says what it found, so a
    // concurrent migrator's move is seen without a read of its own per version.
    let mut cur = match current_version(conn, repo) {
        Ok(v) => v,
        Err(e) => return Err(stop(report, e)),
    };
    loop {
        if (up && cur >= target) || (!up && cur <= target) {
            return Ok(report);
        }
        if stopped() {
            return Err(stop(report, Error::InterruptedAt { version: cur }));
        }
        let (from, to) = if up { (cur, cur + 1) } else { (cur, cur - 1) };
        let Some(step) = step_of(from, to) else {
            // Only a concurrent downgrade while upgrading (or the reverse) gets here.
            return Err(stop(
                report,
                Error::AtVersion {
                    found: cur,
                    expected: from,
                },
            ));
        };
        match step::run(conn, step, wait, &mut || Ok(())) {
            Ok(Attempt::Applied { .. }) => {
                report.steps.push((from, to));
                cur = to;
            }
            Ok(Attempt::Stale { found: Some(v) }) => cur = v,
            Ok(Attempt::Stale { found: None }) => return Err(stop(report, not_controlled(repo))),
            Err(e) => return Err(stop(report, e)),
        }
    }
}

fn locked(e: Error, wait: &step::Wait) -> Error {
    match e {
        // The copy reads the file; only a writer's lock keeps it out.
        Error::Sqlite(s) => wait.locked(s, LockHolder::Writer),
        e => e,
    }
}
