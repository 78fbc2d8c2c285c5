//! The Rust-declared example (`examples/microblog/main.rs`, an app shipping its own
//! migration binary) makes the same schema as the `dbm` binary does from the TOML model.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/microblog`, built by `cargo test` next to this test's
/// `target/<profile>/deps/` folder.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("microblog{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the example binary {} is missing: build it with `cargo test` (which builds examples) \
         or `cargo build --examples` for the same profile",
        bin.display()
    );
    bin
}

fn run_example(p: &Project, args: &[&str]) -> String {
    let out = Command::new(example_binary())
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .expect("run the microblog example");
    assert!(
        out.status.success(),
        "microblog {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn rust_declared_example_matches_the_toml_model() {
    // The app's own binary, its model declared in Rust.
    let app = Project::new();
    let out = run_example(&app, &["--database", "x.db", "create"]);
    assert!(out.contains("version 0"), "{out}");
    let out = run_example(
        &app,
        &["--database", "x.db", "migrate", "-m", "users and posts"],
    );
    assert!(out.contains("Current database version: 1"), "{out}");
    let versions = app.versions_dir();
    assert_eq!(versions.len(), 2, "{versions:?}");
    // Idempotent: the model is reached, a second migrate has nothing to do.
    let out = run_example(&app, &["--database", "x.db", "migrate"]);
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(app.versions_dir(), versions);

    // The `dbm` binary with the TOML model of the same schema.
    let cli = Project::new();
    let toml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/microblog/models.toml"),
    )
    .expect("examples/microblog/models.toml");
    cli.write("models.toml", &toml);
    cli.ok(&["--model", "models.toml", "create"]);
    cli.ok(&["--model", "models.toml", "migrate"]);

    let made = snapshot(&app.path("x.db"));
    for key in [
        "table user",
        "table post",
        "index ix_user_email",
        "index ix_user_nickname",
    ] {
        assert!(made.contains_key(key), "{key} missing: {made:#?}");
    }
    assert_same_schema(&app.path("x.db"), &cli.path("app.db"), "example vs dbm");
}
