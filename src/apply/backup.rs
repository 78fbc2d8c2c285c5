//! Backups before destructive steps: when to take one, and the copy itself.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::progress::{ProgressEvent, Watch};
use crate::script::Effects;

/// When to take a copy of the database before applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupPolicy {
    /// Only when a script to be applied is destructive: it drops a table or a column, deletes
    /// rows, or its generated header marks it (`-- dbm:destructive`).
    #[default]
    Auto,
    /// Before every upgrade or downgrade (`--backup`, `backup = "always"`).
    Always,
    /// Never, even before a destructive step (`--no-backup`, `backup = "never"`).
    Never,
}

/// Whether a script destroys data: its statements drop a table (other than the old copy of
/// a rebuilt one), drop a column or delete rows, or its header says so (`-- dbm:destructive`,
/// which dbm writes when a change loses data in a way the statements do not show, such as a
/// rebuild that leaves a column out). Text that does not lex counts as destructive.
pub(crate) fn destroys_data(sql: &str) -> bool {
    Effects::of(sql).is_none_or(|e| e.destroys_data())
}

/// Whether `policy` wants a backup before scripts that `destroys` says destroy data or not
/// (asked only under `auto`).
pub(crate) fn wanted(policy: BackupPolicy, destroys: impl FnOnce() -> bool) -> bool {
    match policy {
        BackupPolicy::Always => true,
        BackupPolicy::Never => false,
        BackupPolicy::Auto => destroys(),
    }
}

/// Takes a consistent copy with `VACUUM INTO` next to the database file, named after the
/// version it holds. `None` for in-memory and temporary databases.
///
/// The copy is written under a temporary name, synced, then published under the first free
/// `…-Z`, `…-Z-2`, … name with a hard link, which fails rather than replace an existing file:
/// concurrent backups get distinct names, and the final name never holds a partial copy (an
/// interrupted or disk-full `VACUUM INTO` leaves a file that opens as a valid, empty
/// database). On failure the temporary file is removed.
///
/// `watch` (whose progress handler is on `conn`) is told as the copy starts, as it grows and
/// once it is published.
pub(crate) fn take(
    conn: &Connection,
    version: u64,
    watch: Option<&Watch>,
) -> Result<Option<PathBuf>> {
    let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    copy_and_publish(conn, db, version, watch)
}

/// [`take`] for a connection inside its own write transaction, before it changed anything
/// (`VACUUM INTO` cannot run inside a transaction, and the backup API refuses a source in
/// a write transaction): the copy is read through a second, read-only connection, which
/// sees the last committed state, the database as the step finds it; the write lock held
/// keeps every other writer out until the step commits or rolls back.
pub(crate) fn take_while_writing(
    conn: &Connection,
    version: u64,
    watch: Option<&std::sync::Arc<Watch>>,
) -> Result<Option<PathBuf>> {
    let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let mut reader = Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    reader.busy_timeout(std::time::Duration::from_millis(busy_ms.max(0) as u64))?;
    // The copy runs on the reader: its progress handler reports it and stops it on request.
    if let Some(w) = watch {
        w.install(&mut reader)?;
    }
    copy_and_publish(&reader, db, version, watch.map(|w| &**w))
}

fn copy_and_publish(
    conn: &Connection,
    db: &str,
    version: u64,
    watch: Option<&Watch>,
) -> Result<Option<PathBuf>> {
    let stamp: String =
        conn.query_row("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')", [], |r| r.get(0))?;
    let base = format!("{db}.backup-v{version}-{stamp}");
    let io = |e: std::io::Error| Error::Backup {
        path: PathBuf::from(&base),
        message: e.to_string(),
    };
    let tmp = reserve_temp(&base).map_err(io)?;
    // The database's size bounds the copy's (VACUUM INTO leaves out free pages); the copy's
    // own size on disk, read by the progress handler, is the bytes written so far.
    let total: u64 = conn
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_or(0, |b| b.max(0) as u64);
    let watch = watch.filter(|w| w.observed());
    if let Some(w) = watch {
        w.emit(ProgressEvent::BackupStarted {
            database: PathBuf::from(db),
            bytes: total,
        });
    }
    let job = watch.map(|w| w.backing_up(&tmp, total));
    let copied = copy_to(conn, &tmp, &base).and_then(|()| publish(&tmp, &base).map_err(io));
    drop(job);
    // The temporary name is gone either way: linked and unlinked, or never complete.
    let _ = fs::remove_file(&tmp);
    if let (Some(w), Ok(path)) = (watch, &copied) {
        w.emit(ProgressEvent::BackupDone {
            path: path.clone(),
            bytes: fs::metadata(path).map_or(0, |m| m.len()),
        });
    }
    copied.map(Some)
}

/// Creates an empty file under a name no other backup uses (`VACUUM INTO` accepts an empty
/// target); create-new semantics decide, so a leftover of a killed process is skipped.
fn reserve_temp(base: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = PathBuf::from(format!("{base}.tmp-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(_) => return Ok(tmp),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The copy itself, synced to disk before it is published.
fn copy_to(conn: &Connection, tmp: &Path, base: &str) -> Result<()> {
    let backup_error = |message: String| Error::Backup {
        path: PathBuf::from(base),
        message,
    };
    conn.execute("VACUUM INTO ?1", [tmp.display().to_string()])
        .map_err(|e| match e {
            e if crate::error::is_busy(&e) => Error::Sqlite(e),
            e => backup_error(e.to_string()),
        })?;
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| backup_error(e.to_string()))
}

/// Links the complete copy under the first free final name, then syncs the folder so the
/// name survives a crash.
fn publish(tmp: &Path, base: &str) -> std::io::Result<PathBuf> {
    let mut n = 1;
    loop {
        let path = match n {
            1 => PathBuf::from(base),
            n => PathBuf::from(format!("{base}-{n}")),
        };
        match fs::hard_link(tmp, &path) {
            Ok(()) => {
                sync_dir(&path)?;
                return Ok(path);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

/// Folders cannot be opened as files here; the link is as durable as the platform makes it.
#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Statements;

    /// The text-only decision ([`destroys_data`], as `migrate` asks it) and the one apply
    /// makes from the script split once ([`Statements::destroys_data`]) agree on every case.
    #[test]
    fn destructive_detection() {
        let rebuild = "CREATE TABLE \"_dbm_new_t\" (a TEXT);\nINSERT INTO \"_dbm_new_t\" (a) SELECT a FROM \"t\";\n\
                       DROP TABLE \"t\";\nALTER TABLE \"_dbm_new_t\" RENAME TO \"t\";";
        let cases: Vec<(String, bool)> = vec![
            ("DROP TABLE x;".into(), true),
            ("create table a(x); drop   table \"b\";".into(), true),
            ("ALTER TABLE t DROP COLUMN c".into(), true),
            ("ALTER TABLE t DROP c".into(), true),
            ("-- dbm:destructive\nDELETE FROM t;".into(), true),
            ("-- DBM:Destructive\nSELECT 1;".into(), true),
            ("DROP INDEX i; DROP VIEW v; DROP TRIGGER tr;".into(), false),
            (
                "CREATE TABLE drop_table (x); INSERT INTO t VALUES ('DROP TABLE x');".into(),
                false,
            ),
            (
                "ALTER TABLE t ADD COLUMN c; -- drop table later".into(),
                false,
            ),
            // A table rebuild copies the rows before it drops the old table.
            (rebuild.into(), false),
            (format!("{rebuild}\nDROP TABLE \"u\";"), true),
            (format!("-- dbm:destructive\n{rebuild}"), true),
            // 3.53 constraint forms lose no rows.
            (
                "ALTER TABLE t DROP CONSTRAINT ck; ALTER TABLE t ALTER COLUMN a DROP NOT NULL;"
                    .into(),
                false,
            ),
            // Rows deleted by hand are data lost (lint says so too).
            ("DELETE FROM t WHERE id > 2;".into(), true),
        ];
        for (sql, want) in &cases {
            assert_eq!(destroys_data(sql), *want, "{sql}");
            let split = Statements::new(sql, Path::new("t.sql")).expect("splits");
            assert_eq!(split.destroys_data(), *want, "split once: {sql}");
        }
        // Text that does not lex counts as destructive (and does not split).
        assert!(destroys_data("SELECT 'open"));
        assert!(Statements::new("SELECT 'open", Path::new("t.sql")).is_err());
    }
}
