//! `diff` and `check`: the live database against the declared model, as changes in words
//! and as the two schemas' model text side by side.

use rusqlite::Connection;

use super::check_reserved;
use crate::diff::{self, rename_hints, Change, Described, Renames};
use crate::error::Result;
use crate::inspect::inspect_live;
use crate::model::{file, Reserved, Schema};
use crate::normalize::canonical_against;

/// The live database against the model.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The live schema.
    pub live: Schema,
    /// The model as SQLite sees it.
    pub target: Schema,
    /// "This may be a rename" hints.
    pub hints: Vec<String>,
    pub(crate) changes: Vec<Change>,
}

impl Comparison {
    /// Whether the database matches the model.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// What `migrate` would change, in words, each with its hazard.
    pub fn changes(&self) -> Vec<Described> {
        self.changes.iter().flat_map(Change::describe).collect()
    }

    /// The two schemas as model text, as a unified diff (for a reviewer's eye).
    pub fn model_diff(&self, live_label: &str, model_label: &str) -> String {
        let (a, b) = (file::write(&self.live), file::write(&self.target));
        similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(&a, &b)
            .unified_diff()
            .context_radius(2)
            .header(live_label, model_label)
            .to_string()
    }
}

/// Compares the live database with the declared model. Changes nothing.
pub fn compare(conn: &Connection, reserved: &Reserved, model: &Schema) -> Result<Comparison> {
    check_reserved(model, reserved)?;
    let inspected = inspect_live(conn, reserved)?;
    let target = canonical_against(model, reserved, Some(&inspected))?;
    let live = inspected.schema;
    let changes = diff::diff(&live, &target, &Renames::from_hints(model));
    Ok(Comparison {
        hints: rename_hints(&changes),
        live,
        target,
        changes,
    })
}
