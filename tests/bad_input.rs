//! Bad input never hurts: each case gets a clear error (file and line where there is one),
//! a non-zero exit code, and the database file stays byte-for-byte unchanged.

mod common;
use common::*;

const V1: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);";
const V2: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES user(id));";

/// A project at version 2 with rows.
fn project() -> Project {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.model_from_ddl("m2.toml", V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname) VALUES ('john'); INSERT INTO post(body, user_id) VALUES ('hi', 1);")
        .unwrap();
    p
}

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
    let out = p.dbm(&["upgrade", "--timeout", "1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).to_lowercase().contains("lock"),
        "{}",
        stderr(&out)
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(p.version(), Some(1));
}
