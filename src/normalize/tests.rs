//! The shortcut of [`canonical_against`] against the whole round trip ([`canonical_whole`]):
//! random models, live databases that match them in some tables and not in others.

use super::*;
use crate::inspect::inspect_live;
use crate::model::builder::{col, table, SchemaBuilder, TableBuilder};
use crate::model::{Index, IndexPart};
use proptest::prelude::*;

const TABLES: [&str; 6] = ["item", "Owner", "odd name", "t_3", "select", "zeta"];
const TYPES: [&str; 6] = ["INTEGER", "TEXT", "real", "", "VARCHAR(10)", "BLOB"];
const STRICT_TYPES: [&str; 6] = ["INTEGER", "TEXT", "REAL", "ANY", "INT", "BLOB"];
const DEFAULTS: [&str; 5] = ["0", "'x'", "(1 + 2)", "CURRENT_TIMESTAMP", "-1"];

#[derive(Debug, Clone)]
struct ColSpec {
    ty: usize,
    not_null: bool,
    default: Option<usize>,
    nocase: bool,
    check: bool,
}

#[derive(Debug, Clone)]
struct TableSpec {
    pk: bool,
    cols: Vec<ColSpec>,
    index: Option<(usize, bool, bool)>,
    parent: Option<usize>,
    strict: bool,
}

/// What the live database did to a table after it was created from the first model.
#[derive(Debug, Clone, Copy)]
enum Live {
    AsCreated,
    /// `ALTER TABLE .. ADD COLUMN`: the stored text matches no render any more.
    AddedColumn,
    /// The same table written by hand on one line: same meaning, other text.
    Rewritten,
}

/// What the model then declares for the table.
#[derive(Debug, Clone, Copy)]
enum Edit {
    Keep,
    AddColumn,
    DropIndex,
    NoCaseFirst,
}

fn col_spec() -> impl Strategy<Value = ColSpec> {
    (
        0..TYPES.len(),
        any::<bool>(),
        proptest::option::of(0..DEFAULTS.len()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(ty, not_null, default, nocase, check)| ColSpec {
            ty,
            not_null,
            default,
            nocase,
            check,
        })
}

fn table_spec() -> impl Strategy<Value = TableSpec> {
    (
        any::<bool>(),
        proptest::collection::vec(col_spec(), 1..4),
        proptest::option::of((0..4usize, any::<bool>(), any::<bool>())),
        proptest::option::of(0..TABLES.len()),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(pk, cols, index, parent, strict)| TableSpec {
            pk,
            cols,
            index,
            parent,
            strict,
        })
}

fn live_kind() -> impl Strategy<Value = Live> {
    prop_oneof![
        3 => Just(Live::AsCreated),
        1 => Just(Live::AddedColumn),
        1 => Just(Live::Rewritten),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Keep),
        1 => Just(Edit::AddColumn),
        1 => Just(Edit::DropIndex),
        1 => Just(Edit::NoCaseFirst),
    ]
}

fn build_table(i: usize, n: usize, spec: &TableSpec, edit: Edit) -> TableBuilder {
    let mut t = table(TABLES[i]);
    if spec.pk {
        t = t.column(col("id", "INTEGER").primary_key());
    }
    for (j, c) in spec.cols.iter().enumerate() {
        let ty = if spec.strict {
            STRICT_TYPES[c.ty]
        } else {
            TYPES[c.ty]
        };
        let mut b = col(&format!("c{j}"), ty);
        if c.not_null {
            b = b.not_null();
        }
        if let Some(d) = c.default {
            b = b.default_sql(DEFAULTS[d]);
        }
        if c.nocase || (j == 0 && matches!(edit, Edit::NoCaseFirst)) {
            b = b.collate("NOCASE");
        }
        if c.check {
            b = b.check(&format!("length(\"c{j}\") < 100"));
        }
        t = t.column(b);
    }
    if matches!(edit, Edit::AddColumn) {
        t = t.column(col("added", "TEXT").default_sql("'new'"));
    }
    if let Some(p) = spec.parent {
        t = t.column(col("parent", "INTEGER").references(TABLES[p % n], None));
    }
    if let (Some((c, unique, partial)), false) = (spec.index, matches!(edit, Edit::DropIndex)) {
        let c = format!("c{}", c % spec.cols.len());
        t = t.create_index(Index {
            name: format!("ix_{i}"),
            unique,
            parts: vec![IndexPart::column(c.clone())],
            where_clause: partial.then(|| format!("\"{c}\" IS NOT NULL")),
        });
    }
    if spec.strict {
        t = t.strict();
    }
    t
}

fn build(specs: &[TableSpec], edits: &[Edit], extras: (bool, bool)) -> Result<Schema> {
    let mut b = SchemaBuilder::new();
    for (i, s) in specs.iter().enumerate() {
        let e = edits.get(i).copied().unwrap_or(Edit::Keep);
        b = b.table(build_table(i, specs.len(), s, e));
    }
    if extras.0 {
        b = b.view(
            "v_items",
            "CREATE VIEW \"v_items\" AS SELECT * FROM \"item\"",
        );
    }
    if extras.1 {
        b = b.trigger(
            "tr_item",
            "item",
            "CREATE TRIGGER \"tr_item\" AFTER INSERT ON \"item\" BEGIN SELECT 1; END",
        );
    }
    b.build()
}

fn live_db(first: &Schema, live: &[Live]) -> Connection {
    let conn = scratch().unwrap();
    for stmt in ddl::create_all(first) {
        conn.execute_batch(&stmt).unwrap();
    }
    for (t, how) in first.tables.iter().zip(live) {
        let name = crate::sql::ident(&t.name);
        match how {
            Live::AsCreated => {}
            Live::AddedColumn => conn
                .execute_batch(&format!(
                    "ALTER TABLE {name} ADD COLUMN \"added\" TEXT DEFAULT 'new'"
                ))
                .unwrap(),
            Live::Rewritten => {
                let one_line = ddl::create_table(t).replace('\n', " ");
                conn.execute_batch(&format!(
                    "DROP TABLE {name}; create  table{};",
                    &one_line["CREATE TABLE".len()..]
                ))
                .unwrap();
                for ix in &t.indexes {
                    conn.execute_batch(&ddl::create_index(&t.name, ix)).unwrap();
                }
            }
        }
    }
    conn
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]
    #[test]
    fn the_shortcut_gives_the_whole_round_trips_schema(
        specs in proptest::collection::vec(table_spec(), 1..=TABLES.len()),
        live in proptest::collection::vec(live_kind(), TABLES.len()),
        edits in proptest::collection::vec(edit(), TABLES.len()),
        extras in (any::<bool>(), any::<bool>()),
    ) {
        let first = build(&specs, &[], (false, false));
        prop_assume!(first.is_ok());
        let model = build(&specs, &edits, extras);
        prop_assume!(model.is_ok());
        let (first, model) = (first.unwrap(), model.unwrap());
        let conn = live_db(&first, &live);
        let inspected = inspect_live(&conn, &Reserved::default()).unwrap();
        let whole = canonical_whole(&model, &Reserved::default());
        let short = canonical_against(&model, &Reserved::default(), Some(&inspected));
        match (&whole, short) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, &b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "whole {a:?}, shortcut {b:?}"),
        }
        // Without a live database (a first migration): batches only.
        let alone = canonical_against(&model, &Reserved::default(), None);
        prop_assert_eq!(alone.ok(), whole.ok());
    }
}

fn two_tables() -> Schema {
    SchemaBuilder::new()
        .table(
            table("a")
                .column(col("id", "INTEGER").primary_key())
                .column(col("n", "TEXT").not_null())
                .index("ix_a_n", &["n"]),
        )
        .table(table("b").column(col("x", "INTEGER").references("a", None)))
        .build()
        .unwrap()
}

/// Marks every live table's first column type: only a table reused from the live schema
/// keeps the mark.
fn marked(conn: &Connection) -> Inspected {
    let mut inspected = inspect_live(conn, &Reserved::default()).unwrap();
    for t in &mut inspected.schema.tables {
        t.columns[0].sql_type.push_str(" MARK");
    }
    inspected
}

#[test]
fn a_table_stored_as_rendered_is_taken_from_the_live_schema() {
    let model = two_tables();
    let conn = live_db(&model, &[Live::AsCreated, Live::Rewritten]);
    let got = canonical_against(&model, &Reserved::default(), Some(&marked(&conn))).unwrap();
    assert_eq!(got.tables[0].columns[0].sql_type, "INTEGER MARK", "{got:?}");
    assert_eq!(got.tables[1].columns[0].sql_type, "INTEGER", "{got:?}");
}

#[test]
fn a_table_with_another_index_or_collation_takes_the_round_trip() {
    let model = two_tables();
    let conn = live_db(&model, &[Live::AsCreated, Live::AsCreated]);
    conn.execute_batch("CREATE INDEX ix_extra ON a (id)")
        .unwrap();
    let got = canonical_against(&model, &Reserved::default(), Some(&marked(&conn))).unwrap();
    assert_eq!(got.tables[0].columns[0].sql_type, "INTEGER");
    assert_eq!(got.tables[0].indexes.len(), 1);
    assert_eq!(got.tables[1].columns[0].sql_type, "INTEGER MARK");

    // A collation only the app's connection knows: the round trip must say so.
    let mut custom = two_tables();
    custom.tables[1].columns[0].collate = Some("appcoll".into());
    // Stored as rendered, written where no connection checks the collation.
    let conn = live_db(&model, &[Live::AsCreated, Live::AsCreated]);
    let v: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch("PRAGMA writable_schema=ON").unwrap();
    conn.execute(
        "UPDATE sqlite_schema SET sql = ?1 WHERE name = 'b'",
        [ddl::create_table(&custom.tables[1])],
    )
    .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA schema_version = {}; PRAGMA writable_schema=OFF",
        v + 1
    ))
    .unwrap();
    let live = inspect_live(&conn, &Reserved::default()).unwrap();
    let e = canonical_against(&custom, &Reserved::default(), Some(&live)).unwrap_err();
    assert!(e.to_string().contains("appcoll"), "{e}");
}

#[test]
fn names_that_collide_get_sqlites_own_error() {
    let mut model = two_tables();
    model.tables[1].indexes.push(Index {
        name: "A".into(),
        unique: false,
        parts: vec![IndexPart::column("x")],
        where_clause: None,
    });
    let e = canonical_against(&model, &Reserved::default(), None).unwrap_err();
    assert!(e.to_string().contains("already a table named A"), "{e}");
}
