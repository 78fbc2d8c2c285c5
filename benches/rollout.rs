//! One repository, many databases: N small databases upgraded one version by `dbm::rollout`
//! against the baseline of the same run, the sum of the single-database times (each one
//! opened and upgraded alone with `dbm::upgrade`, as an app or `dbm upgrade` minus process
//! start-up does), plus the peak resident memory of each rollout.
//!
//! `cargo bench --bench rollout` (database counts: `DBM_BENCH_DBS=1000,10000`, the default).
//!
//! Every measured run is a fresh child process (this binary with `--child`) on fresh copies
//! of a template database, so its VmHWM is the peak of that run alone.

#[path = "util/mod.rs"]
mod util;

use dbm::{ApplyOptions, Databases, Repository, RolloutOptions};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use util::*;

const V1: &str = "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);\n\
                  CREATE INDEX ix_item_name ON item (name);";
const V2: &str = "ALTER TABLE item ADD COLUMN note TEXT NOT NULL DEFAULT '';\n\
                  CREATE INDEX ix_item_qty ON item (qty);";

fn repository(root: &Path) -> Repository {
    let (repo, _) = Repository::create(&root.join("db_repository"), "bench").expect("repo");
    let v = root.join("db_repository/versions");
    std::fs::write(v.join("001_item.up.sql"), V1).unwrap();
    std::fs::write(v.join("001_item.down.sql"), "DROP TABLE item;").unwrap();
    std::fs::write(v.join("002_note.up.sql"), V2).unwrap();
    std::fs::write(
        v.join("002_note.down.sql"),
        "DROP INDEX ix_item_qty;\nALTER TABLE item DROP COLUMN note;",
    )
    .unwrap();
    repo
}

/// A database at version 1 with a few rows.
fn template(root: &Path, repo: &Repository) -> PathBuf {
    let path = root.join("template.db");
    let mut c = Connection::open(&path).unwrap();
    dbm::version_control(&c, repo, 0).unwrap();
    dbm::upgrade(&mut c, repo, Some(1), &ApplyOptions::default()).unwrap();
    c.execute_batch(
        "INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4), ('e', 5);",
    )
    .unwrap();
    path
}

/// `n` copies of the template in a fresh folder, flushed to disk.
fn copies(root: &Path, template: &Path, name: &str, n: usize) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        std::fs::copy(template, dir.join(format!("t{i:06}.db"))).unwrap();
    }
    let _ = std::process::Command::new("sync").status();
    dir
}

fn child(args: &[String]) {
    let root = Path::new(&args[1]);
    let dir = Path::new(&args[2]);
    let repo = Repository::open(&root.join("db_repository")).unwrap();
    let pattern = format!("{}/*.db", glob::Pattern::escape(&dir.display().to_string()));
    match args[0].as_str() {
        "single" => {
            let mut sum = Duration::ZERO;
            let mut n = 0;
            for path in Databases::new().glob(&pattern).unwrap() {
                let path = path.unwrap();
                let t = Instant::now();
                let mut c = Connection::open(&path).unwrap();
                let r = dbm::upgrade(&mut c, &repo, None, &ApplyOptions::default()).unwrap();
                drop(c);
                sum += t.elapsed();
                assert_eq!(r.steps, vec![(1, 2)]);
                n += 1;
            }
            println!(
                "RESULT n={n} secs={} hwm_kb={}",
                sum.as_secs_f64(),
                proc_status_kb("VmHWM").unwrap_or(0)
            );
        }
        "rollout" => {
            let jobs: usize = args[3].parse().unwrap();
            let opts = RolloutOptions {
                jobs,
                ..RolloutOptions::default()
            };
            let t = Instant::now();
            let paths = Databases::new().glob(&pattern).unwrap().map(Result::unwrap);
            let report = dbm::rollout(paths, &repo, &opts).unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert!(report.is_complete() && report.up_to_date == 0, "{report:?}");
            println!(
                "RESULT n={} secs={secs} hwm_kb={}",
                report.migrated,
                proc_status_kb("VmHWM").unwrap_or(0)
            );
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn main() {
    if let Some(args) = child_args() {
        child(&args);
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` lists / smoke-runs harness=false targets
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repo = repository(root);
    let template = template(root, &repo);
    let root_s = root.display().to_string();
    println!("rollout: N databases at version 1 (5 rows each) upgraded to version 2 (ADD COLUMN + CREATE INDEX); {cores} cores");
    println!(
        "{:>7} {:>10} {:>10} {:>8} {:>10} {:>8} {:>9} {:>11}",
        "N", "sum-1 s", "j1 s", "j1/sum", "jC s", "sum/jC", "jC db/s", "peak RSS kB"
    );
    for n in env_list("DBM_BENCH_DBS", &[1000, 10_000]) {
        let run = |mode: &str, jobs: usize| {
            let dir = copies(root, &template, mode, n);
            let dir_s = dir.display().to_string();
            let j = jobs.to_string();
            let r = run_child(&[mode.split('-').next().unwrap(), &root_s, &dir_s, &j]);
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(field(&r, "n") as usize, n);
            (field(&r, "secs"), field(&r, "hwm_kb"))
        };
        let (sum, _) = run("single", 1);
        let (j1, _) = run("rollout-1", 1);
        let (jc, hwm) = run("rollout-c", cores);
        println!(
            "{n:>7} {sum:>10.2} {j1:>10.2} {:>8.2} {jc:>10.2} {:>8.2} {:>9.0} {hwm:>11}",
            j1 / sum,
            sum / jc,
            n as f64 / jc
        );
    }
}
