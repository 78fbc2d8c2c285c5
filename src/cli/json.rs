//! `--json`: the documents the commands print (README's "JSON output" table), each a small
//! struct built from the library's typed results, and the one shape of an error.

use super::args::Command;
use super::Ctx;
use crate::{ApplyReport, Described, Drift, HistoryRow, Risk, Status};
use anyhow::{bail, Result};
use serde::Serialize;

/// Refuses `--json` on a command that has no JSON document (yet), before it does anything.
pub(super) fn supported(command: &Command) -> Result<()> {
    let name = match command {
        Command::Status { .. }
        | Command::History
        | Command::Version
        | Command::DbVersion { .. }
        | Command::Check { .. }
        | Command::Diff { .. }
        | Command::Lint { .. }
        | Command::Upgrade { .. }
        | Command::Downgrade { .. }
        | Command::Migrate { .. } => return Ok(()),
        Command::Create => "create",
        Command::Discard { .. } => "discard",
        Command::Script { .. } => "script",
        Command::CreateModel => "create-model",
        Command::Test { .. } => "test",
        Command::VersionControl { .. } => "version-control",
        Command::DropVersionControl => "drop-version-control",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
    };
    bail!("--json is not available for `dbm {name}`")
}

/// One line of a read over many databases: `{"path": ..., <the command's fields>}`, or
/// `{"path": ..., "error": ..., "exit": 2}` for a database that could not be read.
pub(super) fn many_line(path: &std::path::Path, fields: Result<serde_json::Value, &str>) -> String {
    let mut line = serde_json::Map::new();
    line.insert("path".into(), path.display().to_string().into());
    match fields {
        Ok(serde_json::Value::Object(map)) => line.extend(map),
        Ok(other) => {
            line.insert("value".into(), other);
        }
        Err(message) => {
            line.insert("error".into(), message.into());
            line.insert("exit".into(), 2.into());
        }
    }
    serde_json::Value::Object(line).to_string()
}

/// Prints `value` as the command's document on stdout.
pub(super) fn print(value: &impl Serialize) -> Result<()> {
    say_data!("{}\n", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The error document, one line: `{"error": "...", "exit": 2}`.
pub(super) fn error(message: &str, exit: u8) -> String {
    #[derive(Serialize)]
    struct Error<'a> {
        error: &'a str,
        exit: u8,
    }
    serde_json::to_string(&Error {
        error: message,
        exit,
    })
    .unwrap_or_else(|_| format!("{{\"error\": {message:?}, \"exit\": {exit}}}"))
}

/// `dbm version`.
#[derive(Serialize)]
pub(super) struct Version {
    pub(super) latest: u64,
}

/// `dbm db-version`.
#[derive(Serialize)]
pub(super) struct DbVersion {
    pub(super) version: u64,
}

/// One difference between the database and the model.
#[derive(Serialize)]
pub(super) struct Change {
    text: String,
    risk: Risk,
    /// What it may do to existing rows, in words.
    hazard: Option<String>,
}

pub(super) fn changes(list: Vec<Described>) -> Vec<Change> {
    list.into_iter()
        .map(|d| Change {
            risk: d.risk(),
            hazard: d.hazard.as_ref().map(ToString::to_string),
            text: d.text,
        })
        .collect()
}

/// `dbm diff` and `dbm check`.
#[derive(Serialize)]
pub(super) struct Diff {
    pub(super) database: String,
    pub(super) matches: bool,
    pub(super) changes: Vec<Change>,
    pub(super) hints: Vec<String>,
    /// `diff` only: the two schemas as model text, a unified diff (`""` when they match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) model_diff: Option<String>,
    /// `diff --sql` only: the up script `migrate` would write (`null` when they match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) up_sql: Option<Option<String>>,
}

#[derive(Serialize)]
struct Pending {
    version: u64,
    up: String,
    down: String,
}

#[derive(Serialize)]
struct Uncommitted {
    version: u64,
    database: String,
    files: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum DriftOut {
    None,
    Differs { differences: Vec<String> },
    Unknown { file: String, error: String },
}

/// `dbm status`.
#[derive(Serialize)]
pub(super) struct StatusOut {
    database: String,
    repository: String,
    version: u64,
    latest: u64,
    pending: Vec<Pending>,
    edited: Vec<String>,
    uncommitted: Vec<Uncommitted>,
    drift: DriftOut,
    /// How many changes the model has for the database; `null` when no model is declared.
    model_changes: Option<usize>,
    /// No drift (known to be none) and no edited script: what `--check` exits 0 on.
    ok: bool,
}

impl StatusOut {
    pub(super) fn new(ctx: &Ctx, s: Status, model_changes: Option<usize>) -> StatusOut {
        StatusOut::of(ctx, ctx.db_path(), s, model_changes)
    }

    /// The status of the database at `path` (one of many).
    pub(super) fn of(
        ctx: &Ctx,
        path: &std::path::Path,
        s: Status,
        model_changes: Option<usize>,
    ) -> StatusOut {
        let ok = status_ok(&s);
        StatusOut {
            database: path.display().to_string(),
            repository: ctx.settings.repository.display().to_string(),
            version: s.version,
            latest: s.latest,
            pending: s
                .pending
                .iter()
                .map(|v| Pending {
                    version: v.version,
                    up: ctx.display_path(&v.up),
                    down: ctx.display_path(&v.down),
                })
                .collect(),
            edited: s.edited.iter().map(|f| ctx.display_path(f)).collect(),
            uncommitted: s
                .uncommitted
                .iter()
                .map(|u| Uncommitted {
                    version: u.version,
                    database: u.database.clone(),
                    files: u.files.iter().map(|(f, _)| ctx.display_path(f)).collect(),
                })
                .collect(),
            drift: match s.drift {
                Drift::None => DriftOut::None,
                Drift::Differs(differences) => DriftOut::Differs { differences },
                Drift::Unknown { file, error } => DriftOut::Unknown {
                    file: ctx.display_path(&file),
                    error,
                },
            },
            model_changes,
            ok,
        }
    }
}

/// What `status --check` passes: the schema is known to be what the applied scripts make,
/// and none of them was edited since.
pub(super) fn status_ok(s: &Status) -> bool {
    s.drift == Drift::None && s.edited.is_empty()
}

/// One row of `dbm history`.
#[derive(Serialize)]
pub(super) struct History {
    id: i64,
    version: u64,
    direction: &'static str,
    checksum: String,
    applied_at: String,
    duration_ms: u64,
}

pub(super) fn history(rows: Vec<HistoryRow>) -> Vec<History> {
    rows.into_iter()
        .map(|r| History {
            id: r.id,
            version: r.version,
            direction: r.direction.as_str(),
            checksum: r.checksum,
            applied_at: r.applied_at,
            duration_ms: r.duration_ms,
        })
        .collect()
}

#[derive(Serialize)]
struct StepOut {
    from: u64,
    to: u64,
}

/// `dbm upgrade` and `dbm downgrade` on one database.
#[derive(Serialize)]
pub(super) struct Applied {
    /// The database's version now.
    version: u64,
    /// One per version applied, in order.
    steps: Vec<StepOut>,
    backup: Option<String>,
}

impl Applied {
    pub(super) fn new(report: &ApplyReport, version: u64) -> Applied {
        Applied {
            version,
            steps: report
                .steps
                .iter()
                .map(|&(from, to)| StepOut { from, to })
                .collect(),
            backup: report.backup.as_ref().map(|b| b.display().to_string()),
        }
    }
}

/// `upgrade --sql` / `downgrade --sql`: the script (`""` when there is nothing to do).
#[derive(Serialize)]
pub(super) struct Sql {
    pub(super) sql: String,
}

/// The version `migrate` made (or would make).
#[derive(Serialize)]
pub(super) struct NewVersion {
    version: u64,
    up: String,
    down: String,
    changes: Vec<Change>,
    hints: Vec<String>,
    /// `--dry-run` only: the scripts that would be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    up_sql: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    down_sql: Option<String>,
}

impl NewVersion {
    pub(super) fn new(
        ctx: &Ctx,
        m: &crate::Migration,
        files: &crate::VersionFiles,
        scripts: bool,
    ) -> NewVersion {
        NewVersion {
            version: files.version,
            up: ctx.display_path(&files.up),
            down: ctx.display_path(&files.down),
            changes: changes(m.changes()),
            hints: m.hints.clone(),
            up_sql: scripts.then(|| m.up_sql.clone()),
            down_sql: scripts.then(|| m.down_sql.clone()),
        }
    }
}

/// `dbm migrate` (with `--no-apply`, `--dry-run`).
#[derive(Serialize)]
pub(super) struct Migrate {
    /// The database's version now.
    pub(super) version: u64,
    /// `null` when the database already matches the model.
    pub(super) migration: Option<NewVersion>,
    pub(super) written: bool,
    pub(super) applied: bool,
    pub(super) backup: Option<String>,
}
