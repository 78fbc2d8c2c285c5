//! An app that carries its migrations in its binary and brings its database to the latest
//! version at start-up, before it uses it.
//!
//! ```text
//! cargo run --example embedded-app -- blog.db
//! ```
//!
//! The scripts are the repository's `db_repository/` at build time; cargo rebuilds the app
//! when one of them changes. (A crate of its own adds `build.rs` with
//! `println!("cargo:rerun-if-changed=db_repository");` so that new versions are picked up too.)

use rusqlite::Connection;

static MIGRATIONS: dbm::EmbeddedMigrations = dbm::embed_migrations!("db_repository");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "blog.db".into());
    let mut conn = Connection::open(&path)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;

    // Start-up: one transaction per version, refused (nothing touched) if any fails.
    let report = MIGRATIONS.upgrade(&mut conn)?;
    let version = MIGRATIONS.db_version(&conn)?.unwrap_or(0);
    println!(
        "{path}: {} version(s) applied, now at version {version}",
        report.steps.len()
    );

    // The app at work.
    conn.execute(
        "INSERT INTO user (nickname, email) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        ("john", "john@example.com"),
    )?;
    let user: i64 = conn.query_row("SELECT id FROM user WHERE nickname = ?1", ["john"], |r| {
        r.get(0)
    })?;
    conn.execute(
        "INSERT INTO post (body, timestamp, user_id) VALUES (?1, datetime('now'), ?2)",
        ("my first post", user),
    )?;
    let posts: i64 = conn.query_row("SELECT count(*) FROM post", [], |r| r.get(0))?;
    println!("john has {posts} post(s)");
    Ok(())
}
