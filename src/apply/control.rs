//! The control tables: `migrate_version` (SQLAlchemy-migrate's, column for column: one row
//! per repository with its version) and `migrate_history` (one row per applied script).
//! Everything that reads or writes them lives here.

use std::collections::HashMap;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::HistoryRow;
use crate::error::{map_busy, Error, LockHolder, ModifiedScript, Result};
use crate::model::Reserved;
use crate::repository::{Repository, VersionFiles};
use crate::script::Direction;
use crate::sql::ident;

/// The history table's name (one per database, shared by repositories).
pub const HISTORY_TABLE: &str = "migrate_history";

pub(crate) const UTC_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

/// The tables a repository keeps in the database: never part of the user's schema.
pub fn reserved(repo: &Repository) -> Reserved {
    Reserved::with_names([repo.version_table.as_str(), HISTORY_TABLE])
}

// The control tables are plain DDL that sea-query expresses well; the migration scripts
// themselves need SQLite features it lacks (see ARCHITECTURE.md), so they use model::ddl.
fn typed(name: &str, sql_type: &str) -> sea_query::ColumnDef {
    use sea_query::{Alias, ColumnDef};
    ColumnDef::new(Alias::new(name))
        .custom(Alias::new(sql_type))
        .to_owned()
}

pub(crate) fn history_ddl() -> String {
    use sea_query::{Alias, Expr, ExprTrait, SqliteQueryBuilder, Table};
    Table::create()
        .table(Alias::new(HISTORY_TABLE))
        .if_not_exists()
        .col(typed("id", "INTEGER").primary_key())
        .col(typed("repository_id", "TEXT"))
        .col(typed("version", "INTEGER").not_null())
        .col(
            typed("direction", "TEXT")
                .not_null()
                .check(Expr::col(Alias::new("direction")).is_in(["up", "down"])),
        )
        .col(typed("checksum", "TEXT").not_null())
        .col(typed("applied_at", "TEXT").not_null())
        .col(typed("duration_ms", "INTEGER").not_null())
        // Up rows only: the down script verified with it. NULL in rows older than the column.
        .col(typed(DOWN_CHECKSUM, "TEXT"))
        .to_string(SqliteQueryBuilder)
}

const DOWN_CHECKSUM: &str = "down_checksum";

fn has_down_checksum(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
            [HISTORY_TABLE, DOWN_CHECKSUM],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Creates the history table, or adds `down_checksum` to one made before that column was.
fn ensure_history(conn: &Connection) -> Result<()> {
    // Every step calls this: the common case (all there) is one lookup.
    if has_down_checksum(conn)? {
        return Ok(());
    }
    conn.execute_batch(&history_ddl())?;
    if !has_down_checksum(conn)? {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} TEXT",
            ident(HISTORY_TABLE),
            ident(DOWN_CHECKSUM)
        ))?;
    }
    Ok(())
}

/// SQLAlchemy-migrate's control table, column for column.
fn control_ddl(repo: &Repository) -> String {
    use sea_query::{Alias, SqliteQueryBuilder, Table};
    Table::create()
        .table(Alias::new(repo.version_table.as_str()))
        .if_not_exists()
        .col(
            typed("repository_id", "VARCHAR(250)")
                .not_null()
                .primary_key(),
        )
        .col(typed("repository_path", "TEXT"))
        .col(typed("version", "INTEGER"))
        .to_string(SqliteQueryBuilder)
}

pub(crate) fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn to_version(v: i64, table: &str, repo: &Repository) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::BadVersionRow {
        table: table.to_string(),
        repository_id: repo.repository_id.clone(),
        version: Some(v),
    })
}

pub(crate) fn not_controlled(repo: &Repository) -> Error {
    Error::NotControlled {
        repository_id: repo.repository_id.clone(),
        table: repo.version_table.clone(),
    }
}

/// The database's version for this repository; `None` if it is not under version control
/// (also when the control table does not exist).
pub fn db_version(conn: &Connection, repo: &Repository) -> Result<Option<u64>> {
    if !table_exists(conn, &repo.version_table)? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT version FROM {} WHERE repository_id = ?1",
        ident(&repo.version_table)
    );
    let v: Option<Option<i64>> = conn
        .query_row(&sql, [&repo.repository_id], |r| r.get(0))
        .optional()?;
    match v {
        None => Ok(None),
        Some(None) => Err(Error::BadVersionRow {
            table: repo.version_table.clone(),
            repository_id: repo.repository_id.clone(),
            version: None,
        }),
        Some(Some(v)) => to_version(v, &repo.version_table, repo).map(Some),
    }
}

/// Refuses a borrowed connection inside the caller's transaction, before anything is touched.
pub(crate) fn outside_transaction(conn: &Connection) -> Result<()> {
    if conn.is_autocommit() {
        Ok(())
    } else {
        Err(Error::OpenTransaction)
    }
}

/// The database's version, which must be under version control.
pub(crate) fn current_version(conn: &Connection, repo: &Repository) -> Result<u64> {
    db_version(conn, repo)?.ok_or_else(|| not_controlled(repo))
}

/// Puts the database under version control at `version` (creating the control and history
/// tables). Returns false, changing nothing, if it already was.
pub fn version_control(conn: &Connection, repo: &Repository, version: u64) -> Result<bool> {
    outside_transaction(conn)?;
    let latest = repo.latest()?;
    if version > latest {
        return Err(Error::NoSuchVersion { version, latest });
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, Duration::ZERO, LockHolder::Writer))?;
    if db_version(&tx, repo)?.is_some() {
        return Ok(false);
    }
    tx.execute_batch(&control_ddl(repo))?;
    ensure_history(&tx)?;
    tx.execute(
        &format!(
            "INSERT INTO {} (repository_id, repository_path, version) VALUES (?1, ?2, ?3)",
            ident(&repo.version_table)
        ),
        params![
            repo.repository_id,
            repo.root.display().to_string(),
            version as i64
        ],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Puts a database that holds no tables of the user's and is not under version control
/// under it at version 0 (a fresh file, or one that a racing `upgrade --create` has just
/// made). Returns whether this call did it.
pub fn adopt_if_empty(conn: &Connection, repo: &Repository) -> Result<bool> {
    outside_transaction(conn)?;
    if db_version(conn, repo)?.is_some() {
        return Ok(false);
    }
    let reserved = reserved(repo);
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if names.iter().any(|n| !reserved.contains(n)) {
        return Ok(false);
    }
    // `version_control` decides under the write lock, so only one process records it.
    version_control(conn, repo, 0)
}

/// Removes the repository's control row and history rows; drops the control table when no
/// other repository uses it.
pub fn drop_version_control(conn: &Connection, repo: &Repository) -> Result<()> {
    outside_transaction(conn)?;
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, Duration::ZERO, LockHolder::Writer))?;
    if db_version(&tx, repo)?.is_none() {
        return Err(not_controlled(repo));
    }
    let table = ident(&repo.version_table);
    tx.execute(
        &format!("DELETE FROM {table} WHERE repository_id = ?1"),
        [&repo.repository_id],
    )?;
    let left: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    if left == 0 {
        tx.execute_batch(&format!("DROP TABLE {table}"))?;
    }
    if table_exists(&tx, HISTORY_TABLE)? {
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE repository_id = ?1",
                ident(HISTORY_TABLE)
            ),
            [&repo.repository_id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The repository's rows of `migrate_history`, oldest first (empty if the table is missing).
pub fn history(conn: &Connection, repo: &Repository) -> Result<Vec<HistoryRow>> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(vec![]);
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT id, version, direction, checksum, applied_at, duration_ms FROM {} \
         WHERE repository_id = ?1 ORDER BY id",
        ident(HISTORY_TABLE)
    ))?;
    let rows = stmt.query_map([&repo.repository_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = vec![];
    for row in rows {
        let (id, version, direction, checksum, applied_at, duration_ms) = row?;
        let direction = match direction.as_str() {
            "up" => Direction::Up,
            "down" => Direction::Down,
            _ => return Err(Error::BadHistoryRow { id, direction }),
        };
        out.push(HistoryRow {
            id,
            version: to_version(version, HISTORY_TABLE, repo)?,
            direction,
            checksum,
            applied_at,
            duration_ms: duration_ms.max(0) as u64,
        });
    }
    Ok(out)
}

/// What the history recorded for one version's latest up row.
struct Recorded {
    checksum: String,
    /// `None` for rows older than the column (or a database without it).
    down_checksum: Option<String>,
}

/// The latest up row of every version, read in one scan of the repository's history rows
/// (oldest first, so a later row replaces an earlier one): the same answer as one
/// `ORDER BY id DESC LIMIT 1` lookup per version, without a query (and a scan of an
/// unindexed table) per version.
fn recorded(conn: &Connection, repo: &Repository) -> Result<HashMap<u64, Recorded>> {
    let mut out = HashMap::new();
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(out);
    }
    let down = if has_down_checksum(conn)? {
        ident(DOWN_CHECKSUM)
    } else {
        "NULL".to_string()
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT version, checksum, {down} FROM {} WHERE repository_id = ?1 \
         AND direction = 'up' ORDER BY id",
        ident(HISTORY_TABLE)
    ))?;
    let mut rows = stmt.query([&repo.repository_id])?;
    while let Some(r) = rows.next()? {
        // A negative version matches no script, as the per-version lookup it replaces.
        let Ok(version) = u64::try_from(r.get::<_, i64>(0)?) else {
            continue;
        };
        out.insert(
            version,
            Recorded {
                checksum: r.get(1)?,
                down_checksum: r.get(2)?,
            },
        );
    }
    Ok(out)
}

/// The checksum recorded when `version`'s up script was last applied (one scan of the
/// history: for the rare single lookup, such as settling an interrupted migrate).
pub(crate) fn applied_checksum(
    conn: &Connection,
    repo: &Repository,
    version: u64,
) -> Result<Option<String>> {
    Ok(recorded(conn, repo)?.remove(&version).map(|r| r.checksum))
}

/// The applied up scripts (versions up to `current`) that changed since they were applied.
pub(crate) fn modified(
    conn: &Connection,
    repo: &Repository,
    versions: &[VersionFiles],
    current: u64,
) -> Result<Vec<ModifiedScript>> {
    let recorded = recorded(conn, repo)?;
    let applied: Vec<(&VersionFiles, &str)> = versions
        .iter()
        .filter(|v| v.version <= current)
        .filter_map(|v| recorded.get(&v.version).map(|r| (v, r.checksum.as_str())))
        .collect();
    changed(repo, &applied, Direction::Up)
}

/// Those of `scripts` (each with the checksum recorded for it) whose file hashes otherwise.
fn changed(
    repo: &Repository,
    scripts: &[(&VersionFiles, &str)],
    direction: Direction,
) -> Result<Vec<ModifiedScript>> {
    let files: Vec<(&VersionFiles, Direction)> =
        scripts.iter().map(|(v, _)| (*v, direction)).collect();
    let now = repo.checksums(&files)?;
    Ok(scripts
        .iter()
        .zip(now)
        .filter(|((_, recorded), now)| now != recorded)
        .map(|((v, recorded), now)| ModifiedScript {
            file: v.script(direction).to_path_buf(),
            version: v.version,
            recorded: recorded.to_string(),
            now,
        })
        .collect())
}

/// The down scripts of `versions` that changed since their up script was applied (the
/// pair was verified together). A version applied before dbm recorded down checksums is
/// not checked.
pub(crate) fn modified_down<'v>(
    conn: &Connection,
    repo: &Repository,
    versions: impl IntoIterator<Item = &'v VersionFiles>,
) -> Result<Vec<ModifiedScript>> {
    let recorded = recorded(conn, repo)?;
    let applied: Vec<(&VersionFiles, &str)> = versions
        .into_iter()
        .filter_map(|v| match recorded.get(&v.version) {
            Some(r) => r.down_checksum.as_deref().map(|sum| (v, sum)),
            None => None,
        })
        .collect();
    changed(repo, &applied, Direction::Down)
}

/// Inside a step's transaction: moves the control row from `from` to `to` and records the
/// script in the history.
pub(crate) fn record_step(
    tx: &Connection,
    step: &super::step::Step<'_>,
    duration_ms: u64,
) -> Result<()> {
    let repo = step.repo;
    let changed = tx.execute(
        &format!(
            "UPDATE {} SET version = ?1 WHERE repository_id = ?2 AND version = ?3",
            ident(&repo.version_table)
        ),
        params![step.to as i64, repo.repository_id, step.from as i64],
    )?;
    if changed != 1 {
        return Err(Error::ControlRowVanished {
            repository_id: repo.repository_id.clone(),
            file: step.file.to_path_buf(),
        });
    }
    ensure_history(tx)?;
    tx.execute(
        &format!(
            "INSERT INTO {} (repository_id, version, direction, checksum, applied_at, duration_ms, {}) \
             VALUES (?1, ?2, ?3, ?4, {UTC_NOW}, ?5, ?6)",
            ident(HISTORY_TABLE),
            ident(DOWN_CHECKSUM)
        ),
        params![
            repo.repository_id,
            step.from.max(step.to) as i64,
            step.direction.as_str(),
            step.checksum,
            duration_ms as i64,
            step.down_checksum
        ],
    )?;
    Ok(())
}
