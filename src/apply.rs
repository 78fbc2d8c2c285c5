//! Applying versions to a borrowed connection: transactions, control table, locking.
//!
//! Every version runs in its own `BEGIN IMMEDIATE` transaction together with the control-table
//! update and a `migrate_history` row, with foreign keys switched off *outside* the transaction
//! and checked with `pragma_foreign_key_check` before COMMIT. The version is re-read under the
//! write lock, so concurrent migrators never apply a version twice.
//!
//! An app migrates its own database at start-up on the connection it already has:
//!
//! ```no_run
//! use dbm::apply::{self, ApplyOptions};
//! use dbm::repository::Repository;
//!
//! let repo = Repository::open(std::path::Path::new("db_repository"))?;
//! let mut conn = rusqlite::Connection::open("app.db")?;
//! let report = apply::upgrade(&mut conn, &repo, None, &ApplyOptions::default())?;
//! println!("applied {} version(s)", report.steps.len());
//! # Ok::<(), dbm::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};

use crate::error::{Error, Result};
use crate::repository::{checksum, Repository, VersionFiles};
use crate::sql::{ident, literal, tokens, Tok};

/// The history table's name (one per database, shared by repositories).
pub const HISTORY_TABLE: &str = "migrate_history";

const UTC_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

// The control tables are plain DDL that sea-query expresses well; the migration scripts
// themselves need SQLite features it lacks (see ARCHITECTURE.md), so they use plan::render.
fn typed(name: &str, sql_type: &str) -> sea_query::ColumnDef {
    use sea_query::{Alias, ColumnDef};
    ColumnDef::new(Alias::new(name))
        .custom(Alias::new(sql_type))
        .to_owned()
}

fn history_ddl() -> String {
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
        .to_string(SqliteQueryBuilder)
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

/// Which script of a version runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `up` / `down`, as stored in `migrate_history`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// When to take a copy of the database before applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupPolicy {
    /// Only when a script to be applied is destructive (see [`is_destructive`]).
    #[default]
    Auto,
    Always,
    Never,
}

/// Options of [`upgrade`] and [`downgrade`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Apply even if an already-applied up script changed since it was applied.
    pub allow_modified: bool,
    /// How long to wait for another connection's write lock.
    pub busy_timeout: Duration,
    pub backup: BackupPolicy,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_modified: false,
            busy_timeout: Duration::from_secs(30),
            backup: BackupPolicy::Auto,
        }
    }
}

/// What [`upgrade`] / [`downgrade`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// `(from, to)` per version applied by this call, in order.
    pub steps: Vec<(u64, u64)>,
    /// The copy taken before the first step, if any.
    pub backup: Option<PathBuf>,
}

/// Result of one [`apply_version`] step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Applied {
        duration_ms: u64,
    },
    /// Another process had already moved the database from `from` to `to`; nothing was done.
    AlreadyApplied,
}

/// One row of `migrate_history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub version: u64,
    pub direction: Direction,
    pub checksum: String,
    pub applied_at: String,
    pub duration_ms: u64,
}

fn apply_err(msg: impl Into<String>) -> Error {
    Error::Apply(msg.into())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn map_busy(e: rusqlite::Error, waited: Duration) -> Error {
    if is_busy(&e) {
        Error::Locked {
            waited_secs: waited.as_millis().div_ceil(1000) as u64,
        }
    } else {
        Error::Sqlite(e)
    }
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn to_version(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| apply_err(format!("{what} holds a negative version {v}")))
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
        Some(None) => Err(apply_err(format!(
            "{} has a NULL version for repository {:?}",
            repo.version_table, repo.repository_id
        ))),
        Some(Some(v)) => to_version(v, &repo.version_table).map(Some),
    }
}

/// Puts the database under version control at `version` (creating the control and history
/// tables). Returns false, changing nothing, if it already was.
pub fn version_control(conn: &Connection, repo: &Repository, version: u64) -> Result<bool> {
    let latest = repo.latest()?;
    if version > latest {
        return Err(apply_err(format!(
            "version {version} does not exist (the repository's latest version is {latest})"
        )));
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, Duration::ZERO))?;
    if db_version(&tx, repo)?.is_some() {
        return Ok(false);
    }
    tx.execute_batch(&control_ddl(repo))?;
    tx.execute_batch(&history_ddl())?;
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

/// Removes the repository's control row and history rows; drops the control table when no
/// other repository uses it.
pub fn drop_version_control(conn: &Connection, repo: &Repository) -> Result<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, Duration::ZERO))?;
    if db_version(&tx, repo)?.is_none() {
        return Err(apply_err(format!(
            "the database is not under version control for repository {:?}",
            repo.repository_id
        )));
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
            other => {
                return Err(apply_err(format!(
                    "{HISTORY_TABLE} row {id} has an unknown direction {other:?}"
                )))
            }
        };
        out.push(HistoryRow {
            id,
            version: to_version(version, HISTORY_TABLE)?,
            direction,
            checksum,
            applied_at,
            duration_ms: duration_ms.max(0) as u64,
        });
    }
    Ok(out)
}

/// The checksum recorded when `version`'s up script was last applied.
pub fn applied_checksum(
    conn: &Connection,
    repo: &Repository,
    version: u64,
) -> Result<Option<String>> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(None);
    }
    Ok(conn
        .query_row(
            &format!(
                "SELECT checksum FROM {} WHERE repository_id = ?1 AND version = ?2 \
                 AND direction = 'up' ORDER BY id DESC LIMIT 1",
                ident(HISTORY_TABLE)
            ),
            params![repo.repository_id, version as i64],
            |r| r.get(0),
        )
        .optional()?)
}

/// Sets the busy timeout and (optionally) switches foreign keys off for the guard's life;
/// restores both on drop, on every path.
struct ConnGuard<'c> {
    conn: &'c Connection,
    busy_ms: i64,
    restore_fk: bool,
}

impl<'c> ConnGuard<'c> {
    fn new(conn: &'c Connection, busy: Duration, fk_off: bool) -> Result<Self> {
        let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
        conn.busy_timeout(busy)?;
        let mut guard = ConnGuard {
            conn,
            busy_ms,
            restore_fk: false,
        };
        if fk_off {
            if !conn.is_autocommit() {
                return Err(apply_err(
                    "the connection has an open transaction; dbm needs to run each version in its own transaction",
                ));
            }
            let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            if fk != 0 {
                conn.execute_batch("PRAGMA foreign_keys = OFF")?;
                guard.restore_fk = true;
                let now: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                if now != 0 {
                    return Err(apply_err(
                        "could not switch foreign keys off on this connection",
                    ));
                }
            }
        }
        Ok(guard)
    }
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        if self.restore_fk {
            let _ = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        }
        let _ = self
            .conn
            .busy_timeout(Duration::from_millis(self.busy_ms.max(0) as u64));
    }
}

/// One statement of a script: byte span and 1-based start line.
struct Stmt<'a> {
    text: &'a str,
    line: usize,
    first: &'a str,
}

fn kw(t: &Tok<'_>, word: &str) -> bool {
    t.text.eq_ignore_ascii_case(word)
}

/// Splits a script into statements on top-level `;`, keeping `CREATE TRIGGER .. BEGIN .. END;`
/// whole (CASE..END nesting inside the body is counted). `None` if the text does not lex.
fn split_statements(sql: &str) -> Option<Vec<Stmt<'_>>> {
    let toks = tokens(sql)?;
    let mut out: Vec<(usize, usize)> = vec![]; // token spans
    let mut start: Option<usize> = None;
    let (mut trigger, mut in_body, mut body_done, mut depth) = (false, false, false, 0usize);
    for (i, t) in toks.iter().enumerate() {
        let Some(s) = start else {
            if t.kind == sqlite3_parser::dialect::TokenType::TK_SEMI {
                continue;
            }
            start = Some(i);
            (trigger, in_body, body_done, depth) = (false, false, false, 0);
            continue;
        };
        let pos = i - s;
        if kw(&toks[s], "CREATE")
            && ((pos == 1 && kw(t, "TRIGGER"))
                || (pos == 2
                    && kw(t, "TRIGGER")
                    && (kw(&toks[s + 1], "TEMP") || kw(&toks[s + 1], "TEMPORARY"))))
        {
            trigger = true;
        }
        if trigger && !body_done {
            if !in_body {
                in_body = kw(t, "BEGIN");
            } else if kw(t, "CASE") {
                depth += 1;
            } else if kw(t, "END") {
                if depth == 0 {
                    body_done = true;
                } else {
                    depth -= 1;
                }
            }
        }
        if t.kind == sqlite3_parser::dialect::TokenType::TK_SEMI && (!trigger || body_done) {
            out.push((s, i));
            start = None;
        }
    }
    if let Some(s) = start {
        out.push((s, toks.len() - 1));
    }
    Some(
        out.into_iter()
            .map(|(s, e)| Stmt {
                text: &sql[toks[s].start..toks[e].end],
                line: sql[..toks[s].start].matches('\n').count() + 1,
                first: toks[s].text,
            })
            .collect(),
    )
}

/// Whether a script destroys data: `DROP TABLE`, `ALTER TABLE .. DROP [COLUMN]`, or a
/// `-- dbm:destructive` marker line (dbm writes it when a change loses data, e.g. a rebuild
/// that leaves a column out). The `DROP TABLE` of a table rebuild, whose rows were copied
/// into `_dbm_new_<name>` and renamed back, is not destructive by itself. Text that does
/// not lex counts as destructive.
pub fn is_destructive(sql: &str) -> bool {
    if sql.lines().any(|l| {
        l.trim_start()
            .to_ascii_lowercase()
            .starts_with("-- dbm:destructive")
    }) {
        return true;
    }
    let Some(stmts) = split_statements(sql) else {
        return true;
    };
    let Some(toks): Option<Vec<Vec<Tok<'_>>>> = stmts
        .iter()
        .map(|s| tokens(s.text).map(|t| t.into_iter().filter(|x| x.text != ";").collect()))
        .collect()
    else {
        return true;
    };
    let starts = |t: &[Tok<'_>], a: &str, b: &str| t.len() >= 2 && kw(&t[0], a) && kw(&t[1], b);
    // Tables rebuilt by this script: `ALTER TABLE "_dbm_new_x" RENAME TO "x"`.
    let rebuilt: Vec<String> = toks
        .iter()
        .filter(|t| starts(t, "ALTER", "TABLE") && t.len() == 6 && kw(&t[3], "RENAME"))
        .filter(|t| crate::sql::unquote(t[2].text).starts_with("_dbm_new_"))
        .map(|t| crate::sql::unquote(t[5].text).to_ascii_lowercase())
        .collect();
    toks.iter().any(|t| {
        if starts(t, "DROP", "TABLE") {
            let name = t.iter().skip(2).rfind(|x| !kw(x, "IF") && !kw(x, "EXISTS"));
            let name = name.map(|n| crate::sql::unquote(n.text).to_ascii_lowercase());
            return !name.is_some_and(|n| rebuilt.contains(&n));
        }
        // `DROP [COLUMN] c` loses data; `DROP CONSTRAINT` and `DROP NOT NULL` (3.53) do not.
        starts(t, "ALTER", "TABLE")
            && t.windows(2)
                .skip(2)
                .any(|w| kw(&w[0], "DROP") && !kw(&w[1], "CONSTRAINT") && !kw(&w[1], "NOT"))
    })
}

fn script_err(file: &Path, statement: usize, line: usize, sql: &str, message: String) -> Error {
    Error::Script {
        file: file.to_path_buf(),
        statement,
        line,
        sql: sql.to_string(),
        message,
    }
}

/// Runs a script statement by statement, stepping each one to completion (some ALTERs
/// return rows), so that an error names the statement.
fn run_script(conn: &Connection, sql: &str, file: &Path) -> Result<()> {
    let Some(stmts) = split_statements(sql) else {
        return conn
            .execute_batch(sql)
            .map_err(|e| script_err(file, 1, 1, sql.trim(), e.to_string()));
    };
    for (i, s) in stmts.iter().enumerate() {
        let n = i + 1;
        let first = s.first.to_ascii_uppercase();
        if matches!(
            first.as_str(),
            "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "VACUUM"
        ) {
            return Err(script_err(
                file,
                n,
                s.line,
                s.text,
                format!("{first} is not allowed in a migration script: dbm runs each version in its own transaction"),
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
        run().map_err(|e| script_err(file, n, s.line, s.text, e.to_string()))?;
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

enum Step {
    Applied { duration_ms: u64 },
    Stale { found: Option<u64> },
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    conn: &Connection,
    repo: &Repository,
    sql: &str,
    file: &Path,
    from: u64,
    to: u64,
    direction: Direction,
    checksum: &str,
    busy: Duration,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<Step> {
    let _guard = ConnGuard::new(conn, busy, true)?;
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, busy))?;
    let found = db_version(&tx, repo)?;
    if found != Some(from) {
        return Ok(Step::Stale { found });
    }
    let started = Instant::now();
    run_script(&tx, sql, file)?;

    let mut stmt = tx.prepare(
        "SELECT \"table\", count(*) FROM pragma_foreign_key_check GROUP BY \"table\" ORDER BY \"table\"",
    )?;
    let bad = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    if !bad.is_empty() {
        let list: Vec<String> = bad.iter().map(|(t, n)| format!("{t} ({n} rows)")).collect();
        return Err(apply_err(format!(
            "{}: foreign key violations after the script, rolled back: {}",
            file.display(),
            list.join(", ")
        )));
    }

    let changed = tx.execute(
        &format!(
            "UPDATE {} SET version = ?1 WHERE repository_id = ?2 AND version = ?3",
            ident(&repo.version_table)
        ),
        params![to as i64, repo.repository_id, from as i64],
    )?;
    if changed != 1 {
        return Err(apply_err(format!(
            "the control row of repository {:?} disappeared during {}",
            repo.repository_id,
            file.display()
        )));
    }
    tx.execute_batch(&history_ddl())?;
    let duration_ms = started.elapsed().as_millis() as u64;
    tx.execute(
        &format!(
            "INSERT INTO {} (repository_id, version, direction, checksum, applied_at, duration_ms) \
             VALUES (?1, ?2, ?3, ?4, {UTC_NOW}, ?5)",
            ident(HISTORY_TABLE)
        ),
        params![
            repo.repository_id,
            from.max(to) as i64,
            direction.as_str(),
            checksum,
            duration_ms as i64
        ],
    )?;
    before_commit()?;
    tx.commit().map_err(|e| map_busy(e, busy))?;
    Ok(Step::Applied { duration_ms })
}

/// Applies ONE version step atomically: foreign keys off outside the transaction,
/// `BEGIN IMMEDIATE`, version re-read under the lock, the script, `foreign_key_check`, control
/// update, history row, `before_commit()` (its error rolls back), COMMIT. Any error leaves the
/// database unchanged. If another process already moved the database from `from` to `to`,
/// nothing is done ([`StepOutcome::AlreadyApplied`]); any other version is an error.
/// Waits for another writer at most the connection's busy timeout.
#[allow(clippy::too_many_arguments)]
pub fn apply_version(
    conn: &mut Connection,
    repo: &Repository,
    sql: &str,
    file: &Path,
    from: u64,
    to: u64,
    direction: Direction,
    checksum: &str,
    before_commit: &mut dyn FnMut() -> Result<()>,
) -> Result<StepOutcome> {
    // Keep the caller's busy timeout (the CLI sets `lock_timeout` on open) rather than
    // imposing the 30 s default.
    let busy_ms: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
    let busy = Duration::from_millis(busy_ms.max(0) as u64);
    match run_step(
        conn,
        repo,
        sql,
        file,
        from,
        to,
        direction,
        checksum,
        busy,
        before_commit,
    )? {
        Step::Applied { duration_ms } => Ok(StepOutcome::Applied { duration_ms }),
        Step::Stale { found: Some(v) } if v == to => Ok(StepOutcome::AlreadyApplied),
        Step::Stale { found: Some(v) } => Err(apply_err(format!(
            "database is at version {v}, expected {from}"
        ))),
        Step::Stale { found: None } => Err(not_controlled(repo)),
    }
}

fn not_controlled(repo: &Repository) -> Error {
    apply_err(format!(
        "the database is not under version control for repository {:?} (no row in {}); run `dbm version-control` first",
        repo.repository_id, repo.version_table
    ))
}

fn read_script(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Refuses if an applied up script (version <= `current`) changed since it was applied.
fn check_integrity(
    conn: &Connection,
    repo: &Repository,
    versions: &[VersionFiles],
    current: u64,
    allow_modified: bool,
) -> Result<()> {
    if allow_modified {
        return Ok(());
    }
    let mut modified = vec![];
    for v in versions.iter().filter(|v| v.version <= current) {
        if let Some(recorded) = applied_checksum(conn, repo, v.version)? {
            let now = checksum(read_script(&v.up)?.as_bytes());
            if now != recorded {
                modified.push(format!(
                    "{} (version {}: applied with checksum {}, now {})",
                    v.up.display(),
                    v.version,
                    &recorded[..recorded.len().min(12)],
                    &now[..12]
                ));
            }
        }
    }
    if modified.is_empty() {
        Ok(())
    } else {
        Err(Error::Verify(format!(
            "applied script(s) changed since they were applied:\n  {}\nrestore them, or pass --allow-modified to proceed anyway",
            modified.join("\n  ")
        )))
    }
}

/// Takes a consistent copy with `VACUUM INTO` next to the database file. `None` for
/// in-memory and temporary databases.
fn take_backup(conn: &Connection, from: u64) -> Result<Option<PathBuf>> {
    let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let stamp: String =
        conn.query_row("SELECT strftime('%Y%m%dT%H%M%SZ', 'now')", [], |r| r.get(0))?;
    let base = format!("{db}.backup-v{from}-{stamp}");
    let mut path = PathBuf::from(&base);
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = PathBuf::from(format!("{base}-{n}"));
    }
    conn.execute("VACUUM INTO ?1", [path.display().to_string()])
        .map_err(|e| apply_err(format!("backup to {} failed: {e}", path.display())))?;
    Ok(Some(path))
}

fn wants_backup(policy: BackupPolicy, scripts: &[String]) -> bool {
    match policy {
        BackupPolicy::Always => true,
        BackupPolicy::Never => false,
        BackupPolicy::Auto => scripts.iter().any(|s| is_destructive(s)),
    }
}

struct Prepared {
    versions: Vec<VersionFiles>,
    latest: u64,
    current: u64,
}

fn prepare(conn: &Connection, repo: &Repository, opts: &ApplyOptions) -> Result<Prepared> {
    let versions = repo.versions()?;
    let latest = versions.last().map_or(0, |v| v.version);
    let current = db_version(conn, repo)?.ok_or_else(|| not_controlled(repo))?;
    if current > latest {
        return Err(apply_err(format!(
            "the database is at version {current} but the repository {} only goes up to {latest} (wrong repository, or missing scripts?)",
            repo.root.display()
        )));
    }
    check_integrity(conn, repo, &versions, current, opts.allow_modified)?;
    Ok(Prepared {
        versions,
        latest,
        current,
    })
}

/// The checks [`upgrade`] and [`downgrade`] make before running anything (database not
/// above the repository's latest, applied scripts unchanged), for callers that only print
/// SQL (`--sql`) and must refuse in the same cases.
pub fn check_applied(conn: &Connection, repo: &Repository, allow_modified: bool) -> Result<()> {
    let opts = ApplyOptions {
        allow_modified,
        ..ApplyOptions::default()
    };
    prepare(conn, repo, &opts).map(|_| ())
}

fn files_of(p: &Prepared, version: u64) -> Result<&VersionFiles> {
    p.versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(|| {
            apply_err(format!(
                "version {version} does not exist in the repository"
            ))
        })
}

/// Upgrades to `target` (default: the latest version), one transaction per version.
/// Versions already applied by a concurrent migrator are skipped.
pub fn upgrade(
    conn: &mut Connection,
    repo: &Repository,
    target: Option<u64>,
    opts: &ApplyOptions,
) -> Result<ApplyReport> {
    let conn: &Connection = conn;
    let _busy = ConnGuard::new(conn, opts.busy_timeout, false)?;
    let p = prepare(conn, repo, opts)?;
    let target = target.unwrap_or(p.latest);
    if target > p.latest {
        return Err(apply_err(format!(
            "cannot upgrade to version {target}: the repository's latest version is {}",
            p.latest
        )));
    }
    if target < p.current {
        return Err(apply_err(format!(
            "the database is at version {}; {target} is lower (use downgrade)",
            p.current
        )));
    }
    let mut report = ApplyReport::default();
    if target == p.current {
        return Ok(report);
    }
    let mut scripts = vec![];
    for v in p.current + 1..=target {
        scripts.push(read_script(&files_of(&p, v)?.up)?);
    }
    if wants_backup(opts.backup, &scripts) {
        report.backup = take_backup(conn, p.current).map_err(|e| locked_or(e, opts))?;
    }
    loop {
        let cur = db_version(conn, repo)?.ok_or_else(|| not_controlled(repo))?;
        if cur >= target {
            break;
        }
        let files = files_of(&p, cur + 1)?;
        let sql = read_script(&files.up)?;
        let sum = checksum(sql.as_bytes());
        let step = run_step(
            conn,
            repo,
            &sql,
            &files.up,
            cur,
            cur + 1,
            Direction::Up,
            &sum,
            opts.busy_timeout,
            &mut || Ok(()),
        )?;
        if let Step::Applied { .. } = step {
            report.steps.push((cur, cur + 1));
        }
    }
    Ok(report)
}

/// Downgrades to `target` (< current), running each version's down script from the current
/// version down to `target + 1`, one transaction per version.
pub fn downgrade(
    conn: &mut Connection,
    repo: &Repository,
    target: u64,
    opts: &ApplyOptions,
) -> Result<ApplyReport> {
    let conn: &Connection = conn;
    let _busy = ConnGuard::new(conn, opts.busy_timeout, false)?;
    let p = prepare(conn, repo, opts)?;
    if target >= p.current {
        return Err(apply_err(format!(
            "cannot downgrade to version {target}: the database is at version {} (the target must be lower)",
            p.current
        )));
    }
    let mut report = ApplyReport::default();
    let mut scripts = vec![];
    for v in target + 1..=p.current {
        scripts.push(read_script(&files_of(&p, v)?.down)?);
    }
    if wants_backup(opts.backup, &scripts) {
        report.backup = take_backup(conn, p.current).map_err(|e| locked_or(e, opts))?;
    }
    loop {
        let cur = db_version(conn, repo)?.ok_or_else(|| not_controlled(repo))?;
        if cur <= target {
            break;
        }
        let files = files_of(&p, cur)?;
        let sql = read_script(&files.down)?;
        let sum = checksum(sql.as_bytes());
        let step = run_step(
            conn,
            repo,
            &sql,
            &files.down,
            cur,
            cur - 1,
            Direction::Down,
            &sum,
            opts.busy_timeout,
            &mut || Ok(()),
        )?;
        if let Step::Applied { .. } = step {
            report.steps.push((cur, cur - 1));
        }
    }
    Ok(report)
}

fn locked_or(e: Error, opts: &ApplyOptions) -> Error {
    match e {
        Error::Sqlite(s) if is_busy(&s) => map_busy(s, opts.busy_timeout),
        e => e,
    }
}

/// The SQL a DBA can run with `sqlite3 -bail db.sqlite < file.sql` to go from `from` to `to`
/// (upgrade or downgrade). Each version is one transaction guarded by the expected version
/// and a foreign-key check (a failed guard is a CHECK-constraint error).
pub fn offline_sql(repo: &Repository, from: u64, to: u64) -> Result<String> {
    let versions = repo.versions()?;
    let latest = versions.last().map_or(0, |v| v.version);
    for v in [from, to] {
        if v > latest {
            return Err(apply_err(format!(
                "version {v} does not exist (the repository's latest version is {latest})"
            )));
        }
    }
    if from == to {
        return Err(apply_err(format!(
            "nothing to do: from and to are both {from}"
        )));
    }
    let control = ident(&repo.version_table);
    let repo_id = literal(&repo.repository_id);
    let guard = "temp.dbm_offline_guard";
    let mut out = String::new();
    let verb = if to > from { "upgrade" } else { "downgrade" };
    out.push_str(&format!(
        "-- dbm offline {verb} of repository {repo_id} from version {from} to {to}.\n\
         -- Run with: sqlite3 -bail DATABASE < this-file.sql\n\
         -- A failing guard stops with \"CHECK constraint failed: ...\" and rolls that version back.\n\n"
    ));
    out.push_str(&history_ddl());
    out.push_str(";\n");
    out.push_str(
        "CREATE TEMP TABLE IF NOT EXISTS dbm_offline_guard (\n  \
         expected_version INTEGER CONSTRAINT \"database is not at the expected version\" CHECK (expected_version),\n  \
         no_fk_violations INTEGER CONSTRAINT \"foreign key violations\" CHECK (no_fk_violations)\n);\n"
    );
    let steps: Vec<(u64, u64)> = if to > from {
        (from..to).map(|v| (v, v + 1)).collect()
    } else {
        (to..from).rev().map(|v| (v + 1, v)).collect()
    };
    for (a, b) in steps {
        let (files, direction) = if b > a {
            (&versions[(b - 1) as usize], Direction::Up)
        } else {
            (&versions[(a - 1) as usize], Direction::Down)
        };
        let path = match direction {
            Direction::Up => &files.up,
            Direction::Down => &files.down,
        };
        let sql = read_script(path)?;
        let sum = checksum(sql.as_bytes());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push_str(&format!(
            "\n-- {name}: version {a} -> {b}\nPRAGMA foreign_keys=OFF;\nBEGIN IMMEDIATE;\n"
        ));
        out.push_str(&format!(
            "INSERT INTO {guard} (expected_version) SELECT coalesce((SELECT version = {a} FROM {control} WHERE repository_id = {repo_id}), 0);\n"
        ));
        let body = sql.trim_end();
        out.push_str(body);
        let ends_with_semi = tokens(body)
            .and_then(|t| {
                t.last()
                    .map(|t| t.kind == sqlite3_parser::dialect::TokenType::TK_SEMI)
            })
            .unwrap_or(false);
        // A trailing `-- comment` line would swallow a `;` on the same line.
        out.push_str(if ends_with_semi { "\n" } else { "\n;\n" });
        out.push_str(&format!(
            "INSERT INTO {guard} (no_fk_violations) SELECT count(*) = 0 FROM pragma_foreign_key_check;\n"
        ));
        out.push_str(&format!(
            "UPDATE {control} SET version = {b} WHERE repository_id = {repo_id};\n"
        ));
        out.push_str(&format!(
            "INSERT INTO {} (repository_id, version, direction, checksum, applied_at, duration_ms) VALUES ({repo_id}, {}, {}, {}, {UTC_NOW}, 0);\n",
            ident(HISTORY_TABLE),
            a.max(b),
            literal(direction.as_str()),
            literal(&sum)
        ));
        out.push_str("COMMIT;\nPRAGMA foreign_keys=ON;\n");
    }
    out.push_str(&format!("\nDROP TABLE IF EXISTS {guard};\n"));
    Ok(out)
}

#[cfg(test)]
mod tests;
