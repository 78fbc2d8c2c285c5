//! The script executor: runs a script statement by statement inside the caller's open
//! transaction, so an error names its file, statement and line. Used by every place that
//! runs a script: apply, and the replays on scratch databases (verification, drift, test).

use std::path::Path;

use rusqlite::Connection;

use crate::error::{is_environment, Error, Result};
use crate::progress::{ProgressEvent, Watch};
use crate::script::split::Stmt;
use crate::script::{classify, rebuild_source, split, StatementKind};
use crate::sql::ident;
use crate::sql::lex_error;

fn script_err(file: &Path, statement: usize, line: usize, sql: &str, message: String) -> Error {
    Error::Script {
        file: file.to_path_buf(),
        statement,
        line,
        sql: sql.to_string(),
        message,
    }
}

/// The statements of a script that may run in a version's transaction: text that cannot
/// be split into statements is refused as a whole (never handed to SQLite in one batch,
/// where a `COMMIT` inside would escape the checks below), and so is transaction control.
/// Apply, the replays and the offline SQL all go through here.
pub(crate) fn statements<'a>(sql: &'a str, file: &Path) -> Result<Vec<Stmt<'a>>> {
    let Some(stmts) = split(sql) else {
        let (line, reason) = lex_error(sql).unwrap_or((1, "unreadable text"));
        return Err(Error::Unsplittable {
            file: file.to_path_buf(),
            line,
            reason,
        });
    };
    for (i, s) in stmts.iter().enumerate() {
        if let StatementKind::TransactionControl(word) = classify(s) {
            return Err(script_err(
                file,
                i + 1,
                s.line,
                s.text,
                format!("{word} is not allowed in a migration script: dbm runs each version in its own transaction"),
            ));
        }
    }
    Ok(stmts)
}

/// Runs `sql` on `conn`, which must be inside a transaction: each statement is stepped to
/// completion (some ALTERs return rows); transaction control is refused, and so is a
/// statement that ends the transaction.
pub(crate) fn run_script(conn: &Connection, sql: &str, file: &Path) -> Result<()> {
    run_script_watched(conn, sql, file, None)
}

/// [`run_script`], telling `watch`'s observer about each rebuild's copy: its rows counted
/// first (`count(*)`, inside the transaction, so exact), then the rows copied as the
/// statement runs, then done.
pub(crate) fn run_script_watched(
    conn: &Connection,
    sql: &str,
    file: &Path,
    watch: Option<&Watch>,
) -> Result<()> {
    for (i, s) in statements(sql, file)?.iter().enumerate() {
        let n = i + 1;
        let copy = match watch.filter(|w| w.observed()) {
            Some(w) => match rebuild_source(s) {
                Some(table) => {
                    // A table the script has not created yet makes the copy itself fail,
                    // with the script's error: count nothing then.
                    let rows = conn
                        .query_row(
                            &format!("SELECT count(*) FROM {}", ident(&table)),
                            [],
                            |r| r.get::<_, i64>(0),
                        )
                        .map_or(0, |r| r.max(0) as u64);
                    w.emit(ProgressEvent::RebuildStarted {
                        table: table.clone(),
                        rows,
                    });
                    Some((w, table, rows))
                }
                None => None,
            },
            None => None,
        };
        let _job = copy
            .as_ref()
            .map(|(w, table, rows)| w.copying(table, *rows));
        let run = || -> rusqlite::Result<()> {
            match conn.prepare(s.text) {
                Ok(mut stmt) => {
                    let mut rows = stmt.raw_query();
                    while rows.next()?.is_some() {}
                    Ok(())
                }
                Err(rusqlite::Error::MultipleStatement) => conn.execute_batch(s.text),
                Err(e) => Err(e),
            }
        };
        run().map_err(|e| match is_environment(&e) {
            // Another connection's lock or a full disk, not the script's fault: the caller
            // names the holder or the database.
            true => Error::Sqlite(e),
            false => script_err(file, n, s.line, s.text, e.to_string()),
        })?;
        if conn.is_autocommit() {
            return Err(script_err(
                file,
                n,
                s.line,
                s.text,
                "the statement ended the migration transaction".into(),
            ));
        }
        if let Some((w, table, _)) = copy {
            w.emit(ProgressEvent::RebuildDone {
                table,
                rows: conn.changes(),
            });
        }
    }
    Ok(())
}
