//! Cross-object checks of a declared model that neither the TOML syntax nor the builder's
//! types can express: reserved names, columns that keys name, foreign-key target columns.

use super::{name_key, Reserved, Schema, Table};
use std::collections::{HashMap, HashSet};

/// What a declared model gets wrong, and where: the table or trigger at fault, and the
/// column or index in it when there is one (so the TOML loader can point at it).
#[derive(Debug)]
pub(crate) struct Invalid {
    pub object: String,
    pub place: Option<Place>,
    pub message: String,
}

/// A part of a table an [`Invalid`] points at.
#[derive(Debug)]
pub(crate) enum Place {
    Column(String),
    Index(String),
}

/// Checks a declared model.
pub(crate) fn validate(schema: &Schema, reserved: &Reserved) -> Result<(), Invalid> {
    let mut index_names = HashSet::new();
    // By name key, first one wins (as `Schema::table`): one lookup per foreign key, not a scan.
    let mut tables: HashMap<String, &Table> = HashMap::new();
    for t in &schema.tables {
        tables.entry(name_key(&t.name)).or_insert(t);
    }
    for t in &schema.tables {
        table(t, reserved, &tables, &mut index_names).map_err(|(place, message)| Invalid {
            object: t.name.clone(),
            place,
            message,
        })?;
    }
    for tr in &schema.triggers {
        if !tables.contains_key(&name_key(&tr.table)) && schema.view(&tr.table).is_none() {
            return Err(Invalid {
                object: tr.name.clone(),
                place: None,
                message: format!("trigger `{}` is on missing table `{}`", tr.name, tr.table),
            });
        }
    }
    Ok(())
}

fn table(
    t: &Table,
    reserved: &Reserved,
    tables: &HashMap<String, &Table>,
    index_names: &mut HashSet<String>,
) -> Result<(), (Option<Place>, String)> {
    if let Some(why) = reserved.reason(&t.name) {
        return Err((None, format!("table `{}`: {why}", t.name)));
    }
    if t.columns.is_empty() {
        return Err((None, format!("table `{}` has no columns", t.name)));
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
    fn at_column(c: &str) -> impl Fn(String) -> (Option<Place>, String) + '_ {
        move |m| (Some(Place::Column(c.to_string())), m)
    }
    if let Some(pk) = &t.primary_key {
        for p in pk.columns.iter().filter(|p| !p.expr) {
            col(&p.target, "primary key").map_err(|m| (None, m))?;
        }
    } else if t.without_rowid {
        return Err((
            None,
            format!("table `{}`: WITHOUT ROWID needs a primary key", t.name),
        ));
    }
    for u in &t.uniques {
        for p in u.columns.iter().filter(|p| !p.expr) {
            col(&p.target, "unique constraint").map_err(|m| (None, m))?;
        }
    }
    for i in &t.indexes {
        let at_index = |m: String| (Some(Place::Index(i.name.clone())), m);
        if !index_names.insert(name_key(&i.name)) {
            return Err(at_index(format!("duplicate index name `{}`", i.name)));
        }
        for p in i.parts.iter().filter(|p| !p.expr) {
            col(&p.target, &format!("index `{}`", i.name)).map_err(at_index)?;
        }
    }
    for fk in &t.foreign_keys {
        for c in &fk.columns {
            col(c, "foreign key").map_err(at_column(c))?;
        }
        let first = fk.columns.first().map_or("", String::as_str);
        // A parent that does not exist is legal in SQLite and real histories hold it (see
        // `Schema::missing_parents`, which the CLI reports as a warning).
        if let Some(parent) = tables.get(&name_key(&fk.ref_table)) {
            for c in &fk.ref_columns {
                if parent.column(c).is_none() {
                    return Err(at_column(first)(format!(
                        "table `{}`: foreign key references missing column `{}.{c}`",
                        t.name, fk.ref_table
                    )));
                }
            }
        }
        if !fk.ref_columns.is_empty() && fk.ref_columns.len() != fk.columns.len() {
            return Err(at_column(first)(format!(
                "table `{}`: foreign key has {} columns but references {}",
                t.name,
                fk.columns.len(),
                fk.ref_columns.len()
            )));
        }
    }
    Ok(())
}
