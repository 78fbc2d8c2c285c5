//! Live database → [`Schema`]. Reads `sqlite_schema` (parsed with `sqlite3-parser`) and
//! cross-checks with the `pragma_*` table-valued functions.
//!
//! Conventions (the renderer relies on them for an exact round trip):
//! tables, views and triggers are sorted by name (ASCII case-insensitive, then exact), a
//! table's indexes by name, columns by cid; constraints keep text order. Names are unquoted.
//! Column types come verbatim from `pragma_table_xinfo`; defaults from its `dflt_value`, kept
//! as they are when a single token or a signed number and parenthesised otherwise.
//! Expression texts (CHECK, generated, index terms, WHERE) are exact source spans.

mod parse;
#[cfg(test)]
mod tests;

use crate::model::{Column, Index, IndexPart, Reserved, Schema, Table, Trigger, View};
use crate::sql::{tokens, Tok};
use crate::{Error, Result};
use parse::{parse_index, parse_table, TableSql};
use rusqlite::Connection;
use sqlite3_parser::dialect::TokenType;
use std::cmp::Ordering;
use std::collections::HashMap;

/// ASCII case-insensitive, then exact: the order of every named list in an inspected schema.
fn name_order(a: &str, b: &str) -> Ordering {
    a.to_ascii_lowercase()
        .cmp(&b.to_ascii_lowercase())
        .then_with(|| a.cmp(b))
}

/// One row of `sqlite_schema`.
struct SchemaRow {
    kind: String,
    name: String,
    tbl_name: String,
    sql: Option<String>,
}

fn schema_rows(conn: &Connection, filter: &str, arg: Option<&str>) -> Result<Vec<SchemaRow>> {
    let q = format!("SELECT type, name, tbl_name, sql FROM main.sqlite_schema {filter}");
    let mut stmt = conn.prepare(&q)?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(SchemaRow {
            kind: r.get(0)?,
            name: r.get(1)?,
            tbl_name: r.get(2)?,
            sql: r.get(3)?,
        })
    };
    let rows = match arg {
        Some(a) => stmt.query_map([a], map)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

fn is_virtual_sql(sql: &str) -> bool {
    let Some(toks) = tokens(sql) else {
        return false;
    };
    let words: Vec<&Tok<'_>> = toks.iter().take(2).collect();
    matches!(words.as_slice(), [c, v] if c.kind == TokenType::TK_CREATE && v.kind == TokenType::TK_VIRTUAL)
}

fn unsupported_virtual(name: &str) -> Error {
    Error::Unsupported {
        table: name.to_string(),
        reason: format!("virtual table `{name}` is not supported"),
    }
}

/// Reads the user's schema from a live database (the `main` schema), leaving out the
/// `reserved` tables (and their triggers).
pub(crate) fn inspect(conn: &Connection, reserved: &Reserved) -> Result<Schema> {
    Ok(inspect_live(conn, reserved)?.schema)
}

/// The stored `CREATE` text of one table and of its indexes (by name), as `sqlite_schema`
/// holds them: everything [`inspect`] made of the table follows from these texts alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableText {
    pub(crate) sql: String,
    pub(crate) indexes: HashMap<String, String>,
}

/// A live schema with the texts it was read from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inspected {
    pub(crate) schema: Schema,
    /// By table name key.
    pub(crate) texts: HashMap<String, TableText>,
}

/// [`inspect`], keeping each table's stored text. One read transaction when the connection
/// is in autocommit mode (the caller's own transaction otherwise), so every query sees the
/// same schema; the pragma facts are read for all tables at once, three queries in all.
pub(crate) fn inspect_live(conn: &Connection, reserved: &Reserved) -> Result<Inspected> {
    if !conn.is_autocommit() {
        return read_schema(conn, reserved);
    }
    conn.execute_batch("BEGIN DEFERRED")?;
    let result = read_schema(conn, reserved);
    // Only read: COMMIT and ROLLBACK both just end the snapshot.
    let end = conn.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
    let inspected = result?;
    end?;
    Ok(inspected)
}

fn read_schema(conn: &Connection, reserved: &Reserved) -> Result<Inspected> {
    let rows = schema_rows(conn, "", None)?;

    // Virtual tables first: their shadow tables look like ordinary tables otherwise.
    let mut virtuals: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind == "table" && r.sql.as_deref().is_some_and(is_virtual_sql))
        .map(|r| r.name.as_str())
        .collect();
    virtuals.sort_by(|a, b| name_order(a, b));
    if let Some(v) = virtuals.first() {
        return Err(unsupported_virtual(v));
    }
    let mut facts = Pragmas::read(conn)?;

    let mut indexes: HashMap<String, Vec<&SchemaRow>> = HashMap::new();
    for r in rows.iter().filter(|r| r.kind == "index" && r.sql.is_some()) {
        indexes
            .entry(r.tbl_name.to_ascii_lowercase())
            .or_default()
            .push(r);
    }

    let mut out = Inspected::default();
    for r in &rows {
        match r.kind.as_str() {
            "table" if !reserved.contains(&r.name) => {
                let key = r.tbl_name.to_ascii_lowercase();
                let idx = indexes.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                out.schema.tables.push(build_table(&mut facts, r, idx)?);
                out.texts.insert(
                    key,
                    TableText {
                        sql: r.sql.clone().unwrap_or_default(),
                        indexes: idx
                            .iter()
                            .map(|i| (i.name.clone(), i.sql.clone().unwrap_or_default()))
                            .collect(),
                    },
                );
            }
            "view" if !reserved.contains(&r.name) => out.schema.views.push(View {
                name: r.name.clone(),
                sql: r.sql.clone().unwrap_or_default(),
            }),
            "trigger" if !reserved.contains(&r.tbl_name) => out.schema.triggers.push(Trigger {
                name: r.name.clone(),
                table: r.tbl_name.clone(),
                sql: r.sql.clone().unwrap_or_default(),
            }),
            _ => {}
        }
    }
    sort(&mut out.schema);
    Ok(out)
}

/// Puts a schema's lists in inspect's order (see the module's conventions).
pub(crate) fn sort(schema: &mut Schema) {
    schema.tables.sort_by(|a, b| name_order(&a.name, &b.name));
    schema.views.sort_by(|a, b| name_order(&a.name, &b.name));
    schema.triggers.sort_by(|a, b| name_order(&a.name, &b.name));
}

/// What the `pragma_*` functions report for every table and index of `main`, by exact
/// name: one query per pragma joined with `sqlite_schema`, not three per table.
struct Pragmas {
    columns: HashMap<String, Vec<XInfo>>,
    foreign_keys: HashMap<String, usize>,
    index_keys: HashMap<String, Vec<(i64, Option<String>)>>,
}

impl Pragmas {
    fn read(conn: &Connection) -> Result<Pragmas> {
        let mut columns: HashMap<String, Vec<XInfo>> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT m.name, x.name, x.type, x.dflt_value, x.hidden \
             FROM main.sqlite_schema AS m, pragma_table_xinfo(m.name, 'main') AS x \
             WHERE m.type = 'table' AND m.sql IS NOT NULL ORDER BY m.name, x.cid",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            columns.entry(r.get(0)?).or_default().push(XInfo {
                name: r.get(1)?,
                sql_type: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                dflt: r.get(3)?,
                hidden: r.get(4)?,
            });
        }
        let mut stmt = conn.prepare(
            "SELECT m.name, count(DISTINCT f.id) \
             FROM main.sqlite_schema AS m, pragma_foreign_key_list(m.name, 'main') AS f \
             WHERE m.type = 'table' AND m.sql IS NOT NULL GROUP BY m.name",
        )?;
        let foreign_keys = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<Result<_, _>>()?;
        let mut index_keys: HashMap<String, Vec<(i64, Option<String>)>> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT m.name, x.cid, x.name \
             FROM main.sqlite_schema AS m, pragma_index_xinfo(m.name, 'main') AS x \
             WHERE m.type = 'index' AND m.sql IS NOT NULL AND x.key ORDER BY m.name, x.seqno",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            index_keys
                .entry(r.get(0)?)
                .or_default()
                .push((r.get(1)?, r.get(2)?));
        }
        Ok(Pragmas {
            columns,
            foreign_keys,
            index_keys,
        })
    }
}

/// Reads one table (with its indexes) by name, ASCII case-insensitively: the same as its
/// entry in [`inspect`]. `None` when there is no such table or it is reserved.
#[cfg(test)]
pub(crate) fn inspect_table(
    conn: &Connection,
    name: &str,
    reserved: &Reserved,
) -> Result<Option<Table>> {
    if reserved.contains(name) {
        return Ok(None);
    }
    let rows = schema_rows(
        conn,
        "WHERE tbl_name = ?1 COLLATE NOCASE AND type IN ('table', 'index') AND sql IS NOT NULL",
        Some(name),
    )?;
    let Some(table) = rows
        .iter()
        .find(|r| r.kind == "table" && r.name.eq_ignore_ascii_case(name))
    else {
        return Ok(None);
    };
    if table.sql.as_deref().is_some_and(is_virtual_sql) {
        return Err(unsupported_virtual(&table.name));
    }
    let idx: Vec<&SchemaRow> = rows.iter().filter(|r| r.kind == "index").collect();
    build_table(&mut Pragmas::read(conn)?, table, &idx).map(Some)
}

/// One row of `pragma_table_xinfo`.
struct XInfo {
    name: String,
    sql_type: String,
    dflt: Option<String>,
    hidden: i64,
}

fn build_table(facts: &mut Pragmas, row: &SchemaRow, index_rows: &[&SchemaRow]) -> Result<Table> {
    let name = &row.name;
    let bad = |message: String| Error::Inspect {
        kind: "table",
        name: name.clone(),
        message,
    };
    let sql = row
        .sql
        .as_deref()
        .ok_or_else(|| bad("no CREATE statement".into()))?;
    let parsed = match parse_table(sql).map_err(bad)? {
        TableSql::Virtual => return Err(unsupported_virtual(name)),
        TableSql::Table(t) => t,
    };

    let xinfo = facts.columns.remove(name).unwrap_or_default();
    if xinfo.len() != parsed.columns.len() {
        return Err(bad(format!(
            "{} columns parsed, {} reported by SQLite",
            parsed.columns.len(),
            xinfo.len()
        )));
    }

    let mut columns = Vec::with_capacity(xinfo.len());
    for (x, p) in xinfo.into_iter().zip(parsed.columns) {
        if x.name != p.name {
            return Err(bad(format!(
                "column `{}` parsed where SQLite reports `{}`",
                p.name, x.name
            )));
        }
        let stored = match x.hidden {
            0 => None,
            2 => Some(false),
            3 => Some(true),
            h => return Err(bad(format!("column `{}` is hidden ({h})", x.name))),
        };
        if stored != p.generated.as_ref().map(|g| g.stored) {
            return Err(bad(format!(
                "column `{}`: generated kind does not match SQLite's",
                x.name
            )));
        }
        columns.push(Column {
            name: x.name,
            renamed_from: None,
            sql_type: x.sql_type,
            not_null: p.not_null,
            not_null_on_conflict: p.not_null_on_conflict,
            default: x.dflt.map(|d| default_text(&d)),
            collate: p.collate,
            generated: p.generated,
        });
    }

    let n_fk = facts.foreign_keys.get(name).copied().unwrap_or(0);
    if n_fk != parsed.foreign_keys.len() {
        return Err(bad(format!(
            "{} foreign keys parsed, {n_fk} reported by SQLite",
            parsed.foreign_keys.len()
        )));
    }

    let mut indexes = Vec::with_capacity(index_rows.len());
    for r in index_rows {
        if let Some(sql) = r.sql.as_deref() {
            let keys = facts.index_keys.remove(&r.name).unwrap_or_default();
            indexes.push(build_index(keys, &r.name, sql)?);
        }
    }
    indexes.sort_by(|a, b| name_order(&a.name, &b.name));

    Ok(Table {
        name: name.clone(),
        renamed_from: None,
        columns,
        primary_key: parsed.primary_key,
        uniques: parsed.uniques,
        checks: parsed.checks,
        foreign_keys: parsed.foreign_keys,
        indexes,
        without_rowid: parsed.without_rowid,
        strict: parsed.strict,
    })
}

/// `keys`: `pragma_index_xinfo`'s key terms, in order.
fn build_index(keys: Vec<(i64, Option<String>)>, name: &str, sql: &str) -> Result<Index> {
    let bad = |message: String| Error::Inspect {
        kind: "index",
        name: name.to_string(),
        message,
    };
    let parsed = parse_index(sql).map_err(bad)?;
    // `cid` says what SQLite made of each term: a column (>= 0) or an expression (-2).
    if keys.len() != parsed.terms.len() {
        return Err(bad(format!(
            "{} terms parsed, {} reported by SQLite",
            parsed.terms.len(),
            keys.len()
        )));
    }
    let parts = parsed
        .terms
        .into_iter()
        .zip(keys)
        .map(|(t, (cid, col))| match col {
            Some(col) if cid >= 0 => IndexPart {
                target: col,
                expr: false,
                collate: t.collate,
                order: t.order,
            },
            _ => IndexPart {
                target: t.text,
                expr: true,
                collate: t.collate,
                order: t.order,
            },
        })
        .collect();
    Ok(Index {
        name: name.to_string(),
        unique: parsed.unique,
        parts,
        where_clause: parsed.where_clause,
    })
}

/// `dflt_value` → model default: a single token or a signed number stays as it is, anything
/// else gets back the parentheses SQLite stripped (`datetime('now')` → `(datetime('now'))`).
fn default_text(d: &str) -> String {
    let plain = tokens(d).and_then(|toks| match toks.as_slice() {
        [t] => Some(t.text.to_string()),
        [sign, num]
            if matches!(sign.kind, TokenType::TK_MINUS | TokenType::TK_PLUS)
                && matches!(num.kind, TokenType::TK_INTEGER | TokenType::TK_FLOAT) =>
        {
            Some(d[sign.start..num.end].to_string())
        }
        _ => None,
    });
    // Not trimmed: a trailing `-- comment` needs its newline before the `)`.
    plain.unwrap_or_else(|| format!("({d})"))
}
