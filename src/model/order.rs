//! Dependency order of a schema's objects: tables after the tables their foreign keys
//! reference, views after the views they read. One algorithm for both, used wherever objects
//! are created or dropped (DDL for a whole schema, the diff's change order).

use super::{name_key, Schema, Table, View};
use crate::sql::{mentioned_names, mentions};
use std::collections::{BTreeSet, HashMap, HashSet};

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

/// The name keys every view and trigger of `schema` mentions (a trigger's table among
/// them): what a scratch database must hold for them to be created. `None` if some text
/// does not lex (then only everything will do).
pub(crate) fn mentioned_by(schema: &Schema) -> Option<HashSet<String>> {
    let mut out = HashSet::new();
    for sql in schema.views.iter().map(|v| &v.sql) {
        out.extend(mentioned_names(sql)?);
    }
    for t in &schema.triggers {
        out.insert(name_key(&t.table));
        out.extend(mentioned_names(&t.sql)?);
    }
    Some(out)
}

/// The objects (name keys of tables, views, triggers) a script touching `seeds` may reach
/// in any of `schemas`, and everything needed to create and re-parse those: the seeds'
/// foreign-key parents and children; every view and trigger that mentions an object in the
/// set or sits on one of its tables; every table and view such a view or trigger mentions;
/// repeated until nothing is added. Names mentioned in `scripts` (an index: its table) are
/// seeds too. `None` when some text does not lex: then only the whole schema will do.
pub(crate) fn reach(
    schemas: &[&Schema],
    seeds: &HashSet<String>,
    scripts: &[&str],
) -> Option<HashSet<String>> {
    let mut relations: HashSet<String> = HashSet::new();
    let mut index_table: HashMap<String, String> = HashMap::new();
    let mut fk_next: HashMap<String, Vec<String>> = HashMap::new();
    // What each view or trigger mentions (relations only), and who mentions each relation.
    let mut mentions: HashMap<String, Vec<String>> = HashMap::new();
    let mut mentioned_by: HashMap<String, Vec<String>> = HashMap::new();
    for s in schemas {
        for t in &s.tables {
            let key = name_key(&t.name);
            relations.insert(key.clone());
            for ix in &t.indexes {
                index_table.insert(name_key(&ix.name), key.clone());
            }
            for fk in &t.foreign_keys {
                let parent = name_key(&fk.ref_table);
                fk_next.entry(key.clone()).or_default().push(parent.clone());
                fk_next.entry(parent).or_default().push(key.clone());
            }
        }
        relations.extend(s.views.iter().map(|v| name_key(&v.name)));
    }
    for s in schemas {
        let texts = s
            .views
            .iter()
            .map(|v| (&v.name, &v.sql, None))
            .chain(s.triggers.iter().map(|t| (&t.name, &t.sql, Some(&t.table))));
        for (name, sql, on) in texts {
            let key = name_key(name);
            let mut words: Vec<String> = mentioned_names(sql)?
                .into_iter()
                .filter(|w| relations.contains(w) && *w != key)
                .collect();
            words.extend(on.map(|t| name_key(t)));
            for w in &words {
                mentioned_by.entry(w.clone()).or_default().push(key.clone());
            }
            mentions.entry(key).or_default().extend(words);
        }
    }
    let mut set: HashSet<String> = seeds.clone();
    for sql in scripts {
        for w in mentioned_names(sql)? {
            match index_table.get(&w) {
                Some(t) => set.insert(t.clone()),
                None => set.insert(w),
            };
        }
    }
    let mut queue: Vec<String> = set.iter().cloned().collect();
    for seed in &queue {
        for n in fk_next.get(seed).into_iter().flatten() {
            set.insert(n.clone());
        }
    }
    queue = set.iter().cloned().collect();
    while let Some(k) = queue.pop() {
        let next = mentioned_by.get(&k).into_iter().chain(mentions.get(&k));
        for n in next.flatten() {
            if set.insert(n.clone()) {
                queue.push(n.clone());
            }
        }
    }
    Some(set)
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
