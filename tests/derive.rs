//! `#[derive(dbm::Table)]`: the contract's structs applied to a real database; every
//! attribute says what the same words say in the model file; the Rust type table.

use dbm::{MigrateOptions, Repository, Schema};

#[allow(dead_code)] // the fields are the model; nothing reads them
mod contract {
    // Exactly as in the contract (issue 9).
    #[derive(dbm::Table)]
    #[dbm(name = "user")]
    pub struct User {
        #[dbm(primary_key)]
        pub id: i64,
        #[dbm(sql_type = "VARCHAR(64)", index, unique)]
        pub nickname: Option<String>,
        #[dbm(sql_type = "VARCHAR(120)", index, unique)]
        pub email: Option<String>,
    }

    #[derive(dbm::Table)]
    #[dbm(name = "post")]
    pub struct Post {
        #[dbm(primary_key)]
        pub id: i64,
        #[dbm(sql_type = "VARCHAR(140)")]
        pub body: Option<String>,
        #[dbm(sql_type = "DATETIME")]
        pub timestamp: Option<String>,
        #[dbm(references = "user(id)", on_delete = "cascade")]
        pub user_id: Option<i64>,
    }

    pub fn schema() -> dbm::Result<dbm::Schema> {
        dbm::schema![User, Post]
    }
}

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
