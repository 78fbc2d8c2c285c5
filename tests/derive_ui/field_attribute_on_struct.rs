#[derive(dbm::Table)]
#[dbm(sql_type = "TEXT")]
struct User {
    #[dbm(primary_key)]
    id: i64,
}

fn main() {}
