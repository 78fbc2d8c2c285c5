//! The examples run: the tutorial's model derived on structs (`examples/microblog/`: the app's
//! own migration binary, and the model program `dbm --model-command` runs) makes the same
//! schema as the `dbm` binary does from the TOML model; the app that embeds its migrations
//! (`examples/embedded_app/`) upgrades its database at start-up and uses it.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/NAME`, built by `cargo test` next to this test's
/// `target/<profile>/deps/` folder.
fn example_binary_named(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the example binary {} is missing: build it with `cargo test` (which builds examples) \
         or `cargo build --examples` for the same profile",
        bin.display()
    );
    bin
}

fn example_binary() -> PathBuf {
    example_binary_named("microblog")
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

#[test]
fn the_model_program_gives_dbm_the_derived_model() {
    let p = Project::new();
    let program = example_binary_named("microblog-schema");
    let program = program.to_str().expect("a UTF-8 path");
    let toml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/microblog/models.toml"),
    )
    .expect("examples/microblog/models.toml");
    p.write("models.toml", &toml);
    p.ok(&["create"]);
    let out = p.ok(&[
        "--model-command",
        program,
        "migrate",
        "-m",
        "users and posts",
    ]);
    assert!(out.contains("Current database version: 1"), "{out}");
    // The derived model and the TOML file are the same schema.
    p.ok(&["--model", "models.toml", "check"]);
    p.ok(&["--model-command", program, "check"]);
    // The same through dbm.toml.
    p.write("dbm.toml", &format!("model_command = [{program:?}]\n"));
    let out = p.ok(&["status"]);
    assert!(out.contains("model:      matches the database"), "{out}");
}

#[test]
fn the_app_upgrades_its_database_at_start_up() {
    let p = Project::new();
    let run = || {
        let out = Command::new(example_binary_named("embedded-app"))
            .current_dir(p.dir.path())
            .arg("blog.db")
            .output()
            .expect("run the embedded-app example");
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    };
    let out = run();
    assert!(
        out.contains("2 version(s) applied, now at version 2")
            && out.contains("john has 1 post(s)"),
        "{out}"
    );
    let out = run();
    assert!(
        out.contains("0 version(s) applied, now at version 2")
            && out.contains("john has 2 post(s)"),
        "{out}"
    );
    // The repository folder and the `dbm` binary agree on what the app did.
    let out = p.dbm_raw(&[
        "--database",
        "blog.db",
        "--repository",
        concat!(env!("CARGO_MANIFEST_DIR"), "/db_repository"),
        "status",
    ]);
    let out = stdout(&out);
    assert!(
        out.contains("at version 2") && out.contains("edited:     none"),
        "{out}"
    );
}

/// The app's migration binary behaves as `dbm` does for scripts and CI: `check` exits 1 on
/// differences (2 is for errors) and 0 once migrated; `--version` names the app, then dbm.
#[test]
fn app_binary_check_exit_codes_and_version() {
    let app = Project::new();
    run_example(&app, &["--database", "x.db", "create"]);
    let check = |p: &Project| {
        Command::new(example_binary())
            .current_dir(p.dir.path())
            .env_remove("DATABASE_URL")
            .args(["--database", "x.db", "check"])
            .output()
            .expect("run the microblog example")
    };
    let out = check(&app);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("+ table post"), "{}", stdout(&out));
    run_example(&app, &["--database", "x.db", "migrate"]);
    let out = check(&app);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    let version = run_example(&app, &["--version"]);
    assert_eq!(
        version.trim(),
        concat!("microblog (dbm ", env!("CARGO_PKG_VERSION"), ")")
    );
    let help = run_example(&app, &["--help"]);
    assert!(help.contains("Usage: microblog"), "{help}");
}
