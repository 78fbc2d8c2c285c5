//! Column-level shorthands (`primary_key`, `unique`, `references`, `check` written on a
//! column) lowered to the table-level constraints the model keeps. Shared by the TOML file
//! and the builder, so both say the same thing the same way.

use super::{Check, Column, FkAction, ForeignKey, IndexPart, Order, PrimaryKey, Table, Unique};

/// What a column declares about keys and constraints besides its own definition.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shorthands {
    pub primary_key: bool,
    pub autoincrement: bool,
    pub desc: bool,
    pub unique: bool,
    /// Referenced table and columns (empty: its primary key).
    pub references: Option<(String, Vec<String>)>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    pub deferrable: bool,
    pub check: Option<String>,
}

/// Builds a table column by column, collecting a column-level primary key.
pub(crate) struct Lowering {
    pub table: Table,
    pk: Vec<(IndexPart, bool)>,
}

impl Lowering {
    pub fn new(table: Table) -> Lowering {
        Lowering { table, pk: vec![] }
    }

    /// Adds a column and the constraints its shorthands stand for.
    pub fn column(&mut self, c: Column, s: Shorthands) -> Result<(), String> {
        let t = &mut self.table;
        if t.column(&c.name).is_some() {
            return Err(format!(
                "duplicate column `{}` in table `{}`",
                c.name, t.name
            ));
        }
        if s.primary_key {
            let mut p = IndexPart::column(c.name.clone());
            if s.desc {
                p.order = Order::Desc;
            }
            self.pk.push((p, s.autoincrement));
        } else if s.autoincrement || s.desc {
            return Err(format!(
                "column `{}`: autoincrement/desc need primary_key = true",
                c.name
            ));
        }
        if s.unique {
            t.uniques.push(Unique {
                name: None,
                columns: vec![IndexPart::column(c.name.clone())],
                on_conflict: None,
            });
        }
        match s.references {
            Some((ref_table, ref_columns)) => t.foreign_keys.push(ForeignKey {
                name: None,
                columns: vec![c.name.clone()],
                ref_table,
                ref_columns,
                on_delete: s.on_delete,
                on_update: s.on_update,
                deferred: s.deferrable,
            }),
            None if s.on_delete != FkAction::NoAction
                || s.on_update != FkAction::NoAction
                || s.deferrable =>
            {
                return Err(format!(
                    "column `{}`: on_delete/on_update/deferrable need `references`",
                    c.name
                ));
            }
            None => {}
        }
        if let Some(expr) = s.check {
            t.checks.push(Check {
                name: None,
                expr,
                column: Some(c.name.clone()),
            });
        }
        t.columns.push(c);
        Ok(())
    }

    /// The table, with the column-level primary key if any (a table-level one set on
    /// `table` as well is an error).
    pub fn finish(mut self) -> Result<Table, String> {
        if self.pk.is_empty() {
            return Ok(self.table);
        }
        if self.table.primary_key.is_some() {
            return Err(format!(
                "table `{}`: primary key given both on columns and as `primary_key`",
                self.table.name
            ));
        }
        let autoincrement = self.pk.iter().any(|(_, a)| *a);
        self.table.primary_key = Some(PrimaryKey {
            name: None,
            inline: self.pk.len() == 1,
            columns: self.pk.into_iter().map(|(p, _)| p).collect(),
            autoincrement,
            on_conflict: None,
        });
        Ok(self.table)
    }
}
