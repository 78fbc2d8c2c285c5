//! Indexes, NOT NULL, CHECKs and keys: native where SQLite (at the target version) has a
//! statement for it, the rebuild otherwise; a violating row fails the whole script.

use super::*;
use crate::model::{Index, IndexPart, Order, Unique};

#[test]
fn index_changes_are_native() {
    let mut to = people();
    // Collation, order and an expression term: more than the builder's `unique_index` says.
    to.indexes.push(Index {
        name: "people_uq".into(),
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
    let mut to = people_builder()
        .check(Some("adult"), "age >= 18")
        .build()
        .unwrap();
    to.column_mut("age").unwrap().not_null = true;
    let ck = to.checks[0].clone();
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
    // A named UNIQUE: the builder's table `unique` is unnamed.
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
    let err = try_apply(&c, &render_script(&[], &stmts)).unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(q::<i64>(&c, "SELECT count(*) FROM people"), 2);
    assert!(schema_sql(&c, "people").unwrap().contains("\"nick\" TEXT,"));
}
