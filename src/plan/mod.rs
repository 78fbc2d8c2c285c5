//! Changes → a typed [`Plan`] of SQL statements (native ALTER where SQLite can express the
//! change, the documented table rebuild where it cannot), and the script text of a plan.
//!
//! The plan never touches a database. Statements are what goes *inside* the migration
//! transaction: the apply stage turns foreign keys off and opens the transaction.

mod alter;
mod rebuild;
pub(crate) mod script;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use crate::diff::{Change, TableChange};
use crate::model::{ddl, name_key, same_name, Schema};
use crate::sql::ident;
use crate::Result;

/// How scripts are planned.
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
pub(crate) struct Statement {
    pub comment: Option<String>,
    pub sql: String,
    /// Index, in the planned change list, of the change this statement carries out.
    pub source: usize,
}

impl Statement {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Statement {
            comment: None,
            sql: sql.into(),
            source: 0,
        }
    }
    pub(crate) fn with_comment(comment: impl Into<String>, sql: impl Into<String>) -> Self {
        Statement {
            comment: Some(comment.into()),
            ..Statement::new(sql)
        }
    }
}

/// The statements that carry out a change list, and what they do as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub statements: Vec<Statement>,
    /// Tables rebuilt (names as in the target schema).
    pub rebuilt: Vec<String>,
}

impl Plan {
    /// Whether `table` is rebuilt by this plan.
    pub fn rebuilds(&self, table: &str) -> bool {
        self.rebuilt.iter().any(|t| same_name(t, table))
    }
}

/// How one `AlterTable` is carried out.
pub(crate) enum Alteration {
    Native(Vec<Statement>),
    Rebuild(Vec<Statement>),
}

/// What the planner knows while walking the change list.
pub(crate) struct Planner<'a> {
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

impl Planner<'_> {
    pub fn at_least(&self, v: (u32, u32, u32)) -> bool {
        self.opts.min_sqlite >= v
    }
}

/// Plans the statements that take a database from `from` to `to`, given their `changes`
/// (in the order the diff delivers them, which is kept).
pub(crate) fn plan(
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: &PlanOptions,
) -> Result<Plan> {
    let mut ctx = Planner {
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
    // SQLite's tables, indexes, views and triggers share one namespace, and a name one
    // object gives up may be taken by another in the same migration (an index moved to
    // another table or renamed to a name another index had, a view or index replaced by a
    // table). So the statements that only give names up (drops of triggers, views, tables,
    // and the index drops inside an AlterTable) all run first, in change order, and every
    // statement that takes a name runs after them.
    let mut out = Plan::default();
    let mut takes: Vec<Statement> = vec![];
    for (source, change) in changes.iter().enumerate() {
        let (gives_up, stmts): (Vec<Statement>, Vec<Statement>) = match change {
            Change::CreateTable(t) => (
                vec![],
                std::iter::once(ddl::create_table(t))
                    .chain(t.indexes.iter().map(|ix| ddl::create_index(&t.name, ix)))
                    .map(Statement::new)
                    .collect(),
            ),
            Change::DropTable(t) => {
                ctx.dropped_tables.insert(name_key(&t.name));
                (
                    vec![Statement::new(format!("DROP TABLE {}", ident(&t.name)))],
                    vec![],
                )
            }
            Change::RenameTable { from, to } => (
                vec![],
                vec![Statement::new(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    ident(from),
                    ident(to)
                ))],
            ),
            Change::AlterTable { from, to, changes } => {
                let drops = changes
                    .iter()
                    .filter_map(|tc| match tc {
                        TableChange::DropIndex(ix) => {
                            Some(Statement::new(format!("DROP INDEX {}", ident(&ix.name))))
                        }
                        _ => None,
                    })
                    .collect();
                let stmts = match alter::alter_table(&ctx, from, to, changes)? {
                    Alteration::Native(s) => s,
                    Alteration::Rebuild(s) => {
                        out.rebuilt.push(to.name.clone());
                        s
                    }
                };
                (drops, stmts)
            }
            Change::CreateView(v) => (vec![], vec![Statement::new(v.sql.clone())]),
            Change::DropView(v) => {
                ctx.dropped_views.insert(name_key(&v.name));
                (
                    vec![Statement::new(format!("DROP VIEW {}", ident(&v.name)))],
                    vec![],
                )
            }
            Change::CreateTrigger(t) => (vec![], vec![Statement::new(t.sql.clone())]),
            Change::DropTrigger(t) => {
                ctx.dropped_triggers.insert(name_key(&t.name));
                (
                    vec![Statement::new(format!("DROP TRIGGER {}", ident(&t.name)))],
                    vec![],
                )
            }
        };
        let with_source = |s: Statement| Statement { source, ..s };
        out.statements.extend(gives_up.into_iter().map(with_source));
        takes.extend(stmts.into_iter().map(with_source));
    }
    out.statements.extend(takes);
    Ok(out)
}
