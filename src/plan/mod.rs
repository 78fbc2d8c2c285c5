//! Changes → SQL statements (native ALTER where SQLite can express the change, the
//! documented table rebuild where it cannot), and script text.
//!
//! The plan never touches a database. Statements are what goes *inside* the migration
//! transaction: the apply stage turns foreign keys off and opens the transaction.

mod alter;
mod rebuild;
pub mod render;
pub mod script;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use crate::diff::Change;
use crate::model::{name_key, Schema};
use crate::sql::ident;
use crate::Result;

/// Planner settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Oldest SQLite the scripts must run on, as (major, minor, patch). Default 3.35.0.
    pub min_sqlite: (u32, u32, u32),
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            min_sqlite: (3, 35, 0),
        }
    }
}

/// One SQL statement of a script, with an optional comment line shown above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub comment: Option<String>,
    pub sql: String,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Statement {
            comment: None,
            sql: sql.into(),
        }
    }
    pub(crate) fn with_comment(comment: impl Into<String>, sql: impl Into<String>) -> Self {
        Statement {
            comment: Some(comment.into()),
            sql: sql.into(),
        }
    }
}

/// What the planner knows while walking the change list.
pub(crate) struct Ctx<'a> {
    pub from: &'a Schema,
    pub to: &'a Schema,
    pub opts: &'a PlanOptions,
    /// Views, triggers and tables already dropped by earlier changes (name keys).
    pub dropped_views: HashSet<String>,
    pub dropped_triggers: HashSet<String>,
    pub dropped_tables: HashSet<String>,
    /// Triggers created by later `CreateTrigger` changes (name keys).
    pub created_triggers: HashSet<String>,
}

impl Ctx<'_> {
    pub fn at_least(&self, v: (u32, u32, u32)) -> bool {
        self.opts.min_sqlite >= v
    }
}

/// Plans the statements that take a database from `from` to `to`, given their `changes`
/// (in the order the diff delivers them, which is kept).
pub fn plan(
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: &PlanOptions,
) -> Result<Vec<Statement>> {
    let mut ctx = Ctx {
        from,
        to,
        opts,
        dropped_views: HashSet::new(),
        dropped_triggers: HashSet::new(),
        dropped_tables: HashSet::new(),
        created_triggers: changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateTrigger(t) => Some(name_key(&t.name)),
                _ => None,
            })
            .collect(),
    };
    let mut out = vec![];
    for change in changes {
        match change {
            Change::CreateTable(t) => {
                out.push(Statement::new(render::create_table(t)));
                out.extend(
                    t.indexes
                        .iter()
                        .map(|ix| Statement::new(render::create_index(&t.name, ix))),
                );
            }
            Change::DropTable(t) => {
                out.push(Statement::new(format!("DROP TABLE {}", ident(&t.name))));
                ctx.dropped_tables.insert(name_key(&t.name));
            }
            Change::RenameTable { from, to } => {
                out.push(Statement::new(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    ident(from),
                    ident(to)
                )));
            }
            Change::AlterTable { from, to, changes } => {
                out.extend(alter::alter_table(&ctx, from, to, changes)?);
            }
            Change::CreateView(v) => out.push(Statement::new(v.sql.clone())),
            Change::DropView(v) => {
                out.push(Statement::new(format!("DROP VIEW {}", ident(&v.name))));
                ctx.dropped_views.insert(name_key(&v.name));
            }
            Change::CreateTrigger(t) => out.push(Statement::new(t.sql.clone())),
            Change::DropTrigger(t) => {
                out.push(Statement::new(format!("DROP TRIGGER {}", ident(&t.name))));
                ctx.dropped_triggers.insert(name_key(&t.name));
            }
        }
    }
    Ok(out)
}

/// The statements that create `schema` in an empty database.
pub fn create_all(schema: &Schema) -> Vec<String> {
    render::create_all(schema)
}
