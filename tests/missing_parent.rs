//! Foreign keys to tables that do not exist (issue 10 item 16): legal in SQLite and left in
//! real histories by `ALTER TABLE ... RENAME`, which rewrites the children's references to
//! the old name before the old table is dropped. Such a database round-trips through
//! create-model, the model and migrate (a warning on stderr, not an error), and migrations
//! carry the dangling key both ways, rows in place.

mod common;
use common::*;

/// What a hand-written rebuild of `parent` leaves behind: SQLite's RENAME pointed the
/// child's foreign key at `parent_old`, which was then dropped.
/// Foreign keys are off, as they are by default in SQLite (rusqlite's bundled build turns
/// them on).
const RENAMED_HISTORY: &str = "
PRAGMA foreign_keys=OFF;
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT);
INSERT INTO parent VALUES (1, 'one'), (2, 'two');
INSERT INTO child VALUES (10, 1, 'a'), (11, 2, 'b'), (12, NULL, 'c');
CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO parent_new SELECT id, coalesce(name, '') FROM parent;
ALTER TABLE parent RENAME TO parent_old;
ALTER TABLE parent_new RENAME TO parent;
DROP TABLE parent_old;
";

const WARNING: &str = "warning: table `child`: foreign key references missing table `parent_old`";

/// Writes rows as an app with SQLite's default (foreign keys off) does.
fn insert(p: &Project, sql: &str) {
    let c = p.conn("app.db");
    c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
    c.execute_batch(sql).unwrap();
}

fn rows_of(p: &Project, table: &str) -> Vec<Vec<String>> {
    rows(&p.path("app.db"), table)
}

#[test]
fn a_renamed_parent_round_trips_through_create_model_and_migrate() {
    let p = Project::new();
    p.build_db("app.db", RENAMED_HISTORY);
    let fk: String = p
        .conn("app.db")
        .query_row(
            "SELECT \"table\" FROM pragma_foreign_key_list('child')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        fk, "parent_old",
        "SQLite's RENAME did not rewrite the child"
    );

    // create-model writes the dangling reference, and says so on stderr.
    let out = p.dbm(&["create-model"]);
    assert!(out.status.success(), "create-model: {}", stderr(&out));
    assert!(stderr(&out).contains(WARNING), "{}", stderr(&out));
    let model = stdout(&out);
    assert!(model.contains("references = \"parent_old(id)\""), "{model}");
    p.write("models.toml", &model);

    // The model is accepted (a warning), and the database matches it.
    p.ok(&["create"]);
    let out = p.dbm(&["--model", "models.toml", "check"]);
    assert!(out.status.success(), "check: {}", stderr(&out));
    assert!(stderr(&out).contains(WARNING), "{}", stderr(&out));
    let out = p.dbm(&["--model", "models.toml", "migrate"]);
    assert!(out.status.success(), "migrate: {}", stderr(&out));
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));

    // A new database migrated from the same model gets the same schema.
    let q = Project::new();
    q.write("models.toml", &model);
    q.ok(&["create"]);
    let out = q.dbm(&["--model", "models.toml", "migrate", "-m", "start"]);
    assert!(out.status.success(), "migrate: {}", stderr(&out));
    assert!(stderr(&out).contains(WARNING), "{}", stderr(&out));
    assert_same_schema(&q.path("app.db"), &p.path("app.db"), "fresh from the model");
    q.ok(&["downgrade", "0"]);
    q.ok(&["upgrade"]);
    assert_same_schema(&q.path("app.db"), &p.path("app.db"), "down and up again");
}

#[test]
fn repairing_a_dangling_key_migrates_up_and_down_with_rows() {
    let p = Project::new();
    p.build_db("app.db", RENAMED_HISTORY);
    p.ok(&["create"]);
    let out = p.dbm(&["create-model"]);
    let broken = stdout(&out);
    p.write("broken.toml", &broken);
    p.ok(&["--model", "broken.toml", "migrate", "-m", "adopt"]);

    // The repair points the key at the table that exists (a rebuild of child).
    let repaired = broken.replace("parent_old(id)", "parent(id)");
    assert_ne!(repaired, broken);
    p.write("repaired.toml", &repaired);
    let before = rows_of(&p, "child");
    let out = p.dbm(&["--model", "repaired.toml", "migrate", "-m", "repair fk"]);
    assert!(out.status.success(), "migrate: {}", stderr(&out));
    assert!(
        !stderr(&out).contains("warning: table `child`"),
        "{}",
        stderr(&out)
    );
    let fk_parent = |p: &Project| -> String {
        p.conn("app.db")
            .query_row(
                "SELECT \"table\" FROM pragma_foreign_key_list('child')",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(fk_parent(&p), "parent");
    assert_eq!(rows_of(&p, "child"), before);

    // Down restores the dangling key, rows present; up repairs it again.
    p.ok(&["downgrade"]);
    assert_eq!(fk_parent(&p), "parent_old");
    assert_eq!(rows_of(&p, "child"), before);
    assert_eq!(integrity(&p.path("app.db")), "ok");
    p.ok(&["upgrade"]);
    assert_eq!(fk_parent(&p), "parent");
    assert_eq!(rows_of(&p, "child"), before);

    // The repair still catches rows its new parent lacks.
    p.ok(&["downgrade"]);
    insert(&p, "INSERT INTO child VALUES (13, 99, 'orphan')");
    p.refused(&["upgrade"], &["child"]);
}

#[test]
fn a_key_to_a_table_a_later_version_creates_goes_both_ways() {
    let p = Project::new();
    p.model_from_ddl(
        "m1.toml",
        "CREATE TABLE comment (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES post(id), body TEXT);",
    );
    p.model_from_ddl(
        "m2.toml",
        "CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT);
         CREATE TABLE comment (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES post(id), body TEXT);",
    );
    p.ok(&["create"]);
    let out = p.dbm(&["--model", "m1.toml", "migrate", "-m", "comments"]);
    assert!(out.status.success(), "migrate: {}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("warning: table `comment`: foreign key references missing table `post`"),
        "{}",
        stderr(&out)
    );
    insert(
        &p,
        "INSERT INTO comment VALUES (1, 7, 'early'), (2, NULL, 'none')",
    );
    // Creating the parent makes comment 1 an orphan: refused, naming the table.
    p.refused(
        &["--model", "m2.toml", "migrate", "-m", "posts"],
        &["comment"],
    );
    insert(&p, "INSERT INTO comment VALUES (3, NULL, 'later')");
    insert(&p, "DELETE FROM comment WHERE id = 1");
    p.ok(&["--model", "m2.toml", "migrate", "-m", "posts"]);
    insert(
        &p,
        "INSERT INTO post VALUES (7, 'late'); INSERT INTO comment VALUES (4, 7, 'on 7')",
    );
    let before = rows_of(&p, "comment");
    // Down drops post again (its row with it, as the script's header says); the comments
    // stay, comment 4 now pointing at the missing table as in version 1.
    p.ok(&["downgrade", "1"]);
    assert_eq!(rows_of(&p, "comment"), before);
    assert_eq!(integrity(&p.path("app.db")), "ok");
    // Up again recreates post empty: comment 4 would be an orphan, so it is refused.
    p.refused(&["upgrade"], &["comment"]);
    insert(&p, "UPDATE comment SET post_id = NULL WHERE id = 4");
    p.ok(&["upgrade"]);
    assert_eq!(rows_of(&p, "comment").len(), before.len());
}
