//! Careless and hostile use (issue 10, part 6): messages that would become SQL, panics on
//! closed pipes and huge numbers, the lock wait, pre-existing foreign-key orphans, reserved
//! names, and the smaller traps. Each test drives the real binary on real files.

mod common;
use common::*;
use common::{blog_project as project, BLOG_V2 as V2};

#[test]
fn a_message_never_becomes_sql() {
    let p = project();
    let files = p.versions_dir();
    // A newline (or any control character) would end the header comment and make the rest
    // of the message a live statement of the "empty" template.
    for msg in ["fix\nDROP TABLE user;", "fix\rDROP TABLE user;", "a\u{7}b"] {
        for args in [vec!["script", msg], vec!["migrate", "-m", msg]] {
            let err = p.refused(&args, &["one line", "control character"]);
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert_eq!(p.versions_dir(), files, "nothing written");
    // A one-line message is a comment, and the template lints clean.
    p.ok(&["script", "fix -- DROP TABLE user; */ /*"]);
    let up = p.read("db_repository/versions/003_fix_drop_table_user.up.sql");
    assert!(
        up.lines().all(|l| l.is_empty() || l.starts_with("--")),
        "{up}"
    );
    assert!(
        p.ok(&["lint", "3"]).contains("No risky changes"),
        "a template has no findings"
    );
    // A live DROP in a template (as dbm wrote them before messages were one line) is found.
    p.write(
        "db_repository/versions/003_fix_drop_table_user.up.sql",
        "-- dbm migration 003 (up): fix\nDROP TABLE user;\n-- Hand-written SQL: it runs in one transaction with the version update.\n\n",
    );
    let lint = p.ok(&["lint", "3"]);
    assert!(lint.contains(":2: destructive: drops table user"), "{lint}");
}

/// Runs dbm with its stdout a pipe whose reader has already gone (`dbm … | head -0`).
fn with_closed_stdout(p: &Project, args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbm"))
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .args(["--database", "app.db", "--repository", "db_repository"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn dbm");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait dbm");
    (out.status.code(), stderr(&out))
}

#[test]
fn a_closed_stdout_after_the_work_is_not_an_error() {
    let p = project();
    p.ok(&["downgrade", "1", "--no-backup"]);
    for args in [&["status"][..], &["history"], &["lint"], &["create-model"]] {
        let (code, err) = with_closed_stdout(&p, args);
        assert_eq!(code, Some(0), "dbm {args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The upgrade commits, then cannot print: the exit code reports the work, which was done.
    // stderr holds only the step lines (progress, said as each version starts).
    let (code, err) = with_closed_stdout(&p, &["upgrade", "--no-backup"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.lines().all(|l| l.ends_with('…')), "{err}");
    assert_eq!(p.version(), Some(2));
}

#[test]
fn huge_numbers_and_odd_history_rows_do_not_panic() {
    let p = project();
    for t in ["99999999999", "99999999999999999999999", "2147484"] {
        for cmd in ["upgrade", "downgrade"] {
            let err = p.refused(&[cmd, "--timeout", t], &["too long", "2147483"]);
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    p.write(
        "dbm.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nlock_timeout = 3000000\n",
    );
    for cmd in [&["status"][..], &["upgrade"], &["db-version"], &["migrate"]] {
        let all = [&["--config", "dbm.toml"][..], cmd].concat();
        let out = p.dbm_raw(&all);
        assert_eq!(out.status.code(), Some(2), "dbm {all:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("lock_timeout 3000000 is too long"),
            "{}",
            stderr(&out)
        );
    }
    // The longest wait SQLite can hold is accepted.
    p.write("dbm.toml", "lock_timeout = 2147483\n");
    p.ok(&["--config", "dbm.toml", "db-version"]);
    // A checksum someone wrote into the history, cut at a character, not a byte.
    p.conn("app.db")
        .execute_batch("UPDATE migrate_history SET checksum = 'ééééééééééééé'")
        .unwrap();
    assert!(p.ok(&["history"]).contains("sha256:éééééééééééé"));
    let err = p.refused(
        &["downgrade"],
        &["changed since they were applied", "éééééééééééé"],
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Fills `big` with ~40 MB in 20 statements: far more than the page cache holds, so SQLite
/// tries to spill the cache to the file again and again inside the transaction (each try
/// needs every reader gone, in rollback-journal mode).
fn big_up() -> String {
    let mut s = "CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB);\n".to_string();
    for _ in 0..20 {
        s.push_str("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)\nINSERT INTO big (b) SELECT randomblob(400) FROM c;\n");
    }
    s
}

#[test]
fn the_lock_timeout_bounds_the_whole_wait_behind_a_reader() {
    let p = project();
    p.ok(&["script", "big"]);
    p.write("db_repository/versions/003_big.up.sql", &big_up());
    p.write(
        "db_repository/versions/003_big.down.sql",
        "DROP TABLE big;\n",
    );
    let journal: String = p
        .conn("app.db")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "delete", "rollback-journal mode");
    // An app holds a read transaction open (in this process: dbm is another one).
    let reader = p.conn("app.db");
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM user;")
        .unwrap();
    let timeout = 1;
    let started = std::time::Instant::now();
    let out = p.dbm(&["upgrade", "--no-backup", "--timeout", &timeout.to_string()]);
    let waited = started.elapsed();
    reader.execute_batch("COMMIT").unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Each try used to wait the full timeout, then COMMIT again (here 14 s and more for 1 s).
    assert!(
        waited < std::time::Duration::from_secs(3 * timeout + 5),
        "waited {waited:?} for --timeout {timeout}: {err}"
    );
    assert!(err.contains("locked by a reader"), "{err}");
    let said: u64 = err
        .split("dbm waited ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("says how long it waited: {err}"));
    assert!((1..=timeout + 1).contains(&said), "{err}");
    assert_eq!(p.version(), Some(2), "rolled back");
    // Without the reader the same upgrade goes through.
    p.ok(&["upgrade", "--no-backup", "--timeout", "2"]);
    assert_eq!(p.version(), Some(3));
}

#[test]
fn orphans_already_there_do_not_block_later_versions() {
    let p = project();
    // An orphan the app left behind (foreign keys are off by default in SQLite).
    p.conn("app.db")
        .execute_batch(
            "PRAGMA foreign_keys = OFF; INSERT INTO post (body, user_id) VALUES ('orphan', 999);",
        )
        .unwrap();
    p.model_from_ddl(
        "m3.toml",
        &V2.replace("email VARCHAR(120)", "email VARCHAR(120), bio TEXT"),
    );
    let out = p.ok(&["--model", "m3.toml", "migrate"]);
    assert!(out.contains("Current database version: 3"), "{out}");
    p.ok(&["downgrade", "--no-backup"]);
    p.ok(&["upgrade", "--no-backup"]);
    // A script that adds an orphan of its own is still refused, and named.
    p.ok(&["script", "more orphans"]);
    p.write(
        "db_repository/versions/004_more_orphans.up.sql",
        "INSERT INTO post (body, user_id) VALUES ('new orphan', 998);\nUPDATE user SET bio = 'x';\n",
    );
    p.refused(
        &["upgrade"],
        &[
            "004_more_orphans.up.sql",
            "new foreign key violations",
            "post (1 more row)",
        ],
    );
    assert_eq!(p.version(), Some(3));
    // A script that fixes the old orphan and adds none goes through.
    p.write(
        "db_repository/versions/004_more_orphans.up.sql",
        "DELETE FROM post WHERE user_id = 999;\n",
    );
    p.ok(&["upgrade", "--no-backup"]);
    assert_eq!(p.version(), Some(4));
}

#[test]
fn smaller_traps() {
    let p = project();
    // A `file:` URI is refused: with `?mode=memory` the migration would vanish.
    for db in ["file:other.db?mode=memory", "file:other.db"] {
        let out = p.dbm_raw(&[
            "--database",
            db,
            "--repository",
            "db_repository",
            "upgrade",
            "--create",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(
            stderr(&out).contains("not a `file:` URI"),
            "{}",
            stderr(&out)
        );
    }
    assert!(std::fs::read_dir(p.dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("other")));
    // A trigger whose body uses a column named `end` is one statement.
    p.ok(&["script", "events"]);
    p.write(
        "db_repository/versions/003_events.up.sql",
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, \"end\" INTEGER);\n\
         CREATE TRIGGER ev_bump AFTER INSERT ON ev BEGIN\n  UPDATE ev SET end = NEW.end + 1 WHERE id = NEW.id;\nEND;\n\
         INSERT INTO ev (\"end\") VALUES (41);\n",
    );
    p.write(
        "db_repository/versions/003_events.down.sql",
        "DROP TABLE ev;\n",
    );
    p.ok(&["upgrade", "--no-backup"]);
    assert_eq!(
        rows(&p.path("app.db"), "ev"),
        vec![vec!["Integer(1)", "Integer(42)"]]
    );
    // No advice to go to a version the repository does not have.
    let err = p.refused(
        &["downgrade", "7"],
        &["version 7 does not exist", "latest version is 3"],
    );
    assert!(!err.contains("dbm upgrade 7"), "{err}");
    // An app's own table named migrate_* is the user's: seen, modelled, kept.
    p.conn("app.db")
        .execute_batch("CREATE TABLE migrate_log (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO migrate_log (what) VALUES ('x');")
        .unwrap();
    let model = p.ok(&["create-model"]);
    assert!(model.contains("[tables.migrate_log]"), "{model}");
    p.write("m4.toml", &model);
    assert!(p
        .ok(&["--model", "m4.toml", "diff"])
        .contains("No differences"));
    // dbm's own tables are reserved in the model, with a clear error.
    p.write(
        "bad.toml",
        &format!("{model}\n[tables.migrate_history]\ncolumns = [{{ name = \"x\" }}]\n"),
    );
    p.refused(
        &["--model", "bad.toml", "migrate"],
        &[
            "bad.toml",
            "migrate_history",
            "reserved for dbm's control tables",
        ],
    );
    // `create` on a database whose schema dbm cannot read says so, not "0 existing tables".
    let q = Project::new();
    q.build_db(
        "app.db",
        "CREATE TABLE a (x); CREATE VIRTUAL TABLE v USING fts5(body);",
    );
    let out = q.dbm(&["create"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("0 existing tables"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("cannot read the existing schema"),
        "{}",
        stderr(&out)
    );
}

/// A full disk: a small tmpfs (the tests run as root in CI; skipped where mounting is not
/// allowed). The error names the database once, and nothing changes.
#[test]
fn a_full_disk_names_the_database_once() {
    let p = Project::new();
    let mnt = p.path("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=600k", "tmpfs"])
        .arg(&mnt)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here; the disk-full test is skipped");
        return;
    }
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("dbm")
            .unwrap()
            .current_dir(&mnt)
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    };
    let result = std::panic::catch_unwind(|| {
        assert!(run(&["create"]).status.success());
        assert!(run(&["script", "big"]).status.success());
        std::fs::write(mnt.join("db_repository/versions/001_big.up.sql"), big_up()).unwrap();
        std::fs::write(
            mnt.join("db_repository/versions/001_big.down.sql"),
            "DROP TABLE big;\n",
        )
        .unwrap();
        let out = run(&["upgrade", "--no-backup"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("app.db") && err.contains("full"), "{err}");
        assert_eq!(err.matches("disk is full").count(), 1, "said once: {err}");
        let out = run(&["db-version"]);
        assert_eq!(stdout(&out).trim(), "0", "{}", stderr(&out));
    });
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
