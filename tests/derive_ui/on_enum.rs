#[derive(dbm::Table)]
enum Role {
    Admin,
    User,
}

fn main() {}
