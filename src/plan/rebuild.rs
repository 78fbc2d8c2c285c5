//! The generalized table rebuild (SQLite lang_altertable.html §8), without the parts the
//! apply stage owns (foreign keys OFF, the transaction, `foreign_key_check`).
//!
//! create `_dbm_new_x` → copy rows (and rowids) → carry the AUTOINCREMENT counter →
//! drop `x` → rename with `legacy_alter_table=ON` (so views and triggers elsewhere that
//! mention `x` do not block it) → recreate `x`'s indexes and unchanged triggers.

use std::collections::{HashMap, HashSet};

use super::{Planner, Statement};
use crate::diff::TableChange;
use crate::model::{ddl, name_key, same_name, Table};
use crate::script::REBUILD_PREFIX;
use crate::sql::{ident, literal};
use crate::{Error, Result};

const ROWID_NAMES: [&str; 3] = ["rowid", "_rowid_", "oid"];

fn unsupported(table: &Table, reason: String) -> Error {
    Error::Unsupported {
        table: table.name.clone(),
        reason,
    }
}

pub(super) fn rebuild(
    ctx: &Planner<'_>,
    from: &Table,
    to: &Table,
    changes: &[TableChange],
    reasons: &[String],
) -> Result<Vec<Statement>> {
    let x = ident(&to.name);
    let tmp_name = format!("{REBUILD_PREFIX}{}", to.name);
    if ctx.from.table(&tmp_name).is_some() || ctx.to.table(&tmp_name).is_some() {
        return Err(unsupported(
            to,
            format!(
                "rebuilding table {:?}: a table named {tmp_name:?} already exists",
                to.name
            ),
        ));
    }
    let tmp = ident(&tmp_name);

    let (targets, sources) = copy_lists(from, to, changes)?;
    let why = if reasons.is_empty() {
        "table definition changed".to_string()
    } else {
        reasons.join("; ")
    };
    let mut out = vec![Statement::with_comment(
        format!("rebuild {}: {why}", ident(&to.name)),
        ddl::create_table_as(to, &tmp_name),
    )];
    out.push(Statement::new(format!(
        "INSERT INTO {tmp} ({}) SELECT {} FROM {x}",
        targets.join(", "),
        sources.join(", ")
    )));

    if to.primary_key.as_ref().is_some_and(|pk| pk.autoincrement) {
        out.extend(keep_counter(from, to, &tmp_name));
    }

    out.push(Statement::new(format!("DROP TABLE {x}")));
    out.push(Statement::new("PRAGMA legacy_alter_table=ON"));
    out.push(Statement::new(format!("ALTER TABLE {tmp} RENAME TO {x}")));
    out.push(Statement::new("PRAGMA legacy_alter_table=OFF"));
    out.extend(
        to.indexes
            .iter()
            .map(|ix| Statement::new(ddl::create_index(&to.name, ix))),
    );

    // DROP TABLE took the table's triggers with it. Recreate the target's triggers on this
    // table unless a later CreateTrigger change creates them (new or changed ones).
    for tr in ctx.to.triggers.iter().filter(|tr| {
        same_name(&tr.table, &to.name) && !ctx.created_triggers.contains(&name_key(&tr.name))
    }) {
        out.push(Statement::new(tr.sql.clone()));
    }
    Ok(out)
}

/// The column lists of the rebuild's `INSERT INTO new (targets) SELECT sources FROM old`:
/// every `to` column some `from` column fills (under its old name when renamed), and the
/// rowid, unless an INTEGER PRIMARY KEY column already carries it.
fn copy_lists(
    from: &Table,
    to: &Table,
    changes: &[TableChange],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut renamed_into: HashMap<String, &str> = HashMap::new();
    let mut renamed_away: HashSet<String> = HashSet::new();
    let mut added: HashSet<String> = HashSet::new();
    for tc in changes {
        match tc {
            TableChange::RenameColumn { from: a, to: b } => {
                if from.column(a).is_none() {
                    return Err(unsupported(
                        to,
                        format!(
                            "rename of column {a:?} in table {:?}: no such column",
                            to.name
                        ),
                    ));
                }
                renamed_into.insert(name_key(b), a);
                renamed_away.insert(name_key(a));
            }
            TableChange::AddColumn(c) => {
                added.insert(name_key(&c.name));
            }
            _ => {}
        }
    }
    let source = |name: &str| -> Option<&str> {
        let key = name_key(name);
        if let Some(a) = renamed_into.get(&key) {
            return from.column(a).map(|c| c.name.as_str());
        }
        if added.contains(&key) || renamed_away.contains(&key) {
            return None;
        }
        from.column(name).map(|c| c.name.as_str())
    };

    let mut targets = vec![];
    let mut sources = vec![];
    let mut alias_has_source = false;
    for c in to.columns.iter().filter(|c| c.generated.is_none()) {
        let Some(src) = source(&c.name) else { continue };
        if from.column(src).is_some_and(|s| s.generated.is_some()) {
            continue;
        }
        if to
            .rowid_alias()
            .is_some_and(|a| same_name(&a.name, &c.name))
        {
            alias_has_source = true;
        }
        targets.push(ident(&c.name));
        sources.push(ident(src));
    }

    // Rowids survive: copy them unless an INTEGER PRIMARY KEY column already carries them.
    if from.has_rowid() && to.has_rowid() && !alias_has_source {
        let free = |t: &Table| {
            ROWID_NAMES
                .iter()
                .find(|n| t.column(n).is_none())
                .map(|n| n.to_string())
        };
        let read = free(from).or_else(|| from.rowid_alias().map(|a| ident(&a.name)));
        let write = free(to).or_else(|| to.rowid_alias().map(|a| ident(&a.name)));
        match (read, write) {
            (Some(r), Some(w)) => {
                sources.insert(0, r);
                targets.insert(0, w);
            }
            _ => {
                return Err(unsupported(
                    to,
                    format!("rebuilding table {:?}: its rowid is hidden by columns named rowid, _rowid_ and oid", to.name),
                ))
            }
        }
    }
    if targets.is_empty() {
        return Err(unsupported(
            to,
            format!("rebuilding table {:?}: no column of the old table carries over, so its rows would be lost", to.name),
        ));
    }
    Ok((targets, sources))
}

/// DROP TABLE deletes the AUTOINCREMENT counter, and the copy only restores max(id): keep
/// the larger of the two so ids of deleted rows are never handed out again.
fn keep_counter(from: &Table, to: &Table, tmp_name: &str) -> [Statement; 2] {
    let (old, new) = (literal(&from.name), literal(tmp_name));
    [
        Statement::with_comment(
            format!("keep the AUTOINCREMENT counter of {}", ident(&to.name)),
            format!(
                "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = {old}), 0)) WHERE name = {new}"
            ),
        ),
        Statement::new(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {new}, seq FROM sqlite_sequence WHERE name = {old} AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {new})"
        )),
    ]
}
