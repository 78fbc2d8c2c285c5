//! Peak memory of `dbm test` against the database's size (issue 13 item 4): the real binary
//! on databases of ~10 / 60 / 200 MB, each run under `/usr/bin/time -f '%e %M'` (wall
//! seconds, peak RSS in kB of the child). Baseline in the same run: `dbm db-version` on the
//! same database (opens it, reads the control table: the process's own footprint). With
//! `DBM_BENCH_BASELINE_BIN=/path/to/old/dbm`, that build's `dbm test` runs too (before/after).
//!
//! `cargo bench --bench test_memory` (`DBM_BENCH_MB=10,60,200`, `DBM_BENCH_REPS=3`).

#[path = "util/mod.rs"]
mod util;

use std::path::Path;
use std::process::Command;

use dbm::{ApplyOptions, BackupPolicy, Repository};
use rusqlite::Connection;
use util::*;

const V1_UP: &str = "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);
CREATE INDEX ix_item_name ON item (name);\n";
const V2_UP: &str =
    "ALTER TABLE item ADD COLUMN code TEXT;\nUPDATE item SET code = substr(name, 1, 8);\n";

/// A repository of two versions and a database at version 2 of about `mb` MB.
fn setup(root: &Path, mb: usize) -> u64 {
    let dir = root.join("db_repository");
    let (repo, _) = Repository::create(&dir, "bench").expect("repo");
    let v = dir.join("versions");
    let write = |name: &str, sql: &str| std::fs::write(v.join(name), sql).unwrap();
    write("001_item.up.sql", V1_UP);
    write("001_item.down.sql", "DROP TABLE item;\n");
    write("002_code.up.sql", V2_UP);
    write("002_code.down.sql", "ALTER TABLE item DROP COLUMN code;\n");
    let db = root.join("app.db");
    let mut c = Connection::open(&db).unwrap();
    dbm::version_control(&c, &repo, 0).unwrap();
    let opts = ApplyOptions {
        backup: BackupPolicy::Never,
        ..ApplyOptions::default()
    };
    dbm::upgrade(&mut c, &repo, Some(1), &opts).unwrap();
    // ~250 bytes a row with its index entry.
    let rows = mb * 4_000;
    c.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO item (id, name, note) SELECT i, printf('name-%08d', i), printf('%0150d', i) FROM n;"
    ))
    .unwrap();
    dbm::upgrade(&mut c, &repo, Some(2), &opts).unwrap();
    drop(c);
    std::fs::metadata(&db).unwrap().len()
}

/// (wall s, peak RSS kB) of `bin args..` in `root`, median of `reps`.
fn measure(root: &Path, bin: &str, args: &[&str], reps: usize) -> (f64, f64) {
    let (mut secs, mut kb) = (vec![], vec![]);
    for _ in 0..reps {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "TIME %e %M", bin])
            .args(["--database", "app.db", "--repository", "db_repository"])
            .args(args)
            .current_dir(root)
            .output()
            .expect("run /usr/bin/time");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{bin} {args:?} failed:\n{}\n{err}",
            String::from_utf8_lossy(&out.stdout)
        );
        let line = err
            .lines()
            .rev()
            .find(|l| l.starts_with("TIME "))
            .expect("/usr/bin/time output");
        let mut it = line.split_whitespace().skip(1);
        secs.push(it.next().unwrap().parse::<f64>().unwrap());
        kb.push(it.next().unwrap().parse::<f64>().unwrap());
    }
    (median_f64(secs), median_f64(kb))
}

fn main() {
    if !Path::new("/usr/bin/time").exists() {
        println!("test_memory: skipped (needs /usr/bin/time)");
        return;
    }
    let sizes = env_list("DBM_BENCH_MB", &[10, 60, 200]);
    let reps = env_list("DBM_BENCH_REPS", &[3])[0].max(1);
    let old = std::env::var("DBM_BENCH_BASELINE_BIN").ok();
    let bin = env!("CARGO_BIN_EXE_dbm");
    println!("test_memory: peak RSS of `dbm test`, median of {reps}");
    println!("| db MB | run | s | peak RSS MB | RSS / db-version | RSS / smallest db's |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut first: Option<f64> = None;
    for mb in sizes {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = setup(tmp.path(), mb);
        let size = bytes as f64 / 1e6;
        let (_, idle) = measure(tmp.path(), bin, &["db-version"], reps);
        println!(
            "| {size:.0} | db-version (baseline) | - | {:.1} | 1.00 | - |",
            idle / 1e3
        );
        let (s, kb) = measure(tmp.path(), bin, &["test"], reps);
        let smallest = *first.get_or_insert(kb);
        println!(
            "| {size:.0} | dbm test | {s:.2} | {:.1} | {:.2} | {:.2} |",
            kb / 1e3,
            kb / idle,
            kb / smallest
        );
        if let Some(old) = &old {
            let (s, kb) = measure(tmp.path(), old, &["test"], reps);
            println!(
                "| {size:.0} | dbm test (DBM_BENCH_BASELINE_BIN) | {s:.2} | {:.1} | {:.2} | - |",
                kb / 1e3,
                kb / idle
            );
        }
    }
}
