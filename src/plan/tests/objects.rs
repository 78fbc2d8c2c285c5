//! Whole-object changes (tables, views, triggers created, dropped, renamed), and the one
//! `AlterTable` the planner refuses.

use super::*;
use crate::model::{Trigger, View};

#[test]
fn create_drop_rename_views_and_triggers() {
    let a = people();
    let old = table("old")
        .column(col("x", "").sql_type("")) // no declared type
        .build()
        .unwrap();
    let from = schema(vec![a.clone(), old]);
    let mut b = people();
    b.name = "persons".into();
    let fresh = table("fresh")
        .column(col("y", "text"))
        .index("fresh_y", &["y"])
        .build()
        .unwrap();
    let mut to = schema(vec![b.clone(), fresh]);
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
    // Each statement knows the change it carries out: the new table and its index are one.
    let sources: Vec<usize> = stmts.iter().map(|s| s.source).collect();
    assert_eq!(sources, [0, 1, 2, 2, 3, 4]);
    snapshot("simple_changes", &render_script(&["up".into()], &stmts));
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
