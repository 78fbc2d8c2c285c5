//! Plans executed on real in-memory databases holding rows, the way the apply stage runs
//! them (foreign keys OFF, one transaction, `foreign_key_check` before COMMIT). Models are
//! declared with `model::builder`; model structs are written out only for what the builder
//! cannot say (named column CHECKs, named keys, expression or partial indexes).
//!
//! This file holds the shared helpers and fixtures; the tests live in the topic files.

mod autoincrement;
mod columns;
mod constraints;
mod objects;
mod rebuild;
mod render;

use std::path::Path;

use rusqlite::Connection;

use super::script::render_script;
use super::*;
use crate::diff::{ColumnChangeKind, TableChange};
use crate::exec::run_script;
use crate::model::builder::{col, table, SchemaBuilder, TableBuilder};
use crate::model::ddl::create_all;
use crate::model::{FkAction, ForeignKey, Table};

/// The planner's statements (the tests look at the SQL it writes). The plan's own record
/// of rebuilt tables must agree with the SQL it wrote.
fn plan(
    changes: &[Change],
    from: &Schema,
    to: &Schema,
    opts: &PlanOptions,
) -> Result<Vec<Statement>> {
    let p = super::plan(changes, from, to, opts)?;
    for (i, c) in changes.iter().enumerate() {
        if let Change::AlterTable { to, .. } = c {
            let rebuilt_in_sql = p
                .statements
                .iter()
                .any(|s| s.source == i && s.sql.contains(crate::script::REBUILD_PREFIX));
            assert_eq!(p.rebuilds(&to.name), rebuilt_in_sql, "{}", to.name);
        }
    }
    Ok(p.statements)
}

// ---- model helpers -------------------------------------------------------------------

/// A schema of just these tables. Not validated: some tests plan on tables that
/// `SchemaBuilder::build` would refuse (a foreign key to `rowid`).
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

/// Runs statements the way the apply stage will: their rendered script text through
/// [`try_apply`]; the database must come out intact.
fn apply(c: &Connection, stmts: &[Statement]) {
    let script = render_script(&["test".into()], stmts);
    if let Err(e) = try_apply(c, &script) {
        panic!("{e}\n{script}");
    }
    assert_eq!(q::<String>(c, "PRAGMA integrity_check"), "ok");
}

/// The apply protocol (`apply::step`): foreign keys off outside the transaction,
/// `BEGIN IMMEDIATE`, the script through the executor apply uses, `foreign_key_check`,
/// COMMIT. A failing script is rolled back and its error returned.
fn try_apply(c: &Connection, script: &str) -> Result<()> {
    c.execute_batch("PRAGMA foreign_keys=OFF").unwrap();
    assert_eq!(q::<i64>(c, "PRAGMA foreign_keys"), 0);
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    if let Err(e) = run_script(c, script, Path::new("test.sql")) {
        c.execute_batch("ROLLBACK").unwrap();
        return Err(e);
    }
    assert_eq!(
        q::<i64>(c, "SELECT count(*) FROM pragma_foreign_key_check"),
        0,
        "{script}"
    );
    c.execute_batch("COMMIT; PRAGMA foreign_keys=ON").unwrap();
    Ok(())
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

/// Snapshots stay where they were when these tests were one file: in `src/plan/snapshots/`,
/// named after this module (`dbm__plan__tests__<name>.snap`), whichever topic file asks.
fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "../snapshots"}, {
        insta::assert_snapshot!(name, text);
    });
}

// ---- the people fixture ----------------------------------------------------------------

/// `people`, for tests that declare more on it.
fn people_builder() -> TableBuilder {
    table("people")
        .column(col("id", "integer").primary_key())
        .column(col("name", "text").not_null())
        .column(col("nick", "text"))
        .column(col("age", "int"))
}

/// `people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT, age INT)`.
fn people() -> Table {
    people_builder().build().unwrap()
}

const PEOPLE_SEED: &str = "INSERT INTO people VALUES (1, 'ann', 'a', 30), (2, 'bob', NULL, 40);";

/// Plans `people` → `to` with `changes` and applies it to a seeded database.
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

// ---- the post/comment fixture ---------------------------------------------------------

/// `post` without an INTEGER PRIMARY KEY (so rowids must be carried explicitly), with an
/// index, a trigger, a view and an ON DELETE CASCADE child; the change retypes `post.body`.
fn post_fixture() -> (Schema, Schema, Change) {
    let from = SchemaBuilder::new()
        .table(
            table("post")
                .column(col("title", "text").not_null())
                .column(col("body", "varchar(140)"))
                .column(col("rowid_copy", "int").unique())
                .index("post_title", &["title"]),
        )
        .table(
            table("comment")
                .column(col("post_rowid", "integer"))
                .column(col("text", "text"))
                .foreign_key(ForeignKey {
                    name: Some("fk_post".into()),
                    columns: vec!["post_rowid".into()],
                    ref_table: "post".into(),
                    ref_columns: vec!["rowid_copy".into()],
                    on_delete: FkAction::Cascade,
                    on_update: FkAction::NoAction,
                    deferred: false,
                }),
        )
        .table(table("log").column(col("msg", "text")))
        .view(
            "post_titles",
            "CREATE VIEW post_titles AS SELECT rowid AS r, title FROM post",
        )
        .trigger(
            "post_ai",
            "post",
            "CREATE TRIGGER post_ai AFTER INSERT ON post BEGIN\n    INSERT INTO log (msg) VALUES ('new ' || new.title);\nEND",
        )
        // A trigger on another table that mentions `post`: without legacy_alter_table it
        // would block the rename of the new table.
        .trigger(
            "comment_ai",
            "comment",
            "CREATE TRIGGER comment_ai AFTER INSERT ON comment BEGIN\n    INSERT INTO log (msg) SELECT 'on ' || title FROM post WHERE rowid_copy = new.post_rowid;\nEND",
        )
        .build()
        .unwrap();
    let mut to = from.clone();
    to.table_mut("post")
        .unwrap()
        .column_mut("body")
        .unwrap()
        .sql_type = "TEXT".into();
    let (post, new_post) = (from.table("post").unwrap(), to.table("post").unwrap());
    let change = alter(post, new_post, vec![modify(post, new_post, "body", TYPE)]);
    (from, to, change)
}

const POST_SEED: &str = "
    INSERT INTO post (rowid, title, body, rowid_copy) VALUES (1, 'a', 'x', 1), (3, 'b', 'y', 3), (7, 'c', NULL, 7);
    INSERT INTO comment VALUES (1, 'c1'), (1, 'c2'), (7, 'c3');
    DELETE FROM log;";
