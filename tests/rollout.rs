//! One repository, many databases: the real binary over hundreds of real files at mixed
//! versions, broken ones among them, `kill -9` and Ctrl-C in the middle, canaries, the
//! JSON lines, patterns that match nothing; and `dbm::rollout` through the facade.

mod common;
use common::*;
use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// Three hand-written versions: a table, a column, a second table with a foreign key.
const VERSIONS: &[(&str, &str, &str)] = &[
    (
        "001_item",
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE item;",
    ),
    (
        "002_note",
        "ALTER TABLE item ADD COLUMN note TEXT NOT NULL DEFAULT 'n';",
        "ALTER TABLE item DROP COLUMN note;",
    ),
    (
        "003_tag",
        "CREATE TABLE tag (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES item (id));\nCREATE INDEX ix_tag_item ON tag (item_id);",
        "DROP TABLE tag;",
    ),
];
const LATEST: i64 = 3;

/// Runs dbm in the project (no `--database`) and asserts success; returns stdout.
fn ok_raw(p: &Project, args: &[&str]) -> String {
    let out = p.dbm_raw(args);
    assert!(
        out.status.success(),
        "dbm {args:?}:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// A project with the three versions and one template database per version (`tpl/vN.db`).
fn project() -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path("tpl")).unwrap();
    ok_raw(&p, &["--database", "tpl/v0.db", "create"]);
    for (name, up, down) in VERSIONS {
        p.write(&format!("db_repository/versions/{name}.up.sql"), up);
        p.write(&format!("db_repository/versions/{name}.down.sql"), down);
    }
    for v in 1..=LATEST {
        let to = format!("tpl/v{v}.db");
        std::fs::copy(p.path("tpl/v0.db"), p.path(&to)).unwrap();
        ok_raw(&p, &["--database", &to, "upgrade", &v.to_string()]);
    }
    std::fs::create_dir_all(p.path("tenants")).unwrap();
    p
}

/// `tenants/tNNN.db` at `version`, holding `rows` items of its own (from version 1 on).
fn tenant(p: &Project, i: usize, version: i64, rows: usize) -> String {
    let rel = format!("tenants/t{i:03}.db");
    std::fs::copy(p.path(&format!("tpl/v{version}.db")), p.path(&rel)).unwrap();
    if version >= 1 && rows > 0 {
        let c = p.conn(&rel);
        let mut ins = c
            .prepare(
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?2) \
                 INSERT INTO item (name) SELECT ?1 || '-' || n FROM k",
            )
            .unwrap();
        ins.execute(rusqlite::params![format!("t{i}"), rows as i64])
            .unwrap();
    }
    rel
}

fn version_of(path: &Path) -> Option<i64> {
    let c = Connection::open(path).ok()?;
    c.query_row("SELECT version FROM migrate_version", [], |r| r.get(0))
        .ok()
}

/// The items of a database, and whether its schema is the one of its version.
fn items(path: &Path) -> (i64, String) {
    let c = Connection::open(path).unwrap();
    let version: i64 = c
        .query_row("SELECT version FROM migrate_version", [], |r| r.get(0))
        .unwrap();
    let has = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() > 0;
    let note = has("SELECT count(*) FROM pragma_table_info('item') WHERE name = 'note'");
    let tag = has("SELECT count(*) FROM sqlite_schema WHERE name = 'tag'");
    assert_eq!(
        (note, tag),
        (version >= 2, version >= 3),
        "{}: schema is not that of version {version}",
        path.display()
    );
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{}", path.display());
    if version == 0 {
        return (0, String::new());
    }
    c.query_row(
        "SELECT count(*), coalesce(group_concat(name, ','), '') FROM (SELECT name FROM item ORDER BY id)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn expected_items(i: usize, rows: usize) -> (i64, String) {
    let names: Vec<String> = (1..=rows).map(|k| format!("t{i}-{k}")).collect();
    (rows as i64, names.join(","))
}

#[test]
fn mixed_versions_reach_the_latest_and_broken_ones_are_reported() {
    let p = project();
    let n = 200;
    for i in 0..n {
        tenant(&p, i, (i % 4) as i64, if i % 4 == 0 { 0 } else { 3 });
    }
    // Three broken databases: not SQLite, locked by another connection, an applied script
    // edited since (the recorded checksum differs).
    p.write("tenants/bad.db", "this is not a database\n");
    let bad_before = p.bytes("tenants/bad.db");
    let locked = tenant(&p, 900, 1, 2);
    let edited = tenant(&p, 901, 1, 2);
    p.conn(&edited)
        .execute(
            "UPDATE migrate_history SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
    let holder = p.conn(&locked);
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = p.dbm_raw(&[
        "--repository",
        "db_repository",
        "upgrade",
        "--databases",
        "tenants/*.db",
        "-j",
        "4",
        "--continue-on-error",
        "--timeout",
        "1",
    ]);
    holder.execute_batch("ROLLBACK").unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("Upgraded 203 databases to version 3")
            && text.contains("150 migrated, 50 already at version 3, 3 failed"),
        "{text}"
    );
    for (path, why) in [
        ("tenants/bad.db", "not a usable SQLite database"),
        ("tenants/t900.db\n", "locked"),
        (
            "tenants/t901.db (at version 1)",
            "changed since they were applied",
        ),
    ] {
        let at = text
            .find(&format!("  {path}"))
            .map(|at| at + 2)
            .unwrap_or_else(|| panic!("{path} not reported:\n{text}"));
        assert!(text[at..].lines().nth(1).unwrap().contains(why), "{text}");
    }
    assert!(text.contains("        3        200\n"), "{text}");
    for i in 0..n {
        let path = p.path(&format!("tenants/t{i:03}.db"));
        assert_eq!(version_of(&path), Some(LATEST), "{}", path.display());
        let rows = if i % 4 == 0 { 0 } else { 3 };
        assert_eq!(items(&path), expected_items(i, rows));
    }
    assert_eq!(p.bytes("tenants/bad.db"), bad_before);
    assert_eq!(version_of(&p.path(&locked)), Some(1));
    assert_eq!(version_of(&p.path(&edited)), Some(1));
    // Run again, the lock gone: only the locked one moves.
    let out = p.dbm_raw(&[
        "--repository",
        "db_repository",
        "upgrade",
        "--databases",
        "tenants/t*.db",
        "--continue-on-error",
    ]);
    assert!(
        stdout(&out).contains("1 migrated, 200 already at version 3, 1 failed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(items(&p.path(&locked)), (2, "t900-1,t900-2".into()));
}

/// `dbm upgrade --databases 'tenants/*.db' -j JOBS --json`, its stdout piped.
fn spawn_json_upgrade(p: &Project, jobs: &str, stderr: Stdio) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("dbm"))
        .current_dir(p.dir.path())
        .args([
            "--repository",
            "db_repository",
            "upgrade",
            "--databases",
            "tenants/*.db",
            "-j",
            jobs,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_in_the_middle_then_a_second_run_finishes() {
    let p = project();
    let n = 200;
    for i in 0..n {
        tenant(&p, i, 1, 50);
    }
    let mut child = spawn_json_upgrade(&p, "1", Stdio::null());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..20 {
        lines.next().expect("a database reported").unwrap();
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at = |v: i64| {
        (0..n)
            .filter(|i| version_of(&p.path(&format!("tenants/t{i:03}.db"))) == Some(v))
            .count()
    };
    assert!(
        at(3) >= 20 && at(1) > 0,
        "not killed midway: {} at 3, {} at 1",
        at(3),
        at(1)
    );
    for i in 0..n {
        // At a version, its schema, every row (checked by `items`).
        assert_eq!(
            items(&p.path(&format!("tenants/t{i:03}.db"))),
            expected_items(i, 50)
        );
    }
    let out = p.dbm_raw(&[
        "--repository",
        "db_repository",
        "upgrade",
        "--databases",
        "tenants/*.db",
        "-j",
        "4",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    for i in 0..n {
        let path = p.path(&format!("tenants/t{i:03}.db"));
        assert_eq!(version_of(&path), Some(LATEST));
        assert_eq!(items(&path), expected_items(i, 50));
    }
}

#[test]
fn ctrl_c_stops_starting_databases_and_running_ones_finish_their_version() {
    let p = project();
    let n = 150;
    for i in 0..n {
        tenant(&p, i, 0, 0);
    }
    let mut child = spawn_json_upgrade(&p, "2", Stdio::piped());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..10 {
        lines.next().expect("a database reported").unwrap();
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let not_started = rest.iter().filter(|v| v["status"] == "not-started").count();
    assert!(not_started > 0, "nothing was left: {rest:?}");
    for v in &rest {
        // Running ones stop at a version boundary; none is left failed.
        assert_ne!(v["status"], "failed", "{v}");
    }
    for i in 0..n {
        items(&p.path(&format!("tenants/t{i:03}.db")));
    }
    ok_raw(&p, &["upgrade", "--databases", "tenants/*.db"]);
    for i in 0..n {
        assert_eq!(
            version_of(&p.path(&format!("tenants/t{i:03}.db"))),
            Some(LATEST)
        );
    }
}

#[test]
fn a_failed_canary_stops_the_rollout_and_max_failures_stops_starting() {
    let p = project();
    for i in 0..20 {
        tenant(&p, i, 1, 1);
    }
    // t000 comes first: its applied script "changed".
    p.conn("tenants/t000.db")
        .execute(
            "UPDATE migrate_history SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
    let out = p.dbm_raw(&[
        "upgrade",
        "--databases",
        "tenants/*.db",
        "--canary",
        "3",
        "-j",
        "2",
        "--continue-on-error",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("a canary failed"), "{text}");
    assert!(
        text.contains("2 migrated") && text.contains("17 not started"),
        "{text}"
    );
    let at3 = (0..20)
        .filter(|i| version_of(&p.path(&format!("tenants/t{i:03}.db"))) == Some(3))
        .count();
    assert_eq!(at3, 2, "only the canaries move");
    // Without canaries, the default limit of one failure stops starting databases.
    p.conn("tenants/t005.db")
        .execute(
            "UPDATE migrate_history SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
    let out = p.dbm_raw(&["upgrade", "--databases", "tenants/*.db", "-j", "1"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("Stopped after 1 failure"), "{text}");
    assert!(text.contains("1 failed, 19 not started"), "{text}");
    // With the canary fixed, canaries pass and the rest follow; only t005 fails.
    let sum = |rel: &str| {
        p.conn(rel)
            .query_row("SELECT checksum FROM migrate_history WHERE version = 1 AND checksum != 'x' LIMIT 1", [], |r| r.get::<_, String>(0))
            .unwrap()
    };
    let good = sum("tenants/t001.db");
    p.conn("tenants/t000.db")
        .execute(
            "UPDATE migrate_history SET checksum = ?1 WHERE version = 1",
            [&good],
        )
        .unwrap();
    let out = p.dbm_raw(&[
        "upgrade",
        "--databases",
        "tenants/*.db",
        "--canary",
        "3",
        "--max-failures",
        "5",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("17 migrated, 2 already at version 3, 1 failed"),
        "{text}"
    );
    assert!(!text.contains("not started"), "{text}");
}

#[test]
fn json_lines_one_object_per_database() {
    let p = project();
    tenant(&p, 1, 1, 1);
    tenant(&p, 2, 3, 1);
    p.write("tenants/t3.db", "nope");
    let out = p.dbm_raw(&[
        "upgrade",
        "--databases",
        "tenants/*.db",
        "-j",
        "1",
        "--json",
        "--continue-on-error",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let mut objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    for o in &mut objects {
        assert!(o["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{o}");
        o["seconds"] = "[seconds]".into();
    }
    insta::assert_snapshot!(objects
        .iter()
        .map(|o| serde_json::to_string_pretty(o).unwrap())
        .collect::<Vec<_>>()
        .join("\n"));
    // The summary goes to standard error, so standard output is only the objects.
    assert!(
        stderr(&out).contains("Upgraded 3 databases"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pattern_matching_nothing_is_an_error() {
    let p = project();
    tenant(&p, 1, 1, 1);
    for cmd in ["upgrade", "status", "db-version", "check", "test"] {
        let out = p.dbm_raw(&[
            cmd,
            "--databases",
            "tenants/*.db",
            "--databases",
            "tenant/*.db",
        ]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("no database matches `tenant/*.db`"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
    assert_eq!(version_of(&p.path("tenants/t001.db")), Some(1));
    // Downgrading many databases needs a target.
    let out = p.dbm_raw(&["downgrade", "--databases", "tenants/*.db"]);
    assert!(stderr(&out).contains("needs a VERSION"), "{}", stderr(&out));
}

#[test]
fn lists_config_status_skew_and_drift() {
    let p = project();
    for i in 0..6 {
        tenant(&p, i, (i % 3) as i64 + 1, 1);
    }
    // A table made by hand: drift in one database.
    p.conn("tenants/t004.db")
        .execute_batch("CREATE TABLE extra (x)")
        .unwrap();
    p.write("dbm.toml", "databases = [\"tenants/*.db\"]\n");
    let text = ok_raw(&p, &["status", "-j", "1"]);
    assert!(text.contains("6 databases read"), "{text}");
    for line in [
        "        3          2  (latest)",
        "        2          2",
        "        1          2",
    ] {
        assert!(text.contains(line), "{line:?}:\n{text}");
    }
    assert!(
        text.contains("drift: 1 database whose schema differs"),
        "{text}"
    );
    let drifted = text
        .lines()
        .position(|l| l.ends_with("tenants/t004.db"))
        .unwrap();
    assert!(
        text.lines().nth(drifted + 1).unwrap().contains("extra"),
        "{text}"
    );
    // --database still names one database, whatever dbm.toml lists.
    assert_eq!(
        ok_raw(&p, &["--database", "tenants/t000.db", "db-version"]),
        "1\n"
    );
    // A list on standard input.
    let bin = assert_cmd::cargo::cargo_bin("dbm");
    let out = assert_cmd::Command::new(bin)
        .current_dir(p.dir.path())
        .args(["db-version", "--databases-from", "-", "-j", "1"])
        .write_stdin("tenants/t002.db\n\ntenants/t001.db\n")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "tenants/t002.db\t3\ntenants/t001.db\t2\n");
    ok_raw(&p, &["upgrade"]);
    assert!(ok_raw(&p, &["db-version"])
        .lines()
        .all(|l| l.ends_with("\t3")));
}

#[test]
fn the_library_rolls_out_an_iterator_of_paths() {
    let p = project();
    let paths: Vec<_> = (0..8).map(|i| p.path(&tenant(&p, i, 1, 2))).collect();
    let repo = dbm::Repository::open(&p.path("db_repository")).unwrap();
    let opts = dbm::RolloutOptions {
        jobs: 3,
        ..dbm::RolloutOptions::default()
    };
    let report = dbm::rollout(paths.iter().cloned(), &repo, &opts).unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.migrated, report.target), (8, 3));
    assert_eq!(report.versions.get(&3), Some(&8));
    let again = dbm::rollout(paths.iter().cloned(), &repo, &opts).unwrap();
    assert_eq!(again.up_to_date, 8);
    let down = dbm::RolloutOptions {
        goal: dbm::Goal::Downgrade(2),
        ..opts
    };
    let report = dbm::rollout(paths, &repo, &down).unwrap();
    assert_eq!(report.versions.get(&2), Some(&8));
}

/// The reads over many databases with `--json`: one object per database on stdout
/// (`path` plus the single-database command's fields, or `error` and `exit`), in the order
/// of the paths; the exit code as without `--json`.
#[test]
fn reads_over_many_print_json_lines() {
    let p = project();
    tenant(&p, 1, 1, 1);
    tenant(&p, 2, LATEST, 1);
    p.write("tenants/t003.db", "nope");
    let model = ok_raw(
        &p,
        &["--database", &format!("tpl/v{LATEST}.db"), "create-model"],
    );
    p.write("m.toml", &model);
    let lines = |args: &[&str], code: i32| -> Vec<serde_json::Value> {
        let many = ["--databases", "tenants/*.db", "-j", "1"];
        let out = p.dbm_raw(&[&["--json"], args, &many].concat());
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    };
    let paths = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter()
            .map(|o| o["path"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let expected = ["tenants/t001.db", "tenants/t002.db", "tenants/t003.db"];

    let v = lines(&["db-version"], 2);
    assert_eq!(paths(&v), expected);
    assert_eq!(v[0]["version"], 1);
    assert_eq!(v[1]["version"], LATEST);
    assert_eq!(v[2]["exit"], 2, "{}", v[2]);
    assert!(
        v[2]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        v[2]
    );

    let v = lines(&["status"], 2);
    assert_eq!(paths(&v), expected);
    assert_eq!(v[0]["version"], 1);
    assert_eq!(v[0]["latest"], LATEST);
    assert_eq!(
        v[0]["pending"].as_array().map(Vec::len),
        Some(LATEST as usize - 1)
    );
    assert_eq!(v[1]["pending"].as_array().map(Vec::len), Some(0));
    assert_eq!(v[1]["ok"], true, "{}", v[1]);

    let v = lines(&["--model", "m.toml", "check"], 2);
    assert_eq!(paths(&v), expected);
    assert_eq!(v[0]["matches"], false, "{}", v[0]);
    assert!(!v[0]["changes"].as_array().unwrap().is_empty(), "{}", v[0]);
    assert_eq!(v[1]["matches"], true, "{}", v[1]);
    assert_eq!(v[1]["changes"], serde_json::json!([]));

    // Without the broken file: check exits 1 on the database that differs.
    std::fs::remove_file(p.path("tenants/t003.db")).unwrap();
    let v = lines(&["--model", "m.toml", "check"], 1);
    assert_eq!(v.len(), 2);
}
