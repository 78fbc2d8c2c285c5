//! One repository, many databases: a rollout moves every database of a stream of paths to
//! one version with [`upgrade`] / [`downgrade`], each on its own connection, so each keeps
//! exactly the guarantees of a single run (one `BEGIN IMMEDIATE` transaction per version
//! with its control row, checksums of applied scripts, backups per policy). A rollout is
//! resumable: it only ever asks each database to go to the target, so running it again
//! after a crash or `kill -9` finishes the rest.
//!
//! Workers take paths from the stream as they need them (the list is never collected), and
//! the caller hears about each database as it finishes. A stop (`stop` flag, failures
//! beyond `max_failures`, a failed canary) stops starting databases; one that is running
//! finishes the version it is applying and goes no further.
//!
//! ```no_run
//! use dbm::{Databases, Repository, RolloutOptions};
//!
//! let repo = Repository::open(std::path::Path::new("db_repository"))?;
//! let tenants = Databases::new().glob("tenants/*.db")?;
//! let report = dbm::rollout(tenants.filter_map(Result::ok), &repo, &RolloutOptions::default())?;
//! for f in &report.failures {
//!     eprintln!("{}: {}", f.path.display(), f.error);
//! }
//! # Ok::<(), dbm::Error>(())
//! ```

mod targets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::apply::{db_version, downgrade, upgrade, ApplyOptions, BackupPolicy};
use crate::error::{is_busy, map_busy, Error, LockHolder, Result};
use crate::repository::Repository;

pub use targets::Databases;

/// Where a rollout takes every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Goal {
    /// The repository's latest version.
    #[default]
    Latest,
    /// Upgrade to this version.
    Upgrade(u64),
    /// Downgrade to this version.
    Downgrade(u64),
}

/// Options of [`rollout`].
#[derive(Debug, Clone)]
pub struct RolloutOptions {
    /// The version to reach: the latest, one given, or one to go down to.
    pub goal: Goal,
    /// Databases migrated at the same time; 0 for the number of cores.
    pub jobs: usize,
    /// Migrate this many databases first and stop if any of them fails.
    pub canary: usize,
    /// Stop starting databases after this many failures; `None` never stops.
    pub max_failures: Option<usize>,
    /// Each database's options, as for a single [`upgrade`].
    pub apply: ApplyOptions,
    /// Set it (from a Ctrl-C handler, say) to stop starting databases; running ones finish
    /// the version they are applying.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            goal: Goal::Latest,
            jobs: 0,
            canary: 0,
            max_failures: Some(1),
            apply: ApplyOptions::default(),
            stop: None,
        }
    }
}

/// What happened to one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Moved to the target.
    Migrated,
    /// Already at the target; nothing ran.
    UpToDate,
    /// Refused or failed; the database is at the last version it reached (`after`).
    Failed,
    /// Stopped between two versions by a stop request; `after` says where it is.
    Interrupted,
    /// Never opened: the rollout stopped first.
    NotStarted,
}

impl Outcome {
    /// The word the command line and its JSON use (`up-to-date`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Migrated => "migrated",
            Outcome::UpToDate => "up-to-date",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
            Outcome::NotStarted => "not-started",
        }
    }
}

/// One database of a rollout, as it finished.
#[derive(Debug)]
pub struct DatabaseReport {
    /// The database file.
    pub path: PathBuf,
    /// Its version when opened, and afterwards (`None` where it could not be read).
    pub before: Option<u64>,
    /// Its version afterwards (`None` where it could not be read).
    pub after: Option<u64>,
    /// What happened to it.
    pub outcome: Outcome,
    /// Why it failed, when it did.
    pub error: Option<Error>,
    /// The first backup taken.
    pub backup: Option<PathBuf>,
    /// Time from opening it to the end of its last step.
    pub elapsed: Duration,
    /// Migrated as one of the canaries.
    pub canary: bool,
}

/// A database the rollout could not move.
#[derive(Debug)]
pub struct Failure {
    /// The database file.
    pub path: PathBuf,
    /// The version it is at, where it could be read.
    pub version: Option<u64>,
    /// Why it failed (an [`Error::Stopped`] when some versions went in first).
    pub error: Error,
}

/// Why a rollout stopped starting databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A canary failed.
    Canary,
    /// `max_failures` databases failed.
    MaxFailures(usize),
    /// The stop flag was set.
    Requested,
}

/// What [`rollout`] did: counts, the version of every database it could read afterwards,
/// the failures.
#[derive(Debug, Default)]
pub struct RolloutReport {
    /// The version every database was to reach.
    pub target: u64,
    /// Databases moved to the target.
    pub migrated: usize,
    /// Databases already at the target.
    pub up_to_date: usize,
    /// Databases that failed or were refused.
    pub failed: usize,
    /// Databases stopped between two versions by a stop request.
    pub interrupted: usize,
    /// Databases never opened because the rollout stopped first.
    pub not_started: usize,
    /// How many databases are at each version afterwards (the not-started ones and those
    /// that could not be read are not counted).
    pub versions: BTreeMap<u64, usize>,
    /// Every failure, in the order they happened.
    pub failures: Vec<Failure>,
    /// Why the rollout stopped starting databases, if it did.
    pub stopped: Option<StopReason>,
    /// Wall time of the whole rollout.
    pub elapsed: Duration,
}

impl RolloutReport {
    /// Every database was reached and is at the target.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.interrupted == 0 && self.not_started == 0
    }

    /// How many databases the rollout was given.
    pub fn databases(&self) -> usize {
        self.migrated + self.up_to_date + self.failed + self.interrupted + self.not_started
    }

    fn add(&mut self, mut db: DatabaseReport) {
        match db.outcome {
            Outcome::Migrated => self.migrated += 1,
            Outcome::UpToDate => self.up_to_date += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Interrupted => self.interrupted += 1,
            Outcome::NotStarted => self.not_started += 1,
        }
        if let Some(v) = db.after {
            *self.versions.entry(v).or_default() += 1;
        }
        if let Some(error) = db.error.take() {
            self.failures.push(Failure {
                path: db.path,
                version: db.after,
                error,
            });
        }
    }
}

/// Moves every database of `paths` to `opts.goal`; see the module docs. Errors only for what
/// concerns the whole rollout (the repository, a target it lacks); each database's failure
/// is in the report.
pub fn rollout<I, P>(paths: I, repo: &Repository, opts: &RolloutOptions) -> Result<RolloutReport>
where
    I: IntoIterator<Item = P>,
    P: Into<PathBuf>,
{
    rollout_with(paths, repo, opts, &|_| {})
}

/// [`rollout`], calling `on_database` (from the worker threads) as each database finishes,
/// not-started ones included: for progress and per-database output.
pub fn rollout_with<I, P>(
    paths: I,
    repo: &Repository,
    opts: &RolloutOptions,
    on_database: &(dyn Fn(&DatabaseReport) + Sync),
) -> Result<RolloutReport>
where
    I: IntoIterator<Item = P>,
    P: Into<PathBuf>,
{
    let started = Instant::now();
    let latest = repo.latest()?;
    let (target, up) = match opts.goal {
        Goal::Latest => (latest, true),
        Goal::Upgrade(t) if t > latest => {
            return Err(Error::UpgradeTargetMissing { target: t, latest })
        }
        Goal::Upgrade(t) => (t, true),
        Goal::Downgrade(t) if t > latest => {
            return Err(Error::NoSuchVersion { version: t, latest })
        }
        Goal::Downgrade(t) => (t, false),
    };
    let report = Mutex::new(RolloutReport {
        target,
        ..RolloutReport::default()
    });
    let failures = AtomicUsize::new(0);
    let halted = AtomicBool::new(false);
    let requested = || opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
    let halt = || halted.load(Ordering::SeqCst) || requested();
    let finish = |db: DatabaseReport| {
        on_database(&db);
        lock(&report).add(db);
    };
    let not_started = |path: PathBuf, canary: bool| {
        finish(DatabaseReport {
            path,
            before: None,
            after: None,
            outcome: Outcome::NotStarted,
            error: None,
            backup: None,
            elapsed: Duration::ZERO,
            canary,
        })
    };
    let work = |path: PathBuf, canary: bool| {
        let db = migrate_one(path, repo, target, up, opts, &requested, canary);
        if db.outcome == Outcome::Failed {
            let n = failures.fetch_add(1, Ordering::SeqCst) + 1;
            if opts.max_failures.is_some_and(|k| n >= k) {
                halted.store(true, Ordering::SeqCst);
                lock(&report)
                    .stopped
                    .get_or_insert(StopReason::MaxFailures(n));
            }
        }
        finish(db);
    };
    let jobs = jobs(opts.jobs);
    let mut paths = paths.into_iter().map(Into::into);
    if opts.canary > 0 {
        let mut canaries = paths.by_ref().take(opts.canary);
        each(&mut canaries, jobs, &halt, &|p| work(p, true), &|p| {
            not_started(p, true)
        });
        canaries.for_each(|p| not_started(p, true));
        if failures.load(Ordering::SeqCst) > 0 {
            halted.store(true, Ordering::SeqCst);
            lock(&report).stopped = Some(StopReason::Canary);
        }
    }
    each(&mut paths, jobs, &halt, &|p| work(p, false), &|p| {
        not_started(p, false)
    });
    paths.for_each(|p| not_started(p, false));
    let mut report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    if report.stopped.is_none() && requested() {
        report.stopped = Some(StopReason::Requested);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Options of [`survey`].
#[derive(Debug, Clone)]
pub struct SurveyOptions {
    /// Databases read at the same time; 0 for the number of cores.
    pub jobs: usize,
    /// How long to wait for a database another connection is writing.
    pub busy_timeout: Duration,
}

impl Default for SurveyOptions {
    fn default() -> Self {
        SurveyOptions {
            jobs: 0,
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs `read` on every database of `paths`, each opened read-only on its own connection,
/// `jobs` at a time; `on_database` hears each result as it comes (from the worker threads).
/// For `status`, `db-version`, `check` and `test` over many databases. Returns how many
/// databases were read.
pub fn survey<I, P, T>(
    paths: I,
    opts: &SurveyOptions,
    read: &(dyn Fn(&Connection) -> Result<T> + Sync),
    on_database: &(dyn Fn(&Path, Result<T>) + Sync),
) -> usize
where
    I: IntoIterator<Item = P>,
    P: Into<PathBuf>,
{
    let count = AtomicUsize::new(0);
    let mut paths = paths.into_iter().map(Into::into);
    each(
        &mut paths,
        jobs(opts.jobs),
        &|| false,
        &|path: PathBuf| {
            count.fetch_add(1, Ordering::Relaxed);
            let result = open(&path, false, opts.busy_timeout).and_then(|c| read(&c));
            on_database(&path, result);
        },
        &|_| {},
    );
    count.into_inner()
}

fn jobs(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Feeds `paths` to `jobs` workers running `work`, from the calling thread (the stream need
/// not be `Send`), a few paths ahead of them at most. Once `halt` says so, no path is
/// started: the queued ones go to `skip`, and the rest stay in `paths`.
fn each(
    paths: &mut dyn Iterator<Item = PathBuf>,
    jobs: usize,
    halt: &(dyn Fn() -> bool + Sync),
    work: &(dyn Fn(PathBuf) + Sync),
    skip: &(dyn Fn(PathBuf) + Sync),
) {
    let (tx, rx) = mpsc::sync_channel::<PathBuf>(jobs);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let next = lock(&rx).recv();
                match next {
                    Ok(p) if halt() => skip(p),
                    Ok(p) => work(p),
                    Err(_) => return,
                }
            });
        }
        for p in &mut *paths {
            if halt() {
                skip(p);
                break;
            }
            if tx.send(p).is_err() {
                break;
            }
        }
        drop(tx);
    });
}

/// Opens an existing database (never creates one) and checks it is a SQLite file.
fn open(path: &Path, write: bool, busy: Duration) -> Result<Connection> {
    let refuse = |message: &str| Error::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if !path.exists() {
        return Err(refuse("no such database"));
    }
    if path.is_dir() {
        return Err(refuse("a folder, not a SQLite database"));
    }
    let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
        | if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy)?;
    // Reading the schema tells a SQLite file from anything else without writing.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| {
        if is_busy(&e) {
            map_busy(e, busy, LockHolder::Writer)
        } else {
            refuse(&format!("not a usable SQLite database: {e}"))
        }
    })?;
    Ok(conn)
}

/// One database to the target, one version per call so that a stop request takes effect
/// between versions.
fn migrate_one(
    path: PathBuf,
    repo: &Repository,
    target: u64,
    up: bool,
    opts: &RolloutOptions,
    requested: &dyn Fn() -> bool,
    canary: bool,
) -> DatabaseReport {
    let started = Instant::now();
    let mut db = DatabaseReport {
        path,
        before: None,
        after: None,
        outcome: Outcome::UpToDate,
        error: None,
        backup: None,
        elapsed: Duration::ZERO,
        canary,
    };
    if let Err(e) = steps(&mut db, repo, target, up, opts, requested) {
        db.outcome = Outcome::Failed;
        db.error = Some(e);
    }
    db.elapsed = started.elapsed();
    db
}

fn steps(
    db: &mut DatabaseReport,
    repo: &Repository,
    target: u64,
    up: bool,
    opts: &RolloutOptions,
    requested: &dyn Fn() -> bool,
) -> Result<()> {
    let mut conn = open(&db.path, true, opts.apply.busy_timeout)?;
    let version = |conn: &Connection| {
        db_version(conn, repo)?.ok_or_else(|| crate::apply::control::not_controlled(repo))
    };
    let mut cur = version(&conn)?;
    db.before = Some(cur);
    db.after = Some(cur);
    let mut apply = opts.apply.clone();
    while cur != target {
        if db.outcome == Outcome::Migrated && requested() {
            db.outcome = Outcome::Interrupted;
            return Ok(());
        }
        // A database on the wrong side of the target gets the single run's own refusal.
        let next = match (up, cur < target) {
            (true, true) => cur + 1,
            (false, false) => cur - 1,
            _ => target,
        };
        let result = if up {
            upgrade(&mut conn, repo, Some(next), &apply)
        } else {
            downgrade(&mut conn, repo, Some(next), &apply)
        };
        let report = match result {
            Ok(r) => r,
            Err(Error::Stopped { report, source }) => {
                db.backup = db.backup.take().or(report.backup);
                db.after = db_version(&conn, repo).ok().flatten();
                return Err(*source);
            }
            Err(e) => return Err(e),
        };
        db.backup = db.backup.take().or(report.backup);
        db.outcome = Outcome::Migrated;
        // `always` means one copy before the run, as a single upgrade takes; later
        // destructive versions still get theirs.
        if apply.backup == BackupPolicy::Always {
            apply.backup = BackupPolicy::Auto;
        }
        cur = version(&conn)?;
        db.after = Some(cur);
    }
    Ok(())
}
