//! Backups before destructive steps: when to take one, and the copy itself.

use std::path::PathBuf;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::script::{header, Classified};

/// When to take a copy of the database before applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupPolicy {
    /// Only when a script to be applied is destructive: it drops a table or a column, deletes
    /// rows, or its generated header marks it (`-- dbm:destructive`).
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether a script destroys data: its statements drop a table (other than the old copy of
/// a rebuilt one), drop a column or delete rows, or its header says so (`-- dbm:destructive`,
/// which dbm writes when a change loses data in a way the statements do not show, such as a
/// rebuild that leaves a column out). Text that does not lex counts as destructive.
pub(crate) fn destroys_data(sql: &str) -> bool {
    header::marked_destructive(sql) || Classified::new(sql).is_none_or(|c| c.destroys_data())
}

pub(crate) fn wanted(policy: BackupPolicy, scripts: &[&str]) -> bool {
    match policy {
        BackupPolicy::Always => true,
        BackupPolicy::Never => false,
        BackupPolicy::Auto => scripts.iter().any(|s| destroys_data(s)),
    }
}

/// Takes a consistent copy with `VACUUM INTO` next to the database file, named after the
/// version it holds. `None` for in-memory and temporary databases.
pub(crate) fn take(conn: &Connection, version: u64) -> Result<Option<PathBuf>> {
    let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let stamp: String =
        conn.query_row("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')", [], |r| r.get(0))?;
    let base = format!("{db}.backup-v{version}-{stamp}");
    let mut path = PathBuf::from(&base);
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = PathBuf::from(format!("{base}-{n}"));
    }
    conn.execute("VACUUM INTO ?1", [path.display().to_string()])
        .map_err(|e| match e {
            e if crate::error::is_busy(&e) => Error::Sqlite(e),
            e => Error::Backup {
                path: path.clone(),
                message: e.to_string(),
            },
        })?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_detection() {
        assert!(destroys_data("DROP TABLE x;"));
        assert!(destroys_data("create table a(x); drop   table \"b\";"));
        assert!(destroys_data("ALTER TABLE t DROP COLUMN c"));
        assert!(destroys_data("ALTER TABLE t DROP c"));
        assert!(destroys_data("-- dbm:destructive\nDELETE FROM t;"));
        assert!(!destroys_data(
            "DROP INDEX i; DROP VIEW v; DROP TRIGGER tr;"
        ));
        assert!(!destroys_data(
            "CREATE TABLE drop_table (x); INSERT INTO t VALUES ('DROP TABLE x');"
        ));
        assert!(!destroys_data(
            "ALTER TABLE t ADD COLUMN c; -- drop table later"
        ));
        // A table rebuild copies the rows before it drops the old table.
        let rebuild = "CREATE TABLE \"_dbm_new_t\" (a TEXT);\nINSERT INTO \"_dbm_new_t\" (a) SELECT a FROM \"t\";\n\
                       DROP TABLE \"t\";\nALTER TABLE \"_dbm_new_t\" RENAME TO \"t\";";
        assert!(!destroys_data(rebuild));
        assert!(destroys_data(&format!("{rebuild}\nDROP TABLE \"u\";")));
        assert!(destroys_data(&format!("-- dbm:destructive\n{rebuild}")));
        // 3.53 constraint forms lose no rows.
        assert!(!destroys_data(
            "ALTER TABLE t DROP CONSTRAINT ck; ALTER TABLE t ALTER COLUMN a DROP NOT NULL;"
        ));
        // Rows deleted by hand are data lost (lint says so too).
        assert!(destroys_data("DELETE FROM t WHERE id > 2;"));
        assert!(destroys_data("SELECT 'open"));
    }
}
