//! Prints the microblog model (`models.rs`) as model TOML, for
//! `dbm --model-command "cargo run -q --example microblog-schema" migrate`
//! (or `model_command = [...]` in dbm.toml).

mod models;

fn main() -> dbm::Result<()> {
    dbm::print_model(&models::schema()?)
}
