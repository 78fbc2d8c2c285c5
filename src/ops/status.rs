//! `status`: where the database stands against the repository, which applied scripts were
//! edited since, and drift: whether the live schema is what the applied scripts make.

use std::path::PathBuf;

use rusqlite::Connection;

use crate::apply::control::{current_version, modified, modified_down, reserved};
use crate::apply::{interrupted, pending};
use crate::diff::differences;
use crate::error::{Error, Result};
use crate::inspect::inspect;
use crate::normalize::{replay, scratch};
use crate::repository::{PendingVersion, Repository, VersionFiles};
use crate::script::Direction;

/// The database against its repository.
#[derive(Debug, Clone)]
pub struct Status {
    /// The database's version.
    pub version: u64,
    /// The repository's latest version.
    pub latest: u64,
    /// Versions not applied yet, in order.
    pub pending: Vec<VersionFiles>,
    /// Applied up scripts that changed since they were applied, and down scripts of applied
    /// versions that changed since their up script was.
    pub edited: Vec<PathBuf>,
    /// Whether the live schema is what the applied scripts make.
    pub drift: Drift,
    /// Versions whose scripts are written but not committed: being written by a `dbm
    /// migrate` now, or left by one that was killed (the next `dbm migrate` on their
    /// database removes them). They are not part of the repository.
    pub uncommitted: Vec<PendingVersion>,
}

/// Whether the live schema is what the applied scripts make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The live schema is what the applied scripts make.
    None,
    /// What differs between the schema the scripts make and the live one, in words.
    Differs(Vec<String>),
    /// Replaying the applied scripts on an empty database failed at `file`.
    Unknown {
        /// The script whose replay failed.
        file: PathBuf,
        /// SQLite's error.
        error: String,
    },
}

/// Reads the database's status; changes nothing.
pub fn status(conn: &Connection, repo: &Repository) -> Result<Status> {
    let uncommitted = interrupted::settle(conn, repo)?;
    let versions = repo.versions()?;
    let latest = versions.last().map_or(0, |v| v.version);
    let version = current_version(conn, repo)?;
    let pending = pending(version.min(latest), latest, &versions)?
        .into_iter()
        .map(|s| s.files.clone())
        .collect();
    let applied = versions.iter().filter(|v| v.version <= version);
    let edited: Vec<PathBuf> = modified(conn, repo, &versions, version)?
        .into_iter()
        .chain(modified_down(conn, repo, applied)?)
        .map(|m| m.file)
        .collect();
    let drift = drift(conn, repo, &versions, version, &edited)?;
    Ok(Status {
        version,
        latest,
        pending,
        edited,
        drift,
        uncommitted,
    })
}

/// Replays the applied up scripts on an empty sandboxed in-memory database and compares.
/// An edited script is not run: what it does now is not what was applied.
fn drift(
    conn: &Connection,
    repo: &Repository,
    versions: &[VersionFiles],
    version: u64,
    edited: &[PathBuf],
) -> Result<Drift> {
    let replayed = scratch()?;
    for v in versions.iter().filter(|v| v.version <= version) {
        if edited.contains(&v.up) {
            return Ok(Drift::Unknown {
                file: v.up.clone(),
                error: "not replayed: the script was edited after it was applied".into(),
            });
        }
        let sql = repo.read_script(v, Direction::Up)?;
        if let Err(e) = replay(&replayed, &sql, &v.up) {
            let error = match e {
                Error::Script { message, .. } => message,
                e => e.to_string(),
            };
            return Ok(Drift::Unknown {
                file: v.up.clone(),
                error,
            });
        }
    }
    let reserved = reserved(repo);
    let d = differences(&inspect(&replayed, &reserved)?, &inspect(conn, &reserved)?);
    Ok(if d.is_empty() {
        Drift::None
    } else {
        Drift::Differs(d)
    })
}
