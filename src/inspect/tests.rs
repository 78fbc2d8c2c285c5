use super::*;

fn db(ddl: &str) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(ddl).unwrap();
    c
}

#[test]
fn smoke() {
    let c = db("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
    let s = inspect(&c).unwrap();
    assert_eq!(s.tables.len(), 1);
}
