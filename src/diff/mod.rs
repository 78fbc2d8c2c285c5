//! Model × model → ordered, typed [`Change`] values, and their description in words.
//!
//! Both sides are *introspected* schemas (see `normalize::canonical`): the declared model is
//! rendered to DDL, executed in an in-memory SQLite and read back, so SQLite itself
//! normalises it. The diff is pure (no I/O, no SQL execution) and runs in time near-linear
//! in the schema size (hash maps by name).

mod compute;
mod describe;
mod table;

pub(crate) use compute::{diff, Renames};
pub use describe::Described;
pub(crate) use describe::{differences, rename_hints, slug_for};

use crate::model::{Check, Column, ForeignKey, Index, PrimaryKey, Table, Trigger, Unique, View};
use serde::Serialize;

/// One schema change. Table-level details nest in [`Change::AlterTable`].
// A change list is short and built once per migration; boxing the tables buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) enum Change {
    /// A new table with its indexes (its triggers come as separate changes).
    CreateTable(Table),
    /// The table and its data go away.
    DropTable(Table),
    /// `ALTER TABLE from RENAME TO to` (from a `renamed_from` hint).
    RenameTable {
        from: String,
        to: String,
    },
    /// Changes inside one table. `from` is the table as it is before (already carrying its
    /// new name when a `RenameTable` precedes it), `to` is the table as it must become.
    AlterTable {
        from: Table,
        to: Table,
        changes: Vec<TableChange>,
    },
    CreateView(View),
    DropView(View),
    CreateTrigger(Trigger),
    DropTrigger(Trigger),
}

/// A change inside one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) enum TableChange {
    AddColumn(Column),
    DropColumn(Column),
    RenameColumn {
        from: String,
        to: String,
    },
    /// `to` carries the new name when a rename precedes it.
    ModifyColumn {
        from: Column,
        to: Column,
        kind: ColumnChangeKind,
    },
    SetPrimaryKey {
        from: Option<PrimaryKey>,
        to: Option<PrimaryKey>,
    },
    AddUnique(Unique),
    DropUnique(Unique),
    AddCheck(Check),
    DropCheck(Check),
    AddForeignKey(ForeignKey),
    DropForeignKey(ForeignKey),
    AddIndex(Index),
    DropIndex(Index),
    SetWithoutRowid(bool),
    SetStrict(bool),
}

/// What differs in a modified column (several may be set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ColumnChangeKind {
    pub sql_type: bool,
    pub not_null: bool,
    pub default: bool,
    pub collate: bool,
    pub generated: bool,
    /// The `ON CONFLICT` clause of `NOT NULL` (only a rebuild can change it).
    pub not_null_conflict: bool,
}

impl ColumnChangeKind {
    pub(crate) fn any(&self) -> bool {
        self.sql_type
            || self.not_null
            || self.default
            || self.collate
            || self.generated
            || self.not_null_conflict
    }
}
