//! Property test: random schema pairs A and B. From A holding rows, dbm generates the
//! migration to B (verified on a scratch copy), applies up: the schema is B and the rows of
//! surviving columns are intact; applies down: the schema is A again (compared with an
//! independent snapshot of a database built from A) and the rows are intact.
//!
//! A second property renames random tables and columns of B with `renamed_from` hints: their
//! rows survive up and down, natively renamed or folded into a rebuild.
//!
//! CI runs 1,000 + 500 cases (`PROPTEST_CASES` changes both); a longer local run:
//! `PROPTEST_CASES=20000 cargo test --release --test proptest_roundtrip`.

mod common;

use dbm::model::{
    Check, Column, FkAction, ForeignKey, Index, IndexPart, PrimaryKey, Schema, Table, Unique,
};
use dbm::{PlanOptions, Reserved};
use proptest::prelude::*;
use rusqlite::Connection;
use std::collections::BTreeMap;

const TABLES: [&str; 3] = ["t0", "odd \"name\"", "t2"];
const COLS: [&str; 5] = ["c0", "c1", "Mixed Case", "c3", "order"];
const TYPES: [&str; 7] = [
    "INTEGER",
    "TEXT",
    "REAL",
    "BLOB",
    "VARCHAR(10)",
    "NUMERIC",
    "",
];
const DEFAULTS: [Option<&str>; 6] = [
    None,
    Some("0"),
    Some("'x'"),
    Some("-1"),
    Some("(1 + 1)"),
    Some("CURRENT_TIMESTAMP"),
];

#[derive(Debug, Clone)]
struct ColSpec {
    present: bool,
    ty: usize,
    not_null: bool,
    default: usize,
    nocase: bool,
    check: bool,
    unique: bool,
    index: bool,
    fk: Option<usize>,
}

#[derive(Debug, Clone)]
struct TableSpec {
    present: bool,
    cols: Vec<ColSpec>,
    without_rowid: bool,
    table_check: bool,
    autoinc: bool,
}

fn col_spec() -> impl Strategy<Value = ColSpec> {
    (
        any::<bool>(),
        0..TYPES.len(),
        any::<bool>(),
        0..DEFAULTS.len(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.25),
        prop::option::weighted(0.15, 0..TABLES.len()),
    )
        .prop_map(
            |(present, ty, not_null, default, nocase, check, unique, index, fk)| ColSpec {
                present,
                ty,
                not_null,
                default,
                nocase,
                check,
                unique,
                index,
                fk,
            },
        )
}

fn table_spec() -> impl Strategy<Value = TableSpec> {
    (
        prop::bool::weighted(0.85),
        prop::collection::vec(col_spec(), COLS.len()),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(present, cols, without_rowid, table_check, autoinc)| TableSpec {
                present,
                cols,
                without_rowid,
                table_check,
                autoinc: autoinc && !without_rowid,
            },
        )
}

fn schema_spec() -> impl Strategy<Value = Vec<TableSpec>> {
    prop::collection::vec(table_spec(), TABLES.len())
}

/// Makes the pair consistent with the rows the test inserts: every present column holds a
/// distinct text value, except foreign-key columns, which hold NULL.
fn harmonise(a: &mut [TableSpec], b: &mut [TableSpec]) {
    for ti in 0..TABLES.len() {
        for ci in 0..COLS.len() {
            let fk_any = a[ti].cols[ci].fk.is_some() || b[ti].cols[ci].fk.is_some();
            for s in [&mut *a, &mut *b] {
                let c = &mut s[ti].cols[ci];
                if fk_any {
                    // NULL is the only value that fits any parent: no NOT NULL, no default.
                    c.not_null = false;
                    c.unique = false;
                    c.default = 0;
                }
                if let Some(p) = c.fk {
                    // Only reference tables present in this schema.
                    if !s[p].present {
                        s[ti].cols[ci].fk = None;
                    }
                }
            }
            // A NOT NULL column without default cannot appear in a table with rows.
            let (in_a, in_b) = (
                a[ti].present && a[ti].cols[ci].present,
                b[ti].present && b[ti].cols[ci].present,
            );
            for (s, other_has) in [(&mut *a, in_b), (&mut *b, in_a)] {
                let c = &mut s[ti].cols[ci];
                if !other_has && c.unique {
                    // An added UNIQUE column can only be filled with (distinct) NULLs.
                    c.not_null = false;
                    c.default = 0;
                }
                if !other_has && c.not_null && DEFAULTS[c.default].is_none() {
                    c.default = 1;
                }
            }
        }
    }
}

/// Names of tables and columns in one schema of a pair, with rename hints (the renames
/// property renames some of B's tables and columns).
#[derive(Debug, Clone, Default)]
struct Names {
    /// Renamed tables: index → true.
    tables: Vec<bool>,
    /// Renamed columns: (table, column) → true.
    cols: Vec<Vec<bool>>,
}

impl Names {
    fn table(&self, ti: usize) -> String {
        if self.tables.get(ti).copied().unwrap_or(false) {
            format!("{} v2", TABLES[ti])
        } else {
            TABLES[ti].to_string()
        }
    }
    fn col(&self, ti: usize, ci: usize) -> String {
        if self
            .cols
            .get(ti)
            .and_then(|c| c.get(ci))
            .copied()
            .unwrap_or(false)
        {
            format!("{}_renamed", COLS[ci])
        } else {
            COLS[ci].to_string()
        }
    }
}

fn build(spec: &[TableSpec]) -> Schema {
    build_named(spec, &Names::default())
}

fn build_named(spec: &[TableSpec], names: &Names) -> Schema {
    let mut s = Schema::default();
    for (ti, ts) in spec.iter().enumerate() {
        if !ts.present {
            continue;
        }
        let renamed = names.table(ti) != TABLES[ti];
        let mut t = Table {
            name: names.table(ti),
            renamed_from: renamed.then(|| TABLES[ti].to_string()),
            without_rowid: ts.without_rowid,
            ..Table::default()
        };
        t.columns.push(Column {
            name: "id".into(),
            sql_type: "INTEGER".into(),
            not_null: true,
            ..Column::default()
        });
        t.primary_key = Some(PrimaryKey {
            name: None,
            columns: vec![IndexPart::column("id")],
            autoincrement: ts.autoinc,
            on_conflict: None,
            inline: true,
        });
        for (ci, cs) in ts.cols.iter().enumerate() {
            if !cs.present {
                continue;
            }
            let col_name = names.col(ti, ci);
            let name = col_name.as_str();
            t.columns.push(Column {
                name: name.into(),
                renamed_from: (name != COLS[ci]).then(|| COLS[ci].to_string()),
                sql_type: TYPES[cs.ty].into(),
                not_null: cs.not_null,
                default: DEFAULTS[cs.default].map(str::to_string),
                collate: cs.nocase.then(|| "NOCASE".to_string()),
                ..Column::default()
            });
            if cs.check {
                t.checks.push(Check {
                    name: None,
                    expr: format!("length({}) < 1000", ident(name)),
                    column: Some(name.into()),
                });
            }
            if cs.unique {
                t.uniques.push(Unique {
                    name: None,
                    columns: vec![IndexPart::column(name)],
                    on_conflict: None,
                });
            }
            if cs.index {
                t.indexes.push(Index {
                    name: format!("ix_{ti}_{ci}"),
                    unique: false,
                    parts: vec![IndexPart::column(name)],
                    where_clause: (ci % 2 == 0).then(|| format!("{} IS NOT NULL", ident(name))),
                });
            }
            if let Some(p) = cs.fk {
                t.foreign_keys.push(ForeignKey {
                    name: None,
                    columns: vec![name.into()],
                    ref_table: names.table(p),
                    ref_columns: vec!["id".into()],
                    on_delete: if ci % 2 == 0 {
                        FkAction::Cascade
                    } else {
                        FkAction::NoAction
                    },
                    on_update: FkAction::NoAction,
                    deferred: false,
                });
            }
        }
        if ts.table_check {
            t.checks.push(Check {
                name: Some(format!("ck_{ti}")),
                expr: "id > 0".into(),
                column: None,
            });
        }
        s.tables.push(t);
    }
    s
}

/// Quotes an identifier as SQL does.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What still differs between the database and the model, in words.
fn differences(conn: &Connection, model: &Schema) -> Vec<String> {
    dbm::compare(conn, &Reserved::default(), model)
        .unwrap()
        .changes()
        .into_iter()
        .map(|d| d.text)
        .collect()
}

fn create(schema: &Schema) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
    for stmt in schema.to_ddl() {
        c.execute_batch(&stmt)
            .unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    c.execute_batch("PRAGMA foreign_keys=ON").unwrap();
    c
}

fn seed(c: &Connection, schema: &Schema, other: &Schema) {
    for t in &schema.tables {
        for row in 1..=3 {
            let mut names = vec!["\"id\"".to_string()];
            let mut vals = vec![row.to_string()];
            for col in t.columns.iter().skip(1) {
                names.push(ident(&col.name));
                let fk_in = |s: &Schema| {
                    s.table(&t.name)
                        .is_some_and(|t2| t2.foreign_keys.iter().any(|f| f.columns[0] == col.name))
                };
                let is_fk = fk_in(schema) || fk_in(other);
                vals.push(if is_fk {
                    "NULL".into()
                } else {
                    format!("'v{row}_{}'", col.name.len()) + &format!(" || '{}'", row * 7)
                });
            }
            c.execute_batch(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                ident(&t.name),
                names.join(", "),
                vals.join(", ")
            ))
            .unwrap();
        }
    }
}

/// Values of `table.column` by id.
fn values(c: &Connection, schema: &Schema) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for t in &schema.tables {
        for col in &t.columns {
            let mut s = c
                .prepare(&format!(
                    "SELECT CAST({} AS TEXT) FROM {} ORDER BY \"id\"",
                    ident(&col.name),
                    ident(&t.name)
                ))
                .unwrap();
            let v: Vec<String> = s
                .query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|r| r.unwrap().unwrap_or_else(|| "NULL".into()))
                .collect();
            out.insert((t.name.clone(), col.name.clone()), v);
        }
    }
    out
}

fn run(sql: &str, c: &Connection) {
    c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
    c.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let bad: i64 = c
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(bad, 0, "foreign key violations after\n{sql}");
    c.execute_batch("PRAGMA foreign_keys=ON").unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn migrate_up_and_down_keeps_schema_and_rows(a in schema_spec(), b in schema_spec()) {
        check(a, b, vec![false; TABLES.len()], vec![false; TABLES.len() * COLS.len()]);
    }
}

/// Migrates A (with rows) to B, where the tables and columns flagged in `ren_t`/`ren_c` are
/// renamed in B with `renamed_from` hints, then back: B's schema after up, A's (compared
/// with an independent snapshot) after down, and the rows of every surviving column — under
/// its new name after up — intact.
fn check(
    mut a_spec: Vec<TableSpec>,
    mut b_spec: Vec<TableSpec>,
    ren_t: Vec<bool>,
    ren_c: Vec<bool>,
) {
    harmonise(&mut a_spec, &mut b_spec);
    // Only things present on both sides can be renamed.
    let names = Names {
        tables: (0..TABLES.len())
            .map(|ti| ren_t[ti] && a_spec[ti].present && b_spec[ti].present)
            .collect(),
        cols: (0..TABLES.len())
            .map(|ti| {
                (0..COLS.len())
                    .map(|ci| {
                        ren_c[ti * COLS.len() + ci]
                            && a_spec[ti].present
                            && b_spec[ti].present
                            && a_spec[ti].cols[ci].present
                            && b_spec[ti].cols[ci].present
                    })
                    .collect()
            })
            .collect(),
    };
    let (a, b) = (build(&a_spec), build_named(&b_spec, &names));
    let conn = create(&a);
    seed(&conn, &a, &build(&b_spec));
    let before = values(&conn, &a);
    let reserved = Reserved::default();
    let Some(mig) = dbm::generate(&conn, &reserved, &b, 1, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("generate: {e}"))
    else {
        let left = differences(&conn, &b);
        assert!(left.is_empty(), "no migration, yet different: {left:?}");
        return;
    };
    run(&mig.up_sql, &conn);
    let left = differences(&conn, &b);
    assert!(left.is_empty(), "after up: {left:?}\n{}", mig.up_sql);
    let after_up = values(&conn, &b);
    // (name in A, name in B) of every table.column, the primary key `id` included.
    let pairs: Vec<((String, String), (String, String))> = TABLES
        .iter()
        .enumerate()
        .flat_map(|(ti, tname)| {
            let names = &names;
            std::iter::once((
                (tname.to_string(), "id".to_string()),
                (names.table(ti), "id".to_string()),
            ))
            .chain(COLS.iter().enumerate().map(move |(ci, cname)| {
                (
                    (tname.to_string(), cname.to_string()),
                    (names.table(ti), names.col(ti, ci)),
                )
            }))
        })
        .collect();
    for (old, new) in &pairs {
        if let (Some(x), Some(y)) = (before.get(old), after_up.get(new)) {
            assert_eq!(
                x, y,
                "rows of {old:?} -> {new:?} changed by up\n{}",
                mig.up_sql
            );
        }
    }
    run(&mig.down_sql, &conn);
    assert_eq!(
        common::snapshot_conn(&conn),
        common::snapshot_conn(&create(&a)),
        "down does not restore A\n{}",
        mig.down_sql
    );
    let after_down = values(&conn, &a);
    for (old, new) in &pairs {
        if after_up.contains_key(new) {
            if let (Some(x), Some(y)) = (before.get(old), after_down.get(old)) {
                assert_eq!(x, y, "rows of {old:?} changed by up+down\n{}", mig.down_sql);
            }
        }
    }
    assert_eq!(
        conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(500),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn renames_keep_the_data(
        a in schema_spec(),
        b in schema_spec(),
        ren_t in prop::collection::vec(any::<bool>(), TABLES.len()),
        ren_c in prop::collection::vec(prop::bool::weighted(0.3), TABLES.len() * COLS.len()),
        only_renames in prop::bool::weighted(0.4),
    ) {
        // Often B is A with renames only, so the native RENAME forms are exercised too.
        let b = if only_renames { a.clone() } else { b };
        check(a, b, ren_t, ren_c);
    }
}
