//! Crash safety: `kill -9` of a real `dbm upgrade` process at spread moments — before it
//! starts, during the long table rebuild, just before COMMIT — in rollback-journal and WAL
//! mode. Every outcome must be either fully old (old version, old schema, every row) or
//! fully new (new version, new schema, every row), with `PRAGMA integrity_check` = ok, and a
//! later `dbm upgrade` must complete.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const V1: &str =
    "CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(40), n INTEGER, note TEXT);
CREATE INDEX ix_big_n ON big (n);
CREATE TABLE child (id INTEGER PRIMARY KEY, big_id INTEGER REFERENCES big (id) ON DELETE CASCADE);";
/// `big.name` changes type: SQLite needs the 12-step table rebuild (copy of every row).
const V2: &str = "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT, n INTEGER, note TEXT);
CREATE INDEX ix_big_n ON big (n);
CREATE TABLE child (id INTEGER PRIMARY KEY, big_id INTEGER REFERENCES big (id) ON DELETE CASCADE);";

const ROWS: i64 = 700_000;

/// The two tests run one after the other so that the timing measured is the timing killed.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A repository with 001 (create) and 002 (rebuild of `big`), written by dbm itself.
fn repository(into: &Path) {
    let g = Project::new();
    g.model_from_ddl("m1.toml", V1);
    g.model_from_ddl("m2.toml", V2);
    g.ok(&["--model", "m1.toml", "create"]);
    g.ok(&["--model", "m1.toml", "migrate"]);
    g.ok(&["--model", "m2.toml", "migrate"]);
    let up2 = g
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("002_") && f.ends_with(".up.sql"))
        .expect("002 up");
    let text = g.read(&format!("db_repository/versions/{up2}"));
    assert!(
        text.contains("INSERT INTO \"_dbm_new_big\""),
        "002 should rebuild big:\n{text}"
    );
    copy_dir(&g.path("db_repository"), into);
}

/// Everything that must survive: row count and sums over every column, child rows.
fn fingerprint(path: &Path) -> String {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row(
        "SELECT count(*), sum(n), sum(length(name)), total(id * length(note)), \
         (SELECT count(*) FROM child), (SELECT sum(big_id) FROM child) FROM big",
        [],
        |r| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, f64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?
                )
            ))
        },
    )
    .expect("fingerprint")
}

fn version_of(path: &Path) -> i64 {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row("SELECT version FROM migrate_version", [], |r| r.get(0))
        .expect("version")
}

fn fresh_copy(p: &Project, template: &str, name: &str) {
    for ext in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(p.path(&format!("{name}{ext}")));
    }
    std::fs::copy(p.path(template), p.path(name)).expect("copy db");
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Old,
    New,
}

fn crash_in_mode(wal: bool) -> (Duration, Vec<(u64, Outcome, bool)>) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mode = if wal { "wal" } else { "delete" };
    let p = Project::new();
    repository(&p.path("db_repository"));
    // The template database: version 1 with ROWS rows in `big`, in the journal mode.
    let out = p.dbm_raw(&[
        "--database",
        "tmpl.db",
        "--repository",
        "db_repository",
        "upgrade",
        "1",
        "--create",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    {
        let c = p.conn("tmpl.db");
        let m: String = c
            .query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(m, mode);
        c.execute_batch(&format!(
            "BEGIN;
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS})
             INSERT INTO big (id, name, n, note) SELECT i, 'user' || i, i % 1000, hex(randomblob(12)) FROM s;
             INSERT INTO child (big_id) SELECT id FROM big WHERE id % 30 = 0;
             COMMIT;"
        ))
        .unwrap();
    }
    let old_schema = snapshot(&p.path("tmpl.db"));
    let rows_fp = fingerprint(&p.path("tmpl.db"));

    // Measure an uninterrupted upgrade, and keep its result as the "new" reference.
    fresh_copy(&p, "tmpl.db", "ref.db");
    let t = Instant::now();
    let out = p.dbm_raw(&[
        "--database",
        "ref.db",
        "--repository",
        "db_repository",
        "upgrade",
        "--no-backup",
    ]);
    let full = t.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(version_of(&p.path("ref.db")), 2);
    let new_schema = snapshot(&p.path("ref.db"));
    assert_ne!(old_schema, new_schema);
    assert_eq!(fingerprint(&p.path("ref.db")), rows_fp);

    let mut outcomes = vec![];
    let mut resumed = 0;
    let points = 10u32;
    for i in 0..points {
        // From 0 to a little past the measured duration, so that the last kills land after COMMIT.
        let delay = full * 6 * i / (5 * (points - 1));
        fresh_copy(&p, "tmpl.db", "run.db");
        let mut child = spawn_dbm(
            p.dir.path(),
            &[
                "--database",
                "run.db",
                "--repository",
                "db_repository",
                "upgrade",
                "--no-backup",
            ],
        );
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait");
        let db = p.path("run.db");
        // Killed inside the transaction: a hot journal / uncommitted WAL frames are left.
        let side = if wal { "run.db-wal" } else { "run.db-journal" };
        let hot = std::fs::metadata(p.path(side))
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        assert_eq!(
            integrity(&db),
            "ok",
            "{mode}: integrity after kill at {delay:?}"
        );
        let v = version_of(&db);
        let schema = snapshot(&db);
        assert_eq!(
            fingerprint(&db),
            rows_fp,
            "{mode}: rows changed after kill at {delay:?} (version {v})"
        );
        let outcome = match v {
            1 => {
                assert!(
                    schema == old_schema,
                    "{mode}: version 1 but not the old schema after kill at {delay:?}: {schema:#?}"
                );
                Outcome::Old
            }
            2 => {
                assert!(
                    schema == new_schema,
                    "{mode}: version 2 but not the new schema after kill at {delay:?}"
                );
                Outcome::New
            }
            v => panic!("{mode}: unexpected version {v}"),
        };
        if outcome == Outcome::Old {
            assert!(!status.success(), "{mode}: a finished run left version 1");
        }
        // A later run completes (checked for the first few kills inside the transaction,
        // to keep the test's time moderate).
        if outcome == Outcome::Old && hot && resumed < 3 {
            resumed += 1;
            let out = p.dbm_raw(&[
                "--database",
                "run.db",
                "--repository",
                "db_repository",
                "upgrade",
                "--no-backup",
            ]);
            assert!(out.status.success(), "{mode}: {}", stderr(&out));
            assert_eq!(version_of(&db), 2);
            assert!(snapshot(&db) == new_schema);
            assert_eq!(fingerprint(&db), rows_fp);
            assert_eq!(integrity(&db), "ok");
        }
        outcomes.push((delay.as_millis() as u64, outcome, hot));
    }
    (full, outcomes)
}

fn report(mode: &str, full: Duration, outcomes: &[(u64, Outcome, bool)]) {
    let old = outcomes.iter().filter(|o| o.1 == Outcome::Old).count();
    let hot = outcomes
        .iter()
        .filter(|o| o.1 == Outcome::Old && o.2)
        .count();
    eprintln!(
        "crash[{mode}]: {ROWS} rows, uninterrupted upgrade {} ms; kills at {:?} ms -> {old} old ({hot} of them mid-transaction), {} new",
        full.as_millis(),
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>(),
        outcomes.len() - old
    );
    // The spread must actually hit the migration, not only before or after it.
    assert!(old >= 1, "{mode}: no kill landed before the commit");
    assert!(
        hot >= 1,
        "{mode}: no kill landed inside the migration transaction"
    );
}

#[test]
fn kill_during_upgrade_rollback_journal() {
    let (full, outcomes) = crash_in_mode(false);
    report("delete", full, &outcomes);
}

#[test]
fn kill_during_upgrade_wal() {
    let (full, outcomes) = crash_in_mode(true);
    report("wal", full, &outcomes);
}
