#[derive(dbm::Table)]
#[dbm(primary_key)]
#[dbm(index)]
struct User {
    #[dbm(primary_key(id, tenant))]
    id: i64,
    #[dbm(index(name = "ix", columns = ["tenant"]))]
    tenant: i64,
}

#[derive(dbm::Table)]
#[dbm(primary_key(id))]
#[dbm(index(columns = ["id"], uniq))]
struct Twice {
    #[dbm(primary_key)]
    id: i64,
}

fn main() {}
