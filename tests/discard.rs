//! `dbm discard`: the development loop (migrate, downgrade, discard, edit the model, migrate
//! again) and its refusals, which remove nothing.

mod common;

use common::{stderr, Project, BLOG_V1, BLOG_V2};

const BLOG_V2_EDITED: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', body TEXT, user_id INTEGER REFERENCES user(id));";

#[test]
fn a_discarded_version_is_written_again_from_the_edited_model() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.model_from_ddl("m2.toml", BLOG_V2);
    p.model_from_ddl("m2b.toml", BLOG_V2_EDITED);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate", "-m", "posts"]);
    let first = p.read("db_repository/versions/002_posts.up.sql");
    assert!(!first.contains("title"), "{first}");
    p.ok(&["downgrade", "--no-backup"]);
    let out = p.ok(&["discard"]);
    assert!(
        out.contains("Discarded version 2") && out.contains("002_posts.up.sql"),
        "{out}"
    );
    assert_eq!(
        p.versions_dir(),
        ["001_create_user.down.sql", "001_create_user.up.sql"]
    );
    p.ok(&["--model", "m2b.toml", "migrate", "-m", "posts"]);
    let again = p.read("db_repository/versions/002_posts.up.sql");
    assert!(again.contains("title"), "{again}");
    assert_eq!(p.version(), Some(2));
    p.ok(&["--model", "m2b.toml", "check"]);
    // An explicit VERSION that is the latest works the same way.
    p.ok(&["downgrade", "1", "--no-backup"]);
    p.ok(&["discard", "2"]);
    assert_eq!(p.versions_dir().len(), 2);
}

#[test]
fn refusals_remove_nothing() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.model_from_ddl("m2.toml", BLOG_V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    let files = p.versions_dir();
    // Applied.
    p.refused(&["discard"], &["version 2 is applied", "dbm downgrade 1"]);
    p.ok(&["downgrade", "0", "--no-backup"]);
    // Not the latest.
    p.refused(&["discard", "1"], &["not the repository's latest (2)"]);
    // Not in the repository.
    p.refused(&["discard", "5"], &["version 5 does not exist"]);
    p.refused(&["discard", "x"], &["not a number"]);
    assert_eq!(p.versions_dir(), files);
    // The database is not reachable: missing, or not under version control.
    let out = p.dbm_raw(&[
        "--database",
        "gone.db",
        "--repository",
        "db_repository",
        "discard",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(!p.path("gone.db").exists());
    p.build_db("plain.db", "CREATE TABLE t (x);");
    p.refused_on(
        "plain.db",
        "db_repository",
        &["discard"],
        &["not under version control"],
    );
    assert_eq!(p.versions_dir(), files);
    // Then it goes.
    p.ok(&["discard"]);
    assert_eq!(p.versions_dir().len(), 2);
}
