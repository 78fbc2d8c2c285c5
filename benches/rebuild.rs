//! A table rebuild (column type change) with N rows: dbm's generated and applied script
//! against the hand-written optimal SQL, on copies of the same SQLite file, plus the peak
//! resident memory of each run at every row count.
//!
//! `cargo bench --bench rebuild` (row counts: `DBM_BENCH_ROWS=100000,1000000`).
//!
//! Every measured run is a fresh child process (this binary with `--child`) on a fresh copy
//! of a template database, so its VmHWM is the peak of that run alone.

#[path = "util/mod.rs"]
mod util;

use dbm::{ApplyOptions, BackupPolicy, PlanOptions, Repository, Reserved};
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};
use util::*;

const REPO_ID: &str = "bench";

/// The `key=value` pairs of one child run.
type ChildResult = Vec<(String, String)>;

const SCHEMA: &str = "
CREATE TABLE item (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price INTEGER NOT NULL,
  qty INTEGER NOT NULL DEFAULT 0,
  note TEXT
);
CREATE INDEX ix_item_name ON item (name);
CREATE TABLE item_tag (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES item (id),
  tag TEXT NOT NULL
);
CREATE INDEX ix_item_tag_item ON item_tag (item_id);
";

/// The change: `item.note` TEXT -> VARCHAR(200) (same affinity; SQLite has no ALTER for it).
const HAND_MINIMAL: &str = "
CREATE TABLE item_new (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price INTEGER NOT NULL,
  qty INTEGER NOT NULL DEFAULT 0,
  note VARCHAR(200)
);
INSERT INTO item_new (id, sku, name, price, qty, note) SELECT id, sku, name, price, qty, note FROM item;
DROP TABLE item;
ALTER TABLE item_new RENAME TO item;
CREATE INDEX ix_item_name ON item (name);
";

/// ~100 bytes per `item` row (sku 12, name ~20, note 50, integers); `item_tag` gets n/4 rows.
fn fill(conn: &Connection, n: usize) {
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n})
         INSERT INTO item (id, sku, name, price, qty, note)
           SELECT i, printf('SKU-%08d', i), printf('item %08d %s', (i * 7919) % {n}, 'abcdefghij'),
                  i % 10000, i % 7, printf('%050d', i * 104729) FROM c;
         WITH RECURSIVE c(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM c WHERE j < {n} / 4)
         INSERT INTO item_tag (id, item_id, tag) SELECT j, (j * 13) % {n} + 1, printf('tag%03d', j % 500) FROM c;
         COMMIT;"
    ))
    .expect("fill");
}

fn declared(conn: &Connection) -> dbm::model::Schema {
    let mut s = dbm::inspect(conn, &Reserved::default()).expect("inspect");
    let note = s
        .table_mut("item")
        .and_then(|t| t.column_mut("note"))
        .expect("item.note");
    note.sql_type = "VARCHAR(200)".into();
    s
}

/// The migration to `declared(conn)`, generated and verified by dbm.
fn migration(conn: &Connection) -> dbm::Migration {
    dbm::generate(
        conn,
        &Reserved::default(),
        &declared(conn),
        1,
        &PlanOptions::default(),
    )
    .expect("generate")
    .expect("a migration")
}

fn secs(d: Duration) -> String {
    format!("{:.4}", d.as_secs_f64())
}

/// One measured run (child process): prints `RESULT` with seconds and VmHWM in kB.
fn child(args: &[String]) {
    let (mode, db, repo_dir) = (&args[0], &args[1], &args[2]);
    let n: i64 = args[3].parse().expect("n");
    let mut conn = Connection::open(db).expect("open");
    let hwm_open = proc_status_kb("VmHWM").unwrap_or(0);
    let (mut gen_s, mut apply_s) = (Duration::ZERO, Duration::ZERO);
    match mode.as_str() {
        "idle" => {
            let _ = dbm::inspect(&conn, &Reserved::default()).expect("inspect");
        }
        "dbm" | "dbm-backup" => {
            let t = Instant::now();
            let m = migration(&conn);
            gen_s = t.elapsed();
            assert!(
                m.up_sql.contains("INSERT INTO"),
                "not a rebuild:\n{}",
                m.up_sql
            );
            let repo = Repository::open(Path::new(repo_dir)).expect("repo");
            let opts = ApplyOptions {
                backup: if mode == "dbm" {
                    BackupPolicy::Never
                } else {
                    BackupPolicy::Always
                },
                ..ApplyOptions::default()
            };
            let t = Instant::now();
            // A borrowed connection: the app keeps using it afterwards.
            let report = dbm::upgrade(&mut conn, &repo, None, &opts).expect("upgrade");
            apply_s = t.elapsed();
            assert_eq!(report.steps, vec![(0, 1)]);
            assert_eq!(report.backup.is_some(), mode == "dbm-backup");
            let fk: i64 = conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .expect("pragma");
            assert_eq!(fk, 1, "foreign_keys restored on the borrowed connection");
            if let Some(b) = report.backup {
                let _ = std::fs::remove_file(b);
            }
        }
        "hand" | "hand-12step" => {
            let t = Instant::now();
            conn.execute_batch("PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE;")
                .expect("begin");
            conn.execute_batch(HAND_MINIMAL)
                .expect("hand-written rebuild");
            if mode == "hand-12step" {
                let bad: i64 = conn
                    .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                        r.get(0)
                    })
                    .expect("fk check");
                assert_eq!(bad, 0);
            }
            conn.execute_batch("COMMIT; PRAGMA foreign_keys=ON;")
                .expect("commit");
            apply_s = t.elapsed();
        }
        m => panic!("unknown child mode {m}"),
    }
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, n, "rows survive");
    println!(
        "RESULT gen={} apply={} hwm_open_kb={hwm_open} hwm_kb={}",
        secs(gen_s),
        secs(apply_s),
        proc_status_kb("VmHWM").unwrap_or(0)
    );
}

fn main() {
    if let Some(args) = child_args() {
        child(&args);
        return;
    }
    let counts = env_list("DBM_BENCH_ROWS", &[100_000, 1_000_000]);
    let dir = tempfile::Builder::new()
        .prefix("dbm-bench-rebuild-")
        .tempdir()
        .expect("tempdir");
    let modes = ["idle", "hand", "hand-12step", "dbm", "dbm-backup"];
    let mut table = vec![];
    for &n in &counts {
        let reps = env_list("DBM_BENCH_REPS", &[5])[0].max(1);
        let template = dir.path().join(format!("template-{n}.db"));
        let repo_dir = dir.path().join(format!("repo-{n}"));
        let (repo, _) = Repository::create(&repo_dir, REPO_ID).expect("repo");
        {
            let conn = Connection::open(&template).expect("open template");
            conn.execute_batch(SCHEMA).expect("schema");
            fill(&conn, n);
            dbm::version_control(&conn, &repo, 0).expect("version control");
            // The version the children apply: generated once here, byte-identical to what
            // each child's own (timed) generate produces.
            let m = migration(&conn);
            repo.write_version(&m.slug, &m.up_sql, &m.down_sql)
                .expect("write version");
            if n == counts[0] {
                println!("dbm's up script (001_{}.up.sql):\n{}", m.slug, m.up_sql);
            }
        }
        let size_mb = std::fs::metadata(&template).expect("size").len() as f64 / 1e6;
        let mut results: Vec<(&str, Vec<ChildResult>)> =
            modes.iter().map(|m| (*m, vec![])).collect();
        for rep in 0..reps {
            for (mode, out) in results.iter_mut() {
                if *mode == "idle" && rep > 0 {
                    continue;
                }
                let db = dir.path().join(format!("work-{mode}.db"));
                copy_synced(&template, &db);
                let r = run_child(&[
                    mode,
                    db.to_str().expect("utf-8 path"),
                    repo_dir.to_str().expect("utf-8 path"),
                    &n.to_string(),
                ]);
                out.push(r);
            }
        }
        // Same schema from both: the comparison is between equal results.
        let a = Connection::open(dir.path().join("work-dbm.db")).unwrap();
        let b = dbm::inspect(
            &Connection::open(dir.path().join("work-hand.db")).unwrap(),
            &Reserved::default(),
        )
        .expect("inspect hand result");
        let left = dbm::compare(&a, &Reserved::default(), &b)
            .expect("compare")
            .changes();
        assert!(left.is_empty(), "dbm and hand-written differ: {left:?}");
        for (mode, runs) in &results {
            let med = |k: &str| median_f64(runs.iter().map(|r| field(r, k)).collect());
            let hwm_max = runs.iter().map(|r| field(r, "hwm_kb")).fold(0.0, f64::max);
            table.push((n, size_mb, *mode, med("gen"), med("apply"), hwm_max));
        }
    }

    println!(
        "\nrebuild: item.note TEXT -> VARCHAR(200); item has N rows (+1 index), item_tag N/4 rows (FK -> item)"
    );
    println!(
        "| N rows | db MB | run | generate s | apply s | vs hand | vs hand-12step | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &(n, size, mode, g, a, hwm) in &table {
        let base = |m: &str| {
            table
                .iter()
                .find(|r| r.0 == n && r.2 == m)
                .map(|r| r.4)
                .unwrap_or(f64::NAN)
        };
        let ratio = |b: f64| {
            if mode == "idle" {
                "-".to_string()
            } else {
                format!("{:.2}", a / b)
            }
        };
        println!(
            "| {n} | {size:.0} | {mode} | {g:.3} | {a:.3} | {} | {} | {:.1} |",
            ratio(base("hand")),
            ratio(base("hand-12step")),
            hwm / 1024.0
        );
    }
    if counts.len() >= 2 {
        let (lo, hi) = (counts[0], counts[counts.len() - 1]);
        println!("\npeak RSS at {hi} rows / at {lo} rows (1.00 = flat in the row count):");
        for mode in modes {
            let h = |n: usize| {
                table
                    .iter()
                    .find(|r| r.0 == n && r.2 == mode)
                    .map(|r| r.5)
                    .unwrap_or(f64::NAN)
            };
            println!("  {mode}: {:.2}", h(hi) / h(lo));
        }
    }
}
