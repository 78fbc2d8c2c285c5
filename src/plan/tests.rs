//! Plans executed on real in-memory databases holding rows, the way the apply stage runs
//! them (foreign keys OFF, one transaction, `foreign_key_check` before COMMIT).

use rusqlite::Connection;

use super::script::render_script;
use super::*;
use crate::model::ddl::{self, create_all};

/// The planner's statements (the tests look at the SQL it writes).
fn plan(
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: &PlanOptions,
) -> Result<Vec<Statement>> {
    super::plan(changes, from, to, opts).map(|p| p.statements)
}
use crate::diff::{ColumnChangeKind, TableChange};
use crate::model::{
    Check, Column, FkAction, ForeignKey, Generated, Index, IndexPart, Order, PrimaryKey, Table,
    Trigger, Unique, View,
};

// ---- model helpers -------------------------------------------------------------------

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        sql_type: ty.into(),
        ..Default::default()
    }
}

fn nn(mut c: Column) -> Column {
    c.not_null = true;
    c
}

fn dflt(mut c: Column, d: &str) -> Column {
    c.default = Some(d.into());
    c
}

fn pk(cols: &[&str]) -> Option<PrimaryKey> {
    Some(PrimaryKey {
        name: None,
        columns: cols.iter().map(|c| IndexPart::column(*c)).collect(),
        autoincrement: false,
        on_conflict: None,
        inline: cols.len() == 1,
    })
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        columns,
        ..Default::default()
    }
}

fn index(name: &str, cols: &[&str]) -> Index {
    Index {
        name: name.into(),
        unique: false,
        parts: cols.iter().map(|c| IndexPart::column(*c)).collect(),
        where_clause: None,
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        tables,
        ..Default::default()
    }
}

fn alter(from: &Table, to: &Table, changes: Vec<TableChange>) -> Change {
    Change::AlterTable {
        from: from.clone(),
        to: to.clone(),
        changes,
    }
}

fn modify(from: &Table, to: &Table, name: &str, kind: ColumnChangeKind) -> TableChange {
    TableChange::ModifyColumn {
        from: from.column(name).unwrap().clone(),
        to: to.column(name).unwrap().clone(),
        kind,
    }
}

const TYPE: ColumnChangeKind = ColumnChangeKind {
    sql_type: true,
    not_null: false,
    default: false,
    collate: false,
    generated: false,
    not_null_conflict: false,
};

// ---- database helpers ----------------------------------------------------------------

/// A database holding `schema` (through the renderer) plus `seed` SQL.
fn db(schema: &Schema, seed: &str) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    for sql in create_all(schema) {
        c.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    }
    c.execute_batch(seed).unwrap();
    c
}

/// Runs statements the way the apply stage will, via the rendered script text.
fn apply(c: &Connection, stmts: &[Statement]) {
    let script = render_script(&["test".into()], stmts);
    c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
    assert_eq!(q::<i64>(c, "PRAGMA foreign_keys"), 0);
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    if let Err(e) = c.execute_batch(&script) {
        c.execute_batch("ROLLBACK").unwrap();
        panic!("{e}\n{script}");
    }
    assert_eq!(
        q::<i64>(c, "SELECT count(*) FROM pragma_foreign_key_check"),
        0,
        "{script}"
    );
    c.execute_batch("COMMIT; PRAGMA foreign_keys=ON").unwrap();
    assert_eq!(q::<String>(c, "PRAGMA integrity_check"), "ok");
}

fn plan_and_apply(
    c: &Connection,
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: &PlanOptions,
) -> Vec<Statement> {
    let stmts = plan(changes, from, to, opts).unwrap();
    apply(c, &stmts);
    stmts
}

fn q<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> T {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

fn rows(c: &Connection, sql: &str) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

fn schema_sql(c: &Connection, name: &str) -> Option<String> {
    c.query_row(
        "SELECT sql FROM sqlite_schema WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .ok()
}

fn is_rebuild(stmts: &[Statement]) -> bool {
    stmts
        .iter()
        .any(|s| s.sql.contains(crate::script::REBUILD_PREFIX))
}

fn sqls(stmts: &[Statement]) -> Vec<&str> {
    stmts.iter().map(|s| s.sql.as_str()).collect()
}

// ---- the post/comment fixture ---------------------------------------------------------

/// `post` without an INTEGER PRIMARY KEY (so rowids must be carried explicitly), with an
/// index, a trigger, a view and an ON DELETE CASCADE child.
fn post_fixture() -> (Schema, Schema, Change) {
    let mut post = table(
        "post",
        vec![nn(col("title", "TEXT")), col("body", "VARCHAR(140)")],
    );
    post.indexes.push(index("post_title", &["title"]));
    let mut comment = table(
        "comment",
        vec![col("post_rowid", "INTEGER"), col("text", "TEXT")],
    );
    comment.foreign_keys.push(ForeignKey {
        name: Some("fk_post".into()),
        columns: vec!["post_rowid".into()],
        ref_table: "post".into(),
        ref_columns: vec!["rowid_copy".into()],
        on_delete: FkAction::Cascade,
        on_update: FkAction::NoAction,
        deferred: false,
    });
    post.columns.push(col("rowid_copy", "INT"));
    post.uniques.push(Unique {
        name: None,
        columns: vec![IndexPart::column("rowid_copy")],
        on_conflict: None,
    });
    let log = table("log", vec![col("msg", "TEXT")]);
    let mut from = schema(vec![post.clone(), comment, log]);
    from.views.push(View {
        name: "post_titles".into(),
        sql: "CREATE VIEW post_titles AS SELECT rowid AS r, title FROM post".into(),
    });
    from.triggers.push(Trigger {
        name: "post_ai".into(),
        table: "post".into(),
        sql: "CREATE TRIGGER post_ai AFTER INSERT ON post BEGIN\n    INSERT INTO log (msg) VALUES ('new ' || new.title);\nEND"
            .into(),
    });
    // A trigger on another table that mentions `post`: without legacy_alter_table it would
    // block the rename of the new table.
    from.triggers.push(Trigger {
        name: "comment_ai".into(),
        table: "comment".into(),
        sql: "CREATE TRIGGER comment_ai AFTER INSERT ON comment BEGIN\n    INSERT INTO log (msg) SELECT 'on ' || title FROM post WHERE rowid_copy = new.post_rowid;\nEND"
            .into(),
    });
    let mut to = from.clone();
    to.table_mut("post")
        .unwrap()
        .column_mut("body")
        .unwrap()
        .sql_type = "TEXT".into();
    let new_post = to.table("post").unwrap().clone();
    let change = alter(
        &post,
        &new_post,
        vec![modify(&post, &new_post, "body", TYPE)],
    );
    (from, to, change)
}

const POST_SEED: &str = "
    INSERT INTO post (rowid, title, body, rowid_copy) VALUES (1, 'a', 'x', 1), (3, 'b', 'y', 3), (7, 'c', NULL, 7);
    INSERT INTO comment VALUES (1, 'c1'), (1, 'c2'), (7, 'c3');
    DELETE FROM log;";

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
    insta::assert_snapshot!("rebuild_post", render_script(&["up".into()], &stmts));
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

// ---- AUTOINCREMENT ---------------------------------------------------------------------

fn autoinc_table(autoinc: bool, note_type: &str) -> Table {
    let mut t = table("item", vec![col("id", "INTEGER"), col("note", note_type)]);
    t.primary_key = pk(&["id"]);
    t.primary_key.as_mut().unwrap().autoincrement = autoinc;
    t
}

fn autoinc_case(from_autoinc: bool, seed: &str) -> Connection {
    let a = autoinc_table(from_autoinc, "VARCHAR(10)");
    let b = autoinc_table(true, "TEXT");
    let (from, to) = (schema(vec![a.clone()]), schema(vec![b.clone()]));
    let change = alter(&a, &b, vec![modify(&a, &b, "note", TYPE)]);
    let c = db(&from, seed);
    let stmts = plan_and_apply(&c, &[change], &from, &to, &PlanOptions::default());
    assert!(is_rebuild(&stmts));
    c
}

#[test]
fn autoincrement_counter_survives_rebuild() {
    // seq 5, max id 3: the next id must be 6, not 4.
    let c = autoinc_case(true, "INSERT INTO item (note) VALUES ('a'),('b'),('c'),('d'),('e'); DELETE FROM item WHERE id > 3;");
    assert_eq!(
        q::<i64>(&c, "SELECT seq FROM sqlite_sequence WHERE name = 'item'"),
        5
    );
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM sqlite_sequence"), 1);
    c.execute_batch("INSERT INTO item (note) VALUES ('f')")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT max(id) FROM item"), 6);
    assert_eq!(
        rows(&c, "SELECT id, note FROM item ORDER BY id"),
        ["1|a", "2|b", "3|c", "6|f"]
    );
}

#[test]
fn autoincrement_counter_survives_when_the_table_is_empty() {
    // The copy inserts nothing, so the new table gets no sqlite_sequence row of its own.
    let c = autoinc_case(
        true,
        "INSERT INTO item (note) VALUES ('a'),('b'),('c'),('d'),('e'); DELETE FROM item;",
    );
    c.execute_batch("INSERT INTO item (note) VALUES ('f')")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT id FROM item"), 6);
}

#[test]
fn autoincrement_added_by_rebuild_starts_after_existing_ids() {
    // The old table had no sqlite_sequence row at all.
    let c = autoinc_case(
        false,
        "INSERT INTO item (id, note) VALUES (1, 'a'), (9, 'b');",
    );
    c.execute_batch("INSERT INTO item (note) VALUES ('f')")
        .unwrap();
    assert_eq!(q::<i64>(&c, "SELECT max(id) FROM item"), 10);
    assert!(schema_sql(&c, "item").unwrap().contains("AUTOINCREMENT"));
}

// ---- native vs rebuild -----------------------------------------------------------------

fn people() -> Table {
    let mut t = table(
        "people",
        vec![
            col("id", "INTEGER"),
            nn(col("name", "TEXT")),
            col("nick", "TEXT"),
            col("age", "INT"),
        ],
    );
    t.primary_key = pk(&["id"]);
    t
}

const PEOPLE_SEED: &str = "INSERT INTO people VALUES (1, 'ann', 'a', 30), (2, 'bob', NULL, 40);";

fn run_people(
    to: &Table,
    changes: Vec<TableChange>,
    opts: &PlanOptions,
) -> (Connection, Vec<Statement>) {
    let from_t = people();
    let (from, to_s) = (schema(vec![from_t.clone()]), schema(vec![to.clone()]));
    let c = db(&from, PEOPLE_SEED);
    let stmts = plan_and_apply(&c, &[alter(&from_t, to, changes)], &from, &to_s, opts);
    (c, stmts)
}

#[test]
fn native_rename_column() {
    let mut to = people();
    to.columns[2].name = "nickname".into();
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::RenameColumn {
            from: "nick".into(),
            to: "nickname".into(),
        }],
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [r#"ALTER TABLE "people" RENAME COLUMN "nick" TO "nickname""#]
    );
    assert_eq!(
        rows(&c, "SELECT id, nickname FROM people ORDER BY id"),
        ["1|a", "2|NULL"]
    );
}

#[test]
fn rename_column_before_3_25_rebuilds_and_copies_from_the_old_name() {
    let mut to = people();
    to.columns[2].name = "nickname".into();
    let opts = PlanOptions {
        min_sqlite: (3, 24, 0),
    };
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::RenameColumn {
            from: "nick".into(),
            to: "nickname".into(),
        }],
        &opts,
    );
    assert!(is_rebuild(&stmts));
    assert_eq!(
        rows(&c, "SELECT id, nickname FROM people ORDER BY id"),
        ["1|a", "2|NULL"]
    );
}

#[test]
fn rename_plus_type_change_rebuilds_and_copies_from_the_old_name() {
    let from_t = people();
    let mut to = people();
    to.columns[3].name = "years".into();
    to.columns[3].sql_type = "INTEGER".into();
    let m = TableChange::ModifyColumn {
        from: from_t.columns[3].clone(),
        to: to.columns[3].clone(),
        kind: TYPE,
    };
    let rename = TableChange::RenameColumn {
        from: "age".into(),
        to: "years".into(),
    };
    let (c, stmts) = run_people(&to, vec![rename, m], &PlanOptions::default());
    assert!(is_rebuild(&stmts));
    // INTEGER PRIMARY KEY carries the rowid itself: no extra rowid column in the copy.
    assert!(stmts[1].sql.starts_with(r#"INSERT INTO "_dbm_new_people" ("id", "name", "nick", "years") SELECT "id", "name", "nick", "age""#), "{}", stmts[1].sql);
    assert_eq!(
        rows(&c, "SELECT id, years FROM people ORDER BY id"),
        ["1|30", "2|40"]
    );
}

#[test]
fn swapped_column_names_rebuild() {
    let mut to = people();
    to.columns[2].name = "age".into();
    to.columns[3].name = "nick".into();
    let (c, stmts) = run_people(
        &to,
        vec![
            TableChange::RenameColumn {
                from: "nick".into(),
                to: "age".into(),
            },
            TableChange::RenameColumn {
                from: "age".into(),
                to: "nick".into(),
            },
        ],
        &PlanOptions::default(),
    );
    assert!(is_rebuild(&stmts));
    assert_eq!(
        rows(&c, "SELECT age, nick FROM people ORDER BY id"),
        ["a|30", "NULL|40"]
    );
}

#[test]
fn native_add_column_with_constant_default() {
    let mut to = people();
    let email = dflt(nn(col("email", "TEXT")), "'none'");
    to.columns.push(email.clone());
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddColumn(email)],
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [r#"ALTER TABLE "people" ADD COLUMN "email" TEXT NOT NULL DEFAULT 'none'"#]
    );
    assert_eq!(rows(&c, "SELECT email FROM people"), ["none", "none"]);
}

#[test]
fn add_column_rebuilds_when_alter_cannot() {
    let cases: Vec<(Column, Option<Check>)> = vec![
        (nn(col("email", "TEXT")), None), // NOT NULL, no default
        (dflt(col("created", "TEXT"), "CURRENT_TIMESTAMP"), None), // non-constant default
        (dflt(col("created", "TEXT"), "(datetime('now'))"), None), // non-constant default
        (
            Column {
                generated: Some(Generated {
                    expr: "age * 2".into(),
                    stored: true,
                }),
                ..col("double_age", "INT")
            },
            None,
        ),
        (
            col("score", "INT"),
            Some(Check {
                name: None,
                expr: "score >= 0".into(),
                column: Some("score".into()),
            }),
        ), // CHECK before 3.37
    ];
    for (new_col, check) in cases {
        let mut to = people();
        to.columns.push(new_col.clone());
        let mut changes = vec![TableChange::AddColumn(new_col.clone())];
        if let Some(ck) = check {
            to.checks.push(ck.clone());
            changes.push(TableChange::AddCheck(ck));
        }
        let from_t = people();
        let (from, to_s) = (schema(vec![from_t.clone()]), schema(vec![to.clone()]));
        let stmts = plan(
            &[alter(&from_t, &to, changes)],
            &from,
            &to_s,
            &PlanOptions::default(),
        )
        .unwrap();
        assert!(is_rebuild(&stmts), "{new_col:?} {stmts:#?}");
        if new_col.not_null && new_col.default.is_none() {
            // The rebuild itself fails on rows (there is no value to fill in), which is
            // the honest outcome; on an empty table it works.
            let c = db(&from, "");
            apply(&c, &stmts);
        } else {
            let c = db(&from, PEOPLE_SEED);
            apply(&c, &stmts);
            assert_eq!(q::<i64>(&c, "SELECT count(*) FROM people"), 2);
        }
    }
}

#[test]
fn add_column_with_check_is_native_from_3_37() {
    let mut to = people();
    let score = dflt(col("score", "INT"), "0");
    let ck = Check {
        name: Some("score_pos".into()),
        expr: "score >= 0".into(),
        column: Some("score".into()),
    };
    to.columns.push(score.clone());
    to.checks.push(ck.clone());
    let opts = PlanOptions {
        min_sqlite: (3, 37, 0),
    };
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddColumn(score), TableChange::AddCheck(ck)],
        &opts,
    );
    assert_eq!(
        sqls(&stmts),
        [
            r#"ALTER TABLE "people" ADD COLUMN "score" INT DEFAULT 0 CONSTRAINT "score_pos" CHECK (score >= 0)"#
        ]
    );
    assert!(c.execute_batch("UPDATE people SET score = -1").is_err());
}

#[test]
fn add_column_in_the_middle_rebuilds_to_keep_column_order() {
    let mut to = people();
    let email = col("email", "TEXT");
    to.columns.insert(2, email.clone());
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddColumn(email)],
        &PlanOptions::default(),
    );
    assert!(is_rebuild(&stmts));
    assert_eq!(
        rows(
            &c,
            "SELECT group_concat(name) FROM pragma_table_info('people')"
        ),
        ["id,name,email,nick,age"]
    );
}

#[test]
fn native_drop_column_when_unused() {
    let mut to = people();
    let nick = to.columns.remove(2);
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::DropColumn(nick)],
        &PlanOptions::default(),
    );
    assert_eq!(sqls(&stmts), [r#"ALTER TABLE "people" DROP COLUMN "nick""#]);
    assert_eq!(
        rows(&c, "SELECT * FROM people ORDER BY id"),
        ["1|ann|30", "2|bob|40"]
    );
}

#[test]
fn drop_column_with_its_index_is_native_but_used_by_kept_index_rebuilds() {
    // Index dropped in the same change: DROP INDEX first, then DROP COLUMN.
    let mut from_t = people();
    from_t.indexes.push(index("people_nick", &["nick"]));
    let mut to = from_t.clone();
    let nick = to.columns.remove(2);
    to.indexes.clear();
    let (from, to_s) = (schema(vec![from_t.clone()]), schema(vec![to.clone()]));
    let changes = vec![
        TableChange::DropIndex(from_t.indexes[0].clone()),
        TableChange::DropColumn(nick.clone()),
    ];
    let c = db(&from, PEOPLE_SEED);
    let stmts = plan_and_apply(
        &c,
        &[alter(&from_t, &to, changes)],
        &from,
        &to_s,
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [
            r#"DROP INDEX "people_nick""#,
            r#"ALTER TABLE "people" DROP COLUMN "nick""#
        ]
    );

    // Partial index that keeps existing but mentions the column in WHERE: rebuild.
    let mut from_t = people();
    from_t.indexes.push(Index {
        where_clause: Some("nick IS NOT NULL".into()),
        ..index("people_name", &["name"])
    });
    let mut to = from_t.clone();
    to.columns.remove(2);
    to.indexes[0].where_clause = None;
    let (from, to_s) = (schema(vec![from_t.clone()]), schema(vec![to.clone()]));
    let stmts = plan(
        &[alter(&from_t, &to, vec![TableChange::DropColumn(nick)])],
        &from,
        &to_s,
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(is_rebuild(&stmts));
    let c = db(&from, PEOPLE_SEED);
    apply(&c, &stmts);
    assert_eq!(
        rows(&c, "SELECT * FROM people ORDER BY id"),
        ["1|ann|30", "2|bob|40"]
    );
}

#[test]
fn drop_column_used_by_a_view_rebuilds_and_dropped_view_allows_native() {
    let from_t = people();
    let mut to = people();
    let nick = to.columns.remove(2);
    let view = View {
        name: "nicks".into(),
        sql: "CREATE VIEW nicks AS SELECT nick FROM people".into(),
    };
    let mut from = schema(vec![from_t.clone()]);
    from.views.push(view.clone());
    let to_s = schema(vec![to.clone()]);
    let change = alter(&from_t, &to, vec![TableChange::DropColumn(nick)]);
    let stmts = plan(
        std::slice::from_ref(&change),
        &from,
        &to_s,
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(is_rebuild(&stmts));
    let stmts = plan(
        &[Change::DropView(view), change],
        &from,
        &to_s,
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(!is_rebuild(&stmts));
    let c = db(&from, PEOPLE_SEED);
    apply(&c, &stmts);
    assert_eq!(
        q::<i64>(&c, "SELECT count(*) FROM pragma_table_info('people')"),
        3
    );
}

#[test]
fn drop_column_before_3_35_rebuilds() {
    let mut to = people();
    let nick = to.columns.remove(2);
    let opts = PlanOptions {
        min_sqlite: (3, 34, 0),
    };
    let (c, stmts) = run_people(&to, vec![TableChange::DropColumn(nick)], &opts);
    assert!(is_rebuild(&stmts));
    assert_eq!(
        rows(&c, "SELECT * FROM people ORDER BY id"),
        ["1|ann|30", "2|bob|40"]
    );
}

#[test]
fn index_changes_are_native() {
    let mut to = people();
    to.indexes.push(Index {
        unique: true,
        parts: vec![
            IndexPart {
                target: "name".into(),
                expr: false,
                collate: Some("NOCASE".into()),
                order: Order::Desc,
            },
            IndexPart {
                target: "lower(nick)".into(),
                expr: true,
                collate: None,
                order: Order::Asc,
            },
        ],
        where_clause: Some("age > 18".into()),
        ..index("people_uq", &[])
    });
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddIndex(to.indexes[0].clone())],
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [
            r#"CREATE UNIQUE INDEX "people_uq" ON "people" ("name" COLLATE NOCASE DESC, lower(nick)) WHERE age > 18"#
        ]
    );
    assert!(c
        .execute_batch("INSERT INTO people VALUES (3, 'ANN', 'A', 50)")
        .is_err());
}

#[test]
fn not_null_and_named_checks_are_native_from_3_53_and_rebuild_before() {
    let from_t = people();
    let mut to = people();
    to.columns[3].not_null = true;
    let ck = Check {
        name: Some("adult".into()),
        expr: "age >= 18".into(),
        column: None,
    };
    to.checks.push(ck.clone());
    let changes = || {
        vec![
            modify(
                &from_t,
                &to,
                "age",
                ColumnChangeKind {
                    not_null: true,
                    ..Default::default()
                },
            ),
            TableChange::AddCheck(ck.clone()),
        ]
    };
    let opts = PlanOptions {
        min_sqlite: (3, 53, 0),
    };
    let (c, stmts) = run_people(&to, changes(), &opts);
    assert_eq!(
        sqls(&stmts),
        [
            r#"ALTER TABLE "people" ALTER COLUMN "age" SET NOT NULL"#,
            r#"ALTER TABLE "people" ADD CONSTRAINT "adult" CHECK (age >= 18)"#
        ]
    );
    assert!(c
        .execute_batch("INSERT INTO people VALUES (3, 'c', NULL, NULL)")
        .is_err());
    assert!(c
        .execute_batch("INSERT INTO people VALUES (3, 'c', NULL, 5)")
        .is_err());

    let (c, stmts) = run_people(&to, changes(), &PlanOptions::default());
    assert!(is_rebuild(&stmts));
    assert!(c
        .execute_batch("INSERT INTO people VALUES (3, 'c', NULL, 5)")
        .is_err());

    // And back: DROP NOT NULL / DROP CONSTRAINT.
    let back = vec![
        modify(
            &to,
            &from_t,
            "age",
            ColumnChangeKind {
                not_null: true,
                ..Default::default()
            },
        ),
        TableChange::DropCheck(ck.clone()),
    ];
    let stmts = plan(
        &[alter(&to, &from_t, back)],
        &schema(vec![to.clone()]),
        &schema(vec![from_t.clone()]),
        &opts,
    )
    .unwrap();
    let c = db(&schema(vec![to.clone()]), PEOPLE_SEED);
    apply(&c, &stmts);
    assert!(!is_rebuild(&stmts));
    c.execute_batch("INSERT INTO people VALUES (3, 'c', NULL, NULL), (4, 'd', NULL, 5)")
        .unwrap();
}

#[test]
fn key_changes_rebuild_and_violations_fail_the_script() {
    let from_t = people();
    let mut to = people();
    let u = Unique {
        name: Some("uq_nick".into()),
        columns: vec![IndexPart::column("nick")],
        on_conflict: None,
    };
    to.uniques.push(u.clone());
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddUnique(u.clone())],
        &PlanOptions::default(),
    );
    assert!(is_rebuild(&stmts));
    assert!(c
        .execute_batch("INSERT INTO people VALUES (3, 'c', 'a', 1)")
        .is_err());

    // Duplicates make the copy fail: the script errors, nothing is half-done.
    let (from, to_s) = (schema(vec![from_t.clone()]), schema(vec![to.clone()]));
    let c = db(
        &from,
        "INSERT INTO people VALUES (1, 'x', 'dup', 1), (2, 'y', 'dup', 2);",
    );
    let stmts = plan(
        &[alter(&from_t, &to, vec![TableChange::AddUnique(u)])],
        &from,
        &to_s,
        &PlanOptions::default(),
    )
    .unwrap();
    c.execute_batch("PRAGMA foreign_keys=OFF; BEGIN").unwrap();
    assert!(c.execute_batch(&render_script(&[], &stmts)).is_err());
    c.execute_batch("ROLLBACK").unwrap();
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM people"), 2);
    assert!(schema_sql(&c, "people").unwrap().contains("\"nick\" TEXT,"));
}

// ---- table options and odd names ----------------------------------------------------------

#[test]
fn without_rowid_and_strict_rebuilds() {
    let mut kv = table("kv", vec![nn(col("k", "TEXT")), col("v", "ANY")]);
    kv.primary_key = pk(&["k"]);
    let mut to = kv.clone();
    to.without_rowid = true;
    to.strict = true;
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
    let mut t = table(
        "order",
        vec![
            col("a\"b", "TEXT"),
            col("ünï cödé", "INT"),
            col("select", "VARCHAR(5)"),
            col("rowid", "INT"),
        ],
    );
    t.indexes.push(index("ix \"q\"", &["ünï cödé", "a\"b"]));
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
    insta::assert_snapshot!("rebuild_odd_names", render_script(&[], &stmts));
}

// ---- simple changes and create_all -----------------------------------------------------

#[test]
fn create_drop_rename_views_and_triggers() {
    let a = people();
    let from = schema(vec![a.clone(), table("old", vec![col("x", "")])]);
    let mut b = people();
    b.name = "persons".into();
    let mut to = schema(vec![b.clone(), table("fresh", vec![col("y", "TEXT")])]);
    to.tables[1].indexes.push(index("fresh_y", &["y"]));
    let view = View {
        name: "v".into(),
        sql: "CREATE VIEW v AS SELECT name FROM persons".into(),
    };
    let trig = Trigger {
        name: "t".into(),
        table: "fresh".into(),
        sql: "CREATE TRIGGER t AFTER INSERT ON fresh BEGIN DELETE FROM persons WHERE name = new.y; END".into(),
    };
    to.views.push(view.clone());
    to.triggers.push(trig.clone());
    let changes = vec![
        Change::DropTable(from.tables[1].clone()),
        Change::RenameTable {
            from: "people".into(),
            to: "persons".into(),
        },
        Change::CreateTable(to.tables[1].clone()),
        Change::CreateView(view),
        Change::CreateTrigger(trig),
    ];
    let c = db(&from, PEOPLE_SEED);
    let stmts = plan_and_apply(&c, &changes, &from, &to, &PlanOptions::default());
    c.execute_batch("INSERT INTO fresh VALUES ('ann')").unwrap();
    assert_eq!(rows(&c, "SELECT * FROM v"), ["bob"]);
    assert!(schema_sql(&c, "old").is_none());
    assert!(schema_sql(&c, "fresh_y").is_some());
    insta::assert_snapshot!("simple_changes", render_script(&["up".into()], &stmts));
}

fn full_table() -> Table {
    let mut t = table(
        "post",
        vec![
            col("id", "INTEGER"),
            nn(col("author_id", "INTEGER")),
            dflt(nn(col("title", "VARCHAR(64)")), "'it''s'"),
            Column {
                collate: Some("NOCASE".into()),
                ..col("slug", "TEXT")
            },
            dflt(col("created", "TEXT"), "(datetime('now'))"),
            Column {
                generated: Some(Generated {
                    expr: "length(title)".into(),
                    stored: false,
                }),
                ..col("title_len", "INT")
            },
            col("untyped", ""),
        ],
    );
    t.primary_key = pk(&["id"]);
    t.primary_key.as_mut().unwrap().autoincrement = true;
    t.uniques.push(Unique {
        name: Some("uq_slug".into()),
        columns: vec![IndexPart::column("slug"), IndexPart::column("author_id")],
        on_conflict: Some(crate::model::Conflict::Replace),
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
    t.foreign_keys.push(ForeignKey {
        name: Some("fk_author".into()),
        columns: vec!["author_id".into()],
        ref_table: "author".into(),
        ref_columns: vec![],
        on_delete: FkAction::Cascade,
        on_update: FkAction::NoAction,
        deferred: true,
    });
    t.indexes.push(Index {
        where_clause: Some("created > '2020'".into()),
        ..index("post_created", &["created"])
    });
    t
}

#[test]
fn create_all_orders_and_executes() {
    let mut author = table("author", vec![col("id", "INTEGER"), col("name", "TEXT")]);
    author.primary_key = pk(&["id"]);
    // Cycle a <-> b, broken by name order.
    let mut a = table("a", vec![col("b_id", "INT")]);
    a.foreign_keys.push(ForeignKey {
        name: None,
        columns: vec!["b_id".into()],
        ref_table: "b".into(),
        ref_columns: vec!["rowid".into()],
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
        deferred: false,
    });
    let mut b = table("b", vec![col("a_id", "INT")]);
    b.foreign_keys.push(ForeignKey {
        ref_table: "a".into(),
        columns: vec!["a_id".into()],
        ..a.foreign_keys[0].clone()
    });
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
    insta::assert_snapshot!("create_all", all.join(";\n\n"));
}

#[test]
fn render_primary_key_forms() {
    let mut t = table("t", vec![col("id", "INTEGER"), col("b", "TEXT")]);
    t.primary_key = pk(&["id"]);
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

    let mut t = table("t", vec![col("a", "INT"), col("b", "TEXT")]);
    t.primary_key = pk(&["a", "b"]);
    t.primary_key.as_mut().unwrap().name = Some("pk_t".into());
    t.primary_key.as_mut().unwrap().on_conflict = Some(crate::model::Conflict::Ignore);
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

#[test]
fn self_referencing_table_rebuild_keeps_tree() {
    let mut node = table(
        "node",
        vec![
            col("id", "INTEGER"),
            col("parent", "INTEGER"),
            col("label", "VARCHAR(9)"),
        ],
    );
    node.primary_key = pk(&["id"]);
    node.foreign_keys.push(ForeignKey {
        name: None,
        columns: vec!["parent".into()],
        ref_table: "node".into(),
        ref_columns: vec!["id".into()],
        on_delete: FkAction::Cascade,
        on_update: FkAction::NoAction,
        deferred: false,
    });
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
fn alter_table_with_two_names_is_refused() {
    let a = people();
    let mut b = people();
    b.name = "persons".into();
    let err = plan(
        &[alter(&a, &b, vec![])],
        &schema(vec![a.clone()]),
        &schema(vec![b.clone()]),
        &PlanOptions::default(),
    );
    assert!(
        matches!(err, Err(crate::Error::Unsupported { ref table, ref reason }) if table == "people" && reason.contains("persons"))
    );
}
