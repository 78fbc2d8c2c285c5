#[derive(dbm::Table)]
struct Post {
    #[dbm(primary_key)]
    id: i64,
    #[dbm(references = "user(id)", on_delete = "cascades")]
    user_id: i64,
    #[dbm(references = "user(id")]
    editor_id: i64,
    #[dbm(on_update = "cascade")]
    owner_id: i64,
    #[dbm(not_null_on_conflict = "replace")]
    maybe: Option<i64>,
    #[dbm(skip, unique)]
    cache: Vec<String>,
    #[dbm(unique, unique)]
    slug: String,
}

fn main() {}
