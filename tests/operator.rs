//! Operator commands through the real binary: `status` (pending, edited, drift), `history`,
//! `test` (scratch copy; the real file stays byte-identical), `version-control`,
//! `drop-version-control`.

mod common;
use common::*;
use common::{blog_project as project, BLOG_V2 as V2};

fn file(p: &Project, prefix: &str, suffix: &str) -> String {
    let f = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with(prefix) && f.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {prefix}*{suffix}"));
    format!("db_repository/versions/{f}")
}

/// Runs a read-only command and asserts the database file did not change.
fn read_only(p: &Project, args: &[&str]) -> String {
    let before = p.bytes("app.db");
    let out = p.ok(args);
    assert!(p.bytes("app.db") == before, "{args:?} wrote the database");
    out
}

#[test]
fn status_reports_pending_edited_and_drift() {
    let p = project();
    let out = read_only(&p, &["status"]);
    assert!(out.contains("at version 2"), "{out}");
    assert!(out.contains("latest version 2"), "{out}");
    assert!(out.contains("pending:    none"), "{out}");
    assert!(out.contains("edited:     none"), "{out}");
    assert!(out.contains("drift:      none"), "{out}");

    p.ok(&["downgrade", "1"]);
    let out = read_only(&p, &["status"]);
    let up2 = file(&p, "002_", ".up.sql");
    assert!(out.contains("at version 1"), "{out}");
    assert!(out.contains(&format!("pending:    {up2}")), "{out}");

    // An applied script edited afterwards is named.
    let up1 = file(&p, "001_", ".up.sql");
    let text = p.read(&up1);
    p.write(&up1, &format!("{text}-- tweak\n"));
    let out = read_only(&p, &["status"]);
    assert!(out.contains(&format!("edited:     {up1}")), "{out}");
    p.write(&up1, &text);

    // Drift: a table created by hand on the live database.
    p.ok(&["upgrade"]);
    p.conn("app.db")
        .execute_batch("CREATE TABLE sneaky (x INTEGER); CREATE INDEX ix_sneaky ON sneaky(x);")
        .unwrap();
    let out = read_only(&p, &["status"]);
    assert!(out.contains("drift:      the live schema differs"), "{out}");
    assert!(out.contains("sneaky"), "{out}");
    // And a column added by hand to a managed table.
    p.conn("app.db")
        .execute_batch("DROP TABLE sneaky; ALTER TABLE post ADD COLUMN extra TEXT;")
        .unwrap();
    let out = read_only(&p, &["status"]);
    assert!(out.contains("extra"), "{out}");
}

#[test]
fn history_records_version_direction_checksum_time_and_duration() {
    let p = project();
    p.ok(&["downgrade", "1"]);
    p.ok(&["upgrade"]);
    let c = p.conn("app.db");
    let rows: Vec<(i64, String, String, String, i64)> = c
        .prepare("SELECT version, direction, checksum, applied_at, duration_ms FROM migrate_history ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let seq: Vec<(i64, &str)> = rows.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(seq, vec![(1, "up"), (2, "up"), (2, "down"), (2, "up")]);
    use sha2::Digest;
    for (v, dir, sum, at, ms) in &rows {
        let path = file(&p, &format!("{v:03}_"), &format!(".{dir}.sql"));
        let want: String = sha2::Sha256::digest(p.bytes(&path))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sum, &want, "checksum of {path}");
        assert!(at.starts_with("20") && at.ends_with('Z'), "{at}");
        assert!(*ms >= 0);
    }
    let out = read_only(&p, &["history"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[2].contains("   2 down"), "{out}");
    assert!(
        lines[0].contains(&format!("sha256:{}", &rows[0].2[..12])),
        "{out}"
    );
}

#[test]
fn test_command_uses_a_scratch_copy_and_catches_broken_down_scripts() {
    let p = project();
    let out = read_only(&p, &["test"]);
    assert!(out.contains("test: ok"), "{out}");
    assert!(out.contains("downgrade 2 -> 1: ok"), "{out}");
    // WAL database: still untouched.
    p.conn("app.db")
        .query_row("PRAGMA journal_mode=wal", [], |r| r.get::<_, String>(0))
        .unwrap();
    read_only(&p, &["test"]);

    // A down script that forgets an index: up again fails / schemas differ.
    let down2 = file(&p, "002_", ".down.sql");
    let good = p.read(&down2);
    p.write(&down2, "ALTER TABLE post RENAME TO post_old;\n");
    let before = p.bytes("app.db");
    let err = p.fails(&["test"]);
    assert!(err.contains("002") || err.contains("post"), "{err}");
    assert!(p.bytes("app.db") == before, "dbm test wrote the database");
    // A down script with an SQL error.
    p.write(&down2, "DROP TABLE nope;\n");
    let err = p.fails(&["test"]);
    assert!(err.contains(&down2) || err.contains("nope"), "{err}");
    assert!(p.bytes("app.db") == before);
    p.write(&down2, &good);
    // A down script that leaves an extra column behind in another table.
    p.write(
        &down2,
        &format!("{good}\nALTER TABLE user ADD COLUMN junk TEXT;\n"),
    );
    let err = p.fails(&["test"]);
    assert!(err.contains("junk"), "{err}");
    assert!(p.bytes("app.db") == before);
}

/// `dbm test` with `TMPDIR` pointing at `tmp`: (success, stdout + stderr).
fn test_in_tmpdir(p: &Project, tmp: &std::path::Path) -> (bool, String) {
    let out = assert_cmd::Command::cargo_bin("dbm")
        .unwrap()
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .env("TMPDIR", tmp)
        .args([
            "--database",
            "app.db",
            "--repository",
            "db_repository",
            "test",
        ])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The copy with the rows lives in a temporary file (memory stays flat in the database's
/// size), which is gone after the run, whether the scripts pass or fail on the data.
#[test]
fn test_command_copies_the_rows_to_a_temporary_file_it_removes() {
    let p = project();
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out) = test_in_tmpdir(&p, tmp.path());
    assert!(
        ok && out.contains("data copy: upgrade 1 -> 2 again: ok"),
        "{out}"
    );
    assert_eq!(files_in(tmp.path()), Vec::<String>::new());

    // Version 3 passes on the empty database but fails on the rows (duplicate emails).
    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname, email) VALUES ('a', 'x@x'), ('b', 'x@x');")
        .unwrap();
    p.write(
        "db_repository/versions/003_email.up.sql",
        "CREATE UNIQUE INDEX ix_user_email ON user (email);\n",
    );
    p.write(
        "db_repository/versions/003_email.down.sql",
        "DROP INDEX ix_user_email;\n",
    );
    let before = p.bytes("app.db");
    let (ok, out) = test_in_tmpdir(&p, tmp.path());
    assert!(!ok, "{out}");
    assert!(out.contains("scripts: upgrade 2 -> 3 again: ok"), "{out}");
    assert!(out.contains("UNIQUE constraint failed"), "{out}");
    assert_eq!(files_in(tmp.path()), Vec::<String>::new());
    assert!(p.bytes("app.db") == before, "dbm test wrote the database");
}

#[test]
fn version_control_and_drop_version_control() {
    let p = project();
    // An existing database built by hand at the schema of version 2.
    p.build_db("legacy.db", V2);
    p.conn("legacy.db")
        .execute_batch("INSERT INTO user(nickname) VALUES ('old');")
        .unwrap();
    let args = |cmd: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["--database", "legacy.db", "--repository", "db_repository"];
        v.extend_from_slice(cmd);
        v
    };
    let out = p.dbm_raw(&args(&["db-version"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not under version control"),
        "{}",
        stderr(&out)
    );

    let before = p.bytes("legacy.db");
    let out = p.dbm_raw(&args(&["version-control", "7"]));
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(p.bytes("legacy.db") == before);
    for bad in ["-1", "abc"] {
        let out = p.dbm_raw(&args(&["version-control", bad]));
        assert!(!out.status.success());
        assert!(p.bytes("legacy.db") == before);
    }

    let out = p.dbm_raw(&args(&["version-control", "2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("version 2"), "{}", stdout(&out));
    let out = p.dbm_raw(&args(&["db-version"]));
    assert_eq!(stdout(&out).trim(), "2");
    // Already controlled: nothing changes.
    let before = p.bytes("legacy.db");
    let out = p.dbm_raw(&args(&["version-control", "0"]));
    assert!(out.status.success());
    assert!(stdout(&out).contains("already"), "{}", stdout(&out));
    assert!(p.bytes("legacy.db") == before);
    // Nothing to upgrade, no drift.
    let out = p.dbm_raw(&args(&["upgrade"]));
    assert!(
        stdout(&out).contains("Current database version: 2"),
        "{}",
        stdout(&out)
    );
    let out = p.dbm_raw(&args(&["status"]));
    assert!(
        stdout(&out).contains("drift:      none"),
        "{}",
        stdout(&out)
    );

    let out = p.dbm_raw(&args(&["drop-version-control"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let c = p.conn("legacy.db");
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'migrate_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0, "control table dropped");
    assert_eq!(
        rows(&p.path("legacy.db"), "user").len(),
        1,
        "user rows kept"
    );
    let out = p.dbm_raw(&args(&["db-version"]));
    assert!(!out.status.success());
    let out = p.dbm_raw(&args(&["drop-version-control"]));
    assert!(!out.status.success());
    // version-control again, at 0 this time: upgrade then fails cleanly (tables exist).
    let out = p.dbm_raw(&args(&["version-control"]));
    assert!(out.status.success());
    let before = p.bytes("legacy.db");
    let out = p.dbm_raw(&args(&["upgrade"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(p.bytes("legacy.db") == before);
}
