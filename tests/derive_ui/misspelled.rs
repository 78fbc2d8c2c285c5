#[derive(dbm::Table)]
struct User {
    #[dbm(primary_kee)]
    id: i64,
}

fn main() {}
