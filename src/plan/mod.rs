//! Changes → SQL statements (native ALTER where SQLite can express the change, the
//! documented table rebuild where it cannot), and script text.

use crate::diff::Change;
use crate::model::Schema;
use crate::Result;

/// Planner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Oldest SQLite the scripts must run on, as (major, minor, patch). Default 3.35.0.
    pub min_sqlite: (u32, u32, u32),
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { min_sqlite: (3, 35, 0) }
    }
}

/// One SQL statement of a script, with an optional comment line shown above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub comment: Option<String>,
    pub sql: String,
}

/// Plans the statements that take a database from `from` to `to`, given their `changes`.
pub fn plan(changes: &[Change], from: &Schema, to: &Schema, opts: &PlanOptions) -> Result<Vec<Statement>> {
    let _ = (changes, from, to, opts);
    Err(crate::Error::Unsupported("plan is not written yet".into()))
}

/// The statements that create `schema` in an empty database.
pub fn create_all(schema: &Schema) -> Vec<String> {
    let _ = schema;
    vec![]
}
