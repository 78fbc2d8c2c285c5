//! `migrate --no-apply` / `--dry-run` (review first), and the `[y/N]` prompt before a
//! destructive migration in a terminal (driven through a pty with util-linux `script`).

mod common;

use common::{blog_project, stderr, stdout, Project, BLOG_V1, BLOG_V2};
use std::io::Write as _;
use std::process::{Command, Stdio};

#[test]
fn no_apply_writes_verified_scripts_that_upgrade_applies() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.ok(&["--model", "m1.toml", "create"]);
    let out = p.ok(&["--model", "m1.toml", "migrate", "--no-apply", "-m", "users"]);
    assert!(out.contains("not applied"), "{out}");
    assert_eq!(p.versions_dir(), ["001_users.down.sql", "001_users.up.sql"]);
    assert_eq!(p.version(), Some(0));
    assert!(p
        .read("db_repository/versions/001_users.up.sql")
        .contains("CREATE TABLE"));
    // The database is behind now: migrate asks for the upgrade first, upgrade applies it.
    p.refused(
        &["--model", "m1.toml", "migrate", "--no-apply"],
        &["dbm upgrade"],
    );
    p.ok(&["upgrade"]);
    assert_eq!(p.version(), Some(1));
    p.ok(&["--model", "m1.toml", "check"]);
    // Nothing to do: nothing written.
    let out = p.ok(&["--model", "m1.toml", "migrate", "--no-apply"]);
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(p.versions_dir().len(), 2);
}

#[test]
fn dry_run_prints_the_scripts_and_touches_nothing() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.model_from_ddl("m2.toml", BLOG_V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    let before = (p.versions_dir(), p.bytes("app.db"));
    let out = p.ok(&["--model", "m2.toml", "migrate", "--dry-run", "-m", "posts"]);
    let up = out
        .find("-- db_repository/versions/002_posts.up.sql")
        .expect(&out);
    let down = out
        .find("-- db_repository/versions/002_posts.down.sql")
        .expect(&out);
    assert!(up < down, "{out}");
    assert!(out[up..down].contains("CREATE TABLE \"post\""), "{out}");
    assert!(out[down..].contains("DROP TABLE \"post\""), "{out}");
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert_eq!((p.versions_dir(), p.bytes("app.db")), before);
    // What migrate would then write is exactly what was printed.
    p.ok(&["--model", "m2.toml", "migrate", "-m", "posts"]);
    let written = p.read("db_repository/versions/002_posts.up.sql");
    assert!(
        out[up..down].contains(written.trim()),
        "{out}\n---\n{written}"
    );
    // Rows that do not fit: refused as migrate refuses, with the counts.
    p.conn("app.db")
        .execute_batch("INSERT INTO user (nickname) VALUES (NULL);")
        .unwrap();
    p.model_from_ddl(
        "m3.toml",
        &BLOG_V2.replace("nickname VARCHAR(64)", "nickname VARCHAR(64) NOT NULL"),
    );
    p.refused(
        &["--model", "m3.toml", "migrate", "--dry-run"],
        &["1 row would fail"],
    );
    // --dry-run and --no-apply together make no sense.
    assert_eq!(
        p.dbm(&["--model", "m2.toml", "migrate", "--dry-run", "--no-apply"])
            .status
            .code(),
        Some(2)
    );
}

/// Runs dbm in a pseudo-terminal (`script -qec`), feeding `input`; `None` without `script`.
fn in_terminal(p: &Project, args: &[&str], input: &str) -> Option<(Option<i32>, String)> {
    let bin = assert_cmd::cargo::cargo_bin("dbm");
    let mut line = shell_quote(&bin.display().to_string());
    for a in ["--database", "app.db", "--repository", "db_repository"]
        .iter()
        .chain(args)
    {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    ))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn a_destructive_migrate_in_a_terminal_asks_first() {
    let p = blog_project(); // version 2: user and post, one row each
    let before = (p.versions_dir(), p.bytes("app.db"));
    let Some((code, out)) = in_terminal(&p, &["--model", "m1.toml", "migrate"], "n\n") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(out.contains("[y/N]"), "{out}");
    assert!(out.contains("1 row at stake"), "{out}");
    assert!(out.contains("declined"), "{out}");
    assert_eq!(code, Some(2), "{out}");
    assert_eq!((p.versions_dir(), p.bytes("app.db")), before);
    // End of input declines too.
    let (code, _) = in_terminal(&p, &["--model", "m1.toml", "migrate"], "").unwrap();
    assert_eq!(code, Some(2));
    assert_eq!(p.version(), Some(2));
    // `y` applies it.
    let (code, out) = in_terminal(&p, &["--model", "m1.toml", "migrate"], "y\n").unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(p.version(), Some(3));
    // A safe migration never asks; --yes never asks.
    let (code, out) = in_terminal(&p, &["--model", "m2.toml", "migrate"], "").unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    let (code, out) = in_terminal(&p, &["--model", "m1.toml", "migrate", "--yes"], "").unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    assert_eq!(p.version(), Some(5));
}

#[test]
fn without_a_terminal_there_is_no_prompt() {
    let p = blog_project();
    let mut child = assert_cmd::Command::cargo_bin("dbm").unwrap();
    let out = child
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .args(["--database", "app.db", "--repository", "db_repository"])
        .args(["--model", "m1.toml", "migrate"])
        .write_stdin("n\n")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("[y/N]"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("declined"), "{}", stderr(&out));
}
