//! One `AlterTable`: native `ALTER TABLE` statements when every change allows it on the
//! oldest supported SQLite, otherwise the whole-table rebuild.

use std::collections::HashSet;

use super::{rebuild, Alteration, Planner, Statement};
use crate::diff::{ColumnChangeKind, TableChange};
use crate::model::{ddl, name_key, same_name, Check, Column, Index, IndexPart, Table};
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
    let mut n = Native::new(ctx, from, to, changes);
    for tc in changes {
        n.take(tc);
    }
    n.check_result();
    if n.reasons.is_empty() {
        Ok(n.statements())
    } else {
        Err(n.reasons)
    }
}

/// One table's changes as native ALTERs, gathered by kind (they run in a fixed order), and
/// the reasons, if any, why SQLite cannot do them natively.
struct Native<'a> {
    ctx: &'a Planner<'a>,
    from: &'a Table,
    to: &'a Table,
    changes: &'a [TableChange],
    /// Columns added and indexes dropped by this change list (name keys).
    added: HashSet<String>,
    dropped_indexes: HashSet<String>,
    reasons: Vec<String>,
    renames: Vec<(&'a str, &'a str)>,
    drop_cols: Vec<&'a Column>,
    add_cols: Vec<&'a Column>,
    /// Named CHECKs to drop: before the other constraint ALTERs, since a re-added check
    /// may reuse the name.
    drop_checks: Vec<&'a str>,
    /// SET/DROP NOT NULL and ADD CONSTRAINT CHECK, in change order.
    constraint_alters: Vec<String>,
    added_checks: Vec<&'a Check>,
    add_indexes: Vec<&'a Index>,
}

impl<'a> Native<'a> {
    fn new(
        ctx: &'a Planner<'a>,
        from: &'a Table,
        to: &'a Table,
        changes: &'a [TableChange],
    ) -> Native<'a> {
        let names = |f: fn(&TableChange) -> Option<&str>| -> HashSet<String> {
            changes.iter().filter_map(f).map(name_key).collect()
        };
        Native {
            ctx,
            from,
            to,
            changes,
            added: names(|c| match c {
                TableChange::AddColumn(c) => Some(&c.name),
                _ => None,
            }),
            dropped_indexes: names(|c| match c {
                TableChange::DropIndex(ix) => Some(&ix.name),
                _ => None,
            }),
            reasons: vec![],
            renames: vec![],
            drop_cols: vec![],
            add_cols: vec![],
            drop_checks: vec![],
            constraint_alters: vec![],
            added_checks: vec![],
            add_indexes: vec![],
        }
    }

    /// Files one change as a native ALTER, or as a reason to rebuild.
    fn take(&mut self, tc: &'a TableChange) {
        let (ctx, to) = (self.ctx, self.to);
        let t = ident(&to.name);
        match tc {
            // Dropped by the plan before anything takes a name (see `plan`).
            TableChange::DropIndex(_) => {}
            TableChange::AddIndex(ix) => self.add_indexes.push(ix),
            TableChange::RenameColumn { from: a, to: b } => {
                if ctx.at_least(RENAME_COLUMN) {
                    self.renames.push((a, b));
                } else {
                    self.reasons
                        .push(format!("rename column {a} -> {b} needs SQLite 3.25"));
                }
            }
            TableChange::AddColumn(c) => {
                let c = to.column(&c.name).unwrap_or(c);
                match add_column_blocker(ctx, to, c, self.changes) {
                    Some(why) => self.reasons.push(format!("add column {}: {why}", c.name)),
                    None => self.add_cols.push(c),
                }
            }
            TableChange::DropColumn(c) => {
                match drop_column_blocker(ctx, self.from, c, &self.dropped_indexes) {
                    Some(why) => self.reasons.push(format!("drop column {}: {why}", c.name)),
                    None => self.drop_cols.push(c),
                }
            }
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
                    self.constraint_alters.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {} {verb} NOT NULL",
                        ident(&b.name)
                    ));
                } else {
                    self.reasons.push(describe_modify(a, b, kind));
                }
            }
            TableChange::AddCheck(ck) => match (&ck.column, &ck.name) {
                // A check on a column added here goes out with its ADD COLUMN, whose
                // blocker already reports a too-old SQLite.
                (Some(c), _) if self.added.contains(&name_key(c)) => {}
                (None, Some(name)) if ctx.at_least(CONSTRAINT_ALTERS) => {
                    self.constraint_alters.push(format!(
                        "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({})",
                        ident(name),
                        ck.expr
                    ));
                    self.added_checks.push(ck);
                }
                _ => self.reasons.push(format!("add CHECK ({})", ck.expr)),
            },
            TableChange::DropCheck(ck) => match (&ck.column, &ck.name) {
                (None, Some(name)) if ctx.at_least(CONSTRAINT_ALTERS) => {
                    self.drop_checks.push(name)
                }
                _ => self.reasons.push(format!("drop CHECK ({})", ck.expr)),
            },
            other @ (TableChange::SetPrimaryKey { .. }
            | TableChange::AddUnique(_)
            | TableChange::DropUnique(_)
            | TableChange::AddForeignKey(_)
            | TableChange::DropForeignKey(_)
            | TableChange::SetWithoutRowid(_)
            | TableChange::SetStrict(_)) => self.reasons.push(rebuild_only(other)),
        }
    }

    /// Reasons that only the whole result shows: renames must land on free names, and
    /// native ALTERs append CHECKs, so new table CHECKs must be last.
    fn check_result(&mut self) {
        if !self.reasons.is_empty() {
            return;
        }
        if let Some(why) = rename_blocker(self.from, &self.renames) {
            self.reasons.push(why);
            return;
        }
        if !self.added_checks.is_empty() {
            let checks = &self.to.checks;
            let tail = checks
                .get(checks.len().saturating_sub(self.added_checks.len())..)
                .unwrap_or_default();
            let in_place = tail.len() == self.added_checks.len()
                && tail.iter().zip(&self.added_checks).all(|(a, b)| {
                    a.name == b.name
                        && a.column.is_none()
                        && normalize(&a.expr) == normalize(&b.expr)
                });
            if !in_place {
                self.reasons
                    .push("new CHECK constraints are not last in the table".into());
            }
        }
    }

    fn statements(mut self) -> Vec<Statement> {
        let to = self.to;
        let t = ident(&to.name);
        let mut out: Vec<String> = vec![];
        for (a, b) in &self.renames {
            out.push(format!(
                "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                ident(a),
                ident(b)
            ));
        }
        for c in &self.drop_cols {
            out.push(format!("ALTER TABLE {t} DROP COLUMN {}", ident(&c.name)));
        }
        // Added columns keep their relative order in the target (ADD COLUMN appends them).
        self.add_cols
            .sort_by_key(|c| to.columns.iter().position(|x| same_name(&x.name, &c.name)));
        for c in &self.add_cols {
            out.push(format!(
                "ALTER TABLE {t} ADD COLUMN {}",
                ddl::column_def(to, c, false)
            ));
        }
        out.extend(
            self.drop_checks
                .iter()
                .map(|name| format!("ALTER TABLE {t} DROP CONSTRAINT {}", ident(name))),
        );
        out.extend(self.constraint_alters);
        out.extend(
            self.add_indexes
                .iter()
                .map(|ix| ddl::create_index(&to.name, ix)),
        );
        out.into_iter().map(Statement::new).collect()
    }
}

/// Why a change that only a rebuild can make needs one (keys, foreign keys, table options).
fn rebuild_only(tc: &TableChange) -> String {
    match tc {
        TableChange::SetPrimaryKey { from: a, to: b } => format!(
            "primary key {} -> {}",
            a.as_ref().map_or("none".into(), |p| parts(&p.columns)),
            b.as_ref().map_or("none".into(), |p| parts(&p.columns))
        ),
        TableChange::AddUnique(u) => format!("add UNIQUE {}", parts(&u.columns)),
        TableChange::DropUnique(u) => format!("drop UNIQUE {}", parts(&u.columns)),
        TableChange::AddForeignKey(fk) => format!(
            "add FOREIGN KEY ({}) REFERENCES {}",
            fk.columns.join(", "),
            fk.ref_table
        ),
        TableChange::DropForeignKey(fk) => format!(
            "drop FOREIGN KEY ({}) REFERENCES {}",
            fk.columns.join(", "),
            fk.ref_table
        ),
        TableChange::SetWithoutRowid(on) => format!("WITHOUT ROWID {}", on_off(*on)),
        TableChange::SetStrict(on) => format!("STRICT {}", on_off(*on)),
        _ => "table definition changed".into(),
    }
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

/// Why the column renames cannot run as `RENAME COLUMN`, if they cannot. Column order is
/// not checked: ADD COLUMN appends, so a column declared mid-list lands last, and order alone
/// is never a difference (the diff matches columns by name, rebuilds copy them by name), so
/// it never forces a rebuild.
fn rename_blocker(from: &Table, renames: &[(&str, &str)]) -> Option<String> {
    let mut cols: Vec<&str> = from.columns.iter().map(|c| c.name.as_str()).collect();
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
        cols[i] = b;
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
