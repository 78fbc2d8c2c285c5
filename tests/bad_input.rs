//! Bad input never hurts: each case gets a clear error (file and line where there is one),
//! a non-zero exit code, and the database file stays byte-for-byte unchanged.

mod common;
use common::*;
use common::{blog_project as project, BLOG_V2 as V2};

/// A refusal on the shared project: dbm arguments, and what its stderr must name.
type Case<'a> = (&'a [&'a str], &'a [&'a str]);

/// A refusal after writing one file: (path, contents, dbm arguments, needles).
type Written<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str]);

/// Cases can share one project: each refusal is checked to leave app.db as it was.
fn refused_all(p: &Project, cases: &[Case]) {
    for (args, needles) in cases {
        p.refused(args, needles);
    }
}

/// Written files stay in place for later cases, so each case writes its own file or
/// overwrites the same one.
fn refused_after_writing(p: &Project, cases: &[Written]) {
    for (file, text, args, needles) in cases {
        p.write(file, text);
        p.refused(args, needles);
    }
}

#[test]
fn malformed_and_truncated_model_files() {
    let p = project();
    let good = p.read("m2.toml");
    let truncated = format!("{}\n[[[ nonsense\n", &good[..good.len() / 2]);
    #[rustfmt::skip]
    let cases: &[Written] = &[
        ("truncated.toml", &truncated, &["--model", "truncated.toml", "migrate"], &["truncated.toml:"]),
        ("bad.toml", "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"x\" type = \"text\" },\n]\n", &["--model", "bad.toml", "migrate"], &["bad.toml:4:"]),
        ("empty_value.toml", "[tables.user]\ncolumns = \n", &["--model", "empty_value.toml", "check"], &["empty_value.toml:"]),
    ];
    refused_after_writing(&p, cases);
}

#[test]
fn unknown_type_duplicates_and_missing_references() {
    #[rustfmt::skip]
    let cases: &[Written] = &[
        ("t.toml", "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integr\" },\n]\n", &["--model", "t.toml", "migrate"], &["t.toml:3:", "unknown type `integr`"]),
        ("dc.toml", "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"ID\", type = \"text\" },\n]\n", &["--model", "dc.toml", "migrate"], &["dc.toml:4:", "duplicate column"]),
        ("dt.toml", "[tables.user]\ncolumns = [{ name = \"id\" }]\n[tables.user]\ncolumns = [{ name = \"id\" }]\n", &["--model", "dt.toml", "migrate"], &["dt.toml:3:"]),
        ("fk.toml", "[tables.user]\ncolumns = [{ name = \"id\", type = \"integer\" }]\n[tables.post]\ncolumns = [{ name = \"user_id\", type = \"integer\", references = \"user(nobody)\" }]\n", &["--model", "fk.toml", "migrate"], &["fk.toml:4:", "missing column `user.nobody`"]),
        ("uk.toml", "[tables.user]\ncolumns = [{ name = \"id\", type = \"integer\" }]\nunknown_key = 1\n", &["--model", "uk.toml", "migrate"], &["uk.toml:3:"]),
    ];
    refused_after_writing(&project(), cases);
}

#[test]
fn missing_files_and_wrong_paths() {
    let p = project();
    p.refused(&["--model", "nope.toml", "migrate"], &["nope.toml"]);
    p.write("repofile", "not a folder");
    p.write(
        "notadb.db",
        &"hello, I am not a database at all, just text. ".repeat(200),
    );
    // `dbm upgrade` on (database, repository) must be refused naming the needles.
    let cases: &[(&str, &str, &[&str])] = &[
        // A missing database.
        (
            "missing.db",
            "db_repository",
            &["missing.db", "does not exist"],
        ),
        // A repository path that is a file.
        ("app.db", "repofile", &["repofile"]),
        // A non-SQLite file given as database.
        ("notadb.db", "db_repository", &["notadb.db"]),
    ];
    for (db, repo, needles) in cases {
        p.refused_on(db, repo, &["upgrade"], needles);
    }
    // The missing database was not created.
    assert!(!p.path("missing.db").exists());
}

#[test]
fn bad_versions() {
    let p = project();
    refused_all(
        &p,
        &[
            (&["upgrade", "99"], &["99", "does not exist"]),
            (&["upgrade", "-1"], &["negative"]),
            (&["downgrade", "-1"], &["negative"]),
            (&["upgrade", "abc"], &["not a number"]),
            (&["upgrade", "99999999999999999999999999"], &["too large"]),
            // No advice to `dbm upgrade 5`: the repository has no version 5.
            (&["downgrade", "5"], &["version 5 does not exist"]),
        ],
    );
    p.ok(&["downgrade", "0"]);
    p.refused(&["downgrade"], &["version 0"]);
    p.refused(&["downgrade", "1"], &["below", "dbm upgrade 1"]);
}

#[test]
fn migrate_while_behind_is_refused() {
    let p = project();
    p.ok(&["downgrade", "1"]);
    p.refused(
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
    p.refused(&["upgrade"], &[&up, "statement 3"]);
    assert_eq!(p.version(), Some(2));
    assert_eq!(rows(&p.path("app.db"), "user").len(), 1);
}

#[test]
fn repository_problems_are_named() {
    let p = project();
    // A gap in numbering; two scripts claiming one version (two branches merged).
    for (stem, needle) in [("005_later", "005"), ("002_other", "002")] {
        let files =
            [".up.sql", ".down.sql"].map(|ext| format!("db_repository/versions/{stem}{ext}"));
        for f in &files {
            p.write(f, "SELECT 1;");
        }
        p.refused(&["upgrade"], &[needle]);
        for f in &files {
            std::fs::remove_file(p.path(f)).unwrap();
        }
    }
    // A missing down script.
    p.ok(&["script", "x"]);
    let down = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("003_") && f.ends_with(".down.sql"))
        .unwrap();
    std::fs::remove_file(p.path(&format!("db_repository/versions/{down}"))).unwrap();
    p.refused(&["upgrade"], &["003"]);
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
    p.refused(&["upgrade"], &[&up1]);
    let out = p.ok(&["upgrade", "--allow-modified"]);
    assert!(out.contains("Current database version: 2"), "{out}");
}

#[test]
fn database_above_repository_latest() {
    let p = project();
    p.conn("app.db")
        .execute_batch("UPDATE migrate_version SET version = 7")
        .unwrap();
    refused_all(
        &p,
        &[
            (&["upgrade"], &["7"]),
            (&["--model", "m2.toml", "migrate"], &["7"]),
        ],
    );
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
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
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

#[test]
fn unusable_database_files() {
    let p = project();
    // A folder where the database should be (running as root, chmod 000 would not stop us).
    std::fs::create_dir(p.path("dir.db")).unwrap();
    p.write("notes.db", &"plain text, not SQLite\n".repeat(100));
    // A truncated database (first half of a real one).
    let full = p.bytes("app.db");
    std::fs::write(p.path("half.db"), &full[..full.len() / 2]).unwrap();
    // An empty SQLite database that is not under version control.
    p.build_db("plain.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    let m = |cmd| ["--model", "m2.toml", cmd];
    /// A database file, the commands that must refuse it, and what stderr must name.
    type Group<'a> = (&'a str, &'a [&'a [&'a str]], &'a [&'a str]);
    let cases: &[Group] = &[
        (
            "dir.db",
            &[&m("upgrade"), &m("status"), &m("create"), &m("migrate")],
            &["dir.db"],
        ),
        (
            "notes.db",
            &[
                &["upgrade"],
                &["downgrade", "0"],
                &["status"],
                &["history"],
                &["create"],
                &["version-control"],
                &["drop-version-control"],
                &["test"],
                &["db-version"],
                &m("migrate"),
                &m("check"),
                &["upgrade", "--sql"],
            ],
            &["notes.db"],
        ),
        (
            "half.db",
            &[&["upgrade"], &["downgrade", "1"], &["status"]],
            &[],
        ),
        (
            "plain.db",
            &[
                &["upgrade"],
                &["downgrade"],
                &["status"],
                &["history"],
                &m("migrate"),
            ],
            &["not under version control"],
        ),
    ];
    for (db, cmds, needles) in cases {
        for cmd in *cmds {
            p.refused_on(db, "db_repository", cmd, needles);
        }
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
    let upgrade: &[&str] = &["--config", "dbm.toml", "upgrade"];
    #[rustfmt::skip]
    let cases: &[Written] = &[
        ("dbm.toml", "database = \"app.db\"\nrepository = [\n", upgrade, &["dbm.toml"]),
        ("dbm.toml", "database = \"app.db\"\nbogus = 1\n", upgrade, &["dbm.toml", "bogus"]),
        ("dbm.toml", "lock_timeout = -3\n", upgrade, &["dbm.toml"]),
    ];
    refused_after_writing(&project(), cases);
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
        p.refused_on("app.db", "repofile", cmd, &["repofile"]);
    }
    assert_eq!(p.read("repofile"), "not a folder");
    // A garbled migrate.cfg.
    let cfg = p.read("db_repository/migrate.cfg");
    p.write("db_repository/migrate.cfg", "[[[ garbage\n");
    p.refused(&["upgrade"], &["migrate.cfg"]);
    p.write("db_repository/migrate.cfg", &cfg);
    // A versions entry that is not a script name at all is named, not ignored silently.
    p.write("db_repository/versions/003_x.up.sql", "SELECT 1;");
    p.refused(&["upgrade"], &["003"]);
}

#[test]
fn more_bad_versions() {
    let cases: &[Case] = &[
        (&["downgrade", "abc"], &[]),
        (&["downgrade", "99999999999999999999999"], &[]),
        (&["upgrade", ""], &[]),
        (&["upgrade", "1.5"], &[]),
        (&["upgrade", "0x2"], &[]),
        (&["version-control", "-1"], &[]),
        (&["lint", "-1"], &[]),
        (&["upgrade", "--sql", "abc"], &[]),
        (&["downgrade", "--sql", "-1"], &[]),
        (&["upgrade", "18446744073709551615"], &[]),
    ];
    refused_all(&project(), cases);
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
    refused_all(
        &p,
        &[
            (&["downgrade"], &[&up2, "--allow-modified"]),
            (&["downgrade", "--sql"], &[&up2]),
        ],
    );
    p.ok(&["downgrade", "--allow-modified", "--no-backup"]);
    assert_eq!(p.version(), Some(1));
    p.write(&path, &text);
    // Database above the repository's latest: downgrade and status name both versions.
    p.conn("app.db")
        .execute_batch("UPDATE migrate_version SET version = 9")
        .unwrap();
    p.refused(&["downgrade"], &["9", "2"]);
    let before = p.bytes("app.db");
    let out = p.ok(&["status"]);
    assert!(
        out.contains("database version 9 is above the repository's latest version 2"),
        "{out}"
    );
    assert!(p.bytes("app.db") == before);
    p.refused(&["upgrade", "--sql"], &["9"]);
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
    // An edited down script is refused unless allowed; allowed, it runs and fails midway.
    p.refused(&["downgrade", "--no-backup"], &[&down, "--allow-modified"]);
    p.refused(
        &["downgrade", "--no-backup", "--allow-modified"],
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

#[test]
fn a_model_command_that_fails_or_prints_no_model() {
    let p = project();
    p.write(
        "bad.toml",
        "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"intgr\" },\n]\n",
    );
    let files = p.versions_dir();
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (&["--model-command", "sh -c 'echo boom from the model >&2; exit 3'", "migrate"], &["boom from the model", "failed", "exit status: 3", "nothing was written"]),
        (&["--model-command", "true", "migrate"], &["printed nothing"]),
        (&["--model-command", "echo '[[[ not toml'", "check"], &["<output of `echo [[[ not toml`>:1:"]),
        (&["--model-command", "cat bad.toml", "diff"], &["<output of `cat bad.toml`>:3:", "unknown type `intgr`"]),
        (&["--model-command", "./no-such-program", "status"], &["cannot run the model command `./no-such-program`"]),
        (&["--model-command", "'unbalanced", "migrate"], &["unbalanced quotes"]),
        (&["--model-command", "cat m2.toml", "--model", "m2.toml", "migrate"], &["--model"]),
    ];
    refused_all(&p, cases);
    p.write("dbm.toml", "model_command = []\n");
    p.refused(&["migrate"], &["names no program"]);
    assert_eq!(p.versions_dir(), files, "no script was written");
}
