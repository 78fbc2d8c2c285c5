//! `dbm migrate` under careless use (issue 10, items 1, 4 and 13): it follows the backup
//! policy, refuses an undeclared rename that would lose rows, refuses a version number that
//! another writer took while it waited for the lock, and a `kill -9` or Ctrl-C between
//! writing its scripts and COMMIT leaves nothing that breaks a later command.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

const USERS: &str = "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);";
/// `USERS` plus a table: a safe step.
const WITH_POSTS: &str = "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT);";
/// Drops `user.name`: a destructive step.
const NO_NAME: &str = "CREATE TABLE user (id INTEGER PRIMARY KEY);";
/// `user` renamed to `person` without `renamed_from`: a drop and a create of the same shape.
const PEOPLE: &str = "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT);";

/// A project at version 1 (`user` with two rows) and the models above.
fn project() -> Project {
    let p = Project::new();
    for (file, ddl) in [
        ("users.toml", USERS),
        ("posts.toml", WITH_POSTS),
        ("no_name.toml", NO_NAME),
        ("people.toml", PEOPLE),
    ] {
        p.model_from_ddl(file, ddl);
    }
    p.ok(&["--model", "users.toml", "create"]);
    p.ok(&["--model", "users.toml", "migrate", "-m", "users"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO user VALUES (1, 'john'), (2, 'susan');")
        .unwrap();
    p
}

fn backups(p: &Project) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("app.db.backup-")
        })
        .collect();
    v.sort();
    v
}

fn printed_backup(out: &str) -> Option<PathBuf> {
    out.lines()
        .find_map(|l| l.strip_prefix("Backup written to "))
        .map(|l| PathBuf::from(l.trim()))
}

#[test]
fn migrate_follows_the_backup_policy() {
    // auto: no copy before a safe step; a copy of the database as it was before a
    // destructive one (the rows of the dropped column are in it).
    let p = project();
    let out = p.ok(&["--model", "posts.toml", "migrate"]);
    assert!(
        printed_backup(&out).is_none() && backups(&p).is_empty(),
        "{out}"
    );
    let out = p.ok(&["--model", "no_name.toml", "migrate"]);
    let backup = printed_backup(&out).unwrap_or_else(|| panic!("no backup printed:\n{out}"));
    assert_eq!(backups(&p), vec![backup.clone()]);
    assert!(backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("app.db.backup-v2-"));
    assert_eq!(integrity(&backup), "ok");
    assert_eq!(
        rows(&backup, "user"),
        vec![
            vec!["Integer(1)", "Text(\"john\")"],
            vec!["Integer(2)", "Text(\"susan\")"]
        ]
    );
    assert_eq!(rows(&backup, "migrate_version")[0][2], "Integer(2)");
    assert_eq!(p.version(), Some(3));

    // --no-backup: none, even before a destructive step.
    let p = project();
    let out = p.ok(&["--model", "no_name.toml", "migrate", "--no-backup"]);
    assert!(
        printed_backup(&out).is_none() && backups(&p).is_empty(),
        "{out}"
    );

    // --backup, and backup = "always" in dbm.toml: before a safe step too.
    let p = project();
    let out = p.ok(&["--model", "posts.toml", "migrate", "--backup"]);
    assert!(
        printed_backup(&out).is_some() && backups(&p).len() == 1,
        "{out}"
    );
    let p = project();
    p.write(
        "always.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nbackup = \"always\"\n",
    );
    let out = p.ok(&[
        "--config",
        "always.toml",
        "--model",
        "posts.toml",
        "migrate",
    ]);
    assert!(
        printed_backup(&out).is_some() && backups(&p).len() == 1,
        "{out}"
    );
    // Nothing to do: no copy, whatever the policy.
    let out = p.ok(&[
        "--config",
        "always.toml",
        "--model",
        "posts.toml",
        "migrate",
    ]);
    assert!(
        out.contains("No changes") && backups(&p).len() == 1,
        "{out}"
    );
    // backup = "never" in dbm.toml.
    let p = project();
    p.write(
        "never.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nbackup = \"never\"\n",
    );
    let out = p.ok(&[
        "--config",
        "never.toml",
        "--model",
        "no_name.toml",
        "migrate",
    ]);
    assert!(
        printed_backup(&out).is_none() && backups(&p).is_empty(),
        "{out}"
    );
}

#[test]
fn an_undeclared_table_rename_that_would_lose_rows_is_refused() {
    let p = project();
    let before = p.versions_dir();
    let err = p.refused(
        &["--model", "people.toml", "migrate"],
        &[
            "table user (2 rows) is dropped and person with the same columns is created",
            "renamed_from = \"user\" on table person",
            "--accept-data-loss",
            "nothing was written",
        ],
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(p.versions_dir(), before);
    assert!(backups(&p).is_empty());

    // Accepted: the rows go, after a backup (the step is destructive).
    let out = p.ok(&["--model", "people.toml", "migrate", "--accept-data-loss"]);
    assert_eq!(p.version(), Some(2));
    assert!(printed_backup(&out).is_some(), "{out}");
    assert!(rows(&p.path("app.db"), "person").is_empty());

    // An empty table loses nothing: no refusal.
    let q = Project::new();
    q.model_from_ddl("users.toml", USERS);
    q.model_from_ddl("people.toml", PEOPLE);
    q.ok(&["--model", "users.toml", "create"]);
    q.ok(&["--model", "users.toml", "migrate"]);
    q.ok(&["--model", "people.toml", "migrate"]);
    assert_eq!(q.version(), Some(2));
}

/// `dbm migrate` (with `--model`) started in the background.
fn spawn_migrate(p: &Project, model: &str) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("dbm"))
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .args([
            "--database",
            "app.db",
            "--repository",
            "db_repository",
            "--model",
            model,
            "migrate",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbm")
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("wait for dbm")
}

#[test]
fn a_version_number_taken_while_migrate_waits_for_the_lock_is_refused() {
    // The other connection holds the write lock; migrate drafts version 2 and waits for the
    // lock; meanwhile `dbm script` takes number 2. A migrate that had not drafted yet when
    // the script was written refuses too (the database is behind the repository): the wait
    // before `dbm script` grows until the case under test is met.
    let mut seen = false;
    for delay_ms in [300u64, 1000, 3000, 8000] {
        let p = project();
        let blocker = p.conn("app.db");
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let child = spawn_migrate(&p, "posts.toml");
        std::thread::sleep(Duration::from_millis(delay_ms));
        p.ok(&["script", "by hand"]);
        blocker.execute_batch("ROLLBACK").unwrap();
        let out = finish(child);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}\n{}", stdout(&out));
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(p.version(), Some(1));
        assert_eq!(
            p.versions_dir(),
            [
                "001_users.down.sql",
                "001_users.up.sql",
                "002_by_hand.down.sql",
                "002_by_hand.up.sql"
            ]
        );
        assert_eq!(rows(&p.path("app.db"), "user").len(), 2);
        if err.contains("the repository changed while the migration was generated") {
            seen = true;
            break;
        }
        assert!(err.contains("run `dbm upgrade` first"), "{err}");
    }
    assert!(seen, "migrate never drafted before the script was written");
}

/// `dbm migrate` to `model` stopped by `signal` (`KILL` or `INT`) after it wrote its
/// scripts, before COMMIT: a reader holding the database (rollback journal) keeps COMMIT
/// waiting, so the moment is deterministic. Returns the process's output.
fn interrupt_before_commit(p: &Project, model: &str, signal: &str) -> Output {
    let reader = p.conn("app.db");
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM user", [], |r| r.get(0))
        .unwrap();
    let child = spawn_migrate(p, model);
    let started = Instant::now();
    let written = |p: &Project| {
        let names = p.versions_dir();
        names
            .iter()
            .any(|n| n.starts_with("002_") && n.ends_with(".up.sql"))
            && names
                .iter()
                .any(|n| n.starts_with("002_") && n.ends_with(".down.sql"))
    };
    while !written(p) {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "migrate wrote no scripts: {:?}",
            p.versions_dir()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = finish(child);
    reader.execute_batch("COMMIT").unwrap();
    out
}

fn dot_files(p: &Project) -> Vec<String> {
    p.versions_dir()
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn kill_9_between_writing_the_scripts_and_commit_leaves_nothing_that_breaks_a_command() {
    for half in [false, true] {
        let p = project();
        let out = interrupt_before_commit(&p, "posts.toml", "KILL");
        assert_eq!(out.status.code(), None, "killed by a signal");
        assert_eq!(p.version(), Some(1));
        assert_eq!(integrity(&p.path("app.db")), "ok");
        if half {
            // As if killed between the two scripts.
            let down = p
                .versions_dir()
                .into_iter()
                .find(|n| n.starts_with("002_") && n.ends_with(".down.sql"))
                .unwrap();
            std::fs::remove_file(p.path(&format!("db_repository/versions/{down}"))).unwrap();
        }
        // The scripts of the version never committed are not part of the repository:
        // every command works and none applies them.
        let status = p.ok(&["status"]);
        assert!(
            status.contains("at version 1")
                && status.contains("latest version 1")
                && status.contains("pending:    none")
                && status.contains("uncommitted: version 2"),
            "{status}"
        );
        assert_eq!(p.ok(&["version"]).trim(), "1");
        let up = p.ok(&["upgrade"]);
        assert!(up.contains("Current database version: 1"), "{up}");
        p.ok(&["lint"]);
        // The next migrate on the database removes them and writes the version again.
        p.ok(&["--model", "posts.toml", "migrate"]);
        assert_eq!(p.version(), Some(2));
        assert_eq!(
            p.versions_dir(),
            [
                "001_users.down.sql",
                "001_users.up.sql",
                "002_create_post.down.sql",
                "002_create_post.up.sql"
            ]
        );
        assert!(p.ok(&["status"]).contains("pending:    none"));
    }
}

#[test]
fn a_version_committed_just_before_the_kill_keeps_its_scripts() {
    // Killed after COMMIT, before the marker went: the marker of the version names the
    // scripts the database applied, so the next command keeps them and drops the marker.
    let p = project();
    interrupt_before_commit(&p, "posts.toml", "KILL");
    let marker = dot_files(&p);
    assert_eq!(marker, [".dbm-pending-002"], "{:?}", p.versions_dir());
    let text = p.read("db_repository/versions/.dbm-pending-002");
    // Generation is deterministic: the next migrate writes the same scripts and commits.
    p.ok(&["--model", "posts.toml", "migrate"]);
    assert!(dot_files(&p).is_empty());
    p.write("db_repository/versions/.dbm-pending-002", &text);
    let status = p.ok(&["status"]);
    assert!(
        status.contains("at version 2")
            && status.contains("latest version 2")
            && !status.contains("uncommitted"),
        "{status}"
    );
    assert!(dot_files(&p).is_empty(), "{:?}", p.versions_dir());
    assert_eq!(p.versions_dir().len(), 4);
}

#[test]
fn ctrl_c_before_commit_rolls_back_and_removes_the_scripts() {
    let p = project();
    let before = p.versions_dir();
    let out = interrupt_before_commit(&p, "no_name.toml", "INT");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("interrupted") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(p.versions_dir(), before);
    assert_eq!(p.version(), Some(1));
    assert_eq!(rows(&p.path("app.db"), "user").len(), 2);
    // The backup of a database left as it was is removed with the rest.
    assert!(backups(&p).is_empty());
    p.ok(&["--model", "no_name.toml", "migrate"]);
    assert_eq!(p.version(), Some(2));
}

#[test]
fn kills_at_spread_moments_never_leave_a_broken_repository() {
    // Bounded: a handful of kills spread over one migrate's run (and a little past it),
    // each followed by the commands a user would run next.
    let p = project();
    let t = Instant::now();
    p.ok(&["--model", "posts.toml", "migrate"]);
    let full = t.elapsed();
    for i in 0..7u32 {
        let p = project();
        let mut child = spawn_migrate(&p, "posts.toml");
        std::thread::sleep(full * i / 5);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(integrity(&p.path("app.db")), "ok");
        let status = p.dbm(&["status"]);
        assert!(status.status.success(), "kill {i}: {}", stderr(&status));
        p.ok(&["--model", "posts.toml", "migrate"]);
        assert_eq!(p.version(), Some(2), "kill {i}");
        let names = p.versions_dir();
        assert_eq!(names.len(), 4, "kill {i}: {names:?}");
        assert!(
            names.iter().all(|n| !n.starts_with('.')),
            "kill {i}: {names:?}"
        );
    }
}
