//! Scratch databases, where SQLite itself decides what a schema means (as Atlas keeps its
//! `DevDriver.NormalizeRealm` apart from its differ): the canonical form of a declared model,
//! schema-only copies of a live database (in memory), copies with the rows (in a temporary
//! file), and script replays on them.
//! Nothing here touches the caller's database beyond reading it.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::exec::run_script;
use crate::inspect::inspect;
use crate::model::{ddl, Reserved, Schema};

/// An empty in-memory database with foreign keys off (scripts run as apply runs them),
/// sandboxed: see [`sandboxed`].
pub(crate) fn scratch() -> Result<Connection> {
    let conn = sandboxed()?;
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    Ok(conn)
}

/// An in-memory database that cannot reach a file: with `SQLITE_LIMIT_ATTACHED` at 0 no
/// `ATTACH` (and so no `VACUUM INTO`, which attaches its target) can run, so a replayed
/// script or a model's view text cannot write the live database or anywhere else.
pub(crate) fn sandboxed() -> Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    Ok(conn)
}

/// The declared model as SQLite sees it: rendered to DDL, run in an in-memory SQLite, read
/// back. Comparing this with an inspected database compares like with like.
pub(crate) fn canonical(model: &Schema, reserved: &Reserved) -> Result<Schema> {
    let conn = scratch()?;
    for stmt in ddl::create_all(model) {
        conn.execute_batch(&stmt)
            .map_err(|e| Error::ModelRejected {
                statement: stmt.clone(),
                message: e.to_string(),
            })?;
    }
    inspect(&conn, reserved)
}

/// A new in-memory database holding the same user schema as `conn` (no rows).
pub(crate) fn schema_only_copy(conn: &Connection, reserved: &Reserved) -> Result<Connection> {
    let copy = scratch()?;
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY \
         CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid",
    )?;
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name, table, sql) in rows {
        if reserved.contains(&name) || reserved.contains(&table) {
            continue;
        }
        copy.execute_batch(&sql).map_err(|e| Error::Inspect {
            kind: kind_name(&kind),
            name: name.clone(),
            message: format!("cannot copy it to a scratch database: {e}"),
        })?;
    }
    Ok(copy)
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "table" => "table",
        "index" => "index",
        "view" => "view",
        _ => "trigger",
    }
}

/// A copy of a whole database, rows included, in a temporary file: memory stays flat in the
/// database's size (SQLite's page cache is bounded, the pages live on disk). The file is
/// removed when the copy is dropped, on every path. Derefs to its connection.
pub(crate) struct DataCopy {
    conn: Connection,
    // After `conn`: fields drop in order, so the connection closes before the file goes.
    _file: tempfile::TempPath,
}

impl DataCopy {
    /// Where the copy lives.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self._file
    }
}

impl std::ops::Deref for DataCopy {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for DataCopy {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Page cache of a data copy, in KiB (SQLite's `cache_size` takes negative KiB): the bound on
/// what the copy keeps in memory, whatever the database's size.
const DATA_COPY_CACHE_KIB: i64 = 8192;

/// A copy of the whole database in a temporary file of the system's temporary folder
/// (`TMPDIR`); the original is only read.
pub(crate) fn data_copy(conn: &Connection) -> Result<DataCopy> {
    data_copy_in(conn, &std::env::temp_dir())
}

/// [`data_copy`] in `dir`.
pub(crate) fn data_copy_in(conn: &Connection, dir: &Path) -> Result<DataCopy> {
    let file = tempfile::Builder::new()
        .prefix("dbm-data-copy-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| Error::File {
            path: dir.to_path_buf(),
            message: format!("cannot create a scratch copy of the database in this folder: {e}"),
        })?
        .into_temp_path();
    let mut copy = Connection::open(&file)?;
    copy.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    // A throwaway file: no fsyncs and no other connection. The rollback journal stays (on
    // disk): the apply runner rolls back to savepoints, which `journal_mode=OFF` would break,
    // and a journal in memory would grow with the rows a statement changes.
    copy.execute_batch(&format!(
        "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-{DATA_COPY_CACHE_KIB};"
    ))?;
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut copy)?;
        backup.run_to_completion(1024, std::time::Duration::from_millis(0), None)?;
    }
    Ok(DataCopy {
        conn: copy,
        _file: file,
    })
}

/// Runs a script on a scratch database in one transaction, with the executor apply uses;
/// on error the transaction is rolled back.
pub(crate) fn replay(conn: &Connection, sql: &str, file: &Path) -> Result<()> {
    conn.execute_batch("BEGIN")?;
    match run_script(conn, sql, file) {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The copy with rows is a file (not memory), holds the rows, cannot attach, and its file
    /// is gone once the copy is dropped.
    #[test]
    fn data_copy_is_a_temporary_file_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let src = Connection::open_in_memory().unwrap();
        src.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO t SELECT i, printf('%0100d', i) FROM n;",
        )
        .unwrap();
        let copy = data_copy_in(&src, dir.path()).unwrap();
        let file: String = copy
            .query_row(
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!file.is_empty(), "the data copy is an in-memory database");
        assert_eq!(Path::new(&file), copy.path());
        assert!(copy.path().starts_with(dir.path()));
        let bytes = std::fs::metadata(copy.path()).unwrap().len();
        assert!(bytes > 500_000, "the rows are in the file: {bytes} bytes");
        let n: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5000);
        let cache: i64 = copy
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -DATA_COPY_CACHE_KIB);
        assert!(copy.execute_batch("ATTACH ':memory:' AS x").is_err());
        // A rolled-back savepoint (the apply runner's foreign-key retry) really rolls back.
        copy.execute_batch("BEGIN; SAVEPOINT s; DELETE FROM t; ROLLBACK TO s; RELEASE s; COMMIT")
            .unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5000);
        assert!(!files_in(dir.path()).is_empty());
        drop(copy);
        assert_eq!(files_in(dir.path()), Vec::<String>::new());
    }

    /// A copy that fails half way (here: an error while it is in use, with a statement open
    /// in a transaction) still leaves nothing behind once dropped.
    #[test]
    fn data_copy_file_is_removed_after_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = Connection::open_in_memory().unwrap();
        src.execute_batch("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let run = || -> Result<()> {
            let copy = data_copy_in(&src, dir.path())?;
            copy.execute_batch("BEGIN; UPDATE t SET x = 1")?;
            Ok(())
        };
        assert!(run().is_err());
        assert_eq!(files_in(dir.path()), Vec::<String>::new());
        // A folder that cannot hold the copy: an error naming it, nothing created.
        let missing = dir.path().join("missing");
        let Err(e) = data_copy_in(&src, &missing) else {
            panic!("a copy in a missing folder")
        };
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
