//! Progress of long work: typed events the library reports as each part starts and while
//! rows are copied ([`ProgressEvent`]), to an observer the caller passes ([`Progress`]); the
//! command line renders them. No observer (the default) installs nothing and costs nothing.
//!
//! Rows copied during a rebuild and bytes written by a backup are read from SQLite's progress
//! handler, which SQLite calls every [`OPS_PER_TICK`] virtual-machine instructions of the
//! running statement: the script runs unchanged, as one statement (a chunked copy would
//! rewrite it and cost 2–4 %; see BENCHMARKS.md). The same handler stops the statement when
//! the caller's stop flag is set, and SQLite then rolls the transaction back.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::script::Direction;

/// One thing a long run is doing, reported as it starts (and, for copies, as it goes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A copy of `database` is being taken before the first step; `bytes` is the size of
    /// the database file (the copy is at most that).
    BackupStarted {
        /// The database file being copied.
        database: PathBuf,
        /// Its size in bytes.
        bytes: u64,
    },
    /// Bytes of the backup written so far, out of `total` (the database's size).
    BackupBytes {
        /// Bytes written so far.
        done: u64,
        /// The database's size.
        total: u64,
    },
    /// The backup is complete at `path`.
    BackupDone {
        /// The backup file.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
    },
    /// A version's script starts (under the write lock, the version checked).
    VersionStarted {
        /// The database's version before the script.
        from: u64,
        /// The version the script leads to.
        to: u64,
        /// Up (upgrade) or down (downgrade).
        direction: Direction,
        /// The script that runs.
        file: PathBuf,
    },
    /// A version's script and checks are done (it commits with its transaction).
    VersionDone {
        /// The version before.
        from: u64,
        /// The version reached.
        to: u64,
        /// How long the script and its checks took.
        elapsed: Duration,
    },
    /// A rebuild starts copying `rows` rows of `table` into its new definition.
    RebuildStarted {
        /// The table rebuilt.
        table: String,
        /// Its rows, counted before the copy.
        rows: u64,
    },
    /// Rows of `table` copied so far, out of `total`.
    RowsCopied {
        /// The table rebuilt.
        table: String,
        /// Rows copied so far.
        done: u64,
        /// The rows counted before the copy.
        total: u64,
    },
    /// The rebuild of `table` copied all its `rows`.
    RebuildDone {
        /// The table rebuilt.
        table: String,
        /// The rows copied.
        rows: u64,
    },
}

/// An observer of long work (upgrade, downgrade, migrate): called on the migrating thread,
/// so it should return quickly. Any `Fn(&ProgressEvent) + Send + Sync` is one.
pub trait Progress: Send + Sync {
    /// Called with each event as it happens.
    fn event(&self, event: &ProgressEvent);
}

impl<F: Fn(&ProgressEvent) + Send + Sync> Progress for F {
    fn event(&self, event: &ProgressEvent) {
        self(event)
    }
}

impl fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Progress")
    }
}

/// How often SQLite calls the progress handler, in virtual-machine instructions: a copy
/// takes about 20 per row, so about every 2,500 rows (a few milliseconds), which is often
/// enough for a bar and for Ctrl-C, and rare enough to cost nothing measurable.
pub(crate) const OPS_PER_TICK: i32 = 50_000;

/// What the progress handler is watching now.
#[derive(Debug)]
enum Job {
    Idle,
    Copy {
        table: String,
        total: u64,
        last: u64,
    },
    Backup {
        tmp: PathBuf,
        total: u64,
        last: u64,
    },
}

/// A run's observer and stop flag, shared with the progress handler it installs.
#[derive(Debug)]
pub(crate) struct Watch {
    observer: Option<Arc<dyn Progress>>,
    stop: Option<Arc<AtomicBool>>,
    job: Mutex<Job>,
}

impl Watch {
    /// `None` when there is neither an observer nor a stop flag: then nothing is installed.
    pub fn new(
        observer: Option<Arc<dyn Progress>>,
        stop: Option<Arc<AtomicBool>>,
    ) -> Option<Arc<Watch>> {
        if observer.is_none() && stop.is_none() {
            return None;
        }
        Some(Arc::new(Watch {
            observer,
            stop,
            job: Mutex::new(Job::Idle),
        }))
    }

    /// Whether there is anyone to tell (counting rows is work only an observer needs).
    pub fn observed(&self) -> bool {
        self.observer.is_some()
    }

    pub fn emit(&self, event: ProgressEvent) {
        if let Some(o) = &self.observer {
            o.event(&event);
        }
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn set(&self, job: Job) {
        if let Ok(mut j) = self.job.lock() {
            *j = job;
        }
    }

    /// Watches the copy of `table`'s `total` rows until the guard drops.
    pub fn copying(&self, table: &str, total: u64) -> JobGuard<'_> {
        self.set(Job::Copy {
            table: table.to_string(),
            total,
            last: 0,
        });
        JobGuard(self)
    }

    /// Watches the backup being written to `tmp` until the guard drops.
    pub fn backing_up(&self, tmp: &Path, total: u64) -> JobGuard<'_> {
        self.set(Job::Backup {
            tmp: tmp.to_path_buf(),
            total,
            last: 0,
        });
        JobGuard(self)
    }

    /// Installs the progress handler on `conn` (replacing any other); [`Watch::uninstall`]
    /// removes it.
    pub fn install(self: &Arc<Self>, conn: &mut Connection) -> rusqlite::Result<()> {
        // SAFETY: only the address is taken here; it is used by the handler, which SQLite
        // calls only from inside a call on this same connection, so the handle is live.
        let db = Handle(unsafe { conn.handle() });
        let watch = Arc::clone(self);
        conn.progress_handler(
            OPS_PER_TICK,
            Some(move || {
                if watch.stopped() {
                    return true;
                }
                watch.tick(&db);
                false
            }),
        )
    }

    pub fn uninstall(conn: &mut Connection) {
        let _ = conn.progress_handler(0, None::<fn() -> bool>);
    }

    /// One call of the progress handler: reports what moved since the last one.
    fn tick(&self, db: &Handle) {
        let Some(o) = &self.observer else {
            return;
        };
        let Ok(mut job) = self.job.lock() else {
            return;
        };
        let event = match &mut *job {
            Job::Idle => None,
            Job::Copy { table, total, last } => {
                let done = db.rows_scanned().min(*total);
                (done > *last).then(|| {
                    *last = done;
                    ProgressEvent::RowsCopied {
                        table: table.clone(),
                        done,
                        total: *total,
                    }
                })
            }
            Job::Backup { tmp, total, last } => {
                let done = std::fs::metadata(&*tmp).map_or(0, |m| m.len()).min(*total);
                (done > *last).then(|| {
                    *last = done;
                    ProgressEvent::BackupBytes {
                        done,
                        total: *total,
                    }
                })
            }
        };
        drop(job);
        if let Some(e) = event {
            o.event(&e);
        }
    }
}

/// Ends a [`Watch`] job when dropped.
pub(crate) struct JobGuard<'w>(&'w Watch);

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        self.0.set(Job::Idle);
    }
}

/// The connection's handle, for the progress handler (which runs on the connection's own
/// thread, inside one of its calls).
struct Handle(*mut rusqlite::ffi::sqlite3);

// SAFETY: the handler that holds it runs only inside a call on the connection, on the thread
// making that call; the handle is never used anywhere else.
unsafe impl Send for Handle {}

impl Handle {
    /// Rows the running statements have stepped over in full-table scans: for a rebuild's
    /// `INSERT INTO new SELECT .. FROM old` (the one statement running), the rows copied.
    /// SQLite counts them per statement (`SQLITE_STMTSTATUS_FULLSCAN_STEP`); rusqlite exposes
    /// the counter only through a `Statement`, which the handler cannot hold.
    fn rows_scanned(&self) -> u64 {
        use rusqlite::ffi;
        let mut most = 0u64;
        // SAFETY: called from the progress handler, inside a call on this connection:
        // the connection and its statements are live, and reading statement counters does
        // not modify the connection (which the progress handler must not do).
        unsafe {
            let mut stmt = ffi::sqlite3_next_stmt(self.0, std::ptr::null_mut());
            while !stmt.is_null() {
                if ffi::sqlite3_stmt_busy(stmt) != 0 {
                    let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
                    most = most.max(n.max(0) as u64);
                }
                stmt = ffi::sqlite3_next_stmt(self.0, stmt);
            }
        }
        most
    }
}
