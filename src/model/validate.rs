//! Cross-object checks of a declared model that neither the TOML syntax nor the builder's
//! types can express: reserved names, columns that keys name, foreign-key target columns.

use super::{name_key, Reserved, Schema, Table};
use std::collections::{HashMap, HashSet};

/// Checks a declared model. The error names the table or trigger at fault (so the TOML
/// loader can point at its line) and says what is wrong.
pub(crate) fn validate(schema: &Schema, reserved: &Reserved) -> Result<(), (String, String)> {
    let mut index_names = HashSet::new();
    // By name key, first one wins (as `Schema::table`): one lookup per foreign key, not a scan.
    let mut tables: HashMap<String, &Table> = HashMap::new();
    for t in &schema.tables {
        tables.entry(name_key(&t.name)).or_insert(t);
    }
    for t in &schema.tables {
        table(t, reserved, &tables, &mut index_names).map_err(|m| (t.name.clone(), m))?;
    }
    for tr in &schema.triggers {
        if !tables.contains_key(&name_key(&tr.table)) && schema.view(&tr.table).is_none() {
            return Err((
                tr.name.clone(),
                format!("trigger `{}` is on missing table `{}`", tr.name, tr.table),
            ));
        }
    }
    Ok(())
}

fn table(
    t: &Table,
    reserved: &Reserved,
    tables: &HashMap<String, &Table>,
    index_names: &mut HashSet<String>,
) -> Result<(), String> {
    if let Some(why) = reserved.reason(&t.name) {
        return Err(format!("table `{}`: {why}", t.name));
    }
    if t.columns.is_empty() {
        return Err(format!("table `{}` has no columns", t.name));
    }
    let col = |c: &str, what: &str| {
        if t.column(c).is_none() {
            Err(format!(
                "table `{}`: {what} names unknown column `{c}`",
                t.name
            ))
        } else {
            Ok(())
        }
    };
    if let Some(pk) = &t.primary_key {
        for p in pk.columns.iter().filter(|p| !p.expr) {
            col(&p.target, "primary key")?;
        }
    } else if t.without_rowid {
        return Err(format!(
            "table `{}`: WITHOUT ROWID needs a primary key",
            t.name
        ));
    }
    for u in &t.uniques {
        for p in u.columns.iter().filter(|p| !p.expr) {
            col(&p.target, "unique constraint")?;
        }
    }
    for i in &t.indexes {
        if !index_names.insert(name_key(&i.name)) {
            return Err(format!("duplicate index name `{}`", i.name));
        }
        for p in i.parts.iter().filter(|p| !p.expr) {
            col(&p.target, &format!("index `{}`", i.name))?;
        }
    }
    for fk in &t.foreign_keys {
        for c in &fk.columns {
            col(c, "foreign key")?;
        }
        // A parent that does not exist is legal in SQLite and real histories hold it (see
        // `Schema::missing_parents`, which the CLI reports as a warning).
        if let Some(parent) = tables.get(&name_key(&fk.ref_table)) {
            for c in &fk.ref_columns {
                if parent.column(c).is_none() {
                    return Err(format!(
                        "table `{}`: foreign key references missing column `{}.{c}`",
                        t.name, fk.ref_table
                    ));
                }
            }
        }
        if !fk.ref_columns.is_empty() && fk.ref_columns.len() != fk.columns.len() {
            return Err(format!(
                "table `{}`: foreign key has {} columns but references {}",
                t.name,
                fk.columns.len(),
                fk.ref_columns.len()
            ));
        }
    }
    Ok(())
}
