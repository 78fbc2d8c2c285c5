#[derive(dbm::Table)]
#[dbm(unique(tenant, nickname))]
#[dbm(index(name = "ix_x", columns = ["nick"]))]
struct User {
    #[dbm(primary_key)]
    id: i64,
    tenant: i64,
    #[dbm(name = "nick_name")]
    nick: String,
}

#[derive(dbm::Table)]
#[dbm(primary_key(id))]
struct Twice {
    #[dbm(primary_key)]
    id: i64,
}

fn main() {}
