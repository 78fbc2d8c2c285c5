//! What changes inside one table: the table as it would look after the renames, compared
//! with its target field by field, constraints as multisets keyed by their normal form.

use super::{ColumnChangeKind, TableChange};
use crate::model::{
    name_key, same_name, Check, Column, ForeignKey, Index, IndexPart, Table, Unique,
};
use crate::sql::{ident, normalize, tokens, unquote};
use std::collections::HashMap;

/// Rewrites identifier tokens of an expression through a rename map (old → new).
fn rename_in_expr(expr: &str, map: &[(String, String)]) -> String {
    if map.is_empty() {
        return expr.to_string();
    }
    let Some(toks) = tokens(expr) else {
        return expr.to_string();
    };
    let mut out = String::new();
    let mut last = 0;
    for t in toks {
        let first = t.text.as_bytes()[0];
        if first == b'\'' || first.is_ascii_digit() {
            continue;
        }
        let bare = unquote(t.text);
        if let Some((_, new)) = map.iter().find(|(o, _)| same_name(o, &bare)) {
            out.push_str(&expr[last..t.start]);
            out.push_str(&ident(new));
            last = t.end;
        }
    }
    out.push_str(&expr[last..]);
    out
}

fn norm_type(t: &str) -> String {
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn norm_opt_name(n: &Option<String>) -> Option<String> {
    n.as_ref().map(|s| name_key(s))
}

fn part_key(p: &IndexPart) -> String {
    format!(
        "{}|{}|{}|{:?}",
        if p.expr {
            normalize(&p.target)
        } else {
            name_key(&p.target)
        },
        p.expr,
        p.collate.as_deref().map(name_key).unwrap_or_default(),
        p.order
    )
}

fn parts_key(ps: &[IndexPart]) -> String {
    ps.iter().map(part_key).collect::<Vec<_>>().join(",")
}

fn pk_key(t: &Table) -> Option<String> {
    // Where the key is declared matters only where SQLite makes it matter.
    let inline_matters = t.pk_desc_quirk();
    t.primary_key.as_ref().map(|pk| {
        format!(
            "{:?}|{}|{}|{:?}|{}",
            norm_opt_name(&pk.name),
            parts_key(&pk.columns),
            pk.autoincrement,
            pk.on_conflict,
            inline_matters && pk.inline
        )
    })
}

fn unique_key(u: &Unique) -> String {
    format!(
        "{:?}|{}|{:?}",
        norm_opt_name(&u.name),
        parts_key(&u.columns),
        u.on_conflict
    )
}

fn check_key(c: &Check) -> String {
    format!(
        "{:?}|{}|{:?}",
        norm_opt_name(&c.name),
        normalize(&c.expr),
        norm_opt_name(&c.column)
    )
}

fn fk_key(f: &ForeignKey) -> String {
    format!(
        "{:?}|{:?}|{}|{:?}|{:?}|{:?}|{}",
        norm_opt_name(&f.name),
        f.columns.iter().map(|c| name_key(c)).collect::<Vec<_>>(),
        name_key(&f.ref_table),
        f.ref_columns
            .iter()
            .map(|c| name_key(c))
            .collect::<Vec<_>>(),
        f.on_delete,
        f.on_update,
        f.deferred
    )
}

fn index_key(i: &Index) -> String {
    format!(
        "{}|{}|{:?}",
        i.unique,
        parts_key(&i.parts),
        i.where_clause.as_deref().map(normalize)
    )
}

/// Column attributes that differ (names aside).
fn column_change(a: &Column, b: &Column) -> ColumnChangeKind {
    ColumnChangeKind {
        sql_type: norm_type(&a.sql_type) != norm_type(&b.sql_type),
        not_null: a.not_null != b.not_null,
        default: a.default.as_deref().map(normalize) != b.default.as_deref().map(normalize),
        collate: a.collate.as_deref().map(name_key) != b.collate.as_deref().map(name_key),
        generated: a.generated.as_ref().map(|g| (normalize(&g.expr), g.stored))
            != b.generated.as_ref().map(|g| (normalize(&g.expr), g.stored)),
        not_null_conflict: a.not_null_on_conflict != b.not_null_on_conflict,
    }
}

/// `from` as it would look after the column renames and the table renames elsewhere, so
/// that constraints compare by their new names.
fn as_renamed(
    from: &Table,
    col_ren: &[(String, String)],
    table_ren: &HashMap<String, String>,
    all_col_ren: &HashMap<String, Vec<(String, String)>>,
) -> Table {
    let mut t = from.clone();
    let ren = |n: &str| -> String {
        col_ren
            .iter()
            .find(|(o, _)| same_name(o, n))
            .map(|(_, new)| new.clone())
            .unwrap_or_else(|| n.to_string())
    };
    let ren_part = |p: &mut IndexPart| {
        if p.expr {
            p.target = rename_in_expr(&p.target, col_ren);
        } else {
            p.target = ren(&p.target);
        }
    };
    for c in &mut t.columns {
        c.name = ren(&c.name);
        if let Some(g) = &mut c.generated {
            g.expr = rename_in_expr(&g.expr, col_ren);
        }
    }
    if let Some(pk) = &mut t.primary_key {
        pk.columns.iter_mut().for_each(ren_part);
    }
    for u in &mut t.uniques {
        u.columns.iter_mut().for_each(ren_part);
    }
    for c in &mut t.checks {
        c.expr = rename_in_expr(&c.expr, col_ren);
        c.column = c.column.as_deref().map(ren);
    }
    for i in &mut t.indexes {
        i.parts.iter_mut().for_each(ren_part);
        i.where_clause = i
            .where_clause
            .as_deref()
            .map(|w| rename_in_expr(w, col_ren));
    }
    for f in &mut t.foreign_keys {
        f.columns = f.columns.iter().map(|c| ren(c)).collect();
        let parent_old = name_key(&f.ref_table);
        let parent_ren = all_col_ren.get(&parent_old).cloned().unwrap_or_default();
        if let Some(new_parent) = table_ren.get(&parent_old) {
            f.ref_table = new_parent.clone();
        }
        f.ref_columns = f
            .ref_columns
            .iter()
            .map(|c| {
                parent_ren
                    .iter()
                    .find(|(o, _)| same_name(o, c))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| c.clone())
            })
            .collect();
    }
    t
}

/// Multiset difference by key: (only in a, only in b), each in its original order.
fn set_diff<'a, T>(a: &'a [T], b: &'a [T], key: impl Fn(&T) -> String) -> (Vec<&'a T>, Vec<&'a T>) {
    let mut bk: HashMap<String, usize> = HashMap::new();
    for x in b {
        *bk.entry(key(x)).or_default() += 1;
    }
    let mut only_a = vec![];
    for x in a {
        let k = key(x);
        match bk.get_mut(&k) {
            Some(n) if *n > 0 => *n -= 1,
            _ => only_a.push(x),
        }
    }
    let mut ak: HashMap<String, usize> = HashMap::new();
    for x in a {
        *ak.entry(key(x)).or_default() += 1;
    }
    let mut only_b = vec![];
    for x in b {
        let k = key(x);
        match ak.get_mut(&k) {
            Some(n) if *n > 0 => *n -= 1,
            _ => only_b.push(x),
        }
    }
    (only_a, only_b)
}

pub(super) fn table_changes(
    from: &Table,
    to: &Table,
    col_ren: &[(String, String)],
    table_ren: &HashMap<String, String>,
    all_col_ren: &HashMap<String, Vec<(String, String)>>,
) -> Vec<TableChange> {
    let r = as_renamed(from, col_ren, table_ren, all_col_ren);
    let mut out = vec![];
    for (o, n) in col_ren {
        out.push(TableChange::RenameColumn {
            from: o.clone(),
            to: n.clone(),
        });
    }
    for c in &r.columns {
        if to.column(&c.name).is_none() {
            // Report the column under its name in `from` (it is dropped before any rename).
            let orig = from
                .columns
                .iter()
                .zip(&r.columns)
                .find(|(_, rc)| same_name(&rc.name, &c.name))
                .map(|(fc, _)| fc.clone())
                .unwrap_or_else(|| c.clone());
            out.push(TableChange::DropColumn(orig));
        }
    }
    for c in &to.columns {
        match r.column(&c.name) {
            None => out.push(TableChange::AddColumn(c.clone())),
            Some(old) => {
                let kind = column_change(old, c);
                if kind.any() {
                    out.push(TableChange::ModifyColumn {
                        from: old.clone(),
                        to: c.clone(),
                        kind,
                    });
                }
            }
        }
    }
    if pk_key(&r) != pk_key(to) {
        out.push(TableChange::SetPrimaryKey {
            from: r.primary_key.clone(),
            to: to.primary_key.clone(),
        });
    }
    let (gone, new) = set_diff(&r.uniques, &to.uniques, unique_key);
    out.extend(gone.into_iter().map(|u| TableChange::DropUnique(u.clone())));
    out.extend(new.into_iter().map(|u| TableChange::AddUnique(u.clone())));
    let (gone, new) = set_diff(&r.checks, &to.checks, check_key);
    out.extend(gone.into_iter().map(|c| TableChange::DropCheck(c.clone())));
    out.extend(new.into_iter().map(|c| TableChange::AddCheck(c.clone())));
    let (gone, new) = set_diff(&r.foreign_keys, &to.foreign_keys, fk_key);
    out.extend(
        gone.into_iter()
            .map(|f| TableChange::DropForeignKey(f.clone())),
    );
    out.extend(
        new.into_iter()
            .map(|f| TableChange::AddForeignKey(f.clone())),
    );
    // Indexes by name; a changed definition is a drop and an add.
    for i in &r.indexes {
        match to.index(&i.name) {
            Some(j) if index_key(i) == index_key(j) && i.name == j.name => {}
            _ => out.push(TableChange::DropIndex(
                from.index(&i.name).cloned().unwrap_or_else(|| i.clone()),
            )),
        }
    }
    for j in &to.indexes {
        match r.index(&j.name) {
            Some(i) if index_key(i) == index_key(j) && i.name == j.name => {}
            _ => out.push(TableChange::AddIndex(j.clone())),
        }
    }
    if r.without_rowid != to.without_rowid {
        out.push(TableChange::SetWithoutRowid(to.without_rowid));
    }
    if r.strict != to.strict {
        out.push(TableChange::SetStrict(to.strict));
    }
    // Rename-only changes are real changes; anything else on top follows them.
    out
}
