//! The model written as SQLite DDL: dbm's own renderer (sea-query lacks COLLATE, STRICT,
//! ON CONFLICT, DEFERRABLE, expression indexes, views and triggers, and drops FK names).
//!
//! Fidelity matters more than beauty: the rendered DDL is executed and re-introspected and
//! must give back the same model, so expressions, types and defaults go out verbatim and
//! every identifier goes through [`ident`].

use super::{
    name_key, order, same_name, Column, Conflict, FkAction, ForeignKey, Index, IndexPart, Order,
    Schema, Table,
};
use crate::sql::ident;

/// `CREATE TABLE` for `table`, one column or constraint per line.
pub(crate) fn create_table(table: &Table) -> String {
    create_table_as(table, &table.name)
}

/// `CREATE TABLE` for `table` under another name (the rebuild's `_dbm_new_<name>`).
pub(crate) fn create_table_as(table: &Table, name: &str) -> String {
    let column_pk = column_level_pk(table);
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column_def(table, c, column_pk.is_some_and(|pk| same_name(pk, &c.name))))
        .collect();

    if let Some(pk) = &table.primary_key {
        if column_pk.is_none() {
            let mut terms: Vec<String> = pk.columns.iter().map(index_part).collect();
            if pk.autoincrement {
                if let Some(last) = terms.last_mut() {
                    last.push_str(" AUTOINCREMENT");
                }
            }
            lines.push(format!(
                "{}PRIMARY KEY ({}){}",
                constraint_name(&pk.name),
                terms.join(", "),
                on_conflict(&pk.on_conflict)
            ));
        }
    }
    for u in &table.uniques {
        lines.push(format!(
            "{}UNIQUE ({}){}",
            constraint_name(&u.name),
            u.columns
                .iter()
                .map(index_part)
                .collect::<Vec<_>>()
                .join(", "),
            on_conflict(&u.on_conflict)
        ));
    }
    for ck in &table.checks {
        // A column check whose column is missing would otherwise vanish: keep it table-level.
        let on_column = ck
            .column
            .as_deref()
            .is_some_and(|c| table.column(c).is_some());
        if !on_column {
            lines.push(format!("{}CHECK ({})", constraint_name(&ck.name), ck.expr));
        }
    }
    for fk in &table.foreign_keys {
        lines.push(foreign_key(fk));
    }

    let mut sql = format!(
        "CREATE TABLE {} (\n    {}\n)",
        ident(name),
        lines.join(",\n    ")
    );
    match (table.strict, table.without_rowid) {
        (true, true) => sql.push_str(" STRICT, WITHOUT ROWID"),
        (true, false) => sql.push_str(" STRICT"),
        (false, true) => sql.push_str(" WITHOUT ROWID"),
        (false, false) => {}
    }
    sql
}

/// The PK column name when the primary key is written on its column.
fn column_level_pk(table: &Table) -> Option<&str> {
    let pk = table.primary_key.as_ref()?;
    let [part] = pk.columns.as_slice() else {
        return None;
    };
    if part.expr || part.collate.is_some() {
        return None;
    }
    table.column(&part.target)?;
    // Column-level `INTEGER PRIMARY KEY DESC` is not a rowid alias; table-level it is:
    // render it where it was declared.
    if table.pk_desc_quirk() && !pk.inline {
        return None;
    }
    Some(&part.target)
}

/// One column definition (as inside `CREATE TABLE` and after `ADD COLUMN`).
pub(crate) fn column_def(table: &Table, c: &Column, with_pk: bool) -> String {
    let mut s = ident(&c.name);
    if !c.sql_type.is_empty() {
        s.push(' ');
        s.push_str(&c.sql_type);
    }
    if with_pk {
        if let Some(pk) = &table.primary_key {
            s.push(' ');
            s.push_str(&constraint_name(&pk.name));
            s.push_str("PRIMARY KEY");
            if pk.columns.first().is_some_and(|p| p.order == Order::Desc) {
                s.push_str(" DESC");
            }
            s.push_str(&on_conflict(&pk.on_conflict));
            if pk.autoincrement {
                s.push_str(" AUTOINCREMENT");
            }
        }
    }
    if c.not_null {
        s.push_str(" NOT NULL");
        s.push_str(&on_conflict(&c.not_null_on_conflict));
    }
    if let Some(d) = &c.default {
        s.push_str(" DEFAULT ");
        s.push_str(d);
    }
    if let Some(coll) = &c.collate {
        s.push_str(" COLLATE ");
        s.push_str(&collation(coll));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(
            " GENERATED ALWAYS AS ({}) {}",
            g.expr,
            if g.stored { "STORED" } else { "VIRTUAL" }
        ));
    }
    for ck in table
        .checks
        .iter()
        .filter(|k| k.column.as_deref().is_some_and(|n| same_name(n, &c.name)))
    {
        s.push_str(&format!(
            " {}CHECK ({})",
            constraint_name(&ck.name),
            ck.expr
        ));
    }
    s
}

fn foreign_key(fk: &ForeignKey) -> String {
    let cols: Vec<String> = fk.columns.iter().map(|c| ident(c)).collect();
    let mut s = format!(
        "{}FOREIGN KEY ({}) REFERENCES {}",
        constraint_name(&fk.name),
        cols.join(", "),
        ident(&fk.ref_table)
    );
    if !fk.ref_columns.is_empty() {
        let refs: Vec<String> = fk.ref_columns.iter().map(|c| ident(c)).collect();
        s.push_str(&format!(" ({})", refs.join(", ")));
    }
    if fk.on_delete != FkAction::NoAction {
        s.push_str(" ON DELETE ");
        s.push_str(fk.on_delete.sql());
    }
    if fk.on_update != FkAction::NoAction {
        s.push_str(" ON UPDATE ");
        s.push_str(fk.on_update.sql());
    }
    if fk.deferred {
        s.push_str(" DEFERRABLE INITIALLY DEFERRED");
    }
    s
}

fn constraint_name(name: &Option<String>) -> String {
    match name {
        Some(n) => format!("CONSTRAINT {} ", ident(n)),
        None => String::new(),
    }
}

fn on_conflict(oc: &Option<Conflict>) -> String {
    match oc {
        Some(x) => format!(" ON CONFLICT {}", x.sql()),
        None => String::new(),
    }
}

/// A collation name: bare when it is a plain identifier (`NOCASE`), quoted otherwise.
fn collation(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        ident(name)
    }
}

/// A key or index term: `"a" COLLATE NOCASE DESC`, or an expression verbatim.
fn index_part(p: &IndexPart) -> String {
    let mut s = if p.expr {
        p.target.clone()
    } else {
        ident(&p.target)
    };
    if let Some(c) = &p.collate {
        s.push_str(" COLLATE ");
        s.push_str(&collation(c));
    }
    if p.order == Order::Desc {
        s.push_str(" DESC");
    }
    s
}

/// `CREATE [UNIQUE] INDEX "n" ON "t" (..) [WHERE ..]`.
pub(crate) fn create_index(table_name: &str, index: &Index) -> String {
    let parts: Vec<String> = index.parts.iter().map(index_part).collect();
    let mut s = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        ident(&index.name),
        ident(table_name),
        parts.join(", ")
    );
    if let Some(w) = &index.where_clause {
        s.push_str(" WHERE ");
        s.push_str(w);
    }
    s
}

/// Every statement that creates `schema` in an empty database: tables (parents first),
/// indexes, views (dependencies first), triggers.
pub(crate) fn create_all(schema: &Schema) -> Vec<String> {
    let mut out = vec![];
    let order = order::tables(&schema.tables);
    for &i in &order {
        out.push(create_table(&schema.tables[i]));
    }
    for &i in &order {
        let t = &schema.tables[i];
        out.extend(t.indexes.iter().map(|ix| create_index(&t.name, ix)));
    }
    for i in order::views(&schema.views) {
        out.push(schema.views[i].sql.clone());
    }
    let mut triggers: Vec<_> = schema.triggers.iter().collect();
    triggers.sort_by_key(|t| (name_key(&t.name), t.name.clone()));
    out.extend(triggers.into_iter().map(|t| t.sql.clone()));
    out
}
