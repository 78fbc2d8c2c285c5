//! One `AlterTable`: native `ALTER TABLE` statements when every change allows it on the
//! oldest supported SQLite, otherwise the whole-table rebuild.

use std::collections::HashSet;

use super::{rebuild, Alteration, Planner, Statement};
use crate::diff::{ColumnChangeKind, TableChange};
use crate::model::{ddl, name_key, same_name, Check, Column, IndexPart, Table};
use crate::sql::{ident, is_constant_literal, mentions, normalize};
use crate::{Error, Result};

const RENAME_COLUMN: (u32, u32, u32) = (3, 25, 0);
const DROP_COLUMN: (u32, u32, u32) = (3, 35, 0);
const ADD_COLUMN_CHECK: (u32, u32, u32) = (3, 37, 0);
const CONSTRAINT_ALTERS: (u32, u32, u32) = (3, 53, 0);

/// Statements for one `AlterTable` change.
pub(super) fn alter_table(
    ctx: &Planner<'_>,
    from: &Table,
    to: &Table,
    changes: &[TableChange],
) -> Result<Alteration> {
    if !same_name(&from.name, &to.name) {
        // Renames come first as RenameTable; planning on two names would touch the wrong table.
        return Err(Error::Unsupported {
            table: from.name.clone(),
            reason: format!(
                "altering table {:?} into {:?}: the rename must come first as its own change",
                from.name, to.name
            ),
        });
    }
    Ok(match native(ctx, from, to, changes) {
        Ok(stmts) => Alteration::Native(stmts),
        Err(reasons) => Alteration::Rebuild(rebuild::rebuild(ctx, from, to, changes, &reasons)?),
    })
}

/// The native statements, or the reasons why the table must be rebuilt.
fn native(
    ctx: &Planner<'_>,
    from: &Table,
    to: &Table,
    changes: &[TableChange],
) -> Result<Vec<Statement>, Vec<String>> {
    let t = ident(&to.name);
    let mut reasons = vec![];
    let mut drop_index = vec![];
    let mut renames: Vec<(&str, &str)> = vec![];
    let mut drop_cols: Vec<&Column> = vec![];
    let mut add_cols: Vec<&Column> = vec![];
    let mut constraint_alters = vec![];
    let mut added_checks: Vec<&Check> = vec![];
    let mut add_index = vec![];

    let added: HashSet<String> = changes
        .iter()
        .filter_map(|c| match c {
            TableChange::AddColumn(c) => Some(name_key(&c.name)),
            _ => None,
        })
        .collect();
    let dropped_indexes: HashSet<String> = changes
        .iter()
        .filter_map(|c| match c {
            TableChange::DropIndex(ix) => Some(name_key(&ix.name)),
            _ => None,
        })
        .collect();

    for tc in changes {
        match tc {
            TableChange::DropIndex(ix) => {
                drop_index.push(format!("DROP INDEX {}", ident(&ix.name)))
            }
            TableChange::AddIndex(ix) => add_index.push(ddl::create_index(&to.name, ix)),
            TableChange::RenameColumn { from: a, to: b } => {
                if ctx.at_least(RENAME_COLUMN) {
                    renames.push((a, b));
                } else {
                    reasons.push(format!("rename column {a} -> {b} needs SQLite 3.25"));
                }
            }
            TableChange::AddColumn(c) => {
                let c = to.column(&c.name).unwrap_or(c);
                match add_column_blocker(ctx, to, c, changes) {
                    Some(why) => reasons.push(format!("add column {}: {why}", c.name)),
                    None => add_cols.push(c),
                }
            }
            TableChange::DropColumn(c) => match drop_column_blocker(ctx, from, c, &dropped_indexes)
            {
                Some(why) => reasons.push(format!("drop column {}: {why}", c.name)),
                None => drop_cols.push(c),
            },
            TableChange::ModifyColumn {
                from: a,
                to: b,
                kind,
            } => {
                let only_not_null = *kind
                    == ColumnChangeKind {
                        not_null: true,
                        ..Default::default()
                    };
                if only_not_null && ctx.at_least(CONSTRAINT_ALTERS) {
                    let verb = if b.not_null { "SET" } else { "DROP" };
                    constraint_alters.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {} {verb} NOT NULL",
                        ident(&b.name)
                    ));
                } else {
                    reasons.push(describe_modify(a, b, kind));
                }
            }
            TableChange::AddCheck(ck) => match &ck.column {
                // A check on a column added here goes out with its ADD COLUMN, whose
                // blocker already reports a too-old SQLite.
                Some(c) if added.contains(&name_key(c)) => {}
                None if ck.name.is_some() && ctx.at_least(CONSTRAINT_ALTERS) => {
                    let name = ck.name.as_deref().unwrap_or_default();
                    constraint_alters.push(format!(
                        "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({})",
                        ident(name),
                        ck.expr
                    ));
                    added_checks.push(ck);
                }
                _ => reasons.push(format!("add CHECK ({})", ck.expr)),
            },
            TableChange::DropCheck(ck) => match (&ck.column, &ck.name) {
                (None, Some(name)) if ctx.at_least(CONSTRAINT_ALTERS) => {
                    // Drops go before adds: a re-added check may reuse the name.
                    let pos = constraint_alters
                        .iter()
                        .take_while(|s| s.contains(" DROP CONSTRAINT "))
                        .count();
                    constraint_alters.insert(
                        pos,
                        format!("ALTER TABLE {t} DROP CONSTRAINT {}", ident(name)),
                    );
                }
                _ => reasons.push(format!("drop CHECK ({})", ck.expr)),
            },
            TableChange::SetPrimaryKey { from: a, to: b } => reasons.push(format!(
                "primary key {} -> {}",
                a.as_ref().map_or("none".into(), |p| parts(&p.columns)),
                b.as_ref().map_or("none".into(), |p| parts(&p.columns))
            )),
            TableChange::AddUnique(u) => reasons.push(format!("add UNIQUE {}", parts(&u.columns))),
            TableChange::DropUnique(u) => {
                reasons.push(format!("drop UNIQUE {}", parts(&u.columns)))
            }
            TableChange::AddForeignKey(fk) => reasons.push(format!(
                "add FOREIGN KEY ({}) REFERENCES {}",
                fk.columns.join(", "),
                fk.ref_table
            )),
            TableChange::DropForeignKey(fk) => reasons.push(format!(
                "drop FOREIGN KEY ({}) REFERENCES {}",
                fk.columns.join(", "),
                fk.ref_table
            )),
            TableChange::SetWithoutRowid(on) => {
                reasons.push(format!("WITHOUT ROWID {}", on_off(*on)))
            }
            TableChange::SetStrict(on) => reasons.push(format!("STRICT {}", on_off(*on))),
        }
    }
    if reasons.is_empty() {
        if let Some(why) = column_order_blocker(from, to, &renames, &drop_cols, &add_cols) {
            reasons.push(why);
        }
    }
    if reasons.is_empty() && !added_checks.is_empty() {
        // ADD CONSTRAINT appends the check at the end of the table definition.
        let n = to.checks.len();
        let tail = to
            .checks
            .get(n.saturating_sub(added_checks.len())..)
            .unwrap_or_default();
        let in_place = tail.len() == added_checks.len()
            && tail.iter().zip(&added_checks).all(|(a, b)| {
                a.name == b.name && a.column.is_none() && normalize(&a.expr) == normalize(&b.expr)
            });
        if !in_place {
            reasons.push("new CHECK constraints are not last in the table".into());
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }

    let mut out: Vec<Statement> = drop_index.into_iter().map(Statement::new).collect();
    for (a, b) in renames {
        out.push(Statement::new(format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            ident(a),
            ident(b)
        )));
    }
    for c in drop_cols {
        out.push(Statement::new(format!(
            "ALTER TABLE {t} DROP COLUMN {}",
            ident(&c.name)
        )));
    }
    // Columns go in the order of the target table, which ADD COLUMN reproduces by appending.
    add_cols.sort_by_key(|c| to.columns.iter().position(|x| same_name(&x.name, &c.name)));
    for c in add_cols {
        out.push(Statement::new(format!(
            "ALTER TABLE {t} ADD COLUMN {}",
            ddl::column_def(to, c, false)
        )));
    }
    out.extend(constraint_alters.into_iter().map(Statement::new));
    out.extend(add_index.into_iter().map(Statement::new));
    Ok(out)
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn parts(ps: &[IndexPart]) -> String {
    format!(
        "({})",
        ps.iter()
            .map(|p| p.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Why `ADD COLUMN c` cannot be used, if it cannot.
fn add_column_blocker(
    ctx: &Planner<'_>,
    to: &Table,
    c: &Column,
    changes: &[TableChange],
) -> Option<String> {
    let null_default = c.default.as_deref().is_none_or(|d| normalize(d) == "null");
    if c.not_null && null_default {
        return Some("NOT NULL without a non-NULL default".into());
    }
    if let Some(d) = &c.default {
        if !is_constant_literal(d) {
            return Some(format!("non-constant default {d}"));
        }
    }
    if c.generated.as_ref().is_some_and(|g| g.stored) {
        return Some("STORED generated column".into());
    }
    let in_part = |p: &IndexPart| p.uses(&c.name);
    if to
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.iter().any(in_part))
    {
        return Some("part of the primary key".into());
    }
    if to.uniques.iter().any(|u| u.columns.iter().any(in_part)) {
        return Some("part of a UNIQUE constraint".into());
    }
    if to
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.iter().any(|x| same_name(x, &c.name)))
    {
        return Some("part of a foreign key".into());
    }
    let key_change = changes.iter().any(|tc| {
        matches!(
            tc,
            TableChange::AddUnique(_)
                | TableChange::AddForeignKey(_)
                | TableChange::SetPrimaryKey { .. }
        )
    });
    if key_change {
        return Some("keys change in the same table".into());
    }
    let has_check = to
        .checks
        .iter()
        .any(|k| k.column.as_deref().is_some_and(|x| same_name(x, &c.name)));
    if has_check && !ctx.at_least(ADD_COLUMN_CHECK) {
        return Some("CHECK on an added column needs SQLite 3.37".into());
    }
    None
}

/// Why `DROP COLUMN c` cannot be used, if it cannot: SQLite refuses (or would leave broken
/// SQL behind) when anything else still mentions the column.
fn drop_column_blocker(
    ctx: &Planner<'_>,
    from: &Table,
    c: &Column,
    dropped_indexes: &HashSet<String>,
) -> Option<String> {
    if !ctx.at_least(DROP_COLUMN) {
        return Some("needs SQLite 3.35".into());
    }
    let name = c.name.as_str();
    let in_part = |p: &IndexPart| p.uses(name);
    if from
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.iter().any(in_part))
    {
        return Some("part of the primary key".into());
    }
    if from.uniques.iter().any(|u| u.columns.iter().any(in_part)) {
        return Some("part of a UNIQUE constraint".into());
    }
    for ix in from
        .indexes
        .iter()
        .filter(|ix| !dropped_indexes.contains(&name_key(&ix.name)))
    {
        if ix.parts.iter().any(in_part)
            || ix
                .where_clause
                .as_deref()
                .is_some_and(|w| mentions(w, name))
        {
            return Some(format!("used by index {}", ix.name));
        }
    }
    if from
        .checks
        .iter()
        .any(|k| k.column.as_deref().is_some_and(|x| same_name(x, name)) || mentions(&k.expr, name))
    {
        return Some("used by a CHECK constraint".into());
    }
    if from
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.iter().any(|x| same_name(x, name)))
    {
        return Some("part of a foreign key".into());
    }
    for other in &from.columns {
        if let Some(g) = &other.generated {
            if !same_name(&other.name, name) && mentions(&g.expr, name) {
                return Some(format!("used by generated column {}", other.name));
            }
        }
    }
    // Conservative: any foreign key anywhere naming this column as its parent column.
    for t in &ctx.from.tables {
        if t.foreign_keys
            .iter()
            .any(|fk| fk.ref_columns.iter().any(|x| same_name(x, name)))
        {
            return Some(format!("maybe referenced by a foreign key of {}", t.name));
        }
    }
    for v in ctx
        .from
        .views
        .iter()
        .filter(|v| !ctx.dropped_views.contains(&name_key(&v.name)))
    {
        if mentions(&v.sql, name) {
            return Some(format!("maybe used by view {}", v.name));
        }
    }
    for tr in ctx.from.triggers.iter().filter(|tr| {
        !ctx.dropped_triggers.contains(&name_key(&tr.name))
            && !ctx.dropped_tables.contains(&name_key(&tr.table))
    }) {
        if mentions(&tr.sql, name) {
            return Some(format!("maybe used by trigger {}", tr.name));
        }
    }
    None
}

/// Native ALTERs can only append columns: the result must have `to`'s column order.
fn column_order_blocker(
    from: &Table,
    to: &Table,
    renames: &[(&str, &str)],
    drops: &[&Column],
    adds: &[&Column],
) -> Option<String> {
    let mut cols: Vec<String> = from.columns.iter().map(|c| c.name.clone()).collect();
    for (a, b) in renames {
        let Some(i) = cols.iter().position(|c| same_name(c, a)) else {
            return Some(format!("renamed column {a} does not exist"));
        };
        if cols
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && same_name(c, b))
        {
            return Some(format!(
                "rename {a} -> {b} collides with an existing column"
            ));
        }
        cols[i] = b.to_string();
    }
    cols.retain(|c| !drops.iter().any(|d| same_name(&d.name, c)));
    let mut added: Vec<&str> = adds.iter().map(|c| c.name.as_str()).collect();
    added.sort_by_key(|n| to.columns.iter().position(|x| same_name(&x.name, n)));
    cols.extend(added.into_iter().map(str::to_string));
    let wanted: Vec<&str> = to.columns.iter().map(|c| c.name.as_str()).collect();
    if cols != wanted {
        return Some(format!(
            "column order {} -> {}",
            cols.join(", "),
            wanted.join(", ")
        ));
    }
    None
}

/// `body VARCHAR(140) -> TEXT`, for the rebuild comment.
pub(super) fn describe_modify(a: &Column, b: &Column, kind: &ColumnChangeKind) -> String {
    let mut what = vec![];
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    if kind.sql_type {
        let ty = |s: &str| {
            if s.is_empty() {
                "(no type)".to_string()
            } else {
                s.to_string()
            }
        };
        what.push(format!("{} -> {}", ty(&a.sql_type), ty(&b.sql_type)));
    }
    if kind.not_null {
        what.push(
            if b.not_null {
                "NULL -> NOT NULL"
            } else {
                "NOT NULL -> NULL"
            }
            .to_string(),
        );
    }
    if kind.default {
        what.push(format!(
            "DEFAULT {} -> {}",
            opt(&a.default),
            opt(&b.default)
        ));
    }
    if kind.collate {
        what.push(format!(
            "COLLATE {} -> {}",
            opt(&a.collate),
            opt(&b.collate)
        ));
    }
    if kind.generated {
        what.push("generated expression changed".into());
    }
    if what.is_empty() {
        what.push("changed".into());
    }
    format!("{} {}", b.name, what.join(", "))
}
