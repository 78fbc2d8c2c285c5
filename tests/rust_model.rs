//! The schema declared in Rust, end to end, as a user's own crate has it: a scratch crate
//! that depends on dbm by path, with the tutorial's `User` and `Post` structs derived,
//! a `schema` program for `dbm --model-command`, and an app binary that embeds its
//! migrations and upgrades its database at start-up.
//!
//! The scratch crate builds in `target/scratch-crate` (kept between runs, so only the first
//! run compiles dbm's dependencies).

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The contract's structs, with a marker where a field is added.
const LIB: &str = include_str!("fixtures/contract_model.rs");

const SCHEMA_BIN: &str = r#"
fn main() -> dbm::Result<()> {
    dbm::print_model(&microblog_app::schema()?)
}
"#;

const APP_BIN: &str = r#"
static MIGRATIONS: dbm::EmbeddedMigrations = dbm::embed_migrations!("db_repository");

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("database path");
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    if args.next().as_deref() == Some("--in-transaction") {
        conn.execute_batch("BEGIN").expect("begin");
    }
    match MIGRATIONS.upgrade(&mut conn) {
        Ok(report) => println!("applied {} version(s); at version {}", report.steps.len(),
            MIGRATIONS.db_version(&conn).unwrap().unwrap()),
        Err(e) => {
            eprintln!("refused: {e}");
            std::process::exit(3);
        }
    }
}
"#;

/// The app's own migration binary: dbm's command line with the derived model built in.
const MIGRATE_BIN: &str = r#"
fn main() -> std::process::ExitCode {
    let schema = microblog_app::schema().expect("a valid model");
    dbm::cli::run_app(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), schema)
}
"#;

struct Scratch {
    dir: tempfile::TempDir,
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scratch-crate")
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = format!(
            "[package]\nname = \"microblog-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\ndbm = {{ path = {:?} }}\nrusqlite = \"0.43\"\n\n[workspace]\n",
            root.display().to_string()
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        // dbm's own lock file: the same dependency versions, nothing to resolve or fetch.
        std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        std::fs::write(
            dir.path().join("build.rs"),
            "fn main() { println!(\"cargo:rerun-if-changed=db_repository\"); }\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src/bin")).unwrap();
        let s = Scratch { dir };
        s.write("src/lib.rs", LIB);
        s.write("src/bin/schema.rs", SCHEMA_BIN);
        s.write("src/bin/migrate.rs", MIGRATE_BIN);
        s.write("src/main.rs", APP_BIN);
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    }

    fn cargo(&self, args: &[&str]) -> Output {
        self.run(Path::new(env!("CARGO")), args)
    }

    fn dbm(&self, args: &[&str]) -> String {
        let out = self.run(Path::new(env!("CARGO_BIN_EXE_dbm")), args);
        assert!(out.status.success(), "dbm {args:?}:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The app's migration binary (`src/bin/migrate.rs`), built for the current sources.
    fn migrate_bin(&self, args: &[&str]) -> Output {
        let out = self.cargo(&["build", "-q", "--bin", "migrate"]);
        assert!(
            out.status.success(),
            "build the migration binary:\n{}",
            text(&out)
        );
        self.run(&target_dir().join("debug/migrate"), args)
    }

    fn app(&self, args: &[&str]) -> Output {
        let out = self.cargo(&["build", "-q", "--bin", "microblog-app"]);
        assert!(out.status.success(), "build the app:\n{}", text(&out));
        self.run(&target_dir().join("debug/microblog-app"), args)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn objects(db: &Path) -> Vec<String> {
    let c = Connection::open(db).unwrap();
    let mut stmt = c
        .prepare("SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY 1")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn sql_of(db: &Path, name: &str) -> String {
    let c = Connection::open(db).unwrap();
    c.query_row(
        "SELECT sql FROM sqlite_schema WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

const MODEL: &str = "cargo run -q --bin schema";

#[test]
fn a_crate_declares_its_schema_in_rust_and_carries_its_migrations() {
    let s = Scratch::new();

    // The model program prints the model.
    let out = s.cargo(&["run", "-q", "--bin", "schema"]);
    assert!(out.status.success(), "{}", text(&out));
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(
        toml.contains("[tables.user]") && toml.contains("[tables.post]"),
        "{toml}"
    );

    // dbm reads it: the tutorial's two tables, its unique indexes, the cascading FK.
    s.dbm(&["--model-command", MODEL, "create"]);
    let out = s.dbm(&["--model-command", MODEL, "migrate", "-m", "users and posts"]);
    assert!(out.contains("Current database version: 1"), "{out}");
    let db = s.path("app.db");
    assert_eq!(
        objects(&db),
        [
            "index ix_user_email",
            "index ix_user_nickname",
            "table migrate_history",
            "table migrate_version",
            "table post",
            "table user"
        ]
    );
    for ix in ["ix_user_email", "ix_user_nickname"] {
        assert!(sql_of(&db, ix).starts_with("CREATE UNIQUE INDEX"), "{ix}");
    }
    let post = sql_of(&db, "post");
    assert!(post.contains("ON DELETE CASCADE"), "{post}");
    assert!(s.dbm(&["--model-command", MODEL, "check"]).is_empty());

    // A new field on the struct is a new column, added natively.
    s.write(
        "src/lib.rs",
        &LIB.replace(
            "// ABOUT_ME (tests/rust_model.rs adds a field here)",
            "#[dbm(sql_type = \"VARCHAR(140)\")]\n    pub about_me: Option<String>,",
        ),
    );
    // The app's own migration binary sees the new field: `check` exits 1 (a difference,
    // not an error) and names the column; its `--version` is the app's, then dbm's.
    let out = s.migrate_bin(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("about_me"), "{}", text(&out));
    let out = s.migrate_bin(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("microblog-app 0.1.0 (dbm ", env!("CARGO_PKG_VERSION"), ")")
    );
    let out = s.dbm(&["--model-command", MODEL, "migrate", "-m", "about me"]);
    assert!(out.contains("Current database version: 2"), "{out}");
    let out = s.migrate_bin(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let up = std::fs::read_to_string(s.path("db_repository/versions/002_about_me.up.sql")).unwrap();
    assert!(
        up.contains("ALTER TABLE \"user\" ADD COLUMN \"about_me\" VARCHAR(140)"),
        "{up}"
    );

    // The app carries versions 1 and 2 and brings a fresh database to version 2 at start-up.
    let fresh = s.path("fresh.db");
    let out = s.app(&[fresh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("applied 2 version(s); at version 2"),
        "{}",
        text(&out)
    );
    assert_eq!(sql_of(&fresh, "user"), sql_of(&db, "user"));
    let again = s.app(&[fresh.to_str().unwrap()]);
    assert!(
        text(&again).contains("applied 0 version(s); at version 2"),
        "{}",
        text(&again)
    );

    // Inside an open transaction it refuses and touches nothing.
    let other = s.path("other.db");
    let out = s.app(&[other.to_str().unwrap(), "--in-transaction"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("inside a transaction"),
        "{}",
        text(&out)
    );
    assert!(objects(&other).is_empty(), "{:?}", objects(&other));

    // A version added to the repository is in the next build (build.rs watches the folder).
    s.dbm(&["script", "post index"]);
    s.write(
        "db_repository/versions/003_post_index.up.sql",
        "CREATE INDEX ix_post_user ON post (user_id);\n",
    );
    s.write(
        "db_repository/versions/003_post_index.down.sql",
        "DROP INDEX ix_post_user;\n",
    );
    let out = s.app(&[fresh.to_str().unwrap()]);
    assert!(
        text(&out).contains("applied 1 version(s); at version 3"),
        "{}",
        text(&out)
    );

    // A misspelled attribute does not compile, and the error names it.
    s.write(
        "src/lib.rs",
        &LIB.replace(
            "#[dbm(primary_key)]\n    pub id: i64,\n    #[dbm(sql_type = \"VARCHAR(64)\"",
            "#[dbm(primary_kee)]\n    pub id: i64,\n    #[dbm(sql_type = \"VARCHAR(64)\"",
        ),
    );
    let out = s.cargo(&["build", "-q", "--lib"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("primary_kee"), "{}", text(&out));
}
