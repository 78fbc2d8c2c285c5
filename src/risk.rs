//! How a step can hurt the data, in words shared by every stage that talks about it: the
//! change descriptions of the diff, script headers, `migrate`'s warnings, lint findings and
//! the backup policy. One enum, so a header written from a change and a finding read from a
//! hand-written statement say the same thing the same way.

use serde::Serialize;
use std::fmt;

/// How risky a change is for existing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Cannot lose or reject data.
    Safe,
    /// May fail on existing rows (new NOT NULL, UNIQUE, CHECK, FK, STRICT...).
    MayFail,
    /// Loses data (a dropped table or column, a narrowing type change).
    Destructive,
}

/// What a risky step does to existing rows. `Display` gives the words used everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Hazard {
    /// `DROP TABLE` of a table that is not rebuilt.
    DropsTable {
        /// The dropped table.
        table: String,
    },
    /// `DROP COLUMN`, natively or by leaving it out of a rebuild.
    DropsColumn {
        /// The table.
        table: String,
        /// The dropped column.
        column: String,
    },
    /// A type change that converts stored values (`'007'` → 7, REAL → INTEGER).
    ConvertsValues {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The declared type before.
        from: String,
        /// The declared type after.
        to: String,
    },
    /// `DELETE` in a hand-written script.
    DeletesRows {
        /// The table rows are deleted from.
        table: String,
    },
    /// A NOT NULL column without a default, added to a table that may have rows.
    NeedsDefault {
        /// The table.
        table: String,
        /// The new column.
        column: String,
    },
    /// A column definition that rejects more values (NOT NULL, a STRICT type).
    Tightens {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A new primary key.
    DuplicateKeys {
        /// The table.
        table: String,
    },
    /// A new UNIQUE constraint.
    Duplicates {
        /// The table.
        table: String,
    },
    /// A new unique index.
    IndexDuplicates {
        /// The table.
        table: String,
        /// The new index.
        index: String,
    },
    /// A new CHECK constraint.
    FailsCheck {
        /// The table.
        table: String,
        /// The CHECK expression.
        expr: String,
    },
    /// A new foreign key.
    Orphans {
        /// The child table.
        table: String,
        /// The parent table.
        parent: String,
    },
    /// WITHOUT ROWID switched on.
    LosesRowids {
        /// The table.
        table: String,
    },
    /// STRICT switched on.
    StrictTypes {
        /// The table.
        table: String,
    },
    /// `UPDATE` in a hand-written script.
    RewritesRows {
        /// The table rows are updated in.
        table: String,
    },
}

impl Hazard {
    /// How bad it is.
    pub fn risk(&self) -> Risk {
        match self {
            Hazard::DropsTable { .. }
            | Hazard::DropsColumn { .. }
            | Hazard::ConvertsValues { .. }
            | Hazard::DeletesRows { .. } => Risk::Destructive,
            _ => Risk::MayFail,
        }
    }
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hazard::DropsTable { table } => write!(f, "drops table {table} and all its rows"),
            Hazard::DropsColumn { table, column } => {
                write!(f, "drops column {table}.{column} and its data")
            }
            Hazard::ConvertsValues {
                table,
                column,
                from,
                to,
            } => write!(
                f,
                "type change {from} -> {to} can convert stored values of {table}.{column}"
            ),
            Hazard::DeletesRows { table } => write!(f, "deletes rows of {table}"),
            Hazard::NeedsDefault { table, column } => write!(
                f,
                "NOT NULL column {table}.{column} without a default fails if {table} has rows"
            ),
            Hazard::Tightens { table, column } => write!(
                f,
                "existing rows of {table}.{column} may violate the new definition"
            ),
            Hazard::DuplicateKeys { table } => {
                write!(f, "existing rows of {table} may have duplicate keys")
            }
            Hazard::Duplicates { table } => {
                write!(f, "existing rows of {table} may have duplicates")
            }
            Hazard::IndexDuplicates { table, index } => {
                write!(
                    f,
                    "existing rows of {table} may have duplicates for {index}"
                )
            }
            Hazard::FailsCheck { table, expr } => {
                write!(f, "existing rows of {table} may fail CHECK ({expr})")
            }
            Hazard::Orphans { table, parent } => write!(
                f,
                "existing rows of {table} may reference missing {parent} rows"
            ),
            Hazard::LosesRowids { table } => write!(
                f,
                "rowids of {table} are not kept; NULL primary keys are rejected"
            ),
            Hazard::StrictTypes { table } => write!(
                f,
                "existing values of {table} may not fit the STRICT column types"
            ),
            Hazard::RewritesRows { table } => write!(f, "rewrites rows of {table}"),
        }
    }
}
