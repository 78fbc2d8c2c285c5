//! Offline SQL: `dbm upgrade --sql` / `dbm downgrade --sql` print complete SQL without
//! touching the database; running it with the `sqlite3` shell (`sqlite3 -bail db < file`)
//! gives the same schema, rows and control-table state as `dbm upgrade` on a copy.

mod common;
use common::*;
use std::path::Path;

const V1: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);";
const V2: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (id INTEGER PRIMARY KEY, body VARCHAR(140), user_id INTEGER REFERENCES user(id) ON DELETE CASCADE);
CREATE INDEX ix_post_user ON post (user_id);";
/// `post.body` changes type (table rebuild), `user.email` is dropped.
const V3: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES user(id) ON DELETE CASCADE);
CREATE INDEX ix_post_user ON post (user_id);";

fn sqlite3_available() -> bool {
    let ok = std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("the sqlite3 shell is required in CI (install the sqlite3 package)");
        }
        eprintln!("note: sqlite3 shell not found; offline SQL test skipped");
    }
    ok
}

fn run_sqlite3(db: &Path, sql: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `migrate_version` rows and `(version, direction, checksum)` of `migrate_history`.
type ControlState = (Vec<Vec<String>>, Vec<(i64, String, String)>);

fn control_state(db: &Path) -> ControlState {
    let c = rusqlite::Connection::open(db).unwrap();
    let hist = c
        .prepare("SELECT version, direction, checksum FROM migrate_history ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    (rows(db, "migrate_version"), hist)
}

fn assert_same_state(a: &Path, b: &Path, what: &str) {
    assert_same_schema(a, b, what);
    assert_eq!(control_state(a), control_state(b), "{what}: control tables");
    for t in ["user", "post"] {
        let exists = |p: &Path| {
            rusqlite::Connection::open(p)
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
                    [t],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
        };
        assert_eq!(exists(a), exists(b), "{what}: table {t}");
        if exists(a) == 1 {
            assert_eq!(rows(a, t), rows(b, t), "{what}: rows of {t}");
        }
    }
    assert_eq!(integrity(b), "ok");
}

/// dbm on `a` with `args`; `--sql` of the same on `b`, then sqlite3 on `b`.
fn both_ways(p: &Project, args: &[&str], what: &str) {
    let before = p.bytes("b.db");
    let mut sql_args = vec!["--database", "b.db", "--repository", "db_repository"];
    sql_args.extend_from_slice(args);
    sql_args.push("--sql");
    let out = p.dbm_raw(&sql_args);
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    assert!(
        p.bytes("b.db") == before,
        "{what}: --sql touched the database"
    );
    let sql = stdout(&out);
    assert!(
        sql.contains("BEGIN IMMEDIATE") && sql.contains("COMMIT"),
        "{sql}"
    );
    let mut run_args = vec!["--database", "a.db", "--repository", "db_repository"];
    run_args.extend_from_slice(args);
    let out = p.dbm_raw(&run_args);
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    let out = run_sqlite3(&p.path("b.db"), &sql);
    assert!(
        out.status.success(),
        "{what}: sqlite3 failed: {}\n{sql}",
        stderr(&out)
    );
    assert_same_state(&p.path("a.db"), &p.path("b.db"), what);
    // The same file again is refused by its guard and changes nothing.
    let schema = snapshot(&p.path("b.db"));
    let state = control_state(&p.path("b.db"));
    let out = run_sqlite3(&p.path("b.db"), &sql);
    assert!(!out.status.success(), "{what}: replay should fail");
    assert!(
        stderr(&out).contains("database is not at the expected version"),
        "{}",
        stderr(&out)
    );
    assert!(snapshot(&p.path("b.db")) == schema);
    assert_eq!(control_state(&p.path("b.db")), state);
}

#[test]
fn offline_sql_matches_dbm_upgrade_and_downgrade() {
    if !sqlite3_available() {
        return;
    }
    let p = Project::new();
    for (i, ddl) in [V1, V2, V3].iter().enumerate() {
        p.model_from_ddl(&format!("m{}.toml", i + 1), ddl);
    }
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    p.ok(&["--model", "m3.toml", "migrate"]);
    p.ok(&["downgrade", "0", "--no-backup"]);
    p.ok(&["upgrade", "2", "--no-backup"]);
    p.conn("app.db")
        .execute_batch(
            "INSERT INTO user(nickname, email) VALUES ('john', 'j@x'), ('susan', 's@x');
             INSERT INTO post(body, user_id) VALUES ('hi', 1), ('there', 2), ('again', 1);",
        )
        .unwrap();
    std::fs::copy(p.path("app.db"), p.path("a.db")).unwrap();
    std::fs::copy(p.path("app.db"), p.path("b.db")).unwrap();

    both_ways(&p, &["upgrade", "--no-backup"], "upgrade 2 -> 3");
    both_ways(&p, &["downgrade", "1", "--no-backup"], "downgrade 3 -> 1");
    both_ways(&p, &["upgrade", "2", "--no-backup"], "upgrade 1 -> 2");
    both_ways(&p, &["downgrade", "--no-backup"], "downgrade 2 -> 1");

    // From an empty database at version 0 up to the latest.
    let _ = std::fs::remove_file(p.path("a.db"));
    let _ = std::fs::remove_file(p.path("b.db"));
    for db in ["a.db", "b.db"] {
        let out = p.dbm_raw(&[
            "--database",
            db,
            "--repository",
            "db_repository",
            "version-control",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    both_ways(&p, &["upgrade", "--no-backup"], "upgrade 0 -> 3");

    // Out-of-range requests are refused without touching the database.
    let before = p.bytes("b.db");
    for args in [
        vec!["upgrade", "9", "--sql"],
        vec!["upgrade", "1", "--sql"],
        vec!["downgrade", "-1", "--sql"],
    ] {
        let mut all = vec!["--database", "b.db", "--repository", "db_repository"];
        all.extend_from_slice(&args);
        let out = p.dbm_raw(&all);
        assert!(!out.status.success(), "{args:?}");
    }
    assert!(p.bytes("b.db") == before);
}
