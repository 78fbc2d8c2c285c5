struct Money(i64);

#[derive(dbm::Table)]
struct Account {
    #[dbm(primary_key)]
    id: i64,
    balance: Money,
    owner: Option<std::collections::HashSet<u8>>,
}

fn main() {}
