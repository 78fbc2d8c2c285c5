//! Data pre-checks: before a migration is written, count the live rows that each new
//! constraint would reject (NOT NULL, UNIQUE, unique index, CHECK, FOREIGN KEY, primary key,
//! WITHOUT ROWID, STRICT types), reading the rows as the new schema will see them. The
//! transaction that applies the script remains the final judge.

use crate::diff::{Change, TableChange};
use crate::model::{same_name, ForeignKey, IndexPart, Schema, Table};
use crate::sql::{ident, literal};
use rusqlite::config::DbConfig;
use rusqlite::Connection;

/// Rows of the live database that a change would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offence {
    /// The table the change is on (as named in the database now).
    pub table: String,
    /// The change, in words.
    pub change: String,
    /// How many rows would fail the change.
    pub rows: i64,
}

/// A table dropped with its rows while a table of the same shape (the same columns, of the
/// same types) is created under another name: most likely a rename the model does not
/// declare, which would lose the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostTable {
    /// The table dropped with its rows.
    pub dropped: String,
    /// The table of the same shape that is created.
    pub created: String,
    /// Rows of `dropped` now.
    pub rows: i64,
}

/// The undeclared renames among `changes` whose dropped table holds rows.
pub(crate) fn undeclared_renames(
    conn: &Connection,
    changes: &[Change],
) -> rusqlite::Result<Vec<LostTable>> {
    let same_shape = |old: &Table, new: &Table| {
        old.columns.len() == new.columns.len()
            && old.columns.iter().all(|oc| {
                new.column(&oc.name)
                    .is_some_and(|nc| nc.sql_type.eq_ignore_ascii_case(&oc.sql_type))
            })
    };
    let mut out = vec![];
    for c in changes {
        let Change::DropTable(old) = c else { continue };
        let twins: Vec<&Table> = changes
            .iter()
            .filter_map(|c| match c {
                Change::CreateTable(new) if !same_name(&old.name, &new.name) => Some(new),
                _ => None,
            })
            .filter(|new| same_shape(old, new))
            .collect();
        if twins.is_empty() {
            continue;
        }
        let rows: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {}", ident(&old.name)),
            [],
            |r| r.get(0),
        )?;
        if rows > 0 {
            out.extend(twins.into_iter().map(|new| LostTable {
                dropped: old.name.clone(),
                created: new.name.clone(),
                rows,
            }));
        }
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str) -> Option<i64> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).ok()
}

/// The SQL terms a key groups rows by: columns and expressions, each with the collation
/// the key compares with.
fn key_terms(parts: &[IndexPart]) -> Vec<String> {
    parts
        .iter()
        .map(|p| {
            let term = if p.expr {
                format!("({})", p.target)
            } else {
                ident(&p.target)
            };
            match &p.collate {
                Some(c) => format!("{term} COLLATE {}", ident(c)),
                None => term,
            }
        })
        .collect()
}

fn duplicates_sql(rel: &str, terms: &[String], predicate: Option<&str>) -> String {
    let list = terms.join(", ");
    let mut conds: Vec<String> = terms.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    if let Some(p) = predicate {
        conds.push(format!("({p})"));
    }
    format!(
        "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {rel} WHERE {} GROUP BY {list} HAVING count(*) > 1)",
        conds.join(" AND ")
    )
}

/// Rows holding a value that a STRICT column of `to` would reject. STRICT first applies
/// the column's affinity, then requires the exact storage class; a TEMP probe table with
/// the same declared types (not strict) applies the same affinity, so SQLite itself decides.
fn strict_misfits(conn: &Connection, rel: &str, to: &Table) -> Option<i64> {
    let mut defs = vec![];
    let mut sources = vec![];
    let mut conds = vec![];
    for c in to.columns.iter().filter(|c| c.generated.is_none()) {
        let allowed = match c.sql_type.trim().to_ascii_uppercase().as_str() {
            "INT" | "INTEGER" => "'integer'",
            "REAL" => "'real'",
            "TEXT" => "'text'",
            "BLOB" => "'blob'",
            _ => continue,
        };
        let probe = format!("c{}", defs.len());
        defs.push(format!("{probe} {}", c.sql_type));
        sources.push(ident(&c.name));
        conds.push(format!(
            "({probe} IS NOT NULL AND typeof({probe}) <> {allowed})"
        ));
    }
    if defs.is_empty() {
        return Some(0);
    }
    let probe = "temp.\"_dbm_strict_probe\"";
    let run = || -> Option<i64> {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE \"_dbm_strict_probe\" ({}); INSERT INTO {probe} SELECT {} FROM {rel}",
            defs.join(", "),
            sources.join(", "),
        ))
        .ok()?;
        count(
            conn,
            &format!("SELECT count(*) FROM {probe} WHERE {}", conds.join(" OR ")),
        )
    };
    let n = run();
    let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {probe}"));
    n
}

/// Counts the existing rows that each "may fail" change would reject (new NOT NULL,
/// UNIQUE, unique index, CHECK, FOREIGN KEY, primary key, WITHOUT ROWID, STRICT types). Queries that cannot be built are skipped; the
/// transaction that applies the script remains the final judge.
pub(crate) fn offenders(conn: &Connection, changes: &[Change], target: &Schema) -> Vec<Offence> {
    // A misspelt column in a double-quoted identifier must be an error here, not SQLite's
    // legacy fallback to a string literal (which would count every row).
    let dqs = conn.db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML).ok();
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, false);
    let out = count_offenders(conn, changes, target);
    if let Some(old) = dqs {
        let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, old);
    }
    out
}

/// (new name, name in the database now) of each renamed table.
type TableRenames<'a> = Vec<(&'a String, &'a String)>;

fn count_offenders(conn: &Connection, changes: &[Change], target: &Schema) -> Vec<Offence> {
    let mut out: Vec<Offence> = vec![];
    let table_renames: TableRenames<'_> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameTable { from, to } => Some((to, from)),
            _ => None,
        })
        .collect();
    for c in changes {
        let Change::AlterTable {
            from,
            to,
            changes: tcs,
        } = c
        else {
            continue;
        };
        // The table as it is in the database now (its pre-rename name when renamed).
        let live_name = table_renames
            .iter()
            .find(|(new, _)| same_name(new, &from.name))
            .map(|(_, old)| old.to_string())
            .unwrap_or_else(|| from.name.clone());
        let rows = Rows {
            conn,
            rel: future_rows(&live_name, tcs),
            table_rows: count(conn, &format!("SELECT count(*) FROM {}", ident(&live_name)))
                .unwrap_or(0),
        };
        for tc in tcs {
            let Some((change, n)) = rows.offending(from, to, tc, target, &table_renames) else {
                continue;
            };
            if let Some(n) = n.filter(|n| *n > 0 && !out.iter().any(|o| o.change == change)) {
                out.push(Offence {
                    table: live_name.clone(),
                    change,
                    rows: n,
                });
            }
        }
    }
    out
}

/// The rows of `table` as the new schema will see them: renamed columns under their new
/// names, added columns holding their default. Every check reads this relation, so
/// expressions and keys use the new names as written in the model.
fn future_rows(table: &str, changes: &[TableChange]) -> String {
    let mut extra: Vec<String> = vec![];
    for tc in changes {
        match tc {
            TableChange::RenameColumn { from, to } => {
                extra.push(format!("{} AS {}", ident(from), ident(to)))
            }
            TableChange::AddColumn(col) => {
                let value = match (&col.generated, &col.default) {
                    (Some(g), _) => format!("({})", g.expr),
                    (None, Some(d)) => format!("({d})"),
                    (None, None) => "NULL".to_string(),
                };
                extra.push(format!("{value} AS {}", ident(&col.name)));
            }
            _ => {}
        }
    }
    if extra.is_empty() {
        ident(table)
    } else {
        format!("(SELECT *, {} FROM {})", extra.join(", "), ident(table))
    }
}

/// One table's future rows, to count what each of its changes would reject.
struct Rows<'c> {
    conn: &'c Connection,
    rel: String,
    table_rows: i64,
}

impl Rows<'_> {
    /// The change in words and the rows it would reject (`None` when that cannot be
    /// counted), for the changes that can reject rows.
    fn offending(
        &self,
        from: &Table,
        to: &Table,
        tc: &TableChange,
        target: &Schema,
        table_renames: &TableRenames<'_>,
    ) -> Option<(String, Option<i64>)> {
        let (conn, t) = (self.conn, self.rel.as_str());
        Some(match tc {
            TableChange::AddColumn(col)
                if col.not_null && col.default.is_none() && col.generated.is_none() =>
            {
                (
                    format!(
                        "new NOT NULL column {}.{} without a default",
                        from.name, col.name
                    ),
                    Some(self.table_rows),
                )
            }
            TableChange::ModifyColumn { to: b, kind, .. } if kind.not_null && b.not_null => (
                format!("NOT NULL on {}.{} (rows holding NULL)", from.name, b.name),
                count(
                    conn,
                    &format!("SELECT count(*) FROM {t} WHERE {} IS NULL", ident(&b.name)),
                ),
            ),
            TableChange::AddUnique(u) => (
                format!("UNIQUE on {} (duplicate rows)", from.name),
                count(conn, &duplicates_sql(t, &key_terms(&u.columns), None)),
            ),
            TableChange::SetPrimaryKey { to: Some(pk), .. } => (
                format!("primary key of {} (duplicate or NULL keys)", from.name),
                count(conn, &duplicates_sql(t, &key_terms(&pk.columns), None)),
            ),
            TableChange::SetWithoutRowid(true) => (
                format!("WITHOUT ROWID on {} (NULL primary keys)", from.name),
                to.primary_key.as_ref().and_then(|pk| {
                    let nulls = key_terms(&pk.columns)
                        .iter()
                        .map(|t| format!("{t} IS NULL"))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    count(conn, &format!("SELECT count(*) FROM {t} WHERE {nulls}"))
                }),
            ),
            TableChange::SetStrict(true) => (
                format!("STRICT on {} (values the column types reject)", from.name),
                strict_misfits(conn, t, to),
            ),
            TableChange::ModifyColumn { kind, .. } if kind.sql_type && to.strict && from.strict => {
                (
                    format!(
                        "column types of STRICT table {} (values the new types reject)",
                        from.name
                    ),
                    strict_misfits(conn, t, to),
                )
            }
            TableChange::AddIndex(i) if i.unique => (
                format!("unique index {} (duplicate rows)", i.name),
                count(
                    conn,
                    &duplicates_sql(t, &key_terms(&i.parts), i.where_clause.as_deref()),
                ),
            ),
            TableChange::AddCheck(ch) => (
                format!("CHECK ({}) on {}", ch.expr, from.name),
                count(
                    conn,
                    &format!("SELECT count(*) FROM {t} WHERE NOT ({})", ch.expr),
                ),
            ),
            TableChange::AddForeignKey(fk) => (
                format!(
                    "FOREIGN KEY ({}) REFERENCES {} (orphan rows)",
                    fk.columns.join(", "),
                    fk.ref_table
                ),
                orphans(conn, t, fk, target, table_renames),
            ),
            _ => return None,
        })
    }
}

fn orphans(
    conn: &Connection,
    rel: &str,
    fk: &ForeignKey,
    target: &Schema,
    table_renames: &TableRenames<'_>,
) -> Option<i64> {
    // A key to a table the target does not have either can hold no row: no check (as the
    // apply stage's foreign_key_check leaves it alone).
    target.table(&fk.ref_table)?;
    // The parent as it is named in the database now.
    let parent = table_renames
        .iter()
        .find(|(new, _)| same_name(new, &fk.ref_table))
        .map(|(_, old)| old.to_string())
        .unwrap_or_else(|| fk.ref_table.clone());
    let parent_cols: Vec<String> = if fk.ref_columns.is_empty() {
        target
            .table(&fk.ref_table)?
            .pk_columns()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        fk.ref_columns.clone()
    };
    if parent_cols.len() != fk.columns.len() {
        return None;
    }
    let child_cols: Vec<String> = fk.columns.clone();
    let not_null = child_cols
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let parent_exists = count(
        conn,
        &format!(
            "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name = {} COLLATE NOCASE",
            literal(&parent)
        ),
    )
    .unwrap_or(0)
        > 0;
    if !parent_exists {
        return count(
            conn,
            &format!("SELECT count(*) FROM {rel} AS c WHERE {not_null}"),
        );
    }
    let join = child_cols
        .iter()
        .zip(&parent_cols)
        .map(|(c, p)| format!("p.{} = c.{}", ident(p), ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    count(
        conn,
        &format!(
            "SELECT count(*) FROM {rel} AS c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {join})",
            ident(&parent)
        ),
    )
}

/// Live rows a destructive change would lose: the rows of a dropped table, the non-NULL
/// values of a dropped or converted column, the rows a `DELETE` may remove (all of the
/// table's, at most). What the prompt of a destructive `migrate` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtStake {
    /// The change, in words.
    pub change: String,
    /// `None` when the rows cannot be counted (the table is not in the database as named).
    pub rows: Option<i64>,
}

/// [`AtStake`] for each destructive change among `changes`.
pub(crate) fn at_stake(conn: &Connection, changes: &[crate::diff::Described]) -> Vec<AtStake> {
    use crate::risk::Hazard;
    changes
        .iter()
        .filter_map(|d| {
            let sql = match d.hazard.as_ref()? {
                Hazard::DropsTable { table } | Hazard::DeletesRows { table } => {
                    format!("SELECT count(*) FROM {}", ident(table))
                }
                Hazard::DropsColumn { table, column }
                | Hazard::ConvertsValues { table, column, .. } => format!(
                    "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                    ident(table),
                    ident(column)
                ),
                _ => return None,
            };
            Some(AtStake {
                change: d.text.clone(),
                rows: count(conn, &sql),
            })
        })
        .collect()
}
