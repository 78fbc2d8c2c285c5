//! Concurrency: several real `dbm upgrade` processes on one database at once. Exactly one
//! applies each version, the others wait for the lock and find nothing left to do; no
//! "already exists" errors, and `migrate_history` holds each version once. Rollback-journal
//! and WAL mode.

mod common;
use common::*;

const PROCS: usize = 6;

/// A project at version 0 with three hand-written versions; 001 copies 200k rows so that
/// each transaction takes a while.
fn project(mode: &str) -> Project {
    let p = Project::new();
    p.ok(&["create"]);
    let scripts = [
        (
            "create t",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\nWITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200000)\nINSERT INTO t (id, v) SELECT i, 'v' || i FROM s;\n",
            "DROP TABLE t;\n",
        ),
        (
            "index t",
            "CREATE INDEX ix_t_v ON t (v);\n",
            "DROP INDEX ix_t_v;\n",
        ),
        (
            "create u",
            "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));\nINSERT INTO u (t_id) SELECT id FROM t WHERE id % 10 = 0;\n",
            "DROP TABLE u;\n",
        ),
    ];
    for (i, (msg, up, down)) in scripts.iter().enumerate() {
        p.ok(&["script", msg]);
        let prefix = format!("{:03}_", i + 1);
        for f in p.versions_dir() {
            if f.starts_with(&prefix) {
                let body = if f.ends_with(".up.sql") { up } else { down };
                p.write(&format!("db_repository/versions/{f}"), body);
            }
        }
    }
    let c = p.conn("app.db");
    let m: String = c
        .query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| r.get(0))
        .unwrap();
    assert_eq!(m, mode);
    p
}

/// Runs PROCS upgrades at once; with `hold`, the test holds the write lock while they start,
/// so that every process is certainly waiting when it is released.
fn race(p: &Project, hold: bool, extra: &[&str]) -> Vec<std::process::Output> {
    let holder = p.conn("app.db");
    if hold {
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    }
    let mut args = vec![
        "--database",
        "app.db",
        "--repository",
        "db_repository",
        "upgrade",
        "--timeout",
        "60",
    ];
    args.extend_from_slice(extra);
    let children: Vec<_> = (0..PROCS).map(|_| spawn_dbm(p.dir.path(), &args)).collect();
    if hold {
        std::thread::sleep(std::time::Duration::from_millis(500));
        holder.execute_batch("COMMIT").unwrap();
    }
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

fn check(p: &Project, outs: &[std::process::Output], what: &str) {
    let mut applied = vec![];
    for o in outs {
        assert!(
            o.status.success(),
            "{what}: a process failed:\nstdout: {}\nstderr: {}",
            stdout(o),
            stderr(o)
        );
        let err = stderr(o);
        assert!(!err.contains("already exists"), "{what}: {err}");
        let out = stdout(o);
        assert!(out.contains("Current database version: 3"), "{what}: {out}");
        for line in out.lines() {
            if let Some(step) = line.strip_prefix("Upgraded ") {
                applied.push(step.to_string());
            }
        }
    }
    applied.sort();
    assert_eq!(
        applied,
        vec!["0 -> 1", "1 -> 2", "2 -> 3"],
        "{what}: each version applied exactly once"
    );
    assert_eq!(
        history_rows(&p.path("app.db")),
        vec![(1, "up".into()), (2, "up".into()), (3, "up".into())],
        "{what}: migrate_history"
    );
    assert_eq!(p.version(), Some(3));
    assert_eq!(integrity(&p.path("app.db")), "ok");
    let c = p.conn("app.db");
    let n: (i64, i64) = c
        .query_row(
            "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n, (200_000, 20_000), "{what}: rows inserted once");
    let winners = outs
        .iter()
        .filter(|o| stdout(o).contains("Upgraded"))
        .count();
    eprintln!(
        "concurrency[{what}]: {PROCS} processes, {winners} applied something, {} found nothing to do",
        PROCS - winners
    );
}

#[test]
fn concurrent_upgrades_rollback_journal() {
    let p = project("delete");
    let outs = race(&p, true, &[]);
    check(&p, &outs, "delete, lock held at start");
    // And downgrade-all then a free-for-all start without a held lock.
    p.ok(&["downgrade", "0", "--no-backup"]);
    let c = p.conn("app.db");
    c.execute_batch("DELETE FROM migrate_history").unwrap();
    let outs = race(&p, false, &[]);
    check(&p, &outs, "delete, free start");
}

#[test]
fn concurrent_upgrades_wal() {
    let p = project("wal");
    let outs = race(&p, true, &[]);
    check(&p, &outs, "wal, lock held at start");
    p.ok(&["downgrade", "0", "--no-backup"]);
    let c = p.conn("app.db");
    c.execute_batch("DELETE FROM migrate_history").unwrap();
    let outs = race(&p, false, &[]);
    check(&p, &outs, "wal, free start");
}

#[test]
fn concurrent_upgrade_create_on_a_missing_database() {
    let p = project("delete");
    let _ = std::fs::remove_file(p.path("app.db"));
    let args = [
        "--database",
        "new.db",
        "--repository",
        "db_repository",
        "upgrade",
        "--create",
        "--timeout",
        "60",
    ];
    let children: Vec<_> = (0..4).map(|_| spawn_dbm(p.dir.path(), &args)).collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    for o in &outs {
        assert!(
            o.status.success(),
            "stdout: {}\nstderr: {}",
            stdout(o),
            stderr(o)
        );
    }
    assert_eq!(
        history_rows(&p.path("new.db")),
        vec![(1, "up".into()), (2, "up".into()), (3, "up".into())]
    );
    assert_eq!(integrity(&p.path("new.db")), "ok");
}
