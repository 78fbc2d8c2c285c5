//! The tutorial's model declared on the app's structs (`models.rs`), and the app's own
//! migration binary: the `dbm` command line with this model built in.
//!
//! ```text
//! cargo run --example microblog -- --database blog.db create
//! cargo run --example microblog -- --database blog.db migrate -m "users and posts"
//! ```
//!
//! The stock `dbm` binary reads the same model through `examples/microblog/schema.rs`:
//! `dbm --model-command "cargo run -q --example microblog-schema" migrate`.

mod models;

use std::process::ExitCode;

fn main() -> ExitCode {
    match models::schema() {
        Ok(schema) => dbm::cli::run_with_model(schema),
        Err(e) => {
            eprintln!("error: invalid model: {e}");
            ExitCode::from(2)
        }
    }
}
