//! Column changes (rename, add, drop): native `ALTER TABLE` where SQLite can do it at the
//! target version, the rebuild where it cannot; rows come through either way.

use super::*;
use crate::model::{Check, View};

// ---- rename ----------------------------------------------------------------------------

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

// ---- add -------------------------------------------------------------------------------

#[test]
fn native_add_column_with_constant_default() {
    let to = people_builder()
        .column(col("email", "text").not_null().default_sql("'none'"))
        .build()
        .unwrap();
    let email = to.column("email").unwrap().clone();
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
    let cases = vec![
        col("email", "text").not_null(), // NOT NULL, no default
        col("created", "text").default_sql("CURRENT_TIMESTAMP"), // non-constant default
        col("created", "text").default_sql("(datetime('now'))"), // non-constant default
        col("double_age", "int").generated("age * 2", true),
        col("score", "int").check("score >= 0"), // CHECK before 3.37
    ];
    for declared in cases {
        let to = people_builder().column(declared).build().unwrap();
        let new_col = to.columns.last().unwrap().clone();
        // The column and, for `score`, its CHECK (`people` has none of its own).
        let changes = std::iter::once(TableChange::AddColumn(new_col.clone()))
            .chain(to.checks.iter().cloned().map(TableChange::AddCheck))
            .collect();
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
    let mut to = people_builder()
        .column(col("score", "int").default_sql("0"))
        .build()
        .unwrap();
    let score = to.column("score").unwrap().clone();
    // A named CHECK on the column: the builder's column `check` is unnamed.
    let ck = Check {
        name: Some("score_pos".into()),
        expr: "score >= 0".into(),
        column: Some("score".into()),
    };
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
fn add_column_in_the_middle_is_native_add_column() {
    // Declared last, then moved between `name` and `nick`: column order is never a
    // difference, so SQLite appends it and the rows stay where they are.
    let mut to = people_builder()
        .column(col("email", "text"))
        .build()
        .unwrap();
    let email = to.columns.pop().unwrap();
    to.columns.insert(2, email.clone());
    let (c, stmts) = run_people(
        &to,
        vec![TableChange::AddColumn(email)],
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [r#"ALTER TABLE "people" ADD COLUMN "email" TEXT"#]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT group_concat(name) FROM pragma_table_info('people')"
        ),
        ["id,name,nick,age,email"]
    );
    assert_eq!(
        rows(
            &c,
            "SELECT id, name, nick, age, email FROM people ORDER BY id"
        ),
        ["1|ann|a|30|NULL", "2|bob|NULL|40|NULL"]
    );
}

#[test]
fn added_columns_keep_their_relative_order() {
    let mut to = people_builder()
        .column(col("b", "text"))
        .column(col("a", "text"))
        .build()
        .unwrap();
    let a = to.columns.pop().unwrap();
    let b = to.columns.pop().unwrap();
    to.columns.insert(1, b.clone());
    to.columns.insert(3, a.clone());
    // The diff may list them in any order; they are appended in the target's order.
    let (_c, stmts) = run_people(
        &to,
        vec![TableChange::AddColumn(a), TableChange::AddColumn(b)],
        &PlanOptions::default(),
    );
    assert_eq!(
        sqls(&stmts),
        [
            r#"ALTER TABLE "people" ADD COLUMN "b" TEXT"#,
            r#"ALTER TABLE "people" ADD COLUMN "a" TEXT"#
        ]
    );
}

// ---- drop ------------------------------------------------------------------------------

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
    let from_t = people_builder()
        .index("people_nick", &["nick"])
        .build()
        .unwrap();
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
    let mut from_t = people_builder()
        .index("people_name", &["name"])
        .build()
        .unwrap();
    from_t.indexes[0].where_clause = Some("nick IS NOT NULL".into());
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
