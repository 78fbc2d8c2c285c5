//! AUTOINCREMENT across a rebuild: the `sqlite_sequence` counter must not go back.

use super::*;

fn autoinc_table(autoinc: bool, note_type: &str) -> Table {
    let id = col("id", "integer");
    let id = if autoinc {
        id.autoincrement()
    } else {
        id.primary_key()
    };
    table("item")
        .column(id)
        .column(col("note", note_type))
        .build()
        .unwrap()
}

/// Rebuilds `item` (retyping `note`) into an AUTOINCREMENT table, from one that is
/// AUTOINCREMENT or not, holding `seed`.
fn autoinc_case(from_autoinc: bool, seed: &str) -> Connection {
    let a = autoinc_table(from_autoinc, "varchar(10)");
    let b = autoinc_table(true, "text");
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
