//! Dependency order of a schema's objects: tables after the tables their foreign keys
//! reference, views after the views they read. One algorithm for both, used wherever objects
//! are created or dropped (DDL for a whole schema, the diff's change order).

use super::{name_key, Table, View};
use crate::sql::{mentioned_names, mentions};
use std::collections::{BTreeSet, HashMap};

/// Orders `names` so that each comes after the items it depends on, smallest name first
/// among the ready ones; a cycle is broken by taking the smallest remaining name. Linear in
/// items plus dependencies (times a log).
fn dependency_order(names: &[&str], deps: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    let n = names.len();
    let mut waiting_on = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![vec![]; n];
    for (i, waiting) in waiting_on.iter_mut().enumerate() {
        let mut ds = deps(i);
        ds.sort_unstable();
        ds.dedup();
        for d in ds.into_iter().filter(|&d| d != i) {
            *waiting += 1;
            dependents[d].push(i);
        }
    }
    let key = |i: usize| (name_key(names[i]), names[i].to_string(), i);
    let mut remaining: BTreeSet<(String, String, usize)> = (0..n).map(key).collect();
    let mut ready: BTreeSet<(String, String, usize)> =
        (0..n).filter(|&i| waiting_on[i] == 0).map(key).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(first) = ready.pop_first().or_else(|| remaining.first().cloned()) {
        let i = first.2;
        if !remaining.remove(&first) {
            continue;
        }
        out.push(i);
        for &j in &dependents[i] {
            waiting_on[j] = waiting_on[j].saturating_sub(1);
            if waiting_on[j] == 0 && remaining.contains(&key(j)) {
                ready.insert(key(j));
            }
        }
    }
    out
}

/// Indexes of `tables` in foreign-key order (parents first), name order otherwise.
pub(crate) fn tables(tables: &[Table]) -> Vec<usize> {
    let by_name: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (name_key(&t.name), i))
        .collect();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    dependency_order(&names, |i| {
        tables[i]
            .foreign_keys
            .iter()
            .filter_map(|fk| by_name.get(&name_key(&fk.ref_table)).copied())
            .collect()
    })
}

/// Indexes of `views` in dependency order (a view after the views it mentions).
pub(crate) fn views(views: &[View]) -> Vec<usize> {
    let by_name: HashMap<String, usize> = views
        .iter()
        .enumerate()
        .map(|(i, v)| (name_key(&v.name), i))
        .collect();
    let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    dependency_order(&names, |i| match mentioned_names(&views[i].sql) {
        Some(words) => words
            .iter()
            .filter_map(|w| by_name.get(w).copied())
            .collect(),
        // Text that does not lex: fall back to a plain search for each name.
        None => (0..views.len())
            .filter(|&j| mentions(&views[i].sql, &views[j].name))
            .collect(),
    })
}

/// `items` cloned in the order given by `order(items)`.
pub(crate) fn sorted<T: Clone>(items: &[T], order: impl Fn(&[T]) -> Vec<usize>) -> Vec<T> {
    order(items).into_iter().map(|i| items[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ForeignKey;

    fn view(name: &str, sql: &str) -> View {
        View {
            name: name.into(),
            sql: sql.into(),
        }
    }

    #[test]
    fn parents_and_read_views_come_first() {
        let mut child = Table {
            name: "a_child".into(),
            ..Table::default()
        };
        child.foreign_keys.push(ForeignKey {
            name: None,
            columns: vec!["p".into()],
            ref_table: "Z_PARENT".into(),
            ref_columns: vec![],
            on_delete: Default::default(),
            on_update: Default::default(),
            deferred: false,
        });
        let parent = Table {
            name: "z_parent".into(),
            ..Table::default()
        };
        assert_eq!(tables(&[child, parent]), vec![1, 0]);
        let vs = [
            view("a", "CREATE VIEW a AS SELECT * FROM \"C\""),
            view("b", "CREATE VIEW b AS SELECT 1"),
            view("c", "CREATE VIEW c AS SELECT 2"),
        ];
        assert_eq!(views(&vs), vec![1, 2, 0]);
        // A cycle is broken by name.
        let cyc = [
            view("x", "CREATE VIEW x AS SELECT * FROM y"),
            view("y", "CREATE VIEW y AS SELECT * FROM x"),
        ];
        assert_eq!(views(&cyc), vec![0, 1]);
    }
}
