//! Versions `dbm migrate` wrote but may not have committed (a kill or a crash between
//! writing the scripts and COMMIT), settled against the database they were written for: the
//! commit is in the database, so only it can tell.

use rusqlite::Connection;

use super::control::applied_checksum;
use crate::error::Result;
use crate::repository::{PendingVersion, Repository};

/// The database as a marker names it: its canonical path, empty when it has none.
pub(crate) fn database_id(conn: &Connection) -> String {
    match conn.path().filter(|p| !p.is_empty()) {
        Some(p) => std::fs::canonicalize(p)
            .map(|c| c.display().to_string())
            .unwrap_or_else(|_| p.to_string()),
        None => String::new(),
    }
}

/// Whether the database applied the marker's up script: then the version committed and only
/// removing its marker was left undone.
fn committed(conn: &Connection, repo: &Repository, p: &PendingVersion) -> Result<bool> {
    let up = p
        .files
        .iter()
        .find(|(f, _)| f.to_string_lossy().ends_with(".up.sql"));
    Ok(match up {
        Some((_, sum)) => applied_checksum(conn, repo, p.version)?.as_deref() == Some(sum),
        None => false,
    })
}

/// What can be settled without the write lock: a version this database committed loses its
/// marker (its scripts join the repository). Returns the markers left: versions being
/// written now, left by an interrupted `migrate`, or written for another database.
pub(crate) fn settle(conn: &Connection, repo: &Repository) -> Result<Vec<PendingVersion>> {
    let id = database_id(conn);
    let mut left = vec![];
    for p in repo.pending_versions()? {
        if !id.is_empty() && p.database == id && committed(conn, repo, &p)? {
            repo.settle(&p)?;
        } else {
            left.push(p);
        }
    }
    Ok(left)
}

/// Under this database's write lock: a marker for it whose version is not applied was left
/// by a `migrate` whose transaction is gone (it wrote the marker holding this lock, and
/// would still hold it if it were running), so its scripts are debris and go.
pub(crate) fn discard_interrupted(conn: &Connection, repo: &Repository) -> Result<()> {
    let id = database_id(conn);
    if id.is_empty() {
        return Ok(());
    }
    repo.remove_unpublished_markers()?;
    for p in repo.pending_versions()? {
        if p.database != id {
            continue;
        }
        if committed(conn, repo, &p)? {
            repo.settle(&p)?;
        } else {
            repo.discard(&p)?;
        }
    }
    Ok(())
}

/// After this process's own step for `p` failed: the scripts go unless the database did
/// commit the version after all (an error reported after COMMIT took effect).
pub(crate) fn undo(conn: &Connection, repo: &Repository, p: &PendingVersion) -> Result<()> {
    if committed(conn, repo, p)? {
        repo.settle(p)
    } else {
        repo.discard(p)
    }
}
