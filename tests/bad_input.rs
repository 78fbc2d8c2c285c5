//! Bad input never hurts: each case gets a clear error (file and line where there is one),
//! a non-zero exit code, and the database file stays byte-for-byte unchanged.

mod common;
use common::*;
use common::{blog_project as project, BLOG_V2 as V2};

/// Runs dbm, expects failure whose stderr contains every `needles`, and an unchanged db.
fn refused(p: &Project, args: &[&str], needles: &[&str]) {
    let before = p.bytes("app.db");
    let err = p.fails(args);
    for n in needles {
        assert!(err.contains(n), "dbm {args:?}: stderr lacks {n:?}:\n{err}");
    }
    assert!(
        p.bytes("app.db") == before,
        "dbm {args:?} changed the database file"
    );
}

#[test]
fn malformed_and_truncated_model_files() {
    let p = project();
    let good = p.read("m2.toml");
    p.write(
        "truncated.toml",
        &format!("{}\n[[[ nonsense\n", &good[..good.len() / 2]),
    );
    refused(
        &p,
        &["--model", "truncated.toml", "migrate"],
        &["truncated.toml:"],
    );
    p.write("bad.toml", "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"x\" type = \"text\" },\n]\n");
    refused(&p, &["--model", "bad.toml", "migrate"], &["bad.toml:4:"]);
    p.write("empty_value.toml", "[tables.user]\ncolumns = \n");
    refused(
        &p,
        &["--model", "empty_value.toml", "check"],
        &["empty_value.toml:"],
    );
}

#[test]
fn unknown_type_duplicates_and_missing_references() {
    let p = project();
    p.write(
        "t.toml",
        "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integr\" },\n]\n",
    );
    refused(
        &p,
        &["--model", "t.toml", "migrate"],
        &["t.toml:3:", "unknown type `integr`"],
    );
    p.write("dc.toml", "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"ID\", type = \"text\" },\n]\n");
    refused(
        &p,
        &["--model", "dc.toml", "migrate"],
        &["dc.toml:4:", "duplicate column"],
    );
    p.write("dt.toml", "[tables.user]\ncolumns = [{ name = \"id\" }]\n[tables.user]\ncolumns = [{ name = \"id\" }]\n");
    refused(&p, &["--model", "dt.toml", "migrate"], &["dt.toml:3:"]);
    p.write("fk.toml", "[tables.post]\ncolumns = [{ name = \"user_id\", type = \"integer\", references = \"nobody(id)\" }]\n");
    refused(
        &p,
        &["--model", "fk.toml", "migrate"],
        &["fk.toml", "missing table `nobody`"],
    );
    p.write(
        "uk.toml",
        "[tables.user]\ncolumns = [{ name = \"id\", type = \"integer\" }]\nunknown_key = 1\n",
    );
    refused(&p, &["--model", "uk.toml", "migrate"], &["uk.toml:3:"]);
}

#[test]
fn missing_files_and_wrong_paths() {
    let p = project();
    refused(&p, &["--model", "nope.toml", "migrate"], &["nope.toml"]);
    // Missing database for upgrade: nothing is created.
    let out = p.dbm_raw(&[
        "--database",
        "missing.db",
        "--repository",
        "db_repository",
        "upgrade",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing.db") && stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(!p.path("missing.db").exists());
    // A repository path that is a file.
    p.write("repofile", "not a folder");
    let before = p.bytes("app.db");
    let out = p.dbm_raw(&[
        "--database",
        "app.db",
        "--repository",
        "repofile",
        "upgrade",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("repofile"), "{}", stderr(&out));
    assert_eq!(before, p.bytes("app.db"));
    // A non-SQLite file given as database.
    p.write(
        "notadb.db",
        "hello, I am not a database at all, just text. "
            .repeat(200)
            .as_str(),
    );
    let before_text = p.bytes("notadb.db");
    let out = p.dbm_raw(&[
        "--database",
        "notadb.db",
        "--repository",
        "db_repository",
        "upgrade",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("notadb.db"), "{}", stderr(&out));
    assert_eq!(before_text, p.bytes("notadb.db"));
}

#[test]
fn bad_versions() {
    let p = project();
    refused(&p, &["upgrade", "99"], &["99", "does not exist"]);
    refused(&p, &["upgrade", "-1"], &["negative"]);
    refused(&p, &["downgrade", "-1"], &["negative"]);
    refused(&p, &["upgrade", "abc"], &["not a number"]);
    refused(
        &p,
        &["upgrade", "99999999999999999999999999"],
        &["too large"],
    );
    refused(&p, &["downgrade", "5"], &["below"]);
    p.ok(&["downgrade", "0"]);
    refused(&p, &["downgrade"], &["version 0"]);
}

#[test]
fn migrate_while_behind_is_refused() {
    let p = project();
    p.ok(&["downgrade", "1"]);
    refused(
        &p,
        &["--model", "m2.toml", "migrate"],
        &["version 1", "dbm upgrade"],
    );
}

#[test]
fn scripts_with_sql_errors_midway_roll_back() {
    let p = project();
    p.ok(&["script", "broken"]);
    let up = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("003_") && f.ends_with(".up.sql"))
        .unwrap();
    p.write(
        &format!("db_repository/versions/{up}"),
        "CREATE TABLE t1 (a);\nINSERT INTO user(nickname) VALUES ('mallory');\nCREATE TABLE oops (;\n",
    );
    refused(&p, &["upgrade"], &[&up, "statement 3"]);
    assert_eq!(p.version(), Some(2));
    assert_eq!(rows(&p.path("app.db"), "user").len(), 1);
}

#[test]
fn repository_problems_are_named() {
    let p = project();
    // A gap in numbering.
    p.write("db_repository/versions/005_later.up.sql", "SELECT 1;");
    p.write("db_repository/versions/005_later.down.sql", "SELECT 1;");
    refused(&p, &["upgrade"], &["005"]);
    std::fs::remove_file(p.path("db_repository/versions/005_later.up.sql")).unwrap();
    std::fs::remove_file(p.path("db_repository/versions/005_later.down.sql")).unwrap();
    // Two scripts claiming one version (two branches merged).
    p.write("db_repository/versions/002_other.up.sql", "SELECT 1;");
    p.write("db_repository/versions/002_other.down.sql", "SELECT 1;");
    refused(&p, &["upgrade"], &["002"]);
    std::fs::remove_file(p.path("db_repository/versions/002_other.up.sql")).unwrap();
    std::fs::remove_file(p.path("db_repository/versions/002_other.down.sql")).unwrap();
    // A missing down script.
    p.ok(&["script", "x"]);
    let down = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("003_") && f.ends_with(".down.sql"))
        .unwrap();
    std::fs::remove_file(p.path(&format!("db_repository/versions/{down}"))).unwrap();
    refused(&p, &["upgrade"], &["003"]);
}

#[test]
fn tampered_applied_script_is_refused_unless_allowed() {
    let p = project();
    p.ok(&["downgrade", "1"]);
    let up1 = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("001_") && f.ends_with(".up.sql"))
        .unwrap();
    let path = format!("db_repository/versions/{up1}");
    let text = p.read(&path);
    p.write(&path, &format!("{text}\n-- edited after it was applied\n"));
    refused(&p, &["upgrade"], &[&up1]);
    let out = p.ok(&["upgrade", "--allow-modified"]);
    assert!(out.contains("Current database version: 2"), "{out}");
}

#[test]
fn database_above_repository_latest() {
    let p = project();
    p.conn("app.db")
        .execute_batch("UPDATE migrate_version SET version = 7")
        .unwrap();
    refused(&p, &["upgrade"], &["7"]);
    refused(&p, &["--model", "m2.toml", "migrate"], &["7"]);
}

#[test]
fn locked_database_times_out_cleanly() {
    let p = project();
    p.ok(&["downgrade", "1"]);
    let holder = p.conn("app.db");
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO user(nickname) VALUES ('lock');")
        .unwrap();
    let started = std::time::Instant::now();
    let out = p.dbm(&["upgrade", "--timeout", "1"]);
    assert!(!out.status.success());
    // --timeout bounds the whole wait, opening included (the default is 30 s).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited {:?}",
        started.elapsed()
    );
    assert!(
        stderr(&out).to_lowercase().contains("lock"),
        "{}",
        stderr(&out)
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(p.version(), Some(1));
}

/// Runs dbm with a different database file; expects failure naming `needles`, file unchanged.
fn refused_on(p: &Project, db: &str, args: &[&str], needles: &[&str]) {
    let before = p.bytes(db);
    let mut all = vec!["--database", db, "--repository", "db_repository"];
    all.extend_from_slice(args);
    let out = p.dbm_raw(&all);
    assert!(
        !out.status.success(),
        "dbm {all:?} should fail: {}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(2), "exit code of {all:?}");
    let err = stderr(&out);
    for n in needles {
        assert!(err.contains(n), "dbm {all:?}: stderr lacks {n:?}:\n{err}");
    }
    assert!(p.bytes(db) == before, "dbm {all:?} changed {db}");
}

#[test]
fn unusable_database_files() {
    let p = project();
    // A folder where the database should be (running as root, chmod 000 would not stop us).
    std::fs::create_dir(p.path("dir.db")).unwrap();
    for cmd in [&["upgrade"][..], &["status"], &["create"], &["migrate"]] {
        let out = p.dbm_raw(
            &[
                &[
                    "--database",
                    "dir.db",
                    "--repository",
                    "db_repository",
                    "--model",
                    "m2.toml",
                ][..],
                cmd,
            ]
            .concat(),
        );
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(stderr(&out).contains("dir.db"), "{cmd:?}: {}", stderr(&out));
    }
    // A non-SQLite file, for every command that opens the database.
    p.write("notes.db", &"plain text, not SQLite\n".repeat(100));
    for cmd in [
        &["upgrade"][..],
        &["downgrade", "0"],
        &["status"],
        &["history"],
        &["create"],
        &["version-control"],
        &["drop-version-control"],
        &["test"],
        &["db-version"],
        &["--model", "m2.toml", "migrate"],
        &["--model", "m2.toml", "check"],
        &["upgrade", "--sql"],
    ] {
        refused_on(&p, "notes.db", cmd, &["notes.db"]);
    }
    // A truncated database (first half of a real one).
    let full = p.bytes("app.db");
    std::fs::write(p.path("half.db"), &full[..full.len() / 2]).unwrap();
    for cmd in [&["upgrade"][..], &["downgrade", "1"], &["status"]] {
        refused_on(&p, "half.db", cmd, &[]);
    }
    // An empty SQLite database that is not under version control.
    p.build_db("plain.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    for cmd in [
        &["upgrade"][..],
        &["downgrade"],
        &["status"],
        &["history"],
        &["--model", "m2.toml", "migrate"],
    ] {
        refused_on(&p, "plain.db", cmd, &["not under version control"]);
    }
}

#[test]
fn locked_database_for_every_writer() {
    let p = project();
    p.write(
        "dbm.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nlock_timeout = 1\n",
    );
    let before = p.bytes("app.db");
    let holder = p.conn("app.db");
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO user(nickname) VALUES ('lock');")
        .unwrap();
    for cmd in [
        &["downgrade", "1", "--timeout", "1"][..],
        &["--model", "m1.toml", "migrate"],
        &["drop-version-control"],
        &["status"],
    ] {
        let mut all = vec!["--config", "dbm.toml"];
        all.extend_from_slice(cmd);
        let started = std::time::Instant::now();
        let out = p.dbm_raw(&all);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{cmd:?}"
        );
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stdout(&out));
        assert!(stderr(&out).contains("locked"), "{cmd:?}: {}", stderr(&out));
    }
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(p.bytes("app.db") == before);
    assert_eq!(p.version(), Some(2));
}

#[test]
fn malformed_config_file() {
    let p = project();
    p.write("dbm.toml", "database = \"app.db\"\nrepository = [\n");
    refused(&p, &["--config", "dbm.toml", "upgrade"], &["dbm.toml"]);
    p.write("dbm.toml", "database = \"app.db\"\nbogus = 1\n");
    refused(
        &p,
        &["--config", "dbm.toml", "upgrade"],
        &["dbm.toml", "bogus"],
    );
    p.write("dbm.toml", "lock_timeout = -3\n");
    refused(&p, &["--config", "dbm.toml", "upgrade"], &["dbm.toml"]);
}

#[test]
fn repository_that_is_a_file_or_broken() {
    let p = project();
    p.write("repofile", "not a folder");
    for cmd in [
        &["upgrade"][..],
        &["downgrade"],
        &["status"],
        &["create"],
        &["script", "x"],
        &["lint"],
        &["--model", "m2.toml", "migrate"],
    ] {
        let before = p.bytes("app.db");
        let mut all = vec!["--database", "app.db", "--repository", "repofile"];
        all.extend_from_slice(cmd);
        let out = p.dbm_raw(&all);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(
            stderr(&out).contains("repofile"),
            "{cmd:?}: {}",
            stderr(&out)
        );
        assert!(p.bytes("app.db") == before, "{cmd:?}");
    }
    assert_eq!(p.read("repofile"), "not a folder");
    // A garbled migrate.cfg.
    let cfg = p.read("db_repository/migrate.cfg");
    p.write("db_repository/migrate.cfg", "[[[ garbage\n");
    refused(&p, &["upgrade"], &["migrate.cfg"]);
    p.write("db_repository/migrate.cfg", &cfg);
    // A versions entry that is not a script name at all is named, not ignored silently.
    p.write("db_repository/versions/003_x.up.sql", "SELECT 1;");
    refused(&p, &["upgrade"], &["003"]);
}

#[test]
fn more_bad_versions() {
    let p = project();
    for cmd in [
        &["downgrade", "abc"][..],
        &["downgrade", "99999999999999999999999"],
        &["upgrade", ""],
        &["upgrade", "1.5"],
        &["upgrade", "0x2"],
        &["version-control", "-1"],
        &["lint", "-1"],
        &["upgrade", "--sql", "abc"],
        &["downgrade", "--sql", "-1"],
        &["upgrade", "18446744073709551615"],
    ] {
        refused(&p, cmd, &[]);
    }
}

#[test]
fn integrity_refusals_also_apply_to_downgrade() {
    let p = project();
    let up2 = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("002_") && f.ends_with(".up.sql"))
        .unwrap();
    let path = format!("db_repository/versions/{up2}");
    let text = p.read(&path);
    p.write(&path, &text.replace("CREATE TABLE", "CREATE  TABLE"));
    refused(&p, &["downgrade"], &[&up2, "--allow-modified"]);
    refused(&p, &["downgrade", "--sql"], &[&up2]);
    p.ok(&["downgrade", "--allow-modified", "--no-backup"]);
    assert_eq!(p.version(), Some(1));
    p.write(&path, &text);
    // Database above the repository's latest: downgrade and status name both versions.
    p.conn("app.db")
        .execute_batch("UPDATE migrate_version SET version = 9")
        .unwrap();
    refused(&p, &["downgrade"], &["9", "2"]);
    let before = p.bytes("app.db");
    let out = p.ok(&["status"]);
    assert!(
        out.contains("database version 9 is above the repository's latest version 2"),
        "{out}"
    );
    assert!(p.bytes("app.db") == before);
    refused(&p, &["upgrade", "--sql"], &["9"]);
}

#[test]
fn down_script_with_sql_error_midway_rolls_back() {
    let p = project();
    let down = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("002_") && f.ends_with(".down.sql"))
        .unwrap();
    p.write(
        &format!("db_repository/versions/{down}"),
        "DELETE FROM user;\nDROP TABLE post;\nSELECT * FROM nowhere;\n",
    );
    refused(
        &p,
        &["downgrade", "--no-backup"],
        &[&down, "statement 3", "line 3", "nowhere"],
    );
    assert_eq!(p.version(), Some(2));
    assert_eq!(rows(&p.path("app.db"), "user").len(), 1);
    assert_eq!(rows(&p.path("app.db"), "post").len(), 1);
}

#[test]
fn migrate_waits_only_lock_timeout_for_the_write_lock() {
    let p = project();
    p.ok(&["downgrade", "1", "--no-backup"]);
    p.ok(&["upgrade", "--no-backup"]);
    p.model_from_ddl(
        "m3.toml",
        &format!("{V2}\nCREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT);"),
    );
    p.write(
        "dbm.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nlock_timeout = 1\n",
    );
    // A writer holds the write lock, readers still get in: dbm opens and diffs, then waits
    // for the migration transaction.
    // (Read the bytes before taking the lock: closing any descriptor of the file in this
    // process would drop the process's POSIX locks.)
    let before = p.bytes("app.db");
    let holder = p.conn("app.db");
    holder
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO user(nickname) VALUES ('w');")
        .unwrap();
    let files = p.versions_dir();
    let started = std::time::Instant::now();
    let out = p.dbm_raw(&["--config", "dbm.toml", "--model", "m3.toml", "migrate"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    assert_eq!(p.versions_dir(), files, "no script written");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(p.bytes("app.db") == before);
}
