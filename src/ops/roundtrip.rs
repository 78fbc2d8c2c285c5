//! `test`: every version up to the latest, down to 0 and up again, comparing each version's
//! schema, first from an empty database (the scripts alone), then on a copy of the database
//! with its rows, in a temporary file. The database itself is only read.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::apply::control::{current_version, reserved, version_control};
use crate::apply::{downgrade, upgrade, ApplyOptions, BackupPolicy};
use crate::diff::differences;
use crate::error::{Error, Result};
use crate::inspect::inspect;
use crate::model::{Reserved, Schema};
use crate::normalize::{data_copy, sandboxed};
use crate::repository::Repository;

/// Progress of a round trip, as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestEvent {
    /// One step gave the schema expected at its version. `label` is `scripts` (from empty)
    /// or `data copy`; `step` says which (`upgrade 0 -> 1`).
    Passed {
        /// `scripts` or `data copy`.
        label: &'static str,
        /// The step, e.g. `upgrade 0 -> 1`.
        step: String,
    },
    /// The database's own schema differs from what the scripts make at `version`: the copy
    /// is compared with itself.
    Drifted {
        /// The version where the live schema and the scripts part.
        version: u64,
    },
}

/// Runs the round trip of `dbm test`; `on_event` hears each step as it passes. Returns the
/// number of versions tested.
pub fn round_trip(
    conn: &Connection,
    repo: &Repository,
    on_event: &mut dyn FnMut(TestEvent),
) -> Result<u64> {
    let latest = repo.latest()?;
    current_version(conn, repo)?;
    let reserved = reserved(repo);
    // 1. The scripts alone, from an empty database: every version's schema is recorded on
    //    the way up, and every down and second up must give it back exactly.
    let mut refs = BTreeMap::new();
    let mut empty = sandboxed()?;
    version_control(&empty, repo, 0)?;
    up_down_up(
        &mut empty, repo, &reserved, latest, &mut refs, "scripts", on_event,
    )?;
    // 2. A copy of the database with its rows, in a temporary file so that memory does not
    //    grow with the database (the real file is never written; the copy is removed on
    //    every path): the scripts must also work on the real data.
    let mut copy = data_copy(conn)?;
    let start = current_version(&copy, repo)?;
    let live = inspect(&copy, &reserved)?;
    if refs
        .get(&start)
        .is_some_and(|expected| !differences(&live, expected).is_empty())
    {
        on_event(TestEvent::Drifted { version: start });
        refs.clear();
    }
    up_down_up(
        &mut copy,
        repo,
        &reserved,
        latest,
        &mut refs,
        "data copy",
        on_event,
    )?;
    Ok(latest)
}

/// Upgrades to `latest`, downgrades to 0 and upgrades again, comparing each version's
/// schema with `refs` (filled in where a version has none yet).
fn up_down_up(
    conn: &mut Connection,
    repo: &Repository,
    reserved: &Reserved,
    latest: u64,
    refs: &mut BTreeMap<u64, Schema>,
    label: &'static str,
    on_event: &mut dyn FnMut(TestEvent),
) -> Result<()> {
    let opts = ApplyOptions {
        backup: BackupPolicy::Never,
        ..ApplyOptions::default()
    };
    let mut check = |conn: &Connection, version: u64, step: String| -> Result<()> {
        let now = inspect(conn, reserved)?;
        match refs.get(&version) {
            Some(expected) => {
                let d = differences(&now, expected);
                if !d.is_empty() {
                    return Err(Error::RoundTrip {
                        label: label.to_string(),
                        step,
                        version,
                        differences: d,
                    });
                }
            }
            None => {
                refs.insert(version, now);
            }
        }
        on_event(TestEvent::Passed { label, step });
        Ok(())
    };
    let start = current_version(conn, repo)?;
    check(conn, start, format!("version {start}"))?;
    for v in start + 1..=latest {
        upgrade(conn, repo, Some(v), &opts)?;
        check(conn, v, format!("upgrade {} -> {v}", v - 1))?;
    }
    for v in (0..latest).rev() {
        downgrade(conn, repo, Some(v), &opts)?;
        check(conn, v, format!("downgrade {} -> {v}", v + 1))?;
    }
    for v in 1..=latest {
        upgrade(conn, repo, Some(v), &opts)?;
        check(conn, v, format!("upgrade {} -> {v} again", v - 1))?;
    }
    Ok(())
}
