//! Safety under careless and hostile use (issue 10, part 6: wrong state, replays, offline SQL,
//! names, backups, interrupted migrations). Every case drives the real binary on real files.

mod common;
use common::*;

/// The file name of version `n`'s script in `direction` (`up` / `down`).
fn script_of(p: &Project, n: u32, direction: &str) -> String {
    let prefix = format!("{n:03}_");
    let suffix = format!(".{direction}.sql");
    p.versions_dir()
        .into_iter()
        .find(|f| f.starts_with(&prefix) && f.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no {prefix}*{suffix} in {:?}", p.versions_dir()))
}

/// Item 3: a script the tokenizer rejects is refused as a whole: no statement of it runs
/// (a `COMMIT` before the bad token used to commit half the work), and the error names the
/// file and the line.
#[test]
fn scripts_that_cannot_be_split_are_refused_whole() {
    let p = blog_project();
    p.ok(&["script", "broken"]);
    let up = script_of(&p, 3, "up");
    let commit_then = "INSERT INTO user(nickname) VALUES ('a');\nCOMMIT;\nINSERT INTO user(nickname) VALUES ('b');\n";
    #[rustfmt::skip]
    let cases: &[(String, &str)] = &[
        (format!("{commit_then}SELECT 'open\n"), "line 4"),
        (format!("{commit_then}SELECT $;\n"), "line 4"),
        (format!("{commit_then}SELECT 1 # 2;\n"), "line 4"),
        (format!("{commit_then}/* open comment\nSELECT 1;\n"), "line 4"),
        ("INSERT INTO user(nickname) VALUES ('a');\nCOMMIT;\nUPDATE migrate_version SET version = 3;\n/*\n".to_string(), "line 4"),
    ];
    for (text, line) in cases {
        p.write(&format!("db_repository/versions/{up}"), text);
        p.refused(&["upgrade"], &[&up, line, "none of it"]);
        assert_eq!(p.version(), Some(2), "{text}");
        assert_eq!(rows(&p.path("app.db"), "user").len(), 1, "{text}");
        // The offline SQL refuses it too.
        p.refused(&["upgrade", "--sql"], &[&up, line]);
    }
}

/// Item 2: SQL that dbm runs on a scratch database (a model's view text, replayed scripts)
/// cannot reach a file: `ATTACH` and `VACUUM INTO` are impossible there. A view declared as
/// `SELECT 1; ATTACH 'app.db' AS live; DELETE FROM live.user` used to empty the live table
/// during a read-only `dbm diff`.
#[test]
fn scratch_databases_cannot_attach_files() {
    let p = blog_project();
    let model = p.read("m2.toml");
    for (name, payload) in [
        ("attach", "ATTACH 'app.db' AS live; DELETE FROM live.user"),
        ("vacuum", "VACUUM INTO 'escaped.db'"),
    ] {
        let m = format!("{name}.toml");
        p.write(
            &m,
            &format!("{model}\n[views.v_{name}]\nsql = \"CREATE VIEW v_{name} AS SELECT 1; {payload}\"\n"),
        );
        for cmd in [&["diff"][..], &["check"], &["migrate"]] {
            let args = [&["--model", m.as_str()][..], cmd].concat();
            let out = p.dbm(&args);
            assert_ne!(out.status.code(), Some(0), "{args:?}: {}", stdout(&out));
            assert_eq!(
                rows(&p.path("app.db"), "user").len(),
                1,
                "{args:?} deleted rows"
            );
            assert!(!p.path("escaped.db").exists(), "{args:?} wrote a file");
        }
    }
    assert_eq!(p.version(), Some(2));
}

/// Item 2: `status` does not execute an applied script that was edited since (it reports it
/// as edited and the drift as unknown).
#[test]
fn status_does_not_replay_an_edited_script() {
    let p = blog_project();
    let up = script_of(&p, 2, "up");
    let path = format!("db_repository/versions/{up}");
    let text = p.read(&path);
    p.write(&path, &format!("{text}\nCREATE TABLE smuggled (x);\n"));
    let out = p.ok(&["status"]);
    assert!(out.contains("changed after it was applied"), "{out}");
    assert!(out.contains("not replayed"), "{out}");
    assert!(
        !out.contains("smuggled"),
        "status ran the edited script:\n{out}"
    );
}

/// Runs `sql` in the `sqlite3` shell on `db` (with `-bail` when `bail`).
fn sqlite3(db: &std::path::Path, sql: &str, bail: bool) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new("sqlite3");
    if bail {
        cmd.arg("-bail");
    }
    let mut child = cmd
        .arg(db)
        .current_dir(db.parent().unwrap())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the sqlite3 shell (apt-get install sqlite3)");
    let _ = child.stdin.take().unwrap().write_all(sql.as_bytes());
    child.wait_with_output().unwrap()
}

/// Item 8: a script file name with a newline and a `sqlite3` dot-command in it is refused
/// (it used to be pasted raw into the offline SQL's comments, where `.shell` ran a command),
/// and names from the model reach the headers of generated scripts escaped.
#[test]
fn names_with_control_characters_never_reach_offline_sql_raw() {
    let p = blog_project();
    let evil = "003_x\n.shell touch PWNED\n";
    for ext in ["up", "down"] {
        p.write(
            &format!("db_repository/versions/{evil}.{ext}.sql"),
            "SELECT 1;\n",
        );
    }
    for args in [&["upgrade", "--sql"][..], &["upgrade"], &["status"]] {
        let err = p.refused(args, &["control characters"]);
        assert!(!err.contains("\n.shell"), "{err}");
    }
    for ext in ["up", "down"] {
        std::fs::remove_file(p.path(&format!("db_repository/versions/{evil}.{ext}.sql"))).unwrap();
    }
    // A table named with a newline: the migration's header names it on one comment line.
    let model = format!(
        "{}\n[tables.\"t\\n.shell touch PWNED2\\n\"]\ncolumns = [{{ name = \"id\", type = \"integer\" }}]\n",
        p.read("m2.toml")
    );
    p.write("m3.toml", &model);
    p.ok(&["--model", "m3.toml", "migrate"]);
    p.ok(&["downgrade"]);
    let up = p.read(&format!(
        "db_repository/versions/{}",
        script_of(&p, 3, "up")
    ));
    assert!(
        up.contains("--   + table t\\u{a}.shell touch PWNED2"),
        "{up}"
    );
    let sql = p.ok(&["upgrade", "--sql"]);
    let out = sqlite3(&p.path("app.db"), &sql, true);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!p.path("PWNED").exists() && !p.path("PWNED2").exists());
    assert_eq!(p.version(), Some(3));
}

/// Item 7: offline SQL is replay-safe however the shell runs it (the `sqlite3` default goes on
/// after an error); it leaves nothing in a database that is not under version control; its
/// guard compares the applied scripts' checksums, not only the version number.
#[test]
fn offline_sql_is_replay_safe_and_guards_checksums() {
    let p = blog_project();
    p.ok(&["downgrade", "1"]);
    let sql = p.ok(&["upgrade", "--sql"]);
    // Twice, without -bail: the second run is refused and changes nothing.
    let first = sqlite3(&p.path("app.db"), &sql, false);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(p.version(), Some(2));
    let after_first = (snapshot(&p.path("app.db")), history_rows(&p.path("app.db")));
    let second = sqlite3(&p.path("app.db"), &sql, false);
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("not at the expected version"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        (snapshot(&p.path("app.db")), history_rows(&p.path("app.db"))),
        after_first
    );

    // An unmanaged database: refused, and no control table is left behind.
    let bare = p.build_db("bare.db", "CREATE TABLE keep (x);");
    let before = p.bytes("bare.db");
    let out = sqlite3(&bare, &sql, false);
    assert!(!out.status.success());
    assert_eq!(p.bytes("bare.db"), before, "the unmanaged database changed");

    // SQL written at version 1; then the database goes to 0 and back to 1 through an
    // edited 001 (same version number, another script), and the file is restored.
    p.ok(&["downgrade", "1"]);
    let sql = p.ok(&["upgrade", "--sql"]);
    p.ok(&["downgrade", "0"]);
    let path = format!("db_repository/versions/{}", script_of(&p, 1, "up"));
    let text = p.read(&path);
    p.write(&path, &format!("{text}\nCREATE TABLE extra (x);\n"));
    p.ok(&["upgrade", "1"]);
    p.write(&path, &text);
    let before = p.bytes("app.db");
    let out = sqlite3(&p.path("app.db"), &sql, false);
    assert!(
        stderr(&out).contains("applied scripts changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.bytes("app.db"), before);
    assert_eq!(p.version(), Some(1));
}

/// `upgrade --single-transaction` from the command line: every pending version commits
/// together, so a failure in the last one leaves the database as it was, at its old
/// version; without the flag the versions before the failure stay.
#[test]
fn single_transaction_upgrades_all_or_nothing() {
    let p = blog_project();
    p.ok(&["downgrade", "0"]);
    assert_eq!(p.version(), Some(0));
    p.ok(&["script", "broken"]);
    let up = script_of(&p, 3, "up");
    p.write(
        &format!("db_repository/versions/{up}"),
        "INSERT INTO nowhere VALUES (1);\n",
    );
    let before = p.bytes("app.db");
    let out = p.dbm_raw(&["upgrade", "--single-transaction", "--no-backup"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&up), "{}", stderr(&out));
    assert_eq!(p.version(), Some(0));
    assert!(p.bytes("app.db") == before, "the failed run changed app.db");

    let out = p.dbm_raw(&["upgrade", "--no-backup"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert_eq!(
        p.version(),
        Some(2),
        "one transaction per version keeps 1 and 2"
    );

    // Without the broken version, one run takes the database to the latest.
    p.ok(&["downgrade", "0"]);
    p.write(&format!("db_repository/versions/{up}"), "SELECT 1;\n");
    p.ok(&["upgrade", "--single-transaction"]);
    assert_eq!(p.version(), Some(3));
}
