#[derive(dbm::Table)]
struct User {
    #[dbm(primary_key)]
    id: i64,
    #[dbm(sql_type)]
    nickname: String,
}

fn main() {}
