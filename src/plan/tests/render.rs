//! DDL rendering (`create_all`, primary-key forms) and script text that other runners
//! (the `sqlite3` shell) execute as dbm does.

use super::*;
use crate::model::ddl;
use crate::model::{Check, Conflict, IndexPart, Order, Unique, View};

/// A table using most column and constraint forms the renderer writes.
fn full_table() -> Table {
    let mut t = table("post")
        .column(col("id", "integer").autoincrement())
        .column(col("author_id", "integer").not_null())
        .column(
            col("title", "varchar(64)")
                .not_null()
                .default_sql("'it''s'"),
        )
        .column(col("slug", "text").collate("NOCASE"))
        .column(col("created", "text").default_sql("(datetime('now'))"))
        .column(col("title_len", "int").generated("length(title)", false))
        .column(col("untyped", "").sql_type("")) // no declared type
        .foreign_key(ForeignKey {
            name: Some("fk_author".into()),
            columns: vec!["author_id".into()],
            ref_table: "author".into(),
            ref_columns: vec![],
            on_delete: FkAction::Cascade,
            on_update: FkAction::NoAction,
            deferred: true,
        })
        .index("post_created", &["created"])
        .build()
        .unwrap();
    // What the builder cannot say: a named UNIQUE with ON CONFLICT, a named column CHECK
    // (the table CHECK follows it, keeping the declared order), a partial index.
    t.uniques.push(Unique {
        name: Some("uq_slug".into()),
        columns: vec![IndexPart::column("slug"), IndexPart::column("author_id")],
        on_conflict: Some(Conflict::Replace),
    });
    t.checks.push(Check {
        name: Some("title_nonempty".into()),
        expr: "title <> ''".into(),
        column: Some("title".into()),
    });
    t.checks.push(Check {
        name: None,
        expr: "created IS NOT NULL OR untyped IS NULL".into(),
        column: None,
    });
    t.indexes[0].where_clause = Some("created > '2020'".into());
    t
}

#[test]
fn create_all_orders_and_executes() {
    let author = table("author")
        .column(col("id", "integer").primary_key())
        .column(col("name", "text"))
        .build()
        .unwrap();
    // Cycle a <-> b, broken by name order. References to `rowid` are why this schema is
    // put together by hand rather than by `SchemaBuilder::build`, which refuses them.
    let a = table("a")
        .column(col("b_id", "int").references("b", Some("rowid")))
        .build()
        .unwrap();
    let b = table("b")
        .column(col("a_id", "int").references("a", Some("rowid")))
        .build()
        .unwrap();
    let mut s = schema(vec![full_table(), b, a, author]);
    s.views.push(View {
        name: "a_top".into(),
        sql: "CREATE VIEW a_top AS SELECT * FROM z_base LIMIT 1".into(),
    });
    s.views.push(View {
        name: "z_base".into(),
        sql: "CREATE VIEW z_base AS SELECT title FROM post".into(),
    });
    let all = create_all(&s);
    let pos = |needle: &str| all.iter().position(|x| x.starts_with(needle)).unwrap();
    assert!(pos("CREATE TABLE \"author\"") < pos("CREATE TABLE \"post\""));
    assert!(pos("CREATE TABLE \"a\"") < pos("CREATE TABLE \"b\""));
    assert!(pos("CREATE VIEW z_base") < pos("CREATE VIEW a_top"));
    let c = db(&s, "INSERT INTO author VALUES (1, 'ann'); INSERT INTO post (author_id, title) VALUES (1, 'hello');");
    assert_eq!(
        rows(&c, "SELECT id, title_len, untyped FROM post"),
        ["1|5|NULL"]
    );
    assert_eq!(q::<String>(&c, "SELECT * FROM a_top"), "hello");
    snapshot("create_all", &all.join(";\n\n"));
}

#[test]
fn render_primary_key_forms() {
    let mut t = table("t")
        .column(col("id", "integer").primary_key())
        .column(col("b", "text"))
        .build()
        .unwrap();
    t.primary_key.as_mut().unwrap().columns[0].order = Order::Desc;
    // Declared on the column, INTEGER PRIMARY KEY DESC is not a rowid alias: kept there.
    let sql = ddl::create_table(&t);
    assert!(sql.contains("\"id\" INTEGER PRIMARY KEY DESC,"), "{sql}");
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(&sql).unwrap();
    c.execute_batch("INSERT INTO t (id, b) VALUES (42, 'x')")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT rowid FROM t"), 1);
    // Declared as a table constraint it is the rowid alias: rendered table-level.
    t.primary_key.as_mut().unwrap().inline = false;
    let sql = ddl::create_table(&t);
    assert!(sql.contains("PRIMARY KEY (\"id\" DESC)"), "{sql}");
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(&sql).unwrap();
    c.execute_batch("INSERT INTO t (id, b) VALUES (42, 'x')")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT rowid FROM t"), 42);

    t.columns[0].sql_type = "INT".into();
    assert!(ddl::create_table(&t).contains("\"id\" INT PRIMARY KEY DESC,"));

    let mut t = table("t")
        .column(col("a", "int"))
        .column(col("b", "text"))
        .primary_key(&["a", "b"])
        .build()
        .unwrap();
    let pk = t.primary_key.as_mut().unwrap();
    pk.name = Some("pk_t".into());
    pk.on_conflict = Some(Conflict::Ignore);
    assert_eq!(
        ddl::create_table(&t),
        "CREATE TABLE \"t\" (\n    \"a\" INT,\n    \"b\" TEXT,\n    CONSTRAINT \"pk_t\" PRIMARY KEY (\"a\", \"b\") ON CONFLICT IGNORE\n)"
    );
}

#[test]
fn script_runs_in_the_sqlite3_shell() {
    // The default target is SQLite 3.35; Debian's shell (3.40) must run the scripts too.
    let Ok(out) = std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
    else {
        eprintln!("sqlite3 shell not installed; skipped");
        return;
    };
    assert!(out.status.success());
    let (from, to, change) = post_fixture();
    let stmts = plan(&[change], &from, &to, &PlanOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = Connection::open(&path).unwrap();
        for sql in create_all(&from) {
            c.execute_batch(&sql).unwrap();
        }
        c.execute_batch(POST_SEED).unwrap();
    }
    let script = format!(
        "PRAGMA foreign_keys=OFF;\nBEGIN;\n{}COMMIT;\n",
        render_script(&["shell".into()], &stmts)
    );
    let mut child = std::process::Command::new("sqlite3")
        .arg("-bail")
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = Connection::open(&path).unwrap();
    assert_eq!(
        rows(&c, "SELECT rowid, title FROM post ORDER BY rowid"),
        ["1|a", "3|b", "7|c"]
    );
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM comment"), 3);
    assert!(schema_sql(&c, "post_ai").is_some());
}
