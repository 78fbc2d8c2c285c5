//! Rename hints: `dbm migrate` says when a drop + add of the same type looks like a rename,
//! and a `renamed_from` hint stays harmless once the rename is applied (migrate again →
//! no changes; down renames back; up again).

mod common;
use common::*;

const BEFORE: &str = "CREATE TABLE user (id INTEGER PRIMARY KEY, nick TEXT);";

const NO_HINT: &str = r#"
[tables.user]
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "nickname", type = "text" },
]
"#;

const WITH_HINT: &str = r#"
[tables.user]
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "nickname", type = "text", renamed_from = "nick" },
]
"#;

fn project() -> Project {
    let p = Project::new();
    p.model_from_ddl("before.toml", BEFORE);
    p.ok(&["--model", "before.toml", "create"]);
    p.ok(&["--model", "before.toml", "migrate", "-m", "before"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO user VALUES (1, 'john'), (4, 'susan');")
        .unwrap();
    p
}

#[test]
fn migrate_prints_the_rename_hint_for_drop_plus_add_of_the_same_type() {
    let p = project();
    p.write("after.toml", NO_HINT);
    let out = p.dbm(&["--model", "after.toml", "migrate", "-m", "after"]);
    let err = stderr(&out);
    assert!(
        err.contains("hint:")
            && err.contains("user.nick is dropped")
            && err.contains("renamed_from = \"nick\" on column nickname"),
        "{err}"
    );
    // Without the hint it really is a drop + add: the data of nick is gone.
    assert!(out.status.success(), "{err}");
    assert_eq!(
        rows(&p.path("app.db"), "user"),
        vec![vec!["Integer(1)", "Null"], vec!["Integer(4)", "Null"]]
    );
}

#[test]
fn no_hint_when_the_types_differ() {
    let p = project();
    p.write(
        "after.toml",
        &NO_HINT.replace(r#"type = "text" }"#, r#"type = "integer" }"#),
    );
    let out = p.dbm(&["--model", "after.toml", "migrate", "-m", "after"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn an_applied_renamed_from_hint_is_harmless() {
    let p = project();
    p.write("after.toml", WITH_HINT);
    let out = p.dbm(&["--model", "after.toml", "migrate", "-m", "rename"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hint:"), "{}", stderr(&out));
    let up = p.read("db_repository/versions/002_rename.up.sql");
    assert!(up.contains(r#"RENAME COLUMN "nick" TO "nickname""#), "{up}");
    let want = vec![
        vec!["Integer(1)", "Text(\"john\")"],
        vec!["Integer(4)", "Text(\"susan\")"],
    ];
    assert_eq!(rows(&p.path("app.db"), "user"), want);

    // The hint stays in the model: nothing more to do, nothing written.
    let out = p.ok(&["--model", "after.toml", "migrate", "-m", "again"]);
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(p.versions_dir().len(), 4);
    let check = p.dbm(&["--model", "after.toml", "check"]);
    assert!(check.status.success(), "{}", stdout(&check));

    // Down renames back (data kept), up renames again.
    p.ok(&["downgrade"]);
    let c = p.conn("app.db");
    let cols: Vec<String> = c
        .prepare("SELECT name FROM pragma_table_info('user')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(cols, ["id", "nick"]);
    assert_eq!(rows(&p.path("app.db"), "user"), want);
    p.ok(&["upgrade"]);
    assert_eq!(rows(&p.path("app.db"), "user"), want);
    let out = p.ok(&["--model", "after.toml", "migrate"]);
    assert!(out.contains("No changes"), "{out}");
}

#[test]
fn an_applied_table_rename_hint_is_harmless() {
    let p = project();
    p.write(
        "after.toml",
        &WITH_HINT.replace("[tables.user]", "[tables.person]\nrenamed_from = \"user\""),
    );
    p.ok(&["--model", "after.toml", "migrate", "-m", "rename"]);
    let up = p.read("db_repository/versions/002_rename.up.sql");
    assert!(
        up.contains(r#"ALTER TABLE "user" RENAME TO "person""#),
        "{up}"
    );
    assert_eq!(rows(&p.path("app.db"), "person").len(), 2);
    let out = p.ok(&["--model", "after.toml", "migrate"]);
    assert!(out.contains("No changes"), "{out}");
}
