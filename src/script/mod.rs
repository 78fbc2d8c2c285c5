//! A migration script as text: the one statement splitter, the one statement classifier,
//! and the header that dbm writes above generated scripts (written and read here only).
//!
//! Scripts reach dbm as files, so the run half (apply, backups, offline SQL) and lint can
//! only read text; everything that reads a script's text goes through this module. Scripts
//! dbm generates are written from a typed plan (see `plan`), never re-read to learn what
//! they do.

pub(crate) mod header;
pub(crate) mod kind;
pub(crate) mod split;

pub(crate) use kind::{
    classify, reaches_whole_schema, rebuild_source, Classified, Effects, StatementKind,
};

/// Prefix of the table a rebuild copies the rows into before renaming it back
/// (`_dbm_new_<name>`): the planner writes it, the classifier recognises a rebuild by it.
pub(crate) const REBUILD_PREFIX: &str = "_dbm_new_";

/// Which script of a version runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The up script: the next version.
    Up,
    /// The down script: back to the version before.
    Down,
}

impl Direction {
    /// `up` / `down`, as file names, headers and `migrate_history` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}
