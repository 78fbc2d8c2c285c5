#[derive(dbm::Table)]
struct User {
    #[dbm(primary_key, strict)]
    id: i64,
}

fn main() {}
