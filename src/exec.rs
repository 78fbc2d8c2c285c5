//! The script executor: runs a script statement by statement inside the caller's open
//! transaction, so an error names its file, statement and line. Used by every place that
//! runs a script: apply, and the replays on scratch databases (verification, drift, test).

use std::path::Path;

use rusqlite::Connection;

use crate::error::{is_environment, Error, Result};
use crate::script::split::Stmt;
use crate::script::{classify, split, StatementKind};
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
    for (i, s) in statements(sql, file)?.iter().enumerate() {
        let n = i + 1;
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
    }
    Ok(())
}
