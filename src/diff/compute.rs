//! The diff algorithm: match objects by name (and rename hints), and emit the changes in an
//! order that keeps foreign keys and dependencies resolvable. What changes inside one table
//! is [`super::table`]'s.

use super::table::table_changes;
use super::Change;
use crate::model::{name_key, order, same_name, Schema, Table};
use crate::sql::{mentions, normalize};
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
    let tables = match_tables(from, to, renames);
    let views = changed_views(from, to);
    let view_changed = |name: &str| views.contains(&name_key(name));
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
    let mut out = vec![];
    // Views and triggers that go away or change are dropped first, so nothing they mention
    // blocks the table changes; changed ones are created again at the end.
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
    for t in order::sorted(&tables.drops, order::tables)
        .into_iter()
        .rev()
    {
        out.push(Change::DropTable(t));
    }
    for (old, new) in &tables.renames {
        out.push(Change::RenameTable {
            from: old.clone(),
            to: new.clone(),
        });
    }
    for t in order::sorted(&tables.creates, order::tables) {
        out.push(Change::CreateTable(t));
    }
    // Without renames a table's changes depend on its two sides alone, and equal sides
    // have none: most tables of a large schema are skipped without a clone.
    let no_renames =
        tables.renamed_from.is_empty() && tables.column_renames.values().all(Vec::is_empty);
    for (old, new, col_ren) in &tables.alters {
        if no_renames && col_ren.is_empty() && old == new {
            continue;
        }
        let mut from_t = (*old).clone();
        from_t.name = new.name.clone();
        let changes = table_changes(
            &from_t,
            new,
            col_ren,
            &tables.renamed_from,
            &tables.column_renames,
        );
        if !changes.is_empty() {
            out.push(Change::AlterTable {
                from: from_t,
                to: (*new).clone(),
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

/// A column rename: (old name, new name).
type ColumnRename = (String, String);

/// How the tables of two schemas pair up, by name and by the rename hints that apply.
struct TableMatch<'a> {
    creates: Vec<Table>,
    drops: Vec<Table>,
    /// (old name, new name) of the table renames that apply.
    renames: Vec<(String, String)>,
    /// (table in `from`, table in `to`, column renames that apply), by new name.
    alters: Vec<(&'a Table, &'a Table, Vec<ColumnRename>)>,
    /// Old name key → new name of each renamed table.
    renamed_from: HashMap<String, String>,
    /// Old table name key → the column renames that apply to it.
    column_renames: HashMap<String, Vec<ColumnRename>>,
}

fn match_tables<'a>(from: &'a Schema, to: &'a Schema, renames: &Renames) -> TableMatch<'a> {
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
    // Column rename hints per target table.
    let mut hints: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (t, old, new) in &renames.columns {
        hints
            .entry(name_key(t))
            .or_default()
            .push((old.clone(), new.clone()));
    }

    let mut m = TableMatch {
        creates: vec![],
        drops: vec![],
        renames: table_renames,
        alters: vec![],
        renamed_from,
        column_renames: HashMap::new(),
    };
    for t in &to.tables {
        let key = name_key(&t.name);
        let source = from_tables.get(&key).copied().or_else(|| {
            renamed_to
                .get(&key)
                .and_then(|o| from_tables.get(&name_key(o)).copied())
        });
        let Some(old) = source else {
            m.creates.push(t.clone());
            continue;
        };
        // Only renames whose old column exists only before and new one only after.
        let applicable: Vec<(String, String)> = hints
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(o, n)| {
                !same_name(o, n)
                    && old.column(o).is_some()
                    && old.column(n).is_none()
                    && t.column(n).is_some()
                    && t.column(o).is_none()
            })
            .map(|(o, n)| {
                let on = old.column(o).map_or(o.clone(), |c| c.name.clone());
                let nn = t.column(n).map_or(n.clone(), |c| c.name.clone());
                (on, nn)
            })
            .collect();
        m.column_renames
            .insert(name_key(&old.name), applicable.clone());
        m.alters.push((old, t, applicable));
    }
    m.alters.sort_by_key(|a| name_key(&a.1.name));
    for t in &from.tables {
        let key = name_key(&t.name);
        if !to_tables.contains_key(&key) && !m.renamed_from.contains_key(&key) {
            m.drops.push(t.clone());
        }
    }
    m
}

/// Name keys of the views to drop and create again: those that go, come or change, and
/// (transitively) the views reading one of them, since SQLite re-parses every view on the
/// next ALTER and would fail on a missing one.
fn changed_views(from: &Schema, to: &Schema) -> HashSet<String> {
    let mut changed: HashSet<String> = HashSet::new();
    for v in from.views.iter().chain(&to.views) {
        let differs = match (from.view(&v.name), to.view(&v.name)) {
            (Some(a), Some(b)) => normalize(&a.sql) != normalize(&b.sql),
            _ => true,
        };
        if differs {
            changed.insert(name_key(&v.name));
        }
    }
    loop {
        let more: Vec<String> = from
            .views
            .iter()
            .filter(|v| !changed.contains(&name_key(&v.name)))
            .filter(|v| {
                from.views
                    .iter()
                    .any(|o| changed.contains(&name_key(&o.name)) && mentions(&v.sql, &o.name))
            })
            .map(|v| name_key(&v.name))
            .collect();
        if more.is_empty() {
            return changed;
        }
        changed.extend(more);
    }
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
