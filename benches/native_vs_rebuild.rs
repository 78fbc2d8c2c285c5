//! Why dbm prefers ALTER: the same added column applied natively (`ALTER TABLE .. ADD
//! COLUMN`) and through the table rebuild, on copies of the same SQLite file with N rows.
//!
//! `cargo bench --bench native_vs_rebuild` (row counts: `DBM_BENCH_ROWS=100000,1000000`).
//!
//! The rebuild is forced honestly: a column with a CHECK can be added natively only from
//! SQLite 3.37, so the same model planned for `min_sqlite` 3.35 rebuilds the table.

#[path = "util/mod.rs"]
mod util;

use dbm::model::{Check, Column, Schema};
use dbm::{ApplyOptions, BackupPolicy, PlanOptions, Repository, Reserved};
use rusqlite::Connection;
use std::time::{Duration, Instant};
use util::*;

const SCHEMA: &str = "
CREATE TABLE item (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price INTEGER NOT NULL,
  note TEXT
);
CREATE INDEX ix_item_name ON item (name);
";

fn fill(conn: &Connection, n: usize) {
    conn.execute_batch(&format!(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n})
         INSERT INTO item (id, sku, name, price, note)
           SELECT i, printf('SKU-%08d', i), printf('item %08d %s', (i * 7919) % {n}, 'abcdefghij'),
                  i % 10000, printf('%050d', i * 104729) FROM c;"
    ))
    .expect("fill");
}

/// The model with `item.code` added; with `check`, a column CHECK on it too.
fn declared(live: &Schema, check: bool) -> Schema {
    let mut s = live.clone();
    let t = s.table_mut("item").expect("item");
    t.columns.push(Column {
        name: "code".into(),
        sql_type: "TEXT".into(),
        ..Default::default()
    });
    if check {
        t.checks.push(Check {
            name: None,
            expr: "length(code) <= 20".into(),
            column: Some("code".into()),
        });
    }
    s
}

struct Variant {
    label: &'static str,
    check: bool,
    min_sqlite: (u32, u32, u32),
    rebuild: bool,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        label: "ADD COLUMN code TEXT (native)",
        check: false,
        min_sqlite: (3, 35, 0),
        rebuild: false,
    },
    Variant {
        label: "ADD COLUMN code TEXT CHECK (..) (native, SQLite >= 3.37)",
        check: true,
        min_sqlite: (3, 37, 0),
        rebuild: false,
    },
    Variant {
        label: "same column with CHECK, rebuild (SQLite 3.35 target)",
        check: true,
        min_sqlite: (3, 35, 0),
        rebuild: true,
    },
];

fn main() {
    if child_args().is_some() {
        return;
    }
    let counts = env_list("DBM_BENCH_ROWS", &[100_000, 1_000_000]);
    let dir = tempfile::Builder::new()
        .prefix("dbm-bench-native-")
        .tempdir()
        .expect("tempdir");
    let mut lines = vec![];
    for &n in &counts {
        let reps = env_list("DBM_BENCH_REPS", &[5])[0].max(1);
        let template = dir.path().join(format!("template-{n}.db"));
        let mut repos = vec![];
        {
            let conn = Connection::open(&template).expect("open");
            conn.execute_batch(SCHEMA).expect("schema");
            fill(&conn, n);
            let live = dbm::inspect(&conn, &Reserved::default()).expect("inspect");
            for (k, v) in VARIANTS.iter().enumerate() {
                let (repo, _) = Repository::create(
                    &dir.path().join(format!("repo-{n}-{k}")),
                    &format!("bench{k}"),
                )
                .expect("repo");
                dbm::version_control(&conn, &repo, 0).expect("version control");
                let opts = PlanOptions {
                    min_sqlite: v.min_sqlite,
                };
                let m = dbm::generate(
                    &conn,
                    &dbm::reserved(&repo),
                    &declared(&live, v.check),
                    1,
                    &opts,
                )
                .expect("generate")
                .expect("a migration");
                assert_eq!(
                    m.up_sql.contains("INSERT INTO"),
                    v.rebuild,
                    "{}:\n{}",
                    v.label,
                    m.up_sql
                );
                if n == counts[0] {
                    let body: Vec<&str> = m
                        .up_sql
                        .lines()
                        .filter(|l| !l.starts_with("--") && !l.trim().is_empty())
                        .collect();
                    println!("{}:\n  {}\n", v.label, body.join("\n  "));
                }
                repo.write_version(&m.slug, &m.up_sql, &m.down_sql)
                    .expect("write");
                repos.push(repo);
            }
        }
        let db = dir.path().join("work.db");
        let mut times: Vec<Vec<Duration>> = vec![vec![]; VARIANTS.len()];
        for _ in 0..reps {
            for (k, repo) in repos.iter().enumerate() {
                copy_synced(&template, &db);
                let mut conn = Connection::open(&db).expect("open");
                let opts = ApplyOptions {
                    backup: BackupPolicy::Never,
                    ..ApplyOptions::default()
                };
                let t = Instant::now();
                let r = dbm::upgrade(&mut conn, repo, None, &opts).expect("upgrade");
                times[k].push(t.elapsed());
                assert_eq!(r.steps, vec![(0, 1)]);
                let cols: i64 = conn
                    .query_row("SELECT count(*) FROM pragma_table_info('item')", [], |r| {
                        r.get(0)
                    })
                    .expect("cols");
                assert_eq!(cols, 6);
            }
        }
        let meds: Vec<Duration> = times.into_iter().map(median).collect();
        for (k, v) in VARIANTS.iter().enumerate() {
            lines.push(format!(
                "| {n} | {} | {:.2} | {:.1} |",
                v.label,
                ms(meds[k]),
                meds[k].as_secs_f64() / meds[0].as_secs_f64()
            ));
        }
    }
    println!("native_vs_rebuild: applied with dbm::upgrade (no backup), median wall time");
    println!("| N rows | change | ms | x plain ADD COLUMN |");
    println!("|---|---|---|---|");
    for l in lines {
        println!("{l}");
    }
}
