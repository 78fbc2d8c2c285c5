#[derive(dbm::Table)]
struct Pair(i64, String);

fn main() {}
