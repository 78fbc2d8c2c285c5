//! The script executor: runs a script statement by statement inside the caller's open
//! transaction, so an error names its file, statement and line. Used by every place that
//! runs a script: apply, and the replays on scratch databases (verification, drift, test).

use std::path::Path;

use rusqlite::Connection;

use crate::error::{is_environment, Error, Result};
use crate::script::{classify, split, StatementKind};

fn script_err(file: &Path, statement: usize, line: usize, sql: &str, message: String) -> Error {
    Error::Script {
        file: file.to_path_buf(),
        statement,
        line,
        sql: sql.to_string(),
        message,
    }
}

/// Runs `sql` on `conn`, which must be inside a transaction: each statement is stepped to
/// completion (some ALTERs return rows); transaction control is refused, and so is a
/// statement that ends the transaction.
pub(crate) fn run_script(conn: &Connection, sql: &str, file: &Path) -> Result<()> {
    let Some(stmts) = split(sql) else {
        return conn
            .execute_batch(sql)
            .map_err(|e| script_err(file, 1, 1, sql.trim(), e.to_string()));
    };
    for (i, s) in stmts.iter().enumerate() {
        let n = i + 1;
        if let StatementKind::TransactionControl(word) = classify(s) {
            return Err(script_err(
                file,
                n,
                s.line,
                s.text,
                format!("{word} is not allowed in a migration script: dbm runs each version in its own transaction"),
            ));
        }
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
