//! Property test: a schema written as model TOML (`Schema::to_toml`, what `create-model` and
//! a `--model-command` program print) parses back to the same schema.
//!
//! 1. Arbitrary valid `Schema` values, drawn field by field (odd types and identifiers,
//!    every constraint form, indexes, views, triggers, rename hints).
//! 2. Schemas inspect reads from a real database built from such a schema's DDL.
//!
//! Both compare in one normal form, [`normal`]: where a single-column primary key is
//! declared (`inline`) is kept only where SQLite makes it matter.
//!
//! 400 cases each by default (`PROPTEST_CASES` overrides):
//! `PROPTEST_CASES=20000 cargo test --release --test model_toml`.

use dbm::model::{
    file, Check, Column, Conflict, FkAction, ForeignKey, Generated, Index, IndexPart, Order,
    PrimaryKey, Schema, Table, Trigger, Unique, View,
};
use dbm::Reserved;
use proptest::prelude::*;
use rusqlite::Connection;

/// Table names: keywords, quotes, the characters a `references` string quotes, white space
/// at the ends, mixed case, non-ASCII. Distinct ASCII-case-insensitively.
const TABLES: &[&str] = &[
    "user",
    "Order",
    "odd \"name\"",
    "with space",
    "select",
    "it's",
    "p,(x)",
    " lead",
    "back\\slash",
    "new\nline",
    "café",
    "MiXeD",
    "dot.ted",
];
const COLS: &[&str] = &[
    "id",
    "c1",
    "Mixed Case",
    "order",
    "a\"b",
    "x,(y)",
    "group",
    "it's",
    "tab\tcol",
    "ünï",
    " sp ",
    "KEY",
];
const OLD_NAMES: &[&str] = &["old", "Old Name", "was \"q\"", "x(y)"];
const CONSTRAINT_NAMES: &[&str] = &["pk", "Named Key", "ck \"q\"", "order", "u,(1)"];
const INDEX_NAMES: &[&str] = &["ix_", "Ix Odd \"q\" ", "idx.dot", "IX "];
const VIEWS: &[&str] = &["v", "V Odd \"q\"", "view", "v,(2)"];
const TRIGGERS: &[&str] = &["tr", "Tr Odd \"q\"", "trigger"];
/// Declared types: empty, friendly-spellable ones and spellings that must stay verbatim.
const TYPES: &[&str] = &[
    "",
    "INTEGER",
    "Integer",
    "TEXT",
    "VARCHAR(64)",
    "varchar(64)",
    "VARCHAR( 64 )",
    "UNSIGNED BIG INT",
    "DECIMAL(10,2)",
    "DECIMAL(10, 2)",
    "BOOLEAN",
    "DATETIME",
    "string",
    "DOUBLE PRECISION",
    "NUMERIC(10,-2)",
    "BLOB",
    "ANY",
];
const STRICT_TYPES: &[&str] = &["INTEGER", "INT", "TEXT", "REAL", "BLOB", "ANY"];
const DEFAULTS: &[&str] = &[
    "0",
    "-1",
    "+1",
    "1.5",
    "-0.25",
    "'it''s'",
    "'a\"b'",
    "''",
    "'multi\nline'",
    "'back\\slash'",
    "CURRENT_TIMESTAMP",
    "(datetime('now'))",
    "(1 + 1)",
    "NULL",
    "TRUE",
    "x'00ff'",
];
const COLLATIONS: &[&str] = &["NOCASE", "RTRIM", "BINARY", "nocase"];
const ODD_COLLATIONS: &[&str] = &["my coll", "q\"uote"];
const CONFLICTS: [Conflict; 5] = [
    Conflict::Rollback,
    Conflict::Abort,
    Conflict::Fail,
    Conflict::Ignore,
    Conflict::Replace,
];
const ACTIONS: [FkAction; 5] = [
    FkAction::NoAction,
    FkAction::Restrict,
    FkAction::SetNull,
    FkAction::SetDefault,
    FkAction::Cascade,
];
/// Expressions; `{c}` is a (quoted) column of the table.
const GENERATED: &[&str] = &["1 + 2", "length('ab')", "'it''s'", "(3)\n* 2"];
const CHECKS: &[&str] = &[
    "1",
    "length('x') > 0",
    "{c} IS NOT NULL",
    "{c} <> 'it''s'",
    "({c}) -- note\n",
    "{c}\tIN (1, 2)",
];
const INDEX_EXPRS: &[&str] = &["lower({c})", "{c} + 1", "length({c}) * 2", "{c} || 'x'"];
const WHERES: &[&str] = &["{c} IS NOT NULL", "{c} > 0 AND 1", "{c} <> 'a''b'"];

fn qi(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn pick<T: Copy>(pool: &[T], i: usize) -> T {
    pool[i % pool.len()]
}

#[derive(Debug, Clone)]
struct ColSpec {
    ty: usize,
    not_null: bool,
    on_conflict: Option<usize>,
    default: Option<usize>,
    collate: Option<usize>,
    generated: Option<(usize, bool)>,
    renamed: Option<usize>,
}

/// One key or index term: a column (by position), or an expression on one.
#[derive(Debug, Clone)]
struct PartSpec {
    col: usize,
    expr: Option<usize>,
    /// Write the column name in upper case (SQLite folds ASCII case).
    upper: bool,
    collate: Option<usize>,
    desc: bool,
}

#[derive(Debug, Clone)]
struct KeySpec {
    parts: Vec<PartSpec>,
    name: Option<usize>,
    conflict: Option<usize>,
    autoincrement: bool,
}

#[derive(Debug, Clone)]
enum PkSpec {
    None,
    Inline(KeySpec),
    Table(KeySpec),
}

#[derive(Debug, Clone)]
struct CheckSpec {
    expr: usize,
    name: Option<usize>,
    column: Option<usize>,
}

#[derive(Debug, Clone)]
struct FkSpec {
    cols: Vec<usize>,
    upper: bool,
    target: usize,
    to_pk: bool,
    ref_cols: Vec<usize>,
    on_delete: usize,
    on_update: usize,
    deferred: bool,
    name: Option<usize>,
}

#[derive(Debug, Clone)]
struct IndexSpec {
    name: usize,
    parts: Vec<PartSpec>,
    unique: bool,
    where_clause: Option<usize>,
}

#[derive(Debug, Clone)]
struct TableSpec {
    cols: Vec<usize>,
    col_specs: Vec<ColSpec>,
    renamed: Option<usize>,
    pk: PkSpec,
    uniques: Vec<KeySpec>,
    checks: Vec<CheckSpec>,
    fks: Vec<FkSpec>,
    indexes: Vec<IndexSpec>,
    without_rowid: bool,
    strict: bool,
}

#[derive(Debug, Clone)]
struct SchemaSpec {
    tables: Vec<usize>,
    specs: Vec<TableSpec>,
    views: Vec<(usize, usize, bool)>,
    triggers: Vec<(usize, usize, bool)>,
}

fn opt(n: usize, p: f64) -> impl Strategy<Value = Option<usize>> {
    prop::option::weighted(p, 0..n)
}

fn col_spec() -> impl Strategy<Value = ColSpec> {
    (
        0..64usize,
        any::<bool>(),
        opt(5, 0.3),
        opt(DEFAULTS.len(), 0.4),
        opt(8, 0.2),
        prop::option::weighted(0.15, (0..8usize, any::<bool>())),
        opt(OLD_NAMES.len(), 0.15),
    )
        .prop_map(
            |(ty, not_null, on_conflict, default, collate, generated, renamed)| ColSpec {
                ty,
                not_null,
                on_conflict,
                default,
                collate,
                generated,
                renamed,
            },
        )
}

fn part_spec() -> impl Strategy<Value = PartSpec> {
    (
        0..8usize,
        opt(8, 0.25),
        prop::bool::weighted(0.2),
        opt(8, 0.2),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(col, expr, upper, collate, desc)| PartSpec {
            col,
            expr,
            upper,
            collate,
            desc,
        })
}

fn key_spec() -> impl Strategy<Value = KeySpec> {
    (
        prop::collection::vec(part_spec(), 1..=3),
        opt(8, 0.3),
        opt(5, 0.3),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(parts, name, conflict, autoincrement)| KeySpec {
            parts,
            name,
            conflict,
            autoincrement,
        })
}

fn pk_spec() -> impl Strategy<Value = PkSpec> {
    prop_oneof![
        1 => Just(PkSpec::None),
        2 => key_spec().prop_map(PkSpec::Inline),
        2 => key_spec().prop_map(PkSpec::Table),
    ]
}

fn fk_spec() -> impl Strategy<Value = FkSpec> {
    (
        prop::collection::vec(0..8usize, 1..=2),
        prop::bool::weighted(0.2),
        0..8usize,
        any::<bool>(),
        prop::collection::vec(0..8usize, 2),
        (0..5usize, 0..5usize, any::<bool>()),
        opt(8, 0.3),
    )
        .prop_map(
            |(cols, upper, target, to_pk, ref_cols, (on_delete, on_update, deferred), name)| {
                FkSpec {
                    cols,
                    upper,
                    target,
                    to_pk,
                    ref_cols,
                    on_delete,
                    on_update,
                    deferred,
                    name,
                }
            },
        )
}

fn index_spec() -> impl Strategy<Value = IndexSpec> {
    (
        0..8usize,
        prop::collection::vec(part_spec(), 1..=3),
        any::<bool>(),
        opt(8, 0.3),
    )
        .prop_map(|(name, parts, unique, where_clause)| IndexSpec {
            name,
            parts,
            unique,
            where_clause,
        })
}

fn table_spec() -> impl Strategy<Value = TableSpec> {
    (
        prop::sample::subsequence((0..COLS.len()).collect::<Vec<_>>(), 1..=5).prop_shuffle(),
        prop::collection::vec(col_spec(), 5),
        opt(OLD_NAMES.len(), 0.15),
        pk_spec(),
        prop::collection::vec(key_spec(), 0..=2),
        prop::collection::vec(
            (0..16usize, opt(8, 0.4), opt(8, 0.5)).prop_map(|(expr, name, column)| CheckSpec {
                expr,
                name,
                column,
            }),
            0..=3,
        ),
        prop::collection::vec(fk_spec(), 0..=2),
        prop::collection::vec(index_spec(), 0..=2),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                cols,
                col_specs,
                renamed,
                pk,
                uniques,
                checks,
                fks,
                indexes,
                without_rowid,
                strict,
            )| {
                TableSpec {
                    cols,
                    col_specs,
                    renamed,
                    pk,
                    uniques,
                    checks,
                    fks,
                    indexes,
                    without_rowid,
                    strict,
                }
            },
        )
}

fn schema_spec() -> impl Strategy<Value = SchemaSpec> {
    (
        prop::sample::subsequence((0..TABLES.len()).collect::<Vec<_>>(), 1..=4).prop_shuffle(),
        prop::collection::vec(table_spec(), 4),
        prop::collection::vec((0..VIEWS.len(), 0..8usize, any::<bool>()), 0..=2),
        prop::collection::vec((0..TRIGGERS.len(), 0..8usize, any::<bool>()), 0..=2),
    )
        .prop_map(|(tables, specs, views, triggers)| SchemaSpec {
            tables,
            specs,
            views,
            triggers,
        })
}

/// Builds the schema a spec describes. `ddl`: only what SQLite executes (strict types, known
/// collations, no expressions in keys, AUTOINCREMENT only on a rowid alias, no default on a
/// generated column nor a generated column in the key).
fn build(spec: &SchemaSpec, ddl: bool) -> Schema {
    let names: Vec<&str> = spec.tables.iter().map(|&i| TABLES[i]).collect();
    let col_names: Vec<Vec<&str>> = spec
        .tables
        .iter()
        .zip(&spec.specs)
        .map(|(_, ts)| ts.cols.iter().map(|&c| COLS[c]).collect())
        .collect();
    let mut index_no = 0;
    let mut s = Schema::default();
    for (ti, (name, ts)) in names.iter().zip(&spec.specs).enumerate() {
        let cols = &col_names[ti];
        let c0 = qi(cols[0]);
        let expr = |pool: &[&str], i: usize| pick(pool, i).replace("{c}", &c0);
        let mut t = Table {
            name: name.to_string(),
            renamed_from: ts.renamed.map(|i| OLD_NAMES[i].to_string()),
            strict: ts.strict,
            ..Table::default()
        };
        for (&cname, cs) in cols.iter().zip(&ts.col_specs) {
            let generated = cs.generated.map(|(e, stored)| Generated {
                expr: pick(GENERATED, e).to_string(),
                stored,
            });
            let collations: Vec<&str> = if ddl {
                COLLATIONS.to_vec()
            } else {
                [COLLATIONS, ODD_COLLATIONS].concat()
            };
            t.columns.push(Column {
                name: cname.to_string(),
                renamed_from: cs.renamed.map(|i| OLD_NAMES[i].to_string()),
                sql_type: pick(if ts.strict { STRICT_TYPES } else { TYPES }, cs.ty).to_string(),
                not_null: cs.not_null,
                not_null_on_conflict: cs
                    .on_conflict
                    .filter(|_| cs.not_null)
                    .map(|i| CONFLICTS[i % 5]),
                default: cs
                    .default
                    .filter(|_| !(ddl && generated.is_some()))
                    .map(|i| DEFAULTS[i].to_string()),
                collate: cs
                    .collate
                    .and_then(|i| collations.get(i).map(|c| c.to_string())),
                generated,
            });
        }
        if ddl && t.columns.iter().all(|c| c.generated.is_some()) {
            t.columns[0].generated = None; // SQLite needs one stored column
        }
        let part = |p: &PartSpec, allow_expr: bool| -> IndexPart {
            let target = cols[p.col % cols.len()];
            let collations = if ddl { COLLATIONS } else { ODD_COLLATIONS };
            IndexPart {
                target: match p.expr {
                    Some(e) if allow_expr => pick(INDEX_EXPRS, e).replace("{c}", &qi(target)),
                    _ if p.upper => target.to_ascii_uppercase(),
                    _ => target.to_string(),
                },
                expr: allow_expr && p.expr.is_some(),
                collate: p
                    .collate
                    .and_then(|i| collations.get(i).map(|c| c.to_string())),
                order: if p.desc { Order::Desc } else { Order::Asc },
            }
        };
        let is_generated = |target: &str| {
            t.column(target)
                .is_some_and(|c| ddl && c.generated.is_some())
        };
        t.primary_key = match &ts.pk {
            PkSpec::None => None,
            PkSpec::Inline(k) => {
                let p = &k.parts[0];
                let target = cols[p.col % cols.len()];
                (!is_generated(target)).then(|| PrimaryKey {
                    name: k.name.map(|i| pick(CONSTRAINT_NAMES, i).to_string()),
                    columns: vec![IndexPart {
                        order: if p.desc { Order::Desc } else { Order::Asc },
                        ..IndexPart::column(target)
                    }],
                    autoincrement: k.autoincrement,
                    on_conflict: k.conflict.map(|i| CONFLICTS[i]),
                    inline: true,
                })
            }
            PkSpec::Table(k) => {
                let columns: Vec<IndexPart> = k
                    .parts
                    .iter()
                    .map(|p| part(p, !ddl))
                    .filter(|p| !is_generated(&p.target))
                    .collect();
                (!columns.is_empty()).then(|| PrimaryKey {
                    name: k.name.map(|i| pick(CONSTRAINT_NAMES, i).to_string()),
                    columns,
                    autoincrement: k.autoincrement,
                    on_conflict: k.conflict.map(|i| CONFLICTS[i]),
                    inline: false,
                })
            }
        };
        t.without_rowid = ts.without_rowid && t.primary_key.is_some();
        if ddl {
            // AUTOINCREMENT only on a rowid alias.
            let alias = t.rowid_alias().is_some()
                && t.primary_key.as_ref().is_some_and(|k| {
                    k.columns[0].order == Order::Asc && k.columns[0].collate.is_none()
                });
            if let Some(k) = &mut t.primary_key {
                k.autoincrement &= alias;
            }
        }
        for k in &ts.uniques {
            t.uniques.push(Unique {
                name: k.name.map(|i| pick(CONSTRAINT_NAMES, i).to_string()),
                columns: k.parts.iter().map(|p| part(p, !ddl)).collect(),
                on_conflict: k.conflict.map(|i| CONFLICTS[i]),
            });
        }
        if ddl {
            // SQLite refuses two ON CONFLICT clauses on one index: one per table.
            let first = t.primary_key.as_ref().and_then(|k| k.on_conflict);
            let first = first.or(t.uniques.iter().find_map(|u| u.on_conflict));
            for u in &mut t.uniques {
                u.on_conflict = u.on_conflict.and(first);
            }
        }
        for c in &ts.checks {
            t.checks.push(Check {
                name: c.name.map(|i| pick(CONSTRAINT_NAMES, i).to_string()),
                expr: expr(CHECKS, c.expr),
                column: c.column.map(|i| cols[i % cols.len()].to_string()),
            });
        }
        for f in &ts.fks {
            let target = f.target % names.len();
            let tcols = &col_names[target];
            let columns: Vec<String> = f
                .cols
                .iter()
                .map(|&i| {
                    let c = cols[i % cols.len()];
                    if f.upper {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let ref_columns = if f.to_pk {
                vec![]
            } else {
                f.ref_cols[..columns.len()]
                    .iter()
                    .map(|&i| tcols[i % tcols.len()].to_string())
                    .collect()
            };
            t.foreign_keys.push(ForeignKey {
                name: f.name.map(|i| pick(CONSTRAINT_NAMES, i).to_string()),
                columns,
                ref_table: names[target].to_string(),
                ref_columns,
                on_delete: ACTIONS[f.on_delete],
                on_update: ACTIONS[f.on_update],
                deferred: f.deferred,
            });
        }
        for i in &ts.indexes {
            index_no += 1;
            t.indexes.push(Index {
                name: format!("{}{index_no}", pick(INDEX_NAMES, i.name)),
                unique: i.unique,
                parts: i.parts.iter().map(|p| part(p, true)).collect(),
                where_clause: i.where_clause.map(|w| expr(WHERES, w)),
            });
        }
        s.tables.push(t);
    }
    let mut seen = std::collections::HashSet::new();
    for &(v, t, multi) in &spec.views {
        if !seen.insert(v) {
            continue;
        }
        let table = names[t % names.len()];
        let sql = if multi {
            format!(
                "CREATE VIEW {} AS\nSELECT 1 AS \"x\"\n  , 'it''s' AS y, * FROM {}",
                qi(VIEWS[v]),
                qi(table)
            )
        } else {
            format!(
                "CREATE VIEW {} AS SELECT * FROM {}",
                qi(VIEWS[v]),
                qi(table)
            )
        };
        s.views.push(View {
            name: VIEWS[v].to_string(),
            sql,
        });
    }
    seen.clear();
    for &(tr, t, multi) in &spec.triggers {
        if !seen.insert(tr) {
            continue;
        }
        let table = names[t % names.len()];
        let sql = if multi {
            format!(
                "CREATE TRIGGER {} AFTER INSERT ON {}\nBEGIN\n  SELECT 'a''''b', \"\\\";\nEND",
                qi(TRIGGERS[tr]),
                qi(table)
            )
        } else {
            format!(
                "CREATE TRIGGER {} AFTER INSERT ON {} BEGIN SELECT 1; END",
                qi(TRIGGERS[tr]),
                qi(table)
            )
        };
        s.triggers.push(Trigger {
            name: TRIGGERS[tr].to_string(),
            table: table.to_string(),
            sql,
        });
    }
    s
}

/// The one place the model has two spellings of the same schema: a single-column primary key
/// declared on its column (`inline`) or as a table constraint. SQLite tells them apart only
/// for `INTEGER PRIMARY KEY DESC` on a rowid table ([`Table::pk_desc_quirk`]); elsewhere the
/// TOML writes a key of one plain column on that column, which reads back as `inline`.
fn normal(s: &Schema) -> Schema {
    let mut s = s.clone();
    for t in &mut s.tables {
        let quirk = t.pk_desc_quirk();
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        if let Some(pk) = &mut t.primary_key {
            pk.inline = match pk.columns.as_slice() {
                [p] if !p.expr && p.collate.is_none() && names.contains(&p.target) => {
                    pk.inline || !quirk
                }
                _ => false,
            };
        }
    }
    s
}

fn round_trip(s: &Schema) -> Result<(), TestCaseError> {
    let text = s.to_toml();
    let back = file::parse(&text, "x.toml")
        .map_err(|e| TestCaseError::fail(format!("{e}\n--- TOML:\n{text}")))?;
    prop_assert_eq!(normal(&back), normal(s), "TOML:\n{}", text);
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// A drawn schema, valid as a model, survives TOML.
    #[test]
    fn model_survives_toml(spec in schema_spec()) {
        round_trip(&build(&spec, false))?;
    }

    /// A schema inspected from a real database survives TOML.
    #[test]
    fn inspected_survives_toml(spec in schema_spec()) {
        let s = build(&spec, true);
        let conn = Connection::open_in_memory().unwrap();
        for stmt in s.to_ddl() {
            if let Err(e) = conn.execute_batch(&stmt) {
                prop_assert!(false, "{e}: {stmt}");
            }
        }
        let inspected = dbm::inspect(&conn, &Reserved::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        round_trip(&inspected)?;
    }
}
