//! The library's typed error. Variants carry what a caller matches on (versions, files,
//! lines, tables, counts); `Display` gives the message the command line prints.

use crate::apply::ApplyReport;
use crate::precheck::{LostTable, Offence};
use crate::script::Direction;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A model-file error, located in the file (line and column count from 1; 0 when the error
/// has no place in the text, as for a file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ModelError {
    /// The model file, as given.
    pub file: String,
    /// Line of the problem, from 1 (0: no place in the text).
    pub line: usize,
    /// Column of the problem, from 1 (0: no place in the text).
    pub column: usize,
    /// What is wrong, without the location.
    pub message: String,
    /// The source lines at fault and the problem's place in them, for a caller that shows
    /// errors as rustc does (the command line does).
    pub snippet: Option<SourceSnippet>,
}

/// Whole lines of a model file and the byte range of a problem within them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSnippet {
    /// The lines, without the newline after the last one.
    pub text: String,
    /// The line number (from 1) of the first line of `text`.
    pub first_line: usize,
    /// The problem: a byte range of `text` (empty at the end of input).
    pub span: std::ops::Range<usize>,
}

/// Everything that can go wrong in dbm's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model file that does not parse or does not hold together.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A model built in code that does not hold together.
    #[error("invalid model: {message}")]
    InvalidModel {
        /// The table at fault, when there is one.
        table: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// SQLite refuses the DDL rendered from the model.
    #[error("invalid model: SQLite rejects the model: {message}\n  in: {statement}")]
    ModelRejected {
        /// The statement rendered from the model.
        statement: String,
        /// SQLite's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The migration repository's folder or scripts are wrong.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    /// The live schema holds something dbm cannot read.
    #[error("cannot read the schema of the database: {kind} `{name}`: {message}")]
    Inspect {
        /// `table`, `index`, `view` or `trigger`.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// What dbm could not read.
        message: String,
    },
    /// A schema object SQLite has that dbm cannot migrate (virtual tables, a rebuild that
    /// would lose every row...).
    #[error("not supported: {reason}")]
    Unsupported {
        /// The table.
        table: String,
        /// Why it cannot be migrated.
        reason: String,
    },
    /// A generated script failed its replay on a schema-only copy: nothing was written.
    #[error("refusing to write the migration: the generated {} script fails on a schema-only copy of the database: {message}", direction.as_str())]
    VerifyFailed {
        /// The script that failed.
        direction: Direction,
        /// SQLite's message.
        message: String,
    },
    /// A generated script ran on the copy but did not give the schema it must give.
    #[error("refusing to write the migration: the generated {} script {}; still different:\n  {}", direction.as_str(), match direction { Direction::Up => "does not reach the model", Direction::Down => "does not restore the old schema" }, remaining.join("\n  "))]
    VerifyMismatch {
        /// The script that does not reach its schema.
        direction: Direction,
        /// What still differs, in words.
        remaining: Vec<String>,
    },
    /// Rows of the live database that the migration's new constraints would reject.
    #[error("the existing data does not fit the new schema; no script written:\n{}\nFix the rows (or the model), or write a data migration with `dbm script`.", offences.iter().map(|o| format!("  {}: {} row{} would fail", o.change, o.rows, if o.rows == 1 { "" } else { "s" })).collect::<Vec<_>>().join("\n"))]
    DataDoesNotFit {
        /// Each change that rows would fail, with the count.
        offences: Vec<Offence>,
        /// The rename hints that came with the refused migration.
        hints: Vec<String>,
    },
    /// Tables the migration drops with their rows while it creates tables of the same shape:
    /// renames the model does not declare.
    #[error("the migration would lose rows; nothing was written:\n{}\nTo drop the rows anyway, run again with --accept-data-loss.", lost.iter().map(|l| format!("  table {} ({} row{}) is dropped and {} with the same columns is created: if it is a rename, declare renamed_from = {:?} on table {} to keep the rows", l.dropped, l.rows, if l.rows == 1 { "" } else { "s" }, l.created, l.dropped, l.created)).collect::<Vec<_>>().join("\n"))]
    WouldLoseRows {
        /// Each table that would lose its rows, with the count and its likely new name.
        lost: Vec<LostTable>,
    },
    /// Stopped by a request (Ctrl-C) before the version committed.
    #[error(
        "interrupted: the migration was rolled back and its scripts removed; nothing was written"
    )]
    Interrupted,
    /// An upgrade or downgrade stopped by a request (Ctrl-C): the version running was rolled
    /// back, and the database is at `version` (the last version committed).
    #[error("interrupted: rolled back; the database is still at version {version}")]
    InterruptedAt {
        /// The last version committed.
        version: u64,
    },
    /// The database has no control row for this repository.
    #[error("the database is not under version control for repository {repository_id:?} (no row in {table}); run `dbm version-control` first")]
    NotControlled {
        /// The repository's `repository_id`.
        repository_id: String,
        /// The control table searched.
        table: String,
    },
    /// The control table holds a version that is not a version.
    #[error("{table} holds {}", match version { Some(v) => format!("a negative version {v}"), None => format!("a NULL version for repository {repository_id:?}") })]
    BadVersionRow {
        /// The control table.
        table: String,
        /// The repository's `repository_id`.
        repository_id: String,
        /// The value found: negative, or `None` for NULL.
        version: Option<i64>,
    },
    /// A `migrate_history` row that dbm did not write.
    #[error("migrate_history row {id} has an unknown direction {direction:?}")]
    BadHistoryRow {
        /// The row's id.
        id: i64,
        /// The direction found (dbm writes `up` or `down`).
        direction: String,
    },
    /// A version the repository does not have.
    #[error("version {version} does not exist (the repository's latest version is {latest})")]
    NoSuchVersion {
        /// The version asked for.
        version: u64,
        /// The repository's latest version.
        latest: u64,
    },
    /// An upgrade to a version the repository does not have.
    #[error("cannot upgrade to version {target}: it does not exist (the repository's latest version is {latest})")]
    UpgradeTargetMissing {
        /// The version asked for.
        target: u64,
        /// The repository's latest version.
        latest: u64,
    },
    /// A downgrade from version 0.
    #[error("the database is at version 0: there is nothing below it to downgrade to")]
    AtBottom,
    /// The database's version is above the repository's latest.
    #[error("the database is at version {current} but the repository {} only goes up to {latest} (wrong repository, or missing scripts?)", root.display())]
    AboveLatest {
        /// The database's version.
        current: u64,
        /// The repository's latest version.
        latest: u64,
        /// The repository's folder.
        root: PathBuf,
    },
    /// `migrate` needs the database at the repository's latest version.
    #[error("the database is at version {current} but the repository has version {latest}; run `dbm upgrade` first")]
    Behind {
        /// The database's version.
        current: u64,
        /// The repository's latest version.
        latest: u64,
    },
    /// The repository gained versions while a migration was being written.
    #[error("the repository changed while the migration was generated (its latest version is now {latest}, not {expected}); nothing was written: run `dbm migrate` again")]
    RepositoryChanged {
        /// The latest version when the draft began.
        expected: u64,
        /// The latest version now.
        latest: u64,
    },
    /// A target in the wrong direction for the command.
    #[error("{}", wrong_direction(*current, *target, *upgrade))]
    WrongDirection {
        /// The database's version.
        current: u64,
        /// The version asked for.
        target: u64,
        /// True for an upgrade to a lower version, false for a downgrade to a higher one.
        upgrade: bool,
    },
    /// Another migrator moved the database to a version this step did not expect.
    #[error("database is at version {found}, expected {expected}")]
    AtVersion {
        /// The version the database is at.
        found: u64,
        /// The version the step started from.
        expected: u64,
    },
    /// Applied scripts changed since they were applied.
    #[error("applied script(s) changed since they were applied:\n  {}\nrestore them, or pass --allow-modified to proceed anyway", scripts.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Modified {
        /// Each edited script, with the recorded and the current checksum.
        scripts: Vec<ModifiedScript>,
    },
    /// A script failed; `statement` is 1-based, `line` is where it starts.
    #[error("{}: statement {statement} (line {line}) failed: {message}\n    {sql}", file.display())]
    Script {
        /// The script.
        file: PathBuf,
        /// Which statement failed, from 1.
        statement: usize,
        /// The line the statement starts on, from 1.
        line: usize,
        /// The statement's text.
        sql: String,
        /// SQLite's message.
        message: String,
    },
    /// A script that does not lex, so it cannot be split into statements: none of it ran.
    #[error("{}: line {line}: {reason}; the script cannot be split into statements, so none of it was run", file.display())]
    Unsplittable {
        /// The script.
        file: PathBuf,
        /// The line where lexing failed, from 1.
        line: usize,
        /// What does not lex (an unterminated string, `$`, ...).
        reason: &'static str,
    },
    /// The script added foreign-key violations; the step was rolled back. Violations that
    /// were there before the script are not counted.
    #[error("{}: the script leaves new foreign key violations, rolled back: {}", file.display(), violations.iter().map(|(t, n)| format!("{t} ({n} more row{})", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", "))]
    ForeignKeys {
        /// The script.
        file: PathBuf,
        /// (table, rows violating beyond those before the script) per table.
        violations: Vec<(String, i64)>,
    },
    /// The control row vanished while a step ran.
    #[error("the control row of repository {repository_id:?} disappeared during {}", file.display())]
    ControlRowVanished {
        /// The repository's `repository_id`.
        repository_id: String,
        /// The script that was running.
        file: PathBuf,
    },
    /// The borrowed connection is inside a transaction: each version needs its own, and
    /// foreign keys cannot be switched off inside one.
    #[error("the connection is inside a transaction; commit or roll back first: dbm runs each version in a transaction of its own with foreign keys switched off outside it (inside one, `PRAGMA foreign_keys = OFF` does nothing, and rebuilding a parent table would delete its ON DELETE CASCADE children)")]
    OpenTransaction,
    /// `PRAGMA foreign_keys = OFF` did not take.
    #[error("could not switch foreign keys off on this connection")]
    ForeignKeysStayOn,
    /// Another connection held a lock for longer than the lock timeout allowed: `waited_secs`
    /// is how long dbm waited in all, `holder` who kept it from going on.
    #[error("{}", locked(*holder, *waited_secs))]
    Locked {
        /// How long dbm waited, in all.
        waited_secs: u64,
        /// Who kept dbm from going on.
        holder: LockHolder,
    },
    /// The copy before a destructive step failed.
    #[error("backup to {} failed: {message}", path.display())]
    Backup {
        /// The backup's path.
        path: PathBuf,
        /// The operating system's or SQLite's message.
        message: String,
    },
    /// Offline SQL from a version to itself.
    #[error("nothing to do: from and to are both {version}")]
    NothingToDo {
        /// The version both ends are at.
        version: u64,
    },
    /// A round trip (`dbm test`) found a version whose schema differs.
    #[error("{label}: {step} does not give the schema of version {version}:\n  {}", differences.join("\n  "))]
    RoundTrip {
        /// `scripts` (from an empty database) or `data copy`.
        label: String,
        /// The step, e.g. `downgrade 2 -> 1`.
        step: String,
        /// The version whose schema it should give.
        version: u64,
        /// What differs, in words.
        differences: Vec<String>,
    },
    /// A database pattern (`--databases`) that matches no database.
    #[error("no database matches `{pattern}`")]
    NoDatabases {
        /// The pattern as given.
        pattern: String,
    },
    /// A database pattern that is not a glob pattern.
    #[error("invalid database pattern `{pattern}`: {message}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is not one.
        message: String,
    },
    /// `source` stopped an upgrade or downgrade after it had done something: `report` says
    /// which versions were applied (the database is at the last one) and where the backup is.
    #[error("{source}")]
    Stopped {
        /// What was done before `source` stopped it.
        report: ApplyReport,
        /// The error that stopped it.
        source: Box<Error>,
    },
    /// `discard`: the repository has no versions.
    #[error("the repository has no versions; nothing to discard")]
    NothingToDiscard,
    /// `discard`: later versions build on this one.
    #[error("version {version} is not the repository's latest ({latest}); only the latest version can be discarded")]
    DiscardNotLatest {
        /// The version asked for.
        version: u64,
        /// The repository's latest version.
        latest: u64,
    },
    /// `discard`: the database has the version applied; its files stay.
    #[error("version {version} is applied to the database (at version {current}); downgrade below it first (`dbm downgrade {}`), then discard", version - 1)]
    DiscardApplied {
        /// The version asked for.
        version: u64,
        /// The database's version.
        current: u64,
    },
    /// An error from SQLite that none of the above describes.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An I/O error that none of the above describes.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Who held the lock a step waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockHolder {
    /// Another writer (a migrator, or an app in a write transaction) held the write lock.
    Writer,
    /// dbm held the write lock, but a reader's open read transaction kept it from writing
    /// the file (rollback-journal mode: a cache spill or COMMIT needs every reader gone).
    Reader,
}

fn locked(holder: LockHolder, waited: u64) -> String {
    match holder {
        LockHolder::Writer => format!("database is locked by another writer (a migrator or an app's write transaction); dbm waited {waited} s for it and changed nothing"),
        LockHolder::Reader => format!("database is locked by a reader: another connection kept a read transaction open, so dbm could not write its changes; dbm waited {waited} s in all and rolled the step back"),
    }
}

fn wrong_direction(current: u64, target: u64, upgrade: bool) -> String {
    if upgrade {
        format!("the database is at version {current}, above {target} (use downgrade: `dbm downgrade {target}`)")
    } else if target > current {
        format!("cannot downgrade to version {target}: the database is at version {current}, below {target} (the target must be lower; use `dbm upgrade {target}`)")
    } else {
        format!("cannot downgrade to version {target}: the database is at version {current} (the target must be lower)")
    }
}

/// An applied script that changed since it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedScript {
    /// The script.
    pub file: PathBuf,
    /// Its version.
    pub version: u64,
    /// SHA-256 recorded when it was applied, and now.
    pub recorded: String,
    /// SHA-256 of its text now.
    pub now: String,
}

impl fmt::Display for ModifiedScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (version {}: applied with checksum {}, now {})",
            self.file.display(),
            self.version,
            short_checksum(&self.recorded),
            short_checksum(&self.now)
        )
    }
}

/// The first 12 characters of a checksum: read from `migrate_history`, it may hold anything
/// someone wrote there, so it is cut at a character, not a byte.
fn short_checksum(sum: &str) -> String {
    sum.chars().take(12).collect()
}

/// What is wrong with a repository folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryError {
    /// No folder at `root`.
    #[error("no repository at {}; run `dbm create`", root.display())]
    NotFound {
        /// The folder asked for.
        root: PathBuf,
    },
    /// The repository path is a file.
    #[error("{} is a file, not a repository folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// `create` over a file.
    #[error("cannot create a repository at {}: it is a file, not a folder", root.display())]
    CreateOverFile {
        /// The path.
        root: PathBuf,
    },
    /// A `repository_id` that is empty or holds a line break.
    #[error("invalid repository id {id:?}")]
    InvalidId {
        /// The id.
        id: String,
    },
    /// The folder has no `migrate.cfg`.
    #[error("{} is not a repository: {} is missing; run `dbm create`", root.display(), config.display())]
    MissingConfig {
        /// The folder.
        root: PathBuf,
        /// Where `migrate.cfg` was looked for.
        config: PathBuf,
    },
    /// No `versions/` folder.
    #[error("{} is missing or not a folder", dir.display())]
    MissingVersions {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// `versions` is a file.
    #[error("{} is a file, not a folder", dir.display())]
    VersionsNotAFolder {
        /// The path.
        dir: PathBuf,
    },
    /// `migrate.cfg` does not parse; `line` is 0 for a missing setting.
    #[error("{}: {}{message}", file.display(), if *line > 0 { format!("line {line}: ") } else { String::new() })]
    Config {
        /// `migrate.cfg`.
        file: PathBuf,
        /// The line at fault, from 1 (0: a missing setting).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Another file already claims the version number a new version is to take.
    #[error("version {version} is taken: {} already exists; nothing was written: run the command again", file.display())]
    VersionTaken {
        /// The version number.
        version: u64,
        /// The file that already claims it.
        file: PathBuf,
    },
    /// Another `dbm migrate` is writing this version (or was interrupted writing it).
    #[error("version {version} is being written by a `dbm migrate` on {} (marker {}): it is not applied yet; nothing was written: run the command again once it has finished (an interrupted one is cleaned up by the next `dbm migrate` on that database)", if database.is_empty() { "an in-memory database".to_string() } else { database.clone() }, marker.display())]
    VersionInProgress {
        /// The version number.
        version: u64,
        /// The database it is being applied to (its canonical path; empty: in memory).
        database: String,
        /// The marker file.
        marker: PathBuf,
    },
    /// Scripts embedded in the binary cannot be written.
    #[error("the repository {} is embedded in this binary; write its scripts in the folder and rebuild", root.display())]
    Embedded {
        /// The folder the scripts came from.
        root: PathBuf,
    },
    /// The scripts in `versions/` break the naming rules.
    #[error("invalid repository {}:\n  {}", root.display(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid {
        /// The repository's folder.
        root: PathBuf,
        /// Every problem found, not only the first.
        problems: Vec<ScriptProblem>,
    },
}

/// One broken rule of `versions/`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptProblem {
    /// A `.sql` file not named `NNN_slug.up.sql` or `NNN_slug.down.sql`.
    #[error("{}: not a version script name (expected NNN_slug.up.sql or NNN_slug.down.sql, NNN >= 1)", file.display())]
    BadName {
        /// The file.
        file: PathBuf,
    },
    /// A script name holding control characters (a newline, a carriage return...).
    #[error("{:?}: a script name may not hold control characters", file.display().to_string())]
    UnsafeName {
        /// The file.
        file: PathBuf,
    },
    /// More than one up or down script for a version (two branches merged).
    #[error("version {version} is claimed by more than one script (two branches merged? renumber one): {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    Duplicate {
        /// The version.
        version: u64,
        /// Every file claiming it.
        files: Vec<PathBuf>,
    },
    /// The up and down scripts of a version have different slugs.
    #[error("version {version}: up and down scripts have different names: {} and {}", up.display(), down.display())]
    NamesDiffer {
        /// The version.
        version: u64,
        /// Its up script.
        up: PathBuf,
        /// Its down script.
        down: PathBuf,
    },
    /// An up script without its down script.
    #[error("{}: up script without its .down.sql", up.display())]
    MissingDown {
        /// The up script.
        up: PathBuf,
    },
    /// A down script without its up script.
    #[error("{}: down script without its .up.sql", down.display())]
    MissingUp {
        /// The down script.
        down: PathBuf,
    },
    /// The numbering skips a version (versions must be 1..=N).
    #[error("gap in version numbering: version {missing} is missing before {} (versions must be 1..=N)", next.display())]
    Gap {
        /// The first missing version.
        missing: u64,
        /// The script after the gap.
        next: PathBuf,
    },
}

/// dbm's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error behind a [`Error::Stopped`] (the error itself otherwise).
    pub fn root(&self) -> &Error {
        match self {
            Error::Stopped { source, .. } => source.root(),
            e => e,
        }
    }
}

/// Whether SQLite reported a busy or locked database.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Whether an error comes from the machine, not the SQL: a lock held elsewhere, a full disk,
/// an I/O error. A script statement failing so is not the script's fault.
pub(crate) fn is_environment(e: &rusqlite::Error) -> bool {
    is_busy(e)
        || matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
        )
}

/// A busy error as [`Error::Locked`] after waiting `waited`; anything else as it is.
pub(crate) fn map_busy(e: rusqlite::Error, waited: Duration, holder: LockHolder) -> Error {
    if is_busy(&e) {
        Error::Locked {
            waited_secs: waited.as_millis().div_ceil(1000) as u64,
            holder,
        }
    } else {
        Error::Sqlite(e)
    }
}
