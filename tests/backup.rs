//! Backups: before an upgrade/downgrade with a destructive step dbm writes a consistent copy
//! next to the database, prints its path and keeps it; `--no-backup`, `--backup` and
//! `backup = "always" | "never" | "auto"` in dbm.toml.

mod common;
use common::*;
use std::path::{Path, PathBuf};

const V1: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));";
const V2: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES user(id));";
/// Drops `user.email`: destructive.
const V3: &str = "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64));
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES user(id));";

/// A project at version 3 with rows, then downgraded to 2 (001/002 safe, 003 destructive).
fn project() -> Project {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.model_from_ddl("m2.toml", V2);
    p.model_from_ddl("m3.toml", V3);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    // Migrate follows the backup policy too: these tests count upgrade's backups.
    p.ok(&["--model", "m3.toml", "migrate", "--no-backup"]);
    p.ok(&["downgrade", "2", "--no-backup"]);
    p.conn("app.db")
        .execute_batch(
            "UPDATE user SET email = 'kept@example.com';
             INSERT INTO user(nickname, email) VALUES ('john', 'john@example.com'), ('susan', 's@example.com');
             INSERT INTO post(body, user_id) VALUES ('hi', 1), ('there', 2);",
        )
        .unwrap();
    p
}

fn backups(p: &Project) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("app.db.backup-")
        })
        .collect();
    v.sort();
    v
}

fn printed_backup(out: &str) -> PathBuf {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Backup written to "))
        .unwrap_or_else(|| panic!("no backup path printed:\n{out}"));
    PathBuf::from(line.trim())
}

/// A copy of the database's state, to compare a backup against.
fn freeze(p: &Project, name: &str) -> PathBuf {
    let c = p.conn("app.db");
    let target = p.path(name);
    c.execute("VACUUM INTO ?1", [target.display().to_string()])
        .unwrap();
    target
}

fn assert_equal_db(backup: &Path, expected: &Path) {
    assert_eq!(integrity(backup), "ok");
    assert_same_schema(backup, expected, "backup");
    for t in ["user", "post", "migrate_version"] {
        assert_eq!(rows(backup, t), rows(expected, t), "rows of {t}");
    }
}

#[test]
fn destructive_upgrade_and_downgrade_take_a_backup() {
    let p = project();
    let pre = freeze(&p, "pre-upgrade.db");
    let out = p.ok(&["upgrade"]);
    let b = p.dir.path().join(printed_backup(&out));
    let b = if b.exists() { b } else { printed_backup(&out) };
    assert!(b.exists(), "backup {} kept", b.display());
    assert_eq!(
        b.parent().unwrap().canonicalize().unwrap(),
        p.dir.path().canonicalize().unwrap(),
        "next to the database"
    );
    assert_equal_db(&b, &pre);
    assert_eq!(p.version(), Some(3));
    assert_eq!(backups(&p).len(), 1);

    // Downgrading 3 -> 1 drops the post table: a backup of the version-3 state.
    let pre = freeze(&p, "pre-downgrade.db");
    let out = p.ok(&["downgrade", "1"]);
    let b = printed_backup(&out);
    let b = if b.is_absolute() {
        b
    } else {
        p.dir.path().join(b)
    };
    assert_eq!(integrity(&b), "ok");
    assert_same_schema(&b, &pre, "downgrade backup");
    assert_eq!(rows(&b, "post").len(), 2);
    assert_eq!(backups(&p).len(), 2, "earlier backups are kept");
}

#[test]
fn no_backup_and_forced_backup() {
    let p = project();
    let out = p.ok(&["upgrade", "--no-backup"]);
    assert!(!out.contains("Backup"), "{out}");
    assert!(backups(&p).is_empty());
    p.ok(&["downgrade", "1", "--no-backup"]);
    assert!(backups(&p).is_empty());
    // 002 is not destructive: no backup by default; --backup forces one.
    let out = p.ok(&["upgrade", "2"]);
    assert!(!out.contains("Backup"), "{out}");
    assert!(backups(&p).is_empty());
    let pre = freeze(&p, "pre.db");
    let out = p.ok(&["upgrade", "3", "--backup"]);
    assert!(out.contains("Backup written to"), "{out}");
    assert_eq!(backups(&p).len(), 1);
    assert_equal_db(&backups(&p)[0], &pre);
    // Both flags at once are refused.
    p.fails(&["downgrade", "--backup", "--no-backup"]);
}

#[test]
fn config_backup_setting() {
    let p = project();
    p.write(
        "never.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nbackup = \"never\"\n",
    );
    p.write(
        "always.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nbackup = \"always\"\n",
    );
    p.write(
        "wrong.toml",
        "database = \"app.db\"\nrepository = \"db_repository\"\nbackup = \"sometimes\"\n",
    );
    let out = p.ok(&["--config", "never.toml", "upgrade"]);
    assert!(!out.contains("Backup"), "{out}");
    assert!(backups(&p).is_empty());
    // --backup beats the config.
    let out = p.ok(&["--config", "never.toml", "downgrade", "2", "--backup"]);
    assert!(out.contains("Backup written to"), "{out}");
    assert_eq!(backups(&p).len(), 1);
    // always: even a harmless step.
    p.ok(&["downgrade", "1", "--no-backup"]);
    let out = p.ok(&["--config", "always.toml", "upgrade", "2"]);
    assert!(out.contains("Backup written to"), "{out}");
    assert_eq!(backups(&p).len(), 2);
    // --no-backup beats "always".
    let out = p.ok(&["--config", "always.toml", "downgrade", "1", "--no-backup"]);
    assert!(!out.contains("Backup"), "{out}");
    let before = p.bytes("app.db");
    let err = p.fails(&["--config", "wrong.toml", "upgrade"]);
    assert!(err.contains("sometimes"), "{err}");
    assert!(p.bytes("app.db") == before);
}

#[test]
fn wal_database_backup_is_consistent() {
    let p = project();
    p.conn("app.db")
        .query_row("PRAGMA journal_mode=wal", [], |r| r.get::<_, String>(0))
        .unwrap();
    // Rows only in the -wal file must be in the backup too.
    let keep = p.conn("app.db");
    keep.execute_batch(
        "PRAGMA wal_autocheckpoint=0; INSERT INTO user(nickname) VALUES ('walonly');",
    )
    .unwrap();
    let pre = freeze(&p, "pre.db");
    let out = p.ok(&["upgrade"]);
    let b = printed_backup(&out);
    let b = if b.is_absolute() {
        b
    } else {
        p.dir.path().join(b)
    };
    assert_equal_db(&b, &pre);
    assert!(rows(&b, "user").iter().any(|r| r[1].contains("walonly")));
}

/// A `VACUUM INTO` that runs out of room (here the file-size limit, with SIGXFSZ ignored so
/// the write fails as on a full disk) leaves nothing under a backup name: no truncated copy
/// that would open as a valid database, and no temporary file. The database is untouched.
#[cfg(unix)]
#[test]
fn failed_backup_leaves_no_file() {
    let p = project();
    p.conn("app.db")
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
             INSERT INTO post(body, user_id) SELECT hex(randomblob(200)), 1 FROM n;",
        )
        .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("dbm");
    let out = std::process::Command::new("sh")
        .current_dir(p.dir.path())
        .arg("-c")
        // 256 blocks is at most 256 KiB; the database is over 1.5 MB.
        .arg(r#"trap '' XFSZ; ulimit -f 256; exec "$0" --database app.db --repository db_repository upgrade"#)
        .arg(&bin)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("backup"), "{}", stderr(&out));
    assert_eq!(backups(&p), Vec::<PathBuf>::new(), "{}", stderr(&out));
    assert_eq!(p.version(), Some(2));
    assert_eq!(integrity(&p.path("app.db")), "ok");
}
