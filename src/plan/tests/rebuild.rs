//! The table rebuild keeps what the table carries: rows and rowids, indexes, triggers,
//! views, cascading children, self-references, odd names, table options.

use super::*;
use crate::model::{FkAction, Trigger};

#[test]
fn rebuild_keeps_rows_rowids_indexes_triggers_views_and_cascade_children() {
    let (from, to, change) = post_fixture();
    let c = db(&from, POST_SEED);
    let stmts = plan_and_apply(&c, &[change], &from, &to, &PlanOptions::default());
    assert!(is_rebuild(&stmts));
    assert_eq!(
        stmts[0].comment.as_deref(),
        Some("rebuild \"post\": body VARCHAR(140) -> TEXT")
    );

    assert_eq!(
        rows(&c, "SELECT rowid, title, body FROM post ORDER BY rowid"),
        ["1|a|x", "3|b|y", "7|c|NULL"]
    );
    assert_eq!(
        q::<String>(
            &c,
            "SELECT type FROM pragma_table_xinfo('post') WHERE name = 'body'"
        ),
        "TEXT"
    );
    // CASCADE children survived the DROP TABLE of their parent.
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM comment"), 3);
    // The index came back and is used.
    assert!(schema_sql(&c, "post_title").is_some());
    let detail: String = c
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM post WHERE title = 'a'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(detail.contains("post_title"), "{detail}");
    // The view still works, the trigger still fires.
    assert_eq!(
        rows(&c, "SELECT r, title FROM post_titles ORDER BY r"),
        ["1|a", "3|b", "7|c"]
    );
    c.execute_batch("INSERT INTO post (title, rowid_copy) VALUES ('d', 8)")
        .unwrap();
    assert_eq!(rows(&c, "SELECT msg FROM log"), ["new d"]);
    c.execute_batch("INSERT INTO comment VALUES (3, 'c4')")
        .unwrap();
    assert_eq!(rows(&c, "SELECT msg FROM log"), ["new d", "on b"]);
    // Cascade still works on the rebuilt parent.
    c.execute_batch("DELETE FROM post WHERE title = 'a'")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM comment"), 2);
    // No temporary table left behind.
    assert_eq!(
        q::<i64>(
            &c,
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_dbm%' ESCAPE '\\'"
        ),
        0
    );
    snapshot("rebuild_post", &render_script(&["up".into()], &stmts));
}

#[test]
fn rebuild_does_not_recreate_triggers_that_a_later_change_creates() {
    let (from, mut to, change) = post_fixture();
    let new_sql = "CREATE TRIGGER post_ai AFTER INSERT ON post BEGIN\n    INSERT INTO log (msg) VALUES ('v2 ' || new.title);\nEND";
    to.triggers[0].sql = new_sql.into();
    let changes = vec![
        Change::DropTrigger(from.triggers[0].clone()),
        change,
        Change::CreateTrigger(to.triggers[0].clone()),
    ];
    let c = db(&from, POST_SEED);
    let stmts = plan_and_apply(&c, &changes, &from, &to, &PlanOptions::default());
    assert_eq!(
        stmts
            .iter()
            .filter(|s| s.sql.starts_with("CREATE TRIGGER"))
            .count(),
        1
    );
    c.execute_batch("INSERT INTO post (title) VALUES ('z')")
        .unwrap();
    assert_eq!(rows(&c, "SELECT msg FROM log"), ["v2 z"]);
}

#[test]
fn self_referencing_table_rebuild_keeps_tree() {
    let node = table("node")
        .column(col("id", "integer").primary_key())
        .column(
            col("parent", "integer")
                .references("node", Some("id"))
                .on_delete(FkAction::Cascade),
        )
        .column(col("label", "varchar(9)"))
        .build()
        .unwrap();
    let mut to = node.clone();
    to.columns[2].sql_type = "TEXT".into();
    let (from, to_s) = (schema(vec![node.clone()]), schema(vec![to.clone()]));
    let c = db(
        &from,
        "INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'kid'), (3, 2, 'grandkid');",
    );
    let stmts = plan_and_apply(
        &c,
        &[alter(&node, &to, vec![modify(&node, &to, "label", TYPE)])],
        &from,
        &to_s,
        &PlanOptions::default(),
    );
    assert!(is_rebuild(&stmts));
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM node"), 3);
    assert_eq!(
        q::<String>(&c, "SELECT \"table\" FROM pragma_foreign_key_list('node')"),
        "node"
    );
    c.execute_batch("DELETE FROM node WHERE id = 1").unwrap();
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM node"), 0);
}

#[test]
fn without_rowid_and_strict_rebuilds() {
    let kv = || {
        table("kv")
            .column(col("k", "text").not_null().primary_key())
            .column(col("v", "any"))
    };
    let (kv, to) = (
        kv().build().unwrap(),
        kv().without_rowid().strict().build().unwrap(),
    );
    let (from, to_s) = (schema(vec![kv.clone()]), schema(vec![to.clone()]));
    let c = db(
        &from,
        "INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', x'00');",
    );
    let stmts = plan_and_apply(
        &c,
        &[alter(
            &kv,
            &to,
            vec![
                TableChange::SetWithoutRowid(true),
                TableChange::SetStrict(true),
            ],
        )],
        &from,
        &to_s,
        &PlanOptions::default(),
    );
    assert!(stmts[0].sql.ends_with(") STRICT, WITHOUT ROWID"));
    assert_eq!(
        q::<String>(&c, "SELECT wr || strict FROM pragma_table_list('kv')"),
        "11"
    );
    assert_eq!(
        rows(&c, "SELECT k, typeof(v) FROM kv ORDER BY k"),
        ["a|integer", "b|text", "c|blob"]
    );

    // And back to a rowid table: rowids are fresh, rows stay.
    let stmts = plan_and_apply(
        &c,
        &[alter(
            &to,
            &kv,
            vec![
                TableChange::SetWithoutRowid(false),
                TableChange::SetStrict(false),
            ],
        )],
        &to_s,
        &from,
        &PlanOptions::default(),
    );
    assert!(is_rebuild(&stmts));
    assert_eq!(
        q::<String>(&c, "SELECT wr || strict FROM pragma_table_list('kv')"),
        "00"
    );
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM kv"), 3);
}

#[test]
fn odd_identifiers_survive_a_rebuild() {
    let t = table("order")
        .column(col("a\"b", "text"))
        .column(col("ünï cödé", "int"))
        .column(col("select", "varchar(5)"))
        .column(col("rowid", "int"))
        .index("ix \"q\"", &["ünï cödé", "a\"b"])
        .build()
        .unwrap();
    let mut to = t.clone();
    to.columns[2].sql_type = "TEXT".into();
    let mut from = schema(vec![t.clone()]);
    let trig = Trigger {
        name: "tr\"x".into(),
        table: "order".into(),
        sql: "CREATE TRIGGER \"tr\"\"x\" BEFORE DELETE ON \"order\" BEGIN SELECT RAISE(ABORT, 'no; never'); END".into(),
    };
    from.triggers.push(trig.clone());
    let mut to_s = schema(vec![to.clone()]);
    to_s.triggers.push(trig);
    let c = db(&from, "INSERT INTO \"order\" (_rowid_, \"a\"\"b\", \"ünï cödé\", \"select\", \"rowid\") VALUES (5, 'q', 1, 's', 99);");
    let change = alter(&t, &to, vec![modify(&t, &to, "select", TYPE)]);
    let stmts = plan_and_apply(&c, &[change], &from, &to_s, &PlanOptions::default());
    assert!(is_rebuild(&stmts));
    // `rowid` is a real column here; the real rowid travels as `_rowid_`.
    assert_eq!(
        rows(
            &c,
            "SELECT _rowid_, \"a\"\"b\", \"ünï cödé\", \"select\", \"rowid\" FROM \"order\""
        ),
        ["5|q|1|s|99"]
    );
    assert!(schema_sql(&c, "ix \"q\"").is_some());
    assert!(
        c.execute_batch("DELETE FROM \"order\"").is_err(),
        "trigger must be back"
    );
    snapshot("rebuild_odd_names", &render_script(&[], &stmts));
}
