//! The tutorial's model declared in Rust: an app ships its own migration binary.
//!
//! ```text
//! cargo run --example microblog -- --database blog.db create
//! cargo run --example microblog -- --database blog.db migrate -m "users and posts"
//! ```

use dbm::{col, table, Schema, SchemaBuilder};
use std::process::ExitCode;

/// The microblog schema: `User` and `Post`, as in the Flask-SQLAlchemy tutorial.
fn schema() -> Schema {
    let built = SchemaBuilder::new()
        .table(
            table("user")
                .column(col("id", "integer").not_null().primary_key())
                .column(col("nickname", "string(64)"))
                .column(col("email", "string(120)"))
                .unique_index("ix_user_email", &["email"])
                .unique_index("ix_user_nickname", &["nickname"]),
        )
        .table(
            table("post")
                .column(col("id", "integer").not_null().primary_key())
                .column(col("body", "string(140)"))
                .column(col("timestamp", "datetime"))
                .column(col("user_id", "integer").references("user", Some("id"))),
        )
        .build();
    match built {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: invalid model: {e}");
            std::process::exit(2);
        }
    }
}

fn main() -> ExitCode {
    dbm::cli::run_with_model(schema())
}
