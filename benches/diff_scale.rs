//! Diff/plan cost against schema size: schemas of 10, 100, 1,000 and 5,000 tables (each
//! with columns, an index, a foreign key and a CHECK), one added column.
//!
//! `cargo bench --bench diff_scale` (sizes: `DBM_BENCH_TABLES=10,100,1000,5000`).
//!
//! Prints, per stage, the median time, the time per table, and the growth of the time per
//! table from one size to the next (1.0 = linear; 10x the tables at 2.0 per-table growth
//! would mean the stage is quadratic).

#[path = "util/mod.rs"]
mod util;

use dbm::internals::{canonical, create_all, diff, plan};
use dbm::model::{self, Check, Column, Schema};
use dbm::{PlanOptions, Reserved};
use rusqlite::Connection;
use std::time::Duration;
use util::*;

fn name(i: usize) -> String {
    format!("t{i:05}")
}

/// n tables; table i references table i+1 (the last references itself): a foreign-key
/// chain against name order, the worst case for ordering parents before children.
fn ddl(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let parent = name(if i + 1 < n { i + 1 } else { i });
        let t = name(i);
        s.push_str(&format!(
            "CREATE TABLE {t} (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  \
             qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0),\n  price REAL,\n  \
             created TEXT DEFAULT CURRENT_TIMESTAMP,\n  \
             parent_id INTEGER REFERENCES {parent} (id) ON DELETE CASCADE\n);\n\
             CREATE INDEX ix_{t}_name ON {t} (name);\n"
        ));
    }
    s
}

/// The live model with one column added to the middle table (a native ADD COLUMN).
fn declared(live: &Schema, n: usize) -> Schema {
    let mut d = live.clone();
    let t = d.table_mut(&name(n / 2)).expect("middle table");
    t.columns.push(Column {
        name: "extra".into(),
        sql_type: "TEXT".into(),
        default: Some("'x'".into()),
        ..Default::default()
    });
    t.checks.push(Check {
        name: None,
        expr: "length(extra) < 100".into(),
        column: Some("extra".into()),
    });
    d
}

struct Row {
    stage: &'static str,
    n: usize,
    t: Duration,
}

fn main() {
    if child_args().is_some() {
        return;
    }
    let sizes = env_list("DBM_BENCH_TABLES", &[10, 100, 1_000, 5_000]);
    let opts = PlanOptions {
        min_sqlite: (3, 37, 0),
    };
    let mut rows: Vec<Row> = vec![];
    for &n in &sizes {
        let reps = if n >= 5_000 { 3 } else { 5 };
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(&ddl(n)).expect("build schema");
        let reserved = Reserved::default();
        let live = dbm::inspect(&conn, &reserved).expect("inspect");
        assert_eq!(live.tables.len(), n);
        let want = declared(&live, n);
        let target = canonical(&want).expect("canonical");
        let changes = diff(&live, &target);
        assert_eq!(changes.len(), 1, "one AlterTable expected: {changes:?}");
        let toml = model::file::write(&want);
        let empty = Connection::open_in_memory().expect("open");

        let mut add = |stage: &'static str, f: &mut dyn FnMut()| {
            rows.push(Row {
                stage,
                n,
                t: time_median(reps, f),
            });
        };
        let creates = create_all(&want);
        add("baseline: SQLite runs the N CREATEs", &mut || {
            let c = Connection::open_in_memory().expect("open");
            for stmt in &creates {
                c.execute_batch(stmt).expect("create");
            }
        });
        add("toml parse+validate", &mut || {
            model::file::parse(&toml, "bench.toml").expect("parse");
        });
        add("inspect", &mut || {
            dbm::inspect(&conn, &reserved).expect("inspect");
        });
        add("normalize::canonical", &mut || {
            canonical(&want).expect("canonical");
        });
        add("diff::diff", &mut || {
            assert_eq!(diff(&live, &target).len(), 1);
        });
        let nothing = Schema::default();
        add("diff::diff (initial, from empty)", &mut || {
            assert_eq!(diff(&nothing, &target).len(), n);
        });
        add("plan::plan", &mut || {
            plan(&changes, &live, &target, &opts).expect("plan");
        });
        add("generate", &mut || {
            let m = dbm::generate(&conn, &reserved, &want, 1, &opts)
                .expect("generate")
                .expect("a migration");
            assert!(m.up_sql.contains("ADD COLUMN"), "{}", m.up_sql);
        });
        add("generate (initial)", &mut || {
            dbm::generate(&empty, &reserved, &want, 1, &opts)
                .expect("generate")
                .expect("a migration");
        });
    }

    println!("diff_scale: one added column in a schema of N tables (median wall time)\n");
    println!(
        "| stage | {} |",
        sizes
            .iter()
            .map(|n| format!("N={n}: ms (us/table, growth)"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(sizes.len()));
    let stages: Vec<&str> = rows.iter().fold(vec![], |mut v, r| {
        if !v.contains(&r.stage) {
            v.push(r.stage);
        }
        v
    });
    for stage in stages {
        let mut cells = vec![];
        let mut prev: Option<f64> = None;
        for &n in &sizes {
            let r = rows
                .iter()
                .find(|r| r.stage == stage && r.n == n)
                .expect("row");
            let per = r.t.as_secs_f64() * 1e6 / n as f64;
            let growth = prev.map_or("-".to_string(), |p| format!("x{:.2}", per / p));
            cells.push(format!("{:.2} ({per:.1}, {growth})", ms(r.t)));
            prev = Some(per);
        }
        println!("| {stage} | {} |", cells.join(" | "));
    }
    let base = |n: usize| {
        rows.iter()
            .find(|r| r.n == n && r.stage.starts_with("baseline"))
            .map(|r| r.t.as_secs_f64())
            .unwrap_or(f64::NAN)
    };
    println!("\nratio to the SQLite baseline (the same N CREATE statements, executed alone):");
    for stage in ["normalize::canonical", "generate", "generate (initial)"] {
        let cells: Vec<String> = sizes
            .iter()
            .map(|&n| {
                let t = rows
                    .iter()
                    .find(|r| r.n == n && r.stage == stage)
                    .map(|r| r.t.as_secs_f64())
                    .unwrap_or(f64::NAN);
                format!("N={n}: {:.2}", t / base(n))
            })
            .collect();
        println!("  {stage}: {}", cells.join(", "));
    }
    println!(
        "\ngrowth = (time per table at this N) / (time per table at the previous N); \
         ~1 is linear, ~10 for a 10x step is quadratic."
    );
}
