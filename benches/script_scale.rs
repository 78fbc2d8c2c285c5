//! A large hand-written data script: one version whose up script is a `CREATE TABLE` and N
//! `INSERT` statements, applied by `dbm::upgrade` on a fresh database against the same SQL
//! run by `sqlite3_exec` (as the `sqlite3` shell runs a file) in one transaction on another fresh database (same
//! SQLite, same run), and `dbm::lint` over the repository. Growth per 10x statements shows
//! whether each path is linear (~10x).
//!
//! Then, when the `sqlite3` shell is on the machine, the whole process: `sqlite3 db < file`
//! (`BEGIN;`, the script, `COMMIT;`) against `dbm upgrade` (the binary) on fresh databases,
//! back to back per repetition.
//!
//! `cargo bench --bench script_scale` (statement counts: `DBM_BENCH_STATEMENTS=10000,100000,1000000`,
//! the default; repetitions: `DBM_BENCH_REPS=3`).

#[path = "util/mod.rs"]
mod util;

use dbm::{ApplyOptions, Repository};
use rusqlite::Connection;
use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use util::*;

fn script(n: usize) -> String {
    let mut s = String::with_capacity(n * 48 + 64);
    s.push_str("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT NOT NULL);\n");
    for i in 0..n {
        writeln!(s, "INSERT INTO t VALUES ({i}, 'text');").unwrap();
    }
    s
}

fn repository(root: &Path, sql: &str) -> Repository {
    let dir = root.join("db_repository");
    let (repo, _) = Repository::create(&dir, "bench").expect("repo");
    let v = dir.join("versions");
    std::fs::write(v.join("001_data.up.sql"), sql).unwrap();
    std::fs::write(v.join("001_data.down.sql"), "DROP TABLE t;\n").unwrap();
    repo
}

fn rows(c: &Connection) -> usize {
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    n as usize
}

/// `sqlite3_exec` on a NUL-terminated buffer, as the `sqlite3` shell runs a file. Not
/// rusqlite's `execute_batch`: it hands SQLite the length of the remaining text, and SQLite
/// then copies that whole remainder before each statement (quadratic in script size).
fn exec(c: &Connection, sql: &CStr) {
    // SAFETY: a live connection's handle, a NUL-terminated string, no callback.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_exec(
            c.handle(),
            sql.as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK, "baseline sqlite3_exec");
}

/// A fresh database file in `root` (any previous one removed, with its journal).
fn fresh(root: &Path, name: &str) -> Connection {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(root.join(format!("{name}{suffix}")));
    }
    Connection::open(root.join(name)).unwrap()
}

struct Row {
    n: usize,
    baseline: Duration,
    upgrade: Duration,
    lint: Duration,
    /// Median of each repetition's upgrade / baseline (the two run back to back, so a slow
    /// moment of the machine weighs on both).
    paired: f64,
}

fn measure(n: usize, reps: usize) -> Row {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let sql = script(n);
    let repo = repository(root, &sql);
    let csql = CString::new(sql.as_str()).unwrap();
    let (mut baseline, mut upgrade, mut lint) = (vec![], vec![], vec![]);
    for _ in 0..reps {
        // Baseline: the whole file in one transaction, as the `sqlite3` shell runs a script.
        let c = fresh(root, "base.db");
        let t = Instant::now();
        c.execute_batch("BEGIN").unwrap();
        exec(&c, &csql);
        c.execute_batch("COMMIT").unwrap();
        baseline.push(t.elapsed());
        assert_eq!(rows(&c), n);
        drop(c);

        let mut c = fresh(root, "dbm.db");
        dbm::version_control(&c, &repo, 0).unwrap();
        let t = Instant::now();
        let r = dbm::upgrade(&mut c, &repo, None, &ApplyOptions::default()).unwrap();
        upgrade.push(t.elapsed());
        assert_eq!(r.steps, vec![(0, 1)]);
        assert_eq!(rows(&c), n);
        drop(c);

        let t = Instant::now();
        let findings = dbm::lint(&repo, &[]).unwrap();
        lint.push(t.elapsed());
        assert!(findings.is_empty(), "{findings:?}");
    }
    let ratios: Vec<f64> = upgrade
        .iter()
        .zip(&baseline)
        .map(|(u, b)| u.as_secs_f64() / b.as_secs_f64())
        .collect();
    Row {
        paired: median_f64(ratios),
        n,
        baseline: median(baseline),
        upgrade: median(upgrade),
        lint: median(lint),
    }
}

fn main() {
    let ns: Vec<usize> = env_list("DBM_BENCH_STATEMENTS", &[10_000, 100_000, 1_000_000]);
    let reps = env_list("DBM_BENCH_REPS", &[3])[0].max(1);
    println!("script_scale: N INSERTs, median of {reps}");
    println!(
        "| statements | script MB | baseline s | dbm upgrade s | upgrade / baseline | paired ratio | lint s | growth baseline | growth upgrade | growth lint |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut prev: Option<Row> = None;
    for &n in &ns {
        let r = measure(n, reps);
        let mb = script(n).len() as f64 / 1e6;
        let growth =
            |a: Duration, b: Duration| format!("{:.1}x", a.as_secs_f64() / b.as_secs_f64());
        let (gb, gu, gl) = match &prev {
            Some(p) => (
                growth(r.baseline, p.baseline),
                growth(r.upgrade, p.upgrade),
                growth(r.lint, p.lint),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {mb:.1} | {:.3} | {:.3} | {:.2} | {:.2} | {:.3} | {gb} | {gu} | {gl} |",
            r.n,
            r.baseline.as_secs_f64(),
            r.upgrade.as_secs_f64(),
            r.upgrade.as_secs_f64() / r.baseline.as_secs_f64(),
            r.paired,
            r.lint.as_secs_f64(),
        );
        prev = Some(r);
    }
    whole_process(&ns, reps);
}

/// The `sqlite3` shell against the `dbm` binary, each on a fresh database, paired per
/// repetition; skipped without `sqlite3`.
fn whole_process(ns: &[usize], reps: usize) {
    use std::process::{Command, Stdio};
    if Command::new("sqlite3").arg("--version").output().is_err() {
        println!("\n(no sqlite3 shell: whole-process pairs skipped)");
        return;
    }
    println!("\nwhole process, median of {reps}: `sqlite3 db < file` vs `dbm upgrade`");
    println!("| statements | sqlite3 shell s | dbm upgrade s | paired ratio |");
    println!("|---:|---:|---:|---:|");
    let dbm = env!("CARGO_BIN_EXE_dbm");
    for &n in ns {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let sql = script(n);
        repository(root, &sql);
        let file = root.join("shell.sql");
        std::fs::write(&file, format!("BEGIN;\n{sql}COMMIT;\n")).unwrap();
        let (mut shell, mut tool, mut ratios) = (vec![], vec![], vec![]);
        let repo = Repository::open(&root.join("db_repository")).unwrap();
        // Runs `cmd` (stdout discarded), panicking if it fails; its wall time.
        let timed = |cmd: &mut Command| {
            let t = Instant::now();
            let ok = cmd.stdout(Stdio::null()).status().unwrap().success();
            let elapsed = t.elapsed();
            assert!(ok, "{cmd:?} failed");
            elapsed
        };
        for _ in 0..reps {
            drop(fresh(root, "shell.db"));
            let a = timed(
                Command::new("sqlite3")
                    .arg(root.join("shell.db"))
                    .stdin(std::fs::File::open(&file).unwrap()),
            );
            dbm::version_control(&fresh(root, "dbm.db"), &repo, 0).unwrap();
            let b = timed(
                Command::new(dbm)
                    .current_dir(root)
                    .args(["-D", "dbm.db", "--quiet", "upgrade"]),
            );
            shell.push(a);
            tool.push(b);
            ratios.push(b.as_secs_f64() / a.as_secs_f64());
        }
        println!(
            "| {n} | {:.3} | {:.3} | {:.2} |",
            median(shell).as_secs_f64(),
            median(tool).as_secs_f64(),
            median_f64(ratios)
        );
    }
}
