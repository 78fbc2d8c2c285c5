//! The script executor: runs a script statement by statement inside the caller's open
//! transaction, so an error names its file, statement and line. Used by every place that
//! runs a script: apply, and the replays on scratch databases (verification, drift, test).

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;

use crate::error::{is_environment, Error, Result};
use crate::progress::{ProgressEvent, Watch};
use crate::script::split::each;
use crate::script::{classify, rebuild_source, Effects, StatementKind};
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

/// One statement of a [`Statements`]: where its text is in the script.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// 1-based line where it starts.
    line: usize,
}

/// The statements of a script that may run in a version's transaction, split and checked
/// once: text that cannot be split into statements is refused as a whole (never handed to
/// SQLite in one batch, where a `COMMIT` inside would escape the checks below), and so is
/// transaction control. Apply, the replays and the offline SQL all go through here.
///
/// Kept per statement: where it is, not its tokens (memory one span per statement). Built
/// in one pass that also classifies each statement, so apply's backup decision and every
/// run of the script (again after a savepoint rollback) read it without lexing it again.
#[derive(Debug)]
pub(crate) struct Statements<'a> {
    sql: &'a str,
    spans: Vec<Span>,
    /// Statement index → the table a rebuild's copy reads (its rows are counted and reported).
    copies: HashMap<usize, String>,
    effects: Effects,
    terminated: bool,
}

impl<'a> Statements<'a> {
    pub(crate) fn new(sql: &'a str, file: &Path) -> Result<Statements<'a>> {
        let mut out = Statements {
            sql,
            spans: vec![],
            copies: HashMap::new(),
            effects: Effects::for_script(sql),
            terminated: false,
        };
        let mut refused = None;
        let lexed = each(sql, |s| {
            if refused.is_some() {
                return;
            }
            let kind = classify(s);
            if let StatementKind::TransactionControl(word) = &kind {
                refused = Some(script_err(
                    file,
                    out.spans.len() + 1,
                    s.line,
                    s.text,
                    format!("{word} is not allowed in a migration script: dbm runs each version in its own transaction"),
                ));
                return;
            }
            out.effects.add(&kind);
            if let Some(table) = rebuild_source(s, &kind) {
                out.copies.insert(out.spans.len(), table);
            }
            let start = s.toks[0].start;
            out.spans.push(Span {
                start,
                end: start + s.text.len(),
                line: s.line,
            });
            out.terminated = s.terminated;
        });
        if lexed.is_none() {
            let (line, reason) = lex_error(sql).unwrap_or((1, "unreadable text"));
            return Err(Error::Unsplittable {
                file: file.to_path_buf(),
                line,
                reason,
            });
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Whether running it loses data ([`Effects::destroys_data`]).
    pub(crate) fn destroys_data(&self) -> bool {
        self.effects.destroys_data()
    }

    /// Whether a `;` ends the last statement (`false` without statements).
    pub(crate) fn terminated(&self) -> bool {
        self.terminated
    }
}

/// Runs `sql` on `conn`, which must be inside a transaction: each statement is stepped to
/// completion (some ALTERs return rows); transaction control is refused, and so is a
/// statement that ends the transaction.
pub(crate) fn run_script(conn: &Connection, sql: &str, file: &Path) -> Result<()> {
    run_statements(conn, &Statements::new(sql, file)?, file, None)
}

/// [`run_script`] on a script split already, telling `watch`'s observer about each
/// rebuild's copy: its rows counted first (`count(*)`, inside the transaction, so exact),
/// then the rows copied as the statement runs, then done.
pub(crate) fn run_statements(
    conn: &Connection,
    stmts: &Statements<'_>,
    file: &Path,
    watch: Option<&Watch>,
) -> Result<()> {
    for (i, span) in stmts.spans.iter().enumerate() {
        let n = i + 1;
        let text = &stmts.sql[span.start..span.end];
        let copy = match (watch.filter(|w| w.observed()), stmts.copies.get(&i)) {
            (Some(w), Some(table)) => {
                // A table the script has not created yet makes the copy itself fail,
                // with the script's error: count nothing then.
                let rows = conn
                    .query_row(&format!("SELECT count(*) FROM {}", ident(table)), [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_or(0, |r| r.max(0) as u64);
                w.emit(ProgressEvent::RebuildStarted {
                    table: table.clone(),
                    rows,
                });
                Some((w, table, rows))
            }
            _ => None,
        };
        let _job = copy
            .as_ref()
            .map(|(w, table, rows)| w.copying(table, *rows));
        let run = || -> rusqlite::Result<()> {
            match conn.prepare(text) {
                Ok(mut stmt) => {
                    let mut rows = stmt.raw_query();
                    while rows.next()?.is_some() {}
                    Ok(())
                }
                Err(rusqlite::Error::MultipleStatement) => conn.execute_batch(text),
                Err(e) => Err(e),
            }
        };
        run().map_err(|e| match is_environment(&e) {
            // Another connection's lock or a full disk, not the script's fault: the caller
            // names the holder or the database.
            true => Error::Sqlite(e),
            false => script_err(file, n, span.line, text, e.to_string()),
        })?;
        if conn.is_autocommit() {
            return Err(script_err(
                file,
                n,
                span.line,
                text,
                "the statement ended the migration transaction".into(),
            ));
        }
        if let Some((w, table, _)) = copy {
            w.emit(ProgressEvent::RebuildDone {
                table: table.clone(),
                rows: conn.changes(),
            });
        }
    }
    Ok(())
}
