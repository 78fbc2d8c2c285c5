//! What progress reporting costs: a 1,000,000-row table rebuild applied with `dbm::upgrade`
//! without an observer, with one (the rows counted first, SQLite's progress handler reading
//! the rows copied, the events passed to an indicatif bar as the command line does), and
//! with only a stop flag (the handler alone); then, in plain SQL on the same data, the two
//! ways of watching a copy that were weighed: the progress handler on the one statement,
//! and the copy split in rowid chunks.
//!
//! `cargo bench --bench progress` (`DBM_BENCH_ROWS`, default 1000000; `DBM_BENCH_REPS`,
//! default 7). Modes are interleaved in every repetition; medians are printed with the
//! ratio against the run without an observer.

#[path = "util/mod.rs"]
mod util;

use dbm::{ApplyOptions, BackupPolicy, ProgressEvent, Repository};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::*;

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
";

/// A rebuild as dbm writes one (`item.note` TEXT -> VARCHAR(200)).
const UP: &str = "CREATE TABLE \"_dbm_new_item\" (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price INTEGER NOT NULL,
  qty INTEGER NOT NULL DEFAULT 0,
  note VARCHAR(200)
);
INSERT INTO \"_dbm_new_item\" (id, sku, name, price, qty, note) SELECT id, sku, name, price, qty, note FROM \"item\";
DROP TABLE \"item\";
ALTER TABLE \"_dbm_new_item\" RENAME TO \"item\";
CREATE INDEX ix_item_name ON item (name);
";

const COPY: &str = "INSERT INTO item_new (id, sku, name, price, qty, note) SELECT id, sku, name, price, qty, note FROM item";

fn fill(conn: &Connection, n: usize) {
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n})
         INSERT INTO item (id, sku, name, price, qty, note)
           SELECT i, printf('SKU-%08d', i), printf('item %08d %s', (i * 7919) % {n}, 'abcdefghij'),
                  i % 10000, i % 7, printf('%050d', i * 104729) FROM c;
         COMMIT;"
    ))
    .expect("fill");
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    None,
    Observer,
    StopOnly,
}

/// One `dbm::upgrade` of a fresh copy of the template; the time of the upgrade alone.
fn upgrade(dir: &Path, mode: Mode, rows: u64) -> Duration {
    let db = dir.join("run.db");
    copy_synced(&dir.join("template.db"), &db);
    let repo = Repository::open(&dir.join("repo")).expect("repo");
    let mut conn = Connection::open(&db).expect("open");
    let copied = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::hidden();
    let seen = Arc::clone(&copied);
    let observer = move |e: &ProgressEvent| match e {
        ProgressEvent::RebuildStarted { rows, .. } => bar.set_length(*rows),
        ProgressEvent::RowsCopied { done, .. } => bar.set_position(*done),
        ProgressEvent::RebuildDone { rows, .. } => seen.store(*rows, Ordering::Relaxed),
        _ => {}
    };
    let opts = ApplyOptions {
        backup: BackupPolicy::Never,
        progress: match mode {
            Mode::Observer => Some(Arc::new(observer)),
            _ => None,
        },
        stop: match mode {
            Mode::None => None,
            _ => Some(Arc::new(AtomicBool::new(false))),
        },
        ..ApplyOptions::default()
    };
    let t = Instant::now();
    let report = dbm::upgrade(&mut conn, &repo, None, &opts).expect("upgrade");
    let took = t.elapsed();
    assert_eq!(report.steps, vec![(0, 1)]);
    if mode == Mode::Observer {
        assert_eq!(copied.load(Ordering::Relaxed), rows, "rows reported");
    }
    drop(conn);
    let _ = std::fs::remove_file(&db);
    took
}

/// The copy alone in plain SQL, inside a transaction rolled back: as one statement (with a
/// progress handler every `ops` instructions if given), or in rowid chunks of `chunk` rows.
fn copy(dir: &Path, handler: Option<i32>, chunk: Option<i64>, count_first: bool) -> Duration {
    let mut conn = Connection::open(dir.join("template.db")).expect("open");
    conn.execute_batch(
        "BEGIN; CREATE TABLE item_new (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, price INTEGER NOT NULL, qty INTEGER NOT NULL DEFAULT 0, note VARCHAR(200));",
    )
    .expect("begin");
    let ticks = Arc::new(AtomicU64::new(0));
    if let Some(ops) = handler {
        let t = Arc::clone(&ticks);
        conn.progress_handler(
            ops,
            Some(move || {
                t.fetch_add(1, Ordering::Relaxed);
                false
            }),
        )
        .expect("handler");
    }
    let t = Instant::now();
    if count_first {
        let _: i64 = conn
            .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
            .expect("count");
    }
    match chunk {
        None => {
            conn.execute_batch(COPY).expect("copy");
        }
        Some(k) => {
            let max: i64 = conn
                .query_row("SELECT max(rowid) FROM item", [], |r| r.get(0))
                .expect("max");
            let mut stmt = conn
                .prepare(&format!("{COPY} WHERE rowid BETWEEN ?1 AND ?2"))
                .expect("prepare");
            let mut lo = 1;
            while lo <= max {
                stmt.execute([lo, lo + k - 1]).expect("chunk");
                lo += k;
            }
        }
    }
    let took = t.elapsed();
    conn.progress_handler(0, None::<fn() -> bool>).expect("off");
    conn.execute_batch("ROLLBACK").expect("rollback");
    took
}

fn main() {
    let rows = env_list("DBM_BENCH_ROWS", &[1_000_000])[0];
    let reps = env_list("DBM_BENCH_REPS", &[7])[0];
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let conn = Connection::open(dir.path().join("template.db")).expect("template");
        conn.execute_batch(SCHEMA).expect("schema");
        fill(&conn, rows);
        let (repo, _) = Repository::create(&dir.path().join("repo"), "bench").expect("repository");
        repo.write_version("rebuild item", UP, "SELECT 1;")
            .expect("version");
        dbm::version_control(&conn, &repo, 0).expect("version control");
    }
    let modes = [
        ("no observer", Mode::None),
        ("observer + bar", Mode::Observer),
        ("stop flag only", Mode::StopOnly),
    ];
    let mut times: Vec<Vec<Duration>> = vec![vec![]; modes.len()];
    // A first run of each warms the page cache; it is not counted.
    for (_, m) in modes {
        upgrade(dir.path(), m, rows as u64);
    }
    // The order turns every repetition, so no mode always runs after the same one.
    for rep in 0..reps {
        for k in 0..modes.len() {
            let i = (k + rep) % modes.len();
            times[i].push(upgrade(dir.path(), modes[i].1, rows as u64));
        }
    }
    println!("dbm::upgrade, rebuild of {rows} rows, median of {reps}:");
    let base = median(times[0].clone());
    for (i, (name, _)) in modes.iter().enumerate() {
        let t = median(times[i].clone());
        let fastest = times[i].iter().min().copied().unwrap_or_default();
        println!(
            "  {name:<16} {:>9.2} ms  ratio {:.3}  (fastest {:.2} ms)",
            ms(t),
            t.as_secs_f64() / base.as_secs_f64(),
            ms(fastest)
        );
    }

    let ways: [(&str, Option<i32>, Option<i64>, bool); 6] = [
        ("one statement", None, None, false),
        ("count(*) first", None, None, true),
        ("progress handler 10k", Some(10_000), None, false),
        ("progress handler 50k", Some(50_000), None, false),
        ("rowid chunks 10k", None, Some(10_000), false),
        ("rowid chunks 100k", None, Some(100_000), false),
    ];
    let mut times: Vec<Vec<Duration>> = vec![vec![]; ways.len()];
    for (_, h, c, n) in ways {
        copy(dir.path(), h, c, n);
    }
    for rep in 0..reps {
        for k in 0..ways.len() {
            let i = (k + rep) % ways.len();
            let (_, h, c, n) = ways[i];
            times[i].push(copy(dir.path(), h, c, n));
        }
    }
    println!("the copy alone (INSERT .. SELECT of {rows} rows, rolled back), median of {reps}:");
    let base = median(times[0].clone());
    for (i, (name, ..)) in ways.iter().enumerate() {
        let t = median(times[i].clone());
        println!(
            "  {name:<20} {:>9.2} ms  ratio {:.3}",
            ms(t),
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
}
