//! `#[derive(dbm::Table)]`: the contract's structs applied to a real database; every
//! attribute says what the same words say in the model file; the Rust type table.

#![cfg(feature = "derive")]

use dbm::{MigrateOptions, Repository, Schema};

#[path = "fixtures/contract_model.rs"]
mod contract;

fn rows(conn: &rusqlite::Connection, sql: &str) -> Vec<Vec<String>> {
    let mut st = conn.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                let v: rusqlite::types::Value = r.get(i)?;
                Ok(match v {
                    rusqlite::types::Value::Null => "NULL".to_string(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn contract_structs_migrate_a_real_database() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = Repository::create(&dir.path().join("db_repository"), "app").unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("app.db")).unwrap();
    dbm::version_control(&conn, &repo, 0).unwrap();
    let model = contract::schema().unwrap();
    let done = dbm::migrate(&mut conn, &repo, &model, &MigrateOptions::default()).unwrap();
    assert_eq!(done.map(|d| d.files.version), Some(1));

    // What SQLite holds, read with its own pragmas, not dbm's inspect.
    let tables = rows(
        &conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('user', 'post') ORDER BY name",
    );
    assert_eq!(tables, [["post"], ["user"]]);
    let cols = |t: &str| {
        rows(
            &conn,
            &format!(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{t}') ORDER BY cid"
            ),
        )
    };
    assert_eq!(
        cols("user"),
        [
            ["id", "INTEGER", "1", "1"],
            ["nickname", "VARCHAR(64)", "0", "0"],
            ["email", "VARCHAR(120)", "0", "0"],
        ]
    );
    assert_eq!(
        cols("post"),
        [
            ["id", "INTEGER", "1", "1"],
            ["body", "VARCHAR(140)", "0", "0"],
            ["timestamp", "DATETIME", "0", "0"],
            ["user_id", "INTEGER", "0", "0"],
        ]
    );
    // `index, unique`: unique indexes made by CREATE UNIQUE INDEX (origin `c`), named as
    // SQLAlchemy names them, and no UNIQUE constraint (origin `u`).
    assert_eq!(
        rows(
            &conn,
            "SELECT name, \"unique\", origin FROM pragma_index_list('user') ORDER BY name"
        ),
        [["ix_user_email", "1", "c"], ["ix_user_nickname", "1", "c"]]
    );
    for (ix, col) in [("ix_user_email", "email"), ("ix_user_nickname", "nickname")] {
        assert_eq!(
            rows(
                &conn,
                &format!("SELECT name FROM pragma_index_info('{ix}')")
            ),
            [[col]]
        );
    }
    assert_eq!(
        rows(
            &conn,
            "SELECT \"table\", \"from\", \"to\", on_delete, on_update FROM pragma_foreign_key_list('post')"
        ),
        [["user", "user_id", "id", "CASCADE", "NO ACTION"]]
    );

    // The cascade works on the rows.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         INSERT INTO user (id, nickname) VALUES (1, 'ann');
         INSERT INTO post (id, body, user_id) VALUES (1, 'hi', 1);
         DELETE FROM user WHERE id = 1;",
    )
    .unwrap();
    assert_eq!(rows(&conn, "SELECT count(*) FROM post"), [["0"]]);

    // The model is reached: nothing more to do.
    let again = dbm::migrate(&mut conn, &repo, &model, &MigrateOptions::default()).unwrap();
    assert!(again.is_none());
}

/// The schema a model file gives.
fn parsed(toml: &str) -> Schema {
    dbm::model::file::parse(toml, "models.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// A schema as SQLite sees it: created in an empty database and read back.
fn canonical(s: &Schema) -> Schema {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for ddl in s.to_ddl() {
        conn.execute_batch(&ddl)
            .unwrap_or_else(|e| panic!("{ddl}: {e}"));
    }
    dbm::inspect(&conn, &dbm::Reserved::default()).unwrap()
}

fn by_index_name(mut s: Schema) -> Schema {
    for t in &mut s.tables {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    }
    s
}

/// The tutorial's structs, as the example declares them.
#[path = "../examples/microblog/models.rs"]
mod tutorial;

#[test]
fn derived_tutorial_is_the_tutorial_model_file() {
    let derived = tutorial::schema().unwrap();
    let toml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/microblog/models.toml"),
    )
    .unwrap();
    let file = parsed(&toml);
    assert_eq!(canonical(&derived), canonical(&file));
    // The same model, not only the same tables: the file lists its indexes by name.
    assert_eq!(by_index_name(derived), file);
}

#[allow(dead_code)]
mod every_attribute {
    use std::collections::HashMap;

    #[derive(dbm::Table)]
    #[dbm(renamed_from = "accounts", strict)]
    #[dbm(unique(tenant, (column = "handle", collate = "NOCASE"), name = "uq_handle", on_conflict = "replace"))]
    #[dbm(check = "length(handle) > 0")]
    #[dbm(check(name = "sane_score", expr = "score >= 0", column = "score"))]
    #[dbm(foreign_key(
        columns = ["tenant", "owner"],
        references = "member(tenant, id)",
        on_delete = "set null",
        on_update = "RESTRICT",
        deferrable,
        name = "fk_owner"
    ))]
    #[dbm(index(
        name = "ix_account_live",
        columns = ["tenant", (column = "handle", desc), (expr = "lower(handle)")],
        unique,
        where = "score > 0"
    ))]
    pub struct Account {
        #[dbm(autoincrement)]
        id: i64,
        #[dbm(index)]
        tenant: i64,
        #[dbm(collate = "NOCASE", renamed_from = "nick", check = "handle <> ''")]
        handle: String,
        #[dbm(default = 0, not_null_on_conflict = "replace")]
        score: f64,
        #[dbm(name = "is_admin", default = false)]
        admin: bool,
        owner: Option<i64>,
        #[dbm(references = "team", on_delete = "cascade", deferrable)]
        team_id: Option<i64>,
        #[dbm(generated = "score * 2", stored)]
        double_score: Option<f64>,
        #[dbm(skip)]
        cache: HashMap<String, String>,
        #[dbm(sql_type = "ANY", default = "'x'", unique)]
        data: Option<Vec<u8>>,
        #[dbm(index = "ix_custom_blob", unique)]
        blob: Vec<u8>,
    }

    #[derive(dbm::Table)]
    #[dbm(primary_key(tenant, id, name = "pk_member", on_conflict = "abort"))]
    pub struct Member {
        tenant: i64,
        id: i64,
    }

    #[derive(dbm::Table)]
    #[dbm(without_rowid)]
    pub struct Team {
        #[dbm(primary_key, desc)]
        id: i64,
        #[dbm(sql_type = "")]
        note: Option<String>,
        #[dbm(default = -1)]
        rank: i32,
        #[dbm(default = 1.5)]
        ratio: f32,
        #[dbm(sql_type = "TIMESTAMP", default = "CURRENT_TIMESTAMP")]
        at: String,
    }

    /// No `name`: the struct's name in snake case; a raw identifier is the plain word.
    #[derive(dbm::Table)]
    pub struct BlogPost {
        #[dbm(primary_key)]
        id: u64,
        r#type: String,
    }
}

/// Every attribute says what the same words say in models.toml.
#[test]
fn every_attribute_says_what_the_model_file_says() {
    use every_attribute::*;
    let derived = dbm::schema![Account, Member, Team, BlogPost].unwrap();
    let file = parsed(
        r#"
[tables.account]
renamed_from = "accounts"
strict = true
columns = [
  { name = "id", sql_type = "INTEGER", not_null = true, primary_key = true, autoincrement = true },
  { name = "tenant", sql_type = "INTEGER", not_null = true },
  { name = "handle", sql_type = "TEXT", not_null = true, collate = "NOCASE", renamed_from = "nick", check = "handle <> ''" },
  { name = "score", sql_type = "REAL", not_null_on_conflict = "REPLACE", default = 0 },
  { name = "is_admin", sql_type = "INTEGER", not_null = true, default = false },
  { name = "owner", sql_type = "INTEGER" },
  { name = "team_id", sql_type = "INTEGER", references = "team", on_delete = "cascade", deferrable = true },
  { name = "double_score", sql_type = "REAL", generated = "score * 2", stored = true },
  { name = "data", sql_type = "ANY", default = "'x'", unique = true },
  { name = "blob", sql_type = "BLOB", not_null = true },
]
unique = [{ name = "uq_handle", columns = ["tenant", { column = "handle", collate = "NOCASE" }], on_conflict = "replace" }]
checks = [{ expr = "length(handle) > 0" }, { name = "sane_score", expr = "score >= 0", column = "score" }]
foreign_keys = [{ name = "fk_owner", columns = ["tenant", "owner"], references = "member(tenant, id)", on_delete = "set null", on_update = "RESTRICT", deferrable = true }]
indexes = [
  { name = "ix_account_tenant", columns = ["tenant"] },
  { name = "ix_custom_blob", columns = ["blob"], unique = true },
  { name = "ix_account_live", columns = ["tenant", { column = "handle", desc = true }, { expr = "lower(handle)" }], unique = true, where = "score > 0" },
]

[tables.member]
columns = [
  { name = "tenant", sql_type = "INTEGER", not_null = true },
  { name = "id", sql_type = "INTEGER", not_null = true },
]
primary_key = { name = "pk_member", columns = ["tenant", "id"], on_conflict = "abort" }

[tables.team]
without_rowid = true
columns = [
  { name = "id", sql_type = "INTEGER", not_null = true, primary_key = true, desc = true },
  { name = "note" },
  { name = "rank", sql_type = "INTEGER", not_null = true, default = -1 },
  { name = "ratio", sql_type = "REAL", not_null = true, default = 1.5 },
  { name = "at", sql_type = "TIMESTAMP", not_null = true, default = "CURRENT_TIMESTAMP" },
]

[tables.blog_post]
columns = [
  { name = "id", sql_type = "INTEGER", not_null = true, primary_key = true },
  { name = "type", sql_type = "TEXT", not_null = true },
]
"#,
    );
    assert_eq!(derived, file);
    // And SQLite takes it (STRICT accepts every declared type, the partial index, ...).
    assert_eq!(canonical(&derived), canonical(&file));
}

#[allow(dead_code)]
mod types {
    pub struct UserId(i64);
    impl dbm::SqlType for UserId {
        const SQL_TYPE: &'static str = "INTEGER";
    }

    #[derive(dbm::Table)]
    pub struct Types {
        a: i8,
        b: i16,
        c: i32,
        d: i64,
        e: u8,
        f: u16,
        g: u32,
        h: u64,
        i: isize,
        j: usize,
        k: f32,
        l: f64,
        m: bool,
        n: String,
        o: Vec<u8>,
        p: Option<i64>,
        q: Option<bool>,
        r: std::option::Option<String>,
        s: core::option::Option<Vec<u8>>,
        t: UserId,
        u: Option<UserId>,
        #[dbm(sql_type = "DECIMAL(10,2)")]
        v: Option<std::collections::BTreeSet<u8>>,
        #[dbm(sql_type = "JSON")]
        w: Vec<String>,
    }

    #[derive(dbm::Table)]
    #[dbm(strict)]
    pub struct StrictTypes {
        m: bool,
        q: Option<bool>,
        n: String,
        k: f64,
        o: Vec<u8>,
    }
}

#[test]
fn rust_types_map_to_declared_types() {
    let s = dbm::schema![types::Types, types::StrictTypes].unwrap();
    let cols = |t: &str| -> Vec<(String, String, bool)> {
        s.table(t)
            .unwrap()
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.sql_type.clone(), c.not_null))
            .collect()
    };
    let want = |v: &[(&str, &str, bool)]| -> Vec<(String, String, bool)> {
        v.iter()
            .map(|(n, t, nn)| (n.to_string(), t.to_string(), *nn))
            .collect()
    };
    assert_eq!(
        cols("types"),
        want(&[
            ("a", "INTEGER", true),
            ("b", "INTEGER", true),
            ("c", "INTEGER", true),
            ("d", "INTEGER", true),
            ("e", "INTEGER", true),
            ("f", "INTEGER", true),
            ("g", "INTEGER", true),
            ("h", "INTEGER", true),
            ("i", "INTEGER", true),
            ("j", "INTEGER", true),
            ("k", "REAL", true),
            ("l", "REAL", true),
            ("m", "BOOLEAN", true),
            ("n", "TEXT", true),
            ("o", "BLOB", true),
            ("p", "INTEGER", false),
            ("q", "BOOLEAN", false),
            ("r", "TEXT", false),
            ("s", "BLOB", false),
            ("t", "INTEGER", true),
            ("u", "INTEGER", false),
            ("v", "DECIMAL(10,2)", false),
            ("w", "JSON", true),
        ])
    );
    // STRICT tables take only INT, INTEGER, REAL, TEXT, BLOB, ANY: bool is INTEGER there.
    assert_eq!(
        cols("strict_types"),
        want(&[
            ("m", "INTEGER", true),
            ("q", "INTEGER", false),
            ("n", "TEXT", true),
            ("k", "REAL", true),
            ("o", "BLOB", true),
        ])
    );
    canonical(&s);
}

#[allow(dead_code)]
mod composes {
    #[derive(dbm::Table)]
    pub struct Orphan {
        #[dbm(references = "person(nowhere)")]
        x: i64,
    }

    #[derive(dbm::Table)]
    pub struct Person {
        #[dbm(primary_key)]
        id: i64,
        name: String,
    }
}

#[test]
fn schema_wide_checks_run_at_build_and_derived_tables_compose_with_the_builder() {
    let e = dbm::schema![composes::Orphan, composes::Person].unwrap_err();
    assert!(
        matches!(&e, dbm::Error::InvalidModel { table: Some(t), message }
            if t == "orphan" && message.contains("missing column `person.nowhere`")),
        "{e}"
    );
    let s = dbm::SchemaBuilder::new()
        .derived::<composes::Person>()
        .view("names", "CREATE VIEW names AS SELECT name FROM person")
        .build()
        .unwrap();
    assert_eq!(canonical(&s).views.len(), 1);
}
