//! Scratch databases, where SQLite itself decides what a schema means (as Atlas keeps its
//! `DevDriver.NormalizeRealm` apart from its differ): the canonical form of a declared model,
//! schema-only copies of a live database (in memory), copies with the rows (in a temporary
//! file), and script replays on them.
//! Nothing here touches the caller's database beyond reading it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::Connection;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::exec::run_script;
use crate::inspect::{inspect, Inspected, TableText};
use crate::model::{self, ddl, name_key, Reserved, Schema, Table};

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

/// Tables per scratch database while canonicalising: SQLite re-reads its whole schema
/// after each CREATE, so N tables in one database cost O(N²) (5,000 tables: ~5 s); in
/// batches the cost is linear. A table's inspected form depends on its own text and its
/// indexes' only, so the batches give what one database would.
const BATCH: usize = 64;

/// The declared model as SQLite sees it: rendered to DDL, run in an in-memory SQLite, read
/// back. Comparing this with an inspected database compares like with like.
#[cfg(feature = "internals")]
pub(crate) fn canonical(model: &Schema, reserved: &Reserved) -> Result<Schema> {
    canonical_against(model, reserved, None)
}

/// [`canonical`], reusing what `live` already knows: a table whose rendered `CREATE TABLE`
/// and `CREATE INDEX` texts are byte for byte the texts the live database stores (as after
/// dbm created it) is what SQLite would make of them again, since everything inspect reads
/// of a table follows from those texts; it needs no round trip. Everything else goes through
/// scratch databases. Either way the result equals [`canonical_whole`]'s (a property test
/// checks that).
pub(crate) fn canonical_against(
    model: &Schema,
    reserved: &Reserved,
    live: Option<&Inspected>,
) -> Result<Schema> {
    if names_collide(model) {
        // SQLite's own "already exists" error, from the one database that sees both.
        return canonical_whole(model, reserved);
    }
    let live_tables: HashMap<String, &Table> = live
        .map(|l| {
            l.schema
                .tables
                .iter()
                .map(|t| (name_key(&t.name), t))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Schema::default();
    let mut pending: Vec<&Table> = vec![];
    for t in &model.tables {
        let same = live
            .and_then(|l| l.texts.get(&name_key(&t.name)))
            .filter(|text| stored_as(t, text))
            .and_then(|_| live_tables.get(&name_key(&t.name)));
        match same {
            Some(table) => out.tables.push((*table).clone()),
            None => pending.push(t),
        }
    }
    for batch in pending.chunks(BATCH) {
        let conn = scratch()?;
        for t in batch {
            create(&conn, &ddl::create_table(t))?;
            for ix in &t.indexes {
                create(&conn, &ddl::create_index(&t.name, ix))?;
            }
        }
        out.tables.extend(inspect(&conn, reserved)?.tables);
    }
    if !model.views.is_empty() || !model.triggers.is_empty() {
        // Views must find what they read, triggers their table: those tables (with their
        // indexes, which a view may name) come along; anything that does not lex brings all.
        let mentioned = model::order::mentioned_by(model);
        let part = Schema {
            tables: model
                .tables
                .iter()
                .filter(|t| {
                    mentioned
                        .as_ref()
                        .is_none_or(|m| m.contains(&name_key(&t.name)))
                })
                .cloned()
                .collect(),
            views: model.views.clone(),
            triggers: model.triggers.clone(),
        };
        let conn = scratch()?;
        for stmt in ddl::create_all(&part) {
            create(&conn, &stmt)?;
        }
        let s = inspect(&conn, reserved)?;
        out.views = s.views;
        out.triggers = s.triggers;
    }
    crate::inspect::sort(&mut out);
    Ok(out)
}

/// Whether SQLite stores exactly `t`'s rendered text for the table and each of its indexes,
/// no more indexes, and every collation it names is built in (a custom one only the app's
/// connection knows would make the scratch round trip fail, so the shortcut must too).
fn stored_as(t: &Table, text: &TableText) -> bool {
    let builtin = |c: &Option<String>| {
        c.as_deref().is_none_or(|c| {
            ["BINARY", "NOCASE", "RTRIM"]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(c))
        })
    };
    let parts = t
        .primary_key
        .iter()
        .flat_map(|pk| &pk.columns)
        .chain(t.uniques.iter().flat_map(|u| &u.columns))
        .chain(t.indexes.iter().flat_map(|ix| &ix.parts));
    t.columns.iter().all(|c| builtin(&c.collate))
        && parts.into_iter().all(|p| builtin(&p.collate))
        && text.indexes.len() == t.indexes.len()
        && t.indexes.iter().all(|ix| {
            text.indexes
                .get(&ix.name)
                .is_some_and(|sql| *sql == ddl::create_index(&t.name, ix))
        })
        && text.sql == ddl::create_table(t)
}

/// Two objects SQLite keeps in one namespace (tables, indexes, views; triggers apart) under
/// one name.
fn names_collide(model: &Schema) -> bool {
    let mut seen = HashSet::new();
    let mut objects = model
        .tables
        .iter()
        .flat_map(|t| std::iter::once(&t.name).chain(t.indexes.iter().map(|ix| &ix.name)))
        .chain(model.views.iter().map(|v| &v.name));
    let mut triggers = HashSet::new();
    objects.any(|n| !seen.insert(name_key(n)))
        || model
            .triggers
            .iter()
            .any(|t| !triggers.insert(name_key(&t.name)))
}

fn create(conn: &Connection, stmt: &str) -> Result<()> {
    conn.execute_batch(stmt).map_err(|e| Error::ModelRejected {
        statement: stmt.to_string(),
        message: e.to_string(),
    })
}

/// The whole model in one scratch database, inspected: the reference [`canonical_against`]
/// must agree with, and the path for a model whose names collide.
pub(crate) fn canonical_whole(model: &Schema, reserved: &Reserved) -> Result<Schema> {
    let conn = scratch()?;
    for stmt in ddl::create_all(model) {
        create(&conn, &stmt)?;
    }
    inspect(&conn, reserved)
}

/// A new in-memory database holding the same user schema as `conn` (no rows); with `only`,
/// just the tables (with their indexes), views and triggers whose name keys it holds.
pub(crate) fn schema_only_copy(
    conn: &Connection,
    reserved: &Reserved,
    only: Option<&HashSet<String>>,
) -> Result<Connection> {
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
        let owner = if kind == "index" { &table } else { &name };
        if only.is_some_and(|keep| !keep.contains(&name_key(owner))) {
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
mod data_copy_tests {
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
