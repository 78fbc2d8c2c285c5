//! `foreign_key_check` scoped to what a script may have written: the authorizer's record
//! ([`Touched`]), the tables it makes the scope ([`Scope`]) and the run's index of the schema
//! that finds their children ([`Tables`]).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rusqlite::hooks::{AuthAction, AuthContext};
use rusqlite::Connection;

use crate::error::Result;

/// The tables a script may write, as SQLite's authorizer reports them while it prepares the
/// script's statements (trigger bodies included: they are compiled into the statement that
/// fires them), so that `foreign_key_check` can be scoped to them and their children.
///
/// Scoping is sound only when table names keep meaning the same table through the script:
/// rows change only in the tables named (INSERT/UPDATE/DELETE, also for REPLACE's deletes),
/// a table's foreign keys change only by CREATE TABLE, a parent's keys only by CREATE INDEX
/// on it. Anything else (DROP TABLE/INDEX, ALTER TABLE, which may rename, pragmas, other
/// schemas, virtual tables, actions this list does not know) makes the whole database the
/// scope, as before.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    recording: bool,
    everything: bool,
    /// ASCII-lowercased names (SQLite matches table names ASCII case-insensitively).
    tables: HashSet<String>,
    /// The name last inserted into `tables`.
    last: String,
}

impl Touched {
    /// Starts recording a script's writes.
    pub(super) fn start(&mut self) {
        self.recording = true;
        self.everything = false;
        self.tables.clear();
        self.last.clear();
    }

    /// Stops recording and returns what the script may have written.
    pub(super) fn finish(&mut self) -> Scope {
        self.recording = false;
        self.last.clear();
        if std::mem::take(&mut self.everything) {
            self.tables.clear();
            Scope::Everything
        } else {
            Scope::Tables(std::mem::take(&mut self.tables))
        }
    }

    pub(super) fn note(&mut self, ctx: &AuthContext<'_>) {
        if !self.recording || self.everything {
            return;
        }
        if ctx.database_name.is_some_and(|d| d != "main") {
            self.everything = true;
            return;
        }
        match ctx.action {
            AuthAction::Insert { table_name }
            | AuthAction::Update { table_name, .. }
            | AuthAction::Delete { table_name }
            | AuthAction::CreateTable { table_name }
            | AuthAction::CreateIndex { table_name, .. } => {
                // A data script names the same table statement after statement.
                if !self.last.eq_ignore_ascii_case(table_name) {
                    self.last = table_name.to_ascii_lowercase();
                    self.tables.insert(self.last.clone());
                }
            }
            AuthAction::Read { .. }
            | AuthAction::Select
            | AuthAction::Function { .. }
            | AuthAction::Recursive
            | AuthAction::Savepoint { .. }
            | AuthAction::Transaction { .. }
            | AuthAction::CreateView { .. }
            | AuthAction::DropView { .. }
            | AuthAction::CreateTrigger { .. }
            | AuthAction::DropTrigger { .. } => {}
            _ => self.everything = true,
        }
    }
}

/// What to check after a script: every table, or these (lowercased) names.
#[derive(Debug, Clone)]
pub(super) enum Scope {
    Everything,
    Tables(HashSet<String>),
}

/// The violations `pragma_foreign_key_check` reports whose parent table exists. A foreign
/// key to a missing table is a schema fact the model warns about, not a row problem: no row
/// can satisfy it, so the downgrade of a step that repaired one (pointed it at an existing
/// table) must not be refused for restoring it with rows in place.
pub(crate) const PARENT_EXISTS: &str = "EXISTS (SELECT 1 FROM sqlite_schema AS s WHERE s.type = 'table' AND s.name = v.parent COLLATE NOCASE)";

/// Rows of `table` that violate its foreign keys (0 for a table that does not exist).
pub(super) fn violations_in(conn: &Connection, table: &str) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM pragma_foreign_key_check(?1) AS v WHERE {PARENT_EXISTS}"),
        [table],
        |r| r.get(0),
    )?)
}

/// Violations per child table (whose parent exists: see [`PARENT_EXISTS`]), in the whole
/// database or in the scope's tables and the tables whose foreign keys reference one of them.
/// `before` is the schema version the script started from; `index` is the run's [`Tables`].
pub(super) fn foreign_key_violations(
    conn: &Connection,
    scope: &Scope,
    index: &Mutex<Tables>,
    before: i64,
) -> Result<Vec<(String, i64)>> {
    let Scope::Tables(written) = scope else {
        let mut stmt = conn.prepare(&format!(
            "SELECT v.\"table\", count(*) FROM pragma_foreign_key_check AS v WHERE {PARENT_EXISTS} GROUP BY v.\"table\" ORDER BY v.\"table\""
        ))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        return Ok(rows);
    };
    if written.is_empty() {
        return Ok(vec![]);
    }
    let mut fresh = Tables::default();
    let mut guard = index.lock().ok();
    let tables = guard.as_deref_mut().unwrap_or(&mut fresh);
    tables.sync(conn, before)?;
    let mut out = vec![];
    let mut check = conn.prepare(&format!(
        "SELECT v.\"table\", count(*) FROM pragma_foreign_key_check(?1) AS v WHERE {PARENT_EXISTS} GROUP BY v.\"table\""
    ))?;
    for table in tables.scoped(conn, written)? {
        let rows = check.query_map([table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?)
}

/// The tables of `main` by the words of their CREATE text, so that finding the children of
/// a written table is a lookup, not a scan of the whole schema per version (which made a
/// long history quadratic). Built at a run's first scoped check and then kept equal to the
/// schema: a script with a [`Scope::Tables`] scope changes `sqlite_schema` only by adding
/// rows (the tables, indexes, views and triggers it creates), which are read in; any other change of the schema
/// (a script with the whole database as its scope, the history table made, another
/// connection between two steps) shows as a schema version it was not synced to, and the
/// index is built again.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    /// The `PRAGMA schema_version` the index describes; `None` before the first build.
    schema_version: Option<i64>,
    /// The largest `sqlite_schema` rowid read into the index.
    last_rowid: Option<i64>,
    names: Vec<String>,
    /// ASCII-lowercased name (SQLite matches table names ASCII case-insensitively) to its
    /// place in `names`.
    by_name: HashMap<String, usize>,
    /// Each ASCII-lowercased run of `[a-z0-9_]` in a table's CREATE text to the tables
    /// whose text holds it.
    by_word: HashMap<String, Vec<usize>>,
}

impl Tables {
    /// Brings the index to the schema as the script left it (`before`: the schema version
    /// the script started from).
    fn sync(&mut self, conn: &Connection, before: i64) -> Result<()> {
        // SQLite gives a new row the rowid after the largest (at `i64::MAX` it picks one at
        // random), and a scope of tables only adds rows: what the script made is what lies
        // past the last rowid read, found by a seek, not a scan.
        let after = match (self.schema_version, self.last_rowid) {
            (Some(v), Some(last)) if v == before && last < i64::MAX => last,
            _ => {
                *self = Tables::default();
                i64::MIN
            }
        };
        let mut rows_after = conn.prepare_cached(
            "SELECT rowid, type, name, sql FROM sqlite_schema WHERE rowid > ?1 ORDER BY rowid",
        )?;
        let mut rows = rows_after.query([after])?;
        let mut last = after;
        while let Some(r) = rows.next()? {
            last = r.get(0)?;
            let (kind, sql): (String, Option<String>) = (r.get(1)?, r.get(3)?);
            if let (true, Some(sql)) = (kind == "table", sql) {
                self.add(r.get(2)?, &sql);
            }
        }
        self.last_rowid = Some(last);
        self.schema_version = Some(schema_version(conn)?);
        Ok(())
    }

    fn add(&mut self, name: String, sql: &str) {
        let lower = name.to_ascii_lowercase();
        if self.by_name.contains_key(&lower) {
            return;
        }
        let i = self.names.len();
        self.names.push(name);
        self.by_name.insert(lower, i);
        let sql = sql.to_ascii_lowercase();
        let words = sql
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty());
        for w in words {
            match self.by_word.get_mut(w) {
                Some(v) if v.last() == Some(&i) => {}
                Some(v) => v.push(i),
                None => {
                    self.by_word.insert(w.to_owned(), vec![i]);
                }
            }
        }
    }

    /// The tables of `main` that are written or reference a written table. A table's
    /// CREATE text must name its parent, so for plain names (ASCII letters, digits, `_`:
    /// the same bytes in any quoting, ASCII case aside, and never next to another such
    /// byte) the tables holding the name as a word are every candidate child; each
    /// candidate's foreign keys are then read for certain.
    fn scoped(&self, conn: &Connection, written: &HashSet<String>) -> Result<Vec<&str>> {
        let plain = written
            .iter()
            .all(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        let mut picked: Vec<bool> = vec![false; self.names.len()];
        for w in written {
            if let Some(&i) = self.by_name.get(w) {
                picked[i] = true;
            }
        }
        let candidates: Vec<usize> = if plain {
            let mut c: Vec<usize> = written
                .iter()
                .filter_map(|w| self.by_word.get(w))
                .flatten()
                .copied()
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        } else {
            (0..self.names.len()).collect()
        };
        let mut parents = conn.prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?;
        for i in candidates {
            if picked[i] {
                continue;
            }
            let refs = parents
                .query_map([&self.names[i]], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            picked[i] = refs
                .iter()
                .any(|p| written.contains(&p.to_ascii_lowercase()));
        }
        Ok(self
            .names
            .iter()
            .zip(picked)
            .filter_map(|(n, p)| p.then_some(n.as_str()))
            .collect())
    }
}
