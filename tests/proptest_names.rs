//! Property test: SQLite's tables, indexes, views and triggers share one namespace. Random
//! schema pairs A and B draw each name of a small pool as a table, an index, a view or a
//! trigger (on any table), or leave it out, so names move between kinds and between tables
//! from A to B. From A holding rows, dbm generates the migration to B; up gives B, down gives
//! A again (compared with the model and with an independent snapshot), and the rows of tables
//! on both sides survive.
//!
//! CI runs 500 cases (`PROPTEST_CASES` changes it).

mod common;

use dbm::model::{Column, Index, IndexPart, PrimaryKey, Schema, Table, Trigger, View};
use dbm::{PlanOptions, Reserved};
use proptest::prelude::*;
use rusqlite::Connection;

/// Tables present in every schema, so indexes, views and triggers always have a home.
const ANCHORS: [&str; 2] = ["anchor_a", "anchor_b"];
/// The shared names.
const NAMES: [&str; 5] = ["n0", "n1", "n2", "n3", "odd \"n4\""];

#[derive(Debug, Clone)]
enum Kind {
    Absent,
    /// A table; `strict_b` makes its column `b` NOT NULL (a rebuild when it changes).
    Table {
        strict_b: bool,
    },
    /// An index on table `on` (an anchor or a pool table, see [`home`]), over `a`, `b` or both.
    Index {
        on: usize,
        cols: usize,
    },
    View {
        on: usize,
    },
    Trigger {
        on: usize,
    },
}

#[derive(Debug, Clone)]
struct Spec {
    names: Vec<Kind>,
    /// Anchors whose column `b` is NOT NULL.
    anchors_strict: Vec<bool>,
}

fn kind() -> impl Strategy<Value = Kind> {
    let on = 0..ANCHORS.len() + NAMES.len();
    prop_oneof![
        1 => Just(Kind::Absent),
        2 => any::<bool>().prop_map(|strict_b| Kind::Table { strict_b }),
        3 => (on.clone(), 0..3usize).prop_map(|(on, cols)| Kind::Index { on, cols }),
        2 => on.clone().prop_map(|on| Kind::View { on }),
        2 => on.prop_map(|on| Kind::Trigger { on }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(kind(), NAMES.len()),
        prop::collection::vec(prop::bool::weighted(0.3), ANCHORS.len()),
    )
        .prop_map(|(names, anchors_strict)| Spec {
            names,
            anchors_strict,
        })
}

/// The table `on` designates in `spec`: a pool name that is a table there, else an anchor.
fn home(spec: &Spec, on: usize) -> String {
    match on.checked_sub(ANCHORS.len()) {
        Some(i) if matches!(spec.names[i], Kind::Table { .. }) => NAMES[i].to_string(),
        _ => ANCHORS[on % ANCHORS.len()].to_string(),
    }
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn table(name: &str, strict_b: bool) -> Table {
    let col = |n: &str, ty: &str| Column {
        name: n.into(),
        sql_type: ty.into(),
        ..Column::default()
    };
    let mut b = col("b", "TEXT");
    if strict_b {
        b.not_null = true;
        b.default = Some("''".into());
    }
    Table {
        name: name.into(),
        columns: vec![
            Column {
                not_null: true,
                ..col("id", "INTEGER")
            },
            col("a", "TEXT"),
            b,
        ],
        primary_key: Some(PrimaryKey {
            name: None,
            columns: vec![IndexPart::column("id")],
            autoincrement: false,
            on_conflict: None,
            inline: true,
        }),
        ..Table::default()
    }
}

fn build(spec: &Spec) -> Schema {
    let mut s = Schema::default();
    for (i, a) in ANCHORS.iter().enumerate() {
        s.tables.push(table(a, spec.anchors_strict[i]));
    }
    for (i, k) in spec.names.iter().enumerate() {
        if let Kind::Table { strict_b } = k {
            s.tables.push(table(NAMES[i], *strict_b));
        }
    }
    for (i, k) in spec.names.iter().enumerate() {
        let name = NAMES[i];
        match *k {
            Kind::Absent | Kind::Table { .. } => {}
            Kind::Index { on, cols } => {
                let on = home(spec, on);
                let parts = match cols {
                    0 => vec![IndexPart::column("a")],
                    1 => vec![IndexPart::column("b")],
                    _ => vec![IndexPart::column("a"), IndexPart::column("b")],
                };
                let t = s.tables.iter_mut().find(|t| t.name == on).unwrap();
                t.indexes.push(Index {
                    name: name.into(),
                    unique: false,
                    parts,
                    where_clause: None,
                });
            }
            Kind::View { on } => s.views.push(View {
                name: name.into(),
                sql: format!(
                    "CREATE VIEW {} AS SELECT id, a FROM {}",
                    ident(name),
                    ident(&home(spec, on))
                ),
            }),
            Kind::Trigger { on } => {
                let on = home(spec, on);
                s.triggers.push(Trigger {
                    name: name.into(),
                    table: on.clone(),
                    sql: format!(
                        "CREATE TRIGGER {} AFTER UPDATE ON {} BEGIN SELECT 1; END",
                        ident(name),
                        ident(&on)
                    ),
                });
            }
        }
    }
    s
}

fn create(schema: &Schema) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    for stmt in schema.to_ddl() {
        c.execute_batch(&stmt)
            .unwrap_or_else(|e| panic!("{e}: {stmt}"));
    }
    c
}

fn seed(c: &Connection, schema: &Schema) {
    for t in &schema.tables {
        c.execute_batch(&format!(
            "INSERT INTO {t} (id, a, b) VALUES (1, 'x', 'y'), (5, 'z', 'w')",
            t = ident(&t.name)
        ))
        .unwrap();
    }
}

fn rows(c: &Connection, table: &str) -> Vec<String> {
    let mut s = c
        .prepare(&format!(
            "SELECT id || ':' || a || ':' || b FROM {} ORDER BY id",
            ident(table)
        ))
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn differences(conn: &Connection, model: &Schema) -> Vec<String> {
    dbm::compare(conn, &Reserved::default(), model)
        .unwrap()
        .changes()
        .into_iter()
        .map(|d| d.text)
        .collect()
}

fn run(sql: &str, c: &Connection) {
    c.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// Tables on both sides: their rows must be the same after up and after down.
fn shared_tables(a: &Schema, b: &Schema) -> Vec<String> {
    a.tables
        .iter()
        .filter(|t| b.tables.iter().any(|u| u.name == t.name))
        .map(|t| t.name.clone())
        .collect()
}

fn check(a_spec: Spec, b_spec: Spec) {
    let (a, b) = (build(&a_spec), build(&b_spec));
    let conn = create(&a);
    seed(&conn, &a);
    let shared = shared_tables(&a, &b);
    let before: Vec<_> = shared.iter().map(|t| rows(&conn, t)).collect();
    let Some(mig) = dbm::generate(&conn, &Reserved::default(), &b, 1, &PlanOptions::default())
        .unwrap_or_else(|e| panic!("generate: {e}"))
    else {
        let left = differences(&conn, &b);
        assert!(left.is_empty(), "no migration, yet different: {left:?}");
        return;
    };
    run(&mig.up_sql, &conn);
    let left = differences(&conn, &b);
    assert!(left.is_empty(), "after up: {left:?}\n{}", mig.up_sql);
    let after_up: Vec<_> = shared.iter().map(|t| rows(&conn, t)).collect();
    assert_eq!(before, after_up, "rows changed by up\n{}", mig.up_sql);
    run(&mig.down_sql, &conn);
    let left = differences(&conn, &a);
    assert!(left.is_empty(), "after down: {left:?}\n{}", mig.down_sql);
    assert_eq!(
        common::snapshot_conn(&conn),
        common::snapshot_conn(&create(&a)),
        "down does not restore A\n{}",
        mig.down_sql
    );
    let after_down: Vec<_> = shared.iter().map(|t| rows(&conn, t)).collect();
    assert_eq!(
        before, after_down,
        "rows changed by up+down\n{}",
        mig.down_sql
    );
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
    fn names_move_between_kinds_and_tables(a in spec(), b in spec()) {
        check(a, b);
    }
}
