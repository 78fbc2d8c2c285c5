//! Scratch databases, where SQLite itself decides what a schema means (as Atlas keeps its
//! `DevDriver.NormalizeRealm` apart from its differ): the canonical form of a declared model,
//! schema-only and full in-memory copies of a live database, and script replays on them.
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

/// An in-memory copy of the whole database, rows included (the original is only read).
pub(crate) fn data_copy(conn: &Connection) -> Result<Connection> {
    let mut copy = sandboxed()?;
    {
        let backup = rusqlite::backup::Backup::new(conn, &mut copy)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
    }
    Ok(copy)
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
