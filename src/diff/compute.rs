//! The diff algorithm: match objects by name (and rename hints), compare them field by
//! field, emit changes in an order that keeps foreign keys and dependencies resolvable.

use super::{Change, ColumnChangeKind, TableChange};
use crate::model::{
    name_key, order, same_name, Check, Column, ForeignKey, IndexPart, Schema, Table, Unique,
};
use crate::sql::{ident, mentions, normalize, tokens, unquote};
use std::collections::{HashMap, HashSet};

/// Rename hints, old name → new name, taken from a declared model's `renamed_from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Renames {
    /// (old table, new table)
    pub(crate) tables: Vec<(String, String)>,
    /// (table as named in the target, old column, new column)
    pub(crate) columns: Vec<(String, String, String)>,
}

impl Renames {
    /// Collects the hints of a declared model.
    pub(crate) fn from_hints(model: &Schema) -> Renames {
        let mut r = Renames::default();
        for t in &model.tables {
            if let Some(old) = &t.renamed_from {
                r.tables.push((old.clone(), t.name.clone()));
            }
            for c in &t.columns {
                if let Some(old) = &c.renamed_from {
                    r.columns
                        .push((t.name.clone(), old.clone(), c.name.clone()));
                }
            }
        }
        r
    }

    /// The same renames backwards (for the down script).
    pub(crate) fn inverted(&self) -> Renames {
        let old_table_name = |new: &str| {
            self.tables
                .iter()
                .find(|(_, n)| same_name(n, new))
                .map(|(o, _)| o.clone())
                .unwrap_or_else(|| new.to_string())
        };
        Renames {
            tables: self
                .tables
                .iter()
                .map(|(o, n)| (n.clone(), o.clone()))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|(t, o, n)| (old_table_name(t), n.clone(), o.clone()))
                .collect(),
        }
    }
}

/// Computes the ordered changes that turn `from` into `to`.
pub(crate) fn diff(from: &Schema, to: &Schema, renames: &Renames) -> Vec<Change> {
    let from_tables: HashMap<String, &Table> =
        from.tables.iter().map(|t| (name_key(&t.name), t)).collect();
    let to_tables: HashMap<String, &Table> =
        to.tables.iter().map(|t| (name_key(&t.name), t)).collect();

    // Table renames that apply: old exists only in `from`, new exists only in `to`.
    let mut table_renames: Vec<(String, String)> = vec![];
    for (old, new) in &renames.tables {
        let (ok, nk) = (name_key(old), name_key(new));
        if ok != nk
            && from_tables.contains_key(&ok)
            && !to_tables.contains_key(&ok)
            && to_tables.contains_key(&nk)
            && !from_tables.contains_key(&nk)
            && !table_renames.iter().any(|(o, _)| name_key(o) == ok)
        {
            let old_name = from_tables[&ok].name.clone();
            table_renames.push((old_name, to_tables[&nk].name.clone()));
        }
    }
    let renamed_to: HashMap<String, String> = table_renames
        .iter()
        .map(|(o, n)| (name_key(n), o.clone()))
        .collect();
    let renamed_from: HashMap<String, String> = table_renames
        .iter()
        .map(|(o, n)| (name_key(o), n.clone()))
        .collect();
    // Column renames per target table, only where they apply.
    let mut col_renames: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (t, old, new) in &renames.columns {
        col_renames
            .entry(name_key(t))
            .or_default()
            .push((old.clone(), new.clone()));
    }

    let mut creates = vec![];
    let mut drops = vec![];
    let mut alters = vec![];
    let mut applied_col_renames: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for t in &to.tables {
        let key = name_key(&t.name);
        let source = from_tables.get(&key).copied().or_else(|| {
            renamed_to
                .get(&key)
                .and_then(|o| from_tables.get(&name_key(o)).copied())
        });
        match source {
            None => creates.push(t.clone()),
            Some(old) => {
                let hints = col_renames.get(&key).cloned().unwrap_or_default();
                let applicable: Vec<(String, String)> = hints
                    .into_iter()
                    .filter(|(o, n)| {
                        !same_name(o, n)
                            && old.column(o).is_some()
                            && old.column(n).is_none()
                            && t.column(n).is_some()
                            && t.column(o).is_none()
                    })
                    .map(|(o, n)| {
                        let on = old.column(&o).map(|c| c.name.clone()).unwrap_or(o);
                        let nn = t.column(&n).map(|c| c.name.clone()).unwrap_or(n);
                        (on, nn)
                    })
                    .collect();
                applied_col_renames.insert(name_key(&old.name), applicable.clone());
                alters.push((old, t, applicable));
            }
        }
    }
    for t in &from.tables {
        let key = name_key(&t.name);
        if !to_tables.contains_key(&key) && !renamed_from.contains_key(&key) {
            drops.push(t.clone());
        }
    }

    let mut out = vec![];
    // Views and triggers that go away or change are dropped first, so nothing they mention
    // blocks the table changes; changed ones are created again at the end.
    let mut changed_views: HashSet<String> = HashSet::new();
    for v in from.views.iter().chain(&to.views) {
        let differs = match (from.view(&v.name), to.view(&v.name)) {
            (Some(a), Some(b)) => normalize(&a.sql) != normalize(&b.sql),
            _ => true,
        };
        if differs {
            changed_views.insert(name_key(&v.name));
        }
    }
    // A view that reads a dropped or changed view must go and come back with it: SQLite
    // re-parses every view on the next ALTER and would fail on the missing one.
    loop {
        let more: Vec<String> = from
            .views
            .iter()
            .filter(|v| !changed_views.contains(&name_key(&v.name)))
            .filter(|v| {
                from.views.iter().any(|o| {
                    changed_views.contains(&name_key(&o.name)) && mentions(&v.sql, &o.name)
                })
            })
            .map(|v| name_key(&v.name))
            .collect();
        if more.is_empty() {
            break;
        }
        changed_views.extend(more);
    }
    let view_changed = |name: &str| changed_views.contains(&name_key(name));
    let trigger_changed = |name: &str| -> bool {
        match (from.trigger(name), to.trigger(name)) {
            (Some(a), Some(b)) => {
                normalize(&a.sql) != normalize(&b.sql)
                    || !same_name(&a.table, &b.table)
                    || from
                        .views
                        .iter()
                        .any(|v| view_changed(&v.name) && mentions(&a.sql, &v.name))
            }
            _ => true,
        }
    };
    for tr in sorted_by_name(&from.triggers, |t| &t.name) {
        if trigger_changed(&tr.name) {
            out.push(Change::DropTrigger(tr.clone()));
        }
    }
    let dropped_views: Vec<_> = from
        .views
        .iter()
        .filter(|v| view_changed(&v.name))
        .cloned()
        .collect();
    // Dependents first: reverse of creation order.
    for v in order::sorted(&dropped_views, order::views)
        .into_iter()
        .rev()
    {
        out.push(Change::DropView(v));
    }
    for t in order::sorted(&drops, order::tables).into_iter().rev() {
        out.push(Change::DropTable(t));
    }
    for (old, new) in &table_renames {
        out.push(Change::RenameTable {
            from: old.clone(),
            to: new.clone(),
        });
    }
    for t in order::sorted(&creates, order::tables) {
        out.push(Change::CreateTable(t));
    }
    alters.sort_by_key(|a| name_key(&a.1.name));
    for (old, new, col_ren) in alters {
        let mut from_t = old.clone();
        from_t.name = new.name.clone();
        let changes = table_changes(&from_t, new, &col_ren, &renamed_from, &applied_col_renames);
        if !changes.is_empty() {
            out.push(Change::AlterTable {
                from: from_t,
                to: new.clone(),
                changes,
            });
        }
    }
    let created_views: Vec<_> = to
        .views
        .iter()
        .filter(|v| view_changed(&v.name))
        .cloned()
        .collect();
    for v in order::sorted(&created_views, order::views) {
        out.push(Change::CreateView(v));
    }
    for tr in sorted_by_name(&to.triggers, |t| &t.name) {
        if trigger_changed(&tr.name) {
            out.push(Change::CreateTrigger(tr.clone()));
        }
    }
    out
}

fn sorted_by_name<T>(items: &[T], name: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by(|a, b| {
        name_key(name(a))
            .cmp(&name_key(name(b)))
            .then(name(a).cmp(name(b)))
    });
    v
}

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

fn index_key(i: &crate::model::Index) -> String {
    format!(
        "{}|{}|{:?}",
        i.unique,
        parts_key(&i.parts),
        i.where_clause.as_deref().map(normalize)
    )
}

/// Column attributes that differ (names aside).
pub(crate) fn column_change(a: &Column, b: &Column) -> ColumnChangeKind {
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
fn renamed_view_of(
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

fn table_changes(
    from: &Table,
    to: &Table,
    col_ren: &[(String, String)],
    table_ren: &HashMap<String, String>,
    all_col_ren: &HashMap<String, Vec<(String, String)>>,
) -> Vec<TableChange> {
    let r = renamed_view_of(from, col_ren, table_ren, all_col_ren);
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
