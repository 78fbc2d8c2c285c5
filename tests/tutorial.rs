//! The seed tutorial's whole session, driven through the real binary: create, migrate
//! (User), migrate (User + Post), rows, check, downgrade, upgrade.

mod common;
use common::*;

const V1: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE UNIQUE INDEX ix_user_email ON user (email);";

fn v2() -> String {
    format!(
        "{V1}\nCREATE TABLE post (id INTEGER NOT NULL PRIMARY KEY, body VARCHAR(140), timestamp DATETIME,\n  user_id INTEGER REFERENCES user (id));"
    )
}

fn repo_model(p: &Project, name: &str) -> String {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/microblog")
        .join(name);
    let text = std::fs::read_to_string(src).expect("example model");
    p.write(name, &text);
    name.to_string()
}

#[test]
fn tutorial_session_with_the_bundled_models() {
    let p = Project::new();
    let m1 = repo_model(&p, "models_v1.toml");
    let m2 = repo_model(&p, "models.toml");
    let out = p.ok(&["--model", &m1, "create"]);
    assert!(out.contains("version 0"), "{out}");
    assert_eq!(p.version(), Some(0));
    assert!(p.path("db_repository/versions").is_dir());
    assert!(p.path("db_repository/migrate.cfg").is_file());

    let out = p.ok(&["--model", &m1, "migrate"]);
    assert!(
        out.contains("New migration saved as db_repository/versions/001_create_user.up.sql"),
        "{out}"
    );
    assert!(out.contains("Current database version: 1"), "{out}");
    assert_eq!(p.version(), Some(1));
    p.build_db("want1.db", V1);
    assert_same_schema(&p.path("app.db"), &p.path("want1.db"), "after 001");

    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname, email) VALUES ('john','john@email.com'), ('susan','susan@email.com');")
        .unwrap();

    let out = p.ok(&["--model", &m1, "migrate"]);
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(p.versions_dir().len(), 2);

    let out = p.ok(&["--model", &m2, "migrate"]);
    assert!(
        out.contains("002_create_post.up.sql") && out.contains("Current database version: 2"),
        "{out}"
    );
    p.build_db("want2.db", &v2());
    assert_same_schema(&p.path("app.db"), &p.path("want2.db"), "after 002");
    p.conn("app.db")
        .execute_batch("INSERT INTO post(body, timestamp, user_id) VALUES ('my first post!', '2026-01-01 00:00:00', 1);")
        .unwrap();

    assert!(p.dbm(&["--model", &m2, "check"]).status.success());
    assert_eq!(p.dbm(&["--model", &m1, "check"]).status.code(), Some(1));
    assert_eq!(p.ok(&["version"]).trim(), "2");
    assert_eq!(p.ok(&["db-version"]).trim(), "2");

    let out = p.ok(&["downgrade"]);
    assert!(out.contains("Current database version: 1"), "{out}");
    assert_same_schema(&p.path("app.db"), &p.path("want1.db"), "after downgrade");
    let users = rows(&p.path("app.db"), "user");
    assert_eq!(users.len(), 2);
    assert!(
        users[0][1].contains("john") && users[1][1].contains("susan"),
        "{users:?}"
    );

    let out = p.ok(&["upgrade"]);
    assert!(out.contains("Current database version: 2"), "{out}");
    assert_same_schema(&p.path("app.db"), &p.path("want2.db"), "after upgrade");
    assert_eq!(rows(&p.path("app.db"), "user").len(), 2);

    // Up then down returns the identical schema, all the way to the empty database.
    p.ok(&["downgrade", "0"]);
    assert_eq!(p.version(), Some(0));
    p.build_db("empty.db", "");
    assert_same_schema(&p.path("app.db"), &p.path("empty.db"), "after downgrade 0");
}

#[test]
fn models_from_create_model_round_trip_and_scripts_are_deterministic() {
    let mut digests = vec![];
    for _ in 0..2 {
        let p = Project::new();
        p.model_from_ddl("m1.toml", V1);
        p.model_from_ddl("m2.toml", &v2());
        p.ok(&["--model", "m1.toml", "create"]);
        p.ok(&["--model", "m1.toml", "migrate"]);
        p.ok(&["--model", "m2.toml", "migrate"]);
        assert!(p.dbm(&["--model", "m2.toml", "check"]).status.success());
        let files: Vec<(String, String)> = p
            .versions_dir()
            .into_iter()
            .map(|f| {
                let text = p.read(&format!("db_repository/versions/{f}"));
                (f, text)
            })
            .collect();
        digests.push(files);
    }
    assert_eq!(digests[0], digests[1]);
    let names: Vec<&str> = digests[0].iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "001_create_user.down.sql",
            "001_create_user.up.sql",
            "002_create_post.down.sql",
            "002_create_post.up.sql"
        ]
    );
    for (name, text) in &digests[0] {
        insta::assert_snapshot!(format!("tutorial_{name}"), text);
    }
}

#[test]
fn message_names_the_file_and_script_writes_an_empty_pair() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.ok(&["--model", "m1.toml", "create"]);
    let out = p.ok(&["--model", "m1.toml", "migrate", "-m", "Add users!"]);
    assert!(out.contains("001_add_users.up.sql"), "{out}");
    let out = p.ok(&["script", "backfill emails"]);
    assert!(out.contains("002_backfill_emails.up.sql"), "{out}");
    assert_eq!(p.ok(&["version"]).trim(), "2");
    // The empty pair is a valid version: it applies and reverts.
    p.ok(&["upgrade"]);
    assert_eq!(p.version(), Some(2));
    p.ok(&["downgrade"]);
    assert_eq!(p.version(), Some(1));
}

#[test]
fn create_twice_is_safe_and_adopts_existing_tables() {
    let p = Project::new();
    p.build_db("app.db", V1);
    let out = p.ok(&["create"]);
    assert!(out.contains("existing table"), "{out}");
    let out = p.ok(&["create"]);
    assert!(out.contains("already"), "{out}");
    assert_eq!(p.version(), Some(0));
    // The adopted schema is the baseline: its own model gives no differences.
    p.model_from_ddl("m.toml", V1);
    assert!(p.dbm(&["--model", "m.toml", "check"]).status.success());
}

#[test]
fn config_file_and_database_url() {
    let p = Project::new();
    p.model_from_ddl("schema.toml", V1);
    p.write(
        "dbm.toml",
        "database = \"sqlite:///data.db\"\nrepository = \"repo\"\nmodel = \"schema.toml\"\n",
    );
    let out = p.dbm_raw(&["create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.path("data.db").is_file() && p.path("repo/versions").is_dir());
    let out = p.dbm_raw(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // DATABASE_URL beats the file, a flag beats both.
    let out = assert_cmd::Command::cargo_bin("dbm")
        .unwrap()
        .current_dir(p.dir.path())
        .env("DATABASE_URL", "sqlite:///other.db")
        .arg("create")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(p.path("other.db").is_file());
    let out = p.dbm_raw(&["--database", "flag.db", "create"]);
    assert!(out.status.success());
    assert!(p.path("flag.db").is_file());
}

/// The shipped `db_repository/` is exactly what dbm generates from the example models,
/// and the README's main command (`dbm upgrade --create` with the root dbm.toml) works.
#[test]
fn shipped_repository_is_what_dbm_generates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::new();
    let m1 = repo_model(&p, "models_v1.toml");
    let m2 = repo_model(&p, "models.toml");
    p.ok(&["--model", &m1, "create"]);
    p.ok(&["--model", &m1, "migrate"]);
    p.ok(&["--model", &m2, "migrate"]);
    let shipped = root.join("db_repository/versions");
    let mut names: Vec<String> = std::fs::read_dir(&shipped)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, p.versions_dir());
    for n in &names {
        assert_eq!(
            std::fs::read_to_string(shipped.join(n)).unwrap(),
            p.read(&format!("db_repository/versions/{n}")),
            "db_repository/versions/{n} differs from what dbm generates now"
        );
    }

    let q = Project::new();
    q.write(
        "dbm.toml",
        &std::fs::read_to_string(root.join("dbm.toml")).unwrap(),
    );
    q.write(
        "examples/microblog/models.toml",
        &std::fs::read_to_string(root.join("examples/microblog/models.toml")).unwrap(),
    );
    q.write(
        "db_repository/migrate.cfg",
        &std::fs::read_to_string(root.join("db_repository/migrate.cfg")).unwrap(),
    );
    for n in &names {
        q.write(
            &format!("db_repository/versions/{n}"),
            &std::fs::read_to_string(shipped.join(n)).unwrap(),
        );
    }
    let out = q.dbm_raw(&["upgrade", "--create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Current database version: 2"),
        "{}",
        stdout(&out)
    );
    assert!(q.dbm_raw(&["check"]).status.success());
}

/// `migrate.cfg` may name the control table anything: that table is dbm's, never the
/// user's schema (diff does not propose dropping it, migrate works, create-model leaves it
/// out), and a model may not declare it.
#[test]
fn a_control_table_of_any_name_is_not_part_of_the_schema() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.write(
        "db_repository/migrate.cfg",
        "[db_settings]\nrepository_id=app\nversion_table=schema_version\n",
    );
    p.ok(&["--model", "m1.toml", "create"]);
    let c = p.conn("app.db");
    let v: i64 = c
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 0);
    let out = p.ok(&["--model", "m1.toml", "diff"]);
    assert!(out.contains("+ table user"), "{out}");
    assert!(!out.contains("schema_version"), "{out}");
    assert_eq!(
        p.dbm(&["--model", "m1.toml", "check"]).status.code(),
        Some(1)
    );
    p.ok(&["--model", "m1.toml", "migrate"]);
    assert!(p.dbm(&["--model", "m1.toml", "check"]).status.success());
    let out = p.ok(&["--model", "m1.toml", "migrate"]);
    assert!(out.contains("No changes"), "{out}");
    let model = p.ok(&["create-model"]);
    assert!(!model.contains("schema_version"), "{model}");
    assert!(p.ok(&["status"]).contains("drift:      none"));
    assert!(p.ok(&["test"]).contains("test: ok"));
    // Declaring the control table in the model is an error, not a drop.
    p.write(
        "bad.toml",
        &format!(
            "{}\n[tables.schema_version]\ncolumns = [{{ name = \"v\", type = \"integer\" }}]\n",
            p.read("m1.toml")
        ),
    );
    let err = p.fails(&["--model", "bad.toml", "migrate"]);
    assert!(
        err.contains("schema_version") && err.contains("reserved"),
        "{err}"
    );
    assert_eq!(p.versions_dir().len(), 2);
}

/// The README's tutorial, part 2, as a newcomer types it: in an empty folder, no dbm.toml
/// and no flags (the defaults app.db, db_repository, models.toml), the TOML blocks taken
/// from README.md itself, so the README cannot drift from what dbm does; the scripts are
/// the bundled repository's, which part 1's derived structs also give (tests/rust_model.rs).
#[test]
fn readme_tutorial_in_an_empty_folder_with_the_defaults() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let start = readme
        .find("### 2. The model in TOML")
        .expect("README has the TOML tutorial");
    let part = &readme[start..];
    let part = &part[..part.find("\n## ").unwrap_or(part.len())];
    let blocks: Vec<&str> = part
        .split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").expect("closed block")])
        .collect();
    assert_eq!(blocks.len(), 2, "the user table, then the post table");

    let p = Project::new();
    p.write("models.toml", blocks[0]);
    let run = |args: &[&str]| {
        let out = p.dbm_raw(args);
        assert!(out.status.success(), "dbm {args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = run(&["create"]);
    assert!(
        out.contains("Created repository db_repository")
            && out.contains("Created database app.db at version 0"),
        "{out}"
    );
    let out = run(&["migrate"]);
    assert!(
        out.contains("New migration saved as db_repository/versions/001_create_user.up.sql")
            && out.contains("Current database version: 1"),
        "{out}"
    );
    p.write("models.toml", &format!("{}\n{}", blocks[0], blocks[1]));
    let out = run(&["migrate"]);
    assert!(
        out.contains("New migration saved as db_repository/versions/002_create_post.up.sql")
            && out.contains("Current database version: 2"),
        "{out}"
    );
    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname, email) VALUES ('john','john@email.com'), ('susan','susan@email.com');")
        .unwrap();
    let out = run(&["downgrade"]);
    assert!(out.contains("Downgraded 2 -> 1"), "{out}");
    let out = run(&["upgrade"]);
    assert!(out.contains("Upgraded 1 -> 2"), "{out}");
    let users: i64 = p
        .conn("app.db")
        .query_row("SELECT count(*) FROM user", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 2, "the users survive the downgrade and the upgrade");

    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("db_repository/versions");
    for name in [
        "001_create_user.up.sql",
        "001_create_user.down.sql",
        "002_create_post.up.sql",
        "002_create_post.down.sql",
    ] {
        let shipped = std::fs::read_to_string(shipped.join(name)).expect("shipped script");
        assert_eq!(
            p.read(&format!("db_repository/versions/{name}")),
            shipped,
            "{name}"
        );
    }
}
