//! A long history: N versions (default 500), each a hand-written up script creating one
//! table with a foreign key to the previous version's table and a few rows.
//!
//! - `no-op`: `dbm::upgrade` on a database already at version N (open, check every applied
//!   script's checksum, nothing to run, close) against the baseline of opening the same
//!   file and reading its whole schema (`SELECT sql FROM sqlite_schema`, what
//!   `sqlite3 db .schema` does), in-process.
//! - `from empty`: `dbm::upgrade` from version 0 (one transaction per version, with the
//!   control/history rows and the foreign-key check) against the same N scripts run by
//!   `sqlite3_exec`, each in its own `BEGIN` .. `COMMIT`, on a fresh file; and the same with
//!   `ApplyOptions::single_transaction` (one COMMIT in all). A second baseline adds to each
//!   version's transaction the two rows dbm writes (control row, history row).
//!
//! `cargo bench --bench history` (`DBM_BENCH_VERSIONS=500`, `DBM_BENCH_REPS=5`).

#[path = "util/mod.rs"]
mod util;

use dbm::{ApplyOptions, BackupPolicy, Repository};
use rusqlite::Connection;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::time::{Duration, Instant};
use util::*;

const ROWS: usize = 20;

fn up(i: usize) -> String {
    let mut s = format!(
        "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, parent INTEGER{}, s TEXT);\n",
        if i > 1 {
            format!(" REFERENCES t{}(id)", i - 1)
        } else {
            String::new()
        }
    );
    for r in 1..=ROWS {
        s.push_str(&format!("INSERT INTO t{i} VALUES ({r}, {r}, 'row {r}');\n"));
    }
    s
}

fn repository(root: &Path, n: usize) -> Repository {
    let dir = root.join("db_repository");
    let (repo, _) = Repository::create(&dir, "bench").expect("repo");
    let v = dir.join("versions");
    for i in 1..=n {
        std::fs::write(v.join(format!("{i:03}_t{i}.up.sql")), up(i)).unwrap();
        std::fs::write(
            v.join(format!("{i:03}_t{i}.down.sql")),
            format!("DROP TABLE t{i};\n"),
        )
        .unwrap();
    }
    repo
}

/// `sqlite3_exec` on a NUL-terminated buffer, as the `sqlite3` shell runs a file.
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

fn fresh(root: &Path, name: &str) -> Connection {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(root.join(format!("{name}{suffix}")));
    }
    Connection::open(root.join(name)).unwrap()
}

fn tables(c: &Connection) -> i64 {
    c.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name LIKE 't%'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn main() {
    let n = env_list("DBM_BENCH_VERSIONS", &[500])[0];
    let reps = env_list("DBM_BENCH_REPS", &[5])[0].max(1);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let repo = repository(root, n);
    let scripts: Vec<CString> = (1..=n).map(|i| CString::new(up(i)).unwrap()).collect();
    let opts = ApplyOptions {
        backup: BackupPolicy::Never,
        ..ApplyOptions::default()
    };
    let single = ApplyOptions {
        single_transaction: true,
        ..opts.clone()
    };
    // The same scripts plus the two rows dbm's protocol writes per version (the control
    // row's move, a history row), on a database put under version control: the writes
    // the baseline does not make, so what is left above it is dbm's own work.
    let rows: Vec<CString> = (1..=n)
        .map(|i| {
            CString::new(format!(
                "UPDATE migrate_version SET version = {i} WHERE repository_id = 'bench';\n\
                 INSERT INTO migrate_history (repository_id, version, direction, checksum, applied_at, duration_ms, down_checksum) \
                 VALUES ('bench', {i}, 'up', '{:064}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, '{:064}');",
                i, i
            ))
            .unwrap()
        })
        .collect();
    let (mut base, mut each, mut one, mut rowed) = (vec![], vec![], vec![], vec![]);
    for _ in 0..reps {
        let c = fresh(root, "base.db");
        let t = Instant::now();
        for s in &scripts {
            c.execute_batch("BEGIN").unwrap();
            exec(&c, s);
            c.execute_batch("COMMIT").unwrap();
        }
        base.push(t.elapsed());
        assert_eq!(tables(&c), n as i64);
        let c = fresh(root, "rows.db");
        dbm::version_control(&c, &repo, 0).unwrap();
        let t = Instant::now();
        for (s, r) in scripts.iter().zip(&rows) {
            c.execute_batch("BEGIN").unwrap();
            exec(&c, s);
            exec(&c, r);
            c.execute_batch("COMMIT").unwrap();
        }
        rowed.push(t.elapsed());
        assert_eq!(dbm::db_version(&c, &repo).unwrap(), Some(n as u64));
        for (runs, opts, name) in [(&mut each, &opts, "each.db"), (&mut one, &single, "one.db")] {
            let mut c = fresh(root, name);
            dbm::version_control(&c, &repo, 0).unwrap();
            let t = Instant::now();
            let r = dbm::upgrade(&mut c, &repo, None, opts).unwrap();
            runs.push(t.elapsed());
            assert_eq!(r.steps.len(), n);
            assert_eq!(tables(&c), n as i64);
        }
    }
    let (base, each, one, rowed) = (median(base), median(each), median(one), median(rowed));

    // The no-op on the database the last upgrade left at version n.
    let db = root.join("each.db");
    let schema = time_median(reps * 4, || {
        let c = Connection::open(&db).unwrap();
        let mut s = c.prepare("SELECT sql FROM sqlite_schema").unwrap();
        let mut rows = s.query([]).unwrap();
        let mut bytes = 0;
        while let Some(r) = rows.next().unwrap() {
            bytes += r
                .get::<_, Option<String>>(0)
                .unwrap()
                .map_or(0, |s| s.len());
        }
        assert!(bytes > 0);
    });
    let noop = time_median(reps * 4, || {
        let mut c = Connection::open(&db).unwrap();
        let r = dbm::upgrade(&mut c, &repo, None, &opts).unwrap();
        assert!(r.steps.is_empty());
    });
    let f = |d: Duration| d.as_secs_f64() * 1e3;
    println!("history: {n} versions ({ROWS} rows each, FK to the previous), median of {reps}");
    println!("| case | baseline | baseline ms | dbm ms | dbm / baseline |");
    println!("|---|---|---:|---:|---:|");
    println!(
        "| no-op upgrade at version {n} | open + read sqlite_schema | {:.2} | {:.2} | {:.2} |",
        f(schema),
        f(noop),
        f(noop) / f(schema)
    );
    println!(
        "| {n} versions from empty | sqlite3_exec, one transaction per version | {:.1} | {:.1} | {:.2} |",
        f(base),
        f(each),
        f(each) / f(base)
    );
    println!(
        "| {n} versions from empty | the same plus the control and history rows | {:.1} | {:.1} | {:.2} |",
        f(rowed),
        f(each),
        f(each) / f(rowed)
    );
    println!(
        "| {n} versions from empty, single_transaction | sqlite3_exec, one transaction per version | {:.1} | {:.1} | {:.2} |",
        f(base),
        f(one),
        f(one) / f(base)
    );
}
