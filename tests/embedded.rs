//! Migrations embedded in the binary (`embed_migrations!`) applied to a borrowed
//! connection: the same steps, control rows and refusals as `dbm upgrade`, and never inside
//! the caller's transaction.

#![cfg(feature = "derive")]

use dbm::{EmbeddedMigrations, Error};
use rusqlite::Connection;

/// The tutorial's repository (two versions).
static TUTORIAL: EmbeddedMigrations = dbm::embed_migrations!("db_repository");
/// A parent and a child with `ON DELETE CASCADE`; version 2 rebuilds the parent.
static CASCADE: EmbeddedMigrations = dbm::embed_migrations!("tests/fixtures/cascade_repository");

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn a_fresh_database_is_brought_to_the_latest_version_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
    let report = TUTORIAL.upgrade(&mut conn).unwrap();
    assert_eq!(report.steps, vec![(0, 1), (1, 2)]);
    assert_eq!(TUTORIAL.db_version(&conn).unwrap(), Some(2));
    assert_eq!(TUTORIAL.latest().unwrap(), 2);
    assert_eq!(
        tables(&conn),
        ["migrate_history", "migrate_version", "post", "user"]
    );
    // Start-up again: nothing to do.
    assert!(TUTORIAL.upgrade(&mut conn).unwrap().steps.is_empty());
    // The history is the one `dbm upgrade` writes, with the embedded scripts' checksums.
    let repo = TUTORIAL.repository().unwrap();
    let history = dbm::history(&conn, &repo).unwrap();
    assert_eq!(history.len(), 2);
    assert!(repo.is_embedded());
    // And the CLI on the same database and repository folder agrees.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbm"))
        .args(["--repository", "db_repository", "--database"])
        .arg(dir.path().join("app.db"))
        .arg("status")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("edited:     none"), "{stdout}");

    let report = TUTORIAL.downgrade(&mut conn, 0).unwrap();
    assert_eq!(report.steps, vec![(2, 1), (1, 0)]);
    assert_eq!(tables(&conn), ["migrate_history", "migrate_version"]);
}

#[test]
fn inside_the_callers_transaction_nothing_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let mut conn = Connection::open(&path).unwrap();
    // Version 1 applied, with a parent and its cascading children.
    CASCADE
        .upgrade_with(&mut conn, Some(1), &dbm::ApplyOptions::default())
        .unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         INSERT INTO parent (id, name) VALUES (1, 'a'), (2, 'b');
         INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (12, 2);",
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();

    // Version 2 rebuilds the parent. Inside a transaction foreign keys cannot be switched
    // off, and DROP TABLE "parent" would delete every child row: refused up front.
    conn.execute_batch("BEGIN").unwrap();
    let err = CASCADE.upgrade(&mut conn).unwrap_err();
    assert!(matches!(err, Error::OpenTransaction), "{err:?}");
    assert!(err.to_string().contains("ON DELETE CASCADE"), "{err}");
    assert!(
        !conn.is_autocommit(),
        "the caller's transaction is left open"
    );
    conn.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    assert_eq!(CASCADE.db_version(&conn).unwrap(), Some(1));
    // No backup or other file next to the database.
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 1);

    // The other entry points refuse too.
    conn.execute_batch("BEGIN").unwrap();
    let repo = CASCADE.repository().unwrap();
    for err in [
        CASCADE.downgrade(&mut conn, 0).unwrap_err(),
        dbm::upgrade(&mut conn, &repo, None, &Default::default()).unwrap_err(),
        dbm::version_control(&conn, &repo, 0).unwrap_err(),
        dbm::drop_version_control(&conn, &repo).unwrap_err(),
    ] {
        assert!(matches!(err, Error::OpenTransaction), "{err:?}");
    }
    conn.execute_batch("ROLLBACK").unwrap();

    // Outside a transaction the rebuild keeps every child row (foreign keys off around it),
    // and the caller's foreign-key setting is restored.
    CASCADE.upgrade(&mut conn).unwrap();
    assert_eq!(CASCADE.db_version(&conn).unwrap(), Some(2));
    assert_eq!(count(&conn, "child"), 3);
    assert_eq!(count(&conn, "parent"), 2);
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

#[test]
fn an_embedded_repository_cannot_be_written() {
    let repo = TUTORIAL.repository().unwrap();
    let err = repo.write_version("x", "", "").unwrap_err();
    assert!(err.to_string().contains("embedded"), "{err}");
}

#[test]
fn a_database_with_tables_but_no_version_is_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("app.db")).unwrap();
    conn.execute_batch("CREATE TABLE mine (x)").unwrap();
    let err = TUTORIAL.upgrade(&mut conn).unwrap_err();
    assert!(matches!(err.root(), Error::NotControlled { .. }), "{err:?}");
    assert_eq!(tables(&conn), ["mine"]);
}
