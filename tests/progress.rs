//! Progress on stderr (issue 11 item 4, issue 13 item 6): a line as each long step starts, in
//! order, one per version; no bar, carriage return or escape code when stderr is a pipe, a
//! bar in a terminal; nothing with `--quiet` or `--json`; Ctrl-C during a rebuild rolls the
//! version back and says so.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const V1: &str = "CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT NOT NULL, n INTEGER);";
/// `post.n` NOT NULL: a rebuild.
const V2: &str =
    "CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0);";

/// A project at version 2 (version 2 rebuilds `post`), `post` holding `rows` rows.
fn project(rows: u64) -> Project {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.model_from_ddl("m2.toml", V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate", "-m", "posts"]);
    p.conn("app.db")
        .execute_batch(&format!(
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
             INSERT INTO post (id, body, n) SELECT i, printf('%060d', i), i FROM c;"
        ))
        .unwrap();
    p.ok(&["--model", "m2.toml", "migrate", "-m", "n required"]);
    p
}

fn count(p: &Project) -> i64 {
    p.conn("app.db")
        .query_row("SELECT count(*) FROM post", [], |r| r.get(0))
        .unwrap()
}

/// `post.n`'s NOT NULL flag: 1 at version 2, 0 at version 1.
fn n_not_null(p: &Project) -> i64 {
    p.conn("app.db")
        .query_row(
            "SELECT \"notnull\" FROM pragma_table_info('post') WHERE name = 'n'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn a_pipe_gets_one_line_per_step_as_it_starts_and_no_bar() {
    let p = project(3);
    let out = p.dbm(&["downgrade", "0", "--backup"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        lines(&err),
        [
            "Backing up app.db…",
            "Reverting 002 n_required…",
            "Rebuilding post (3 rows)…",
            "Reverting 001 posts…",
        ],
        "{err}"
    );
    // stdout keeps its results, unchanged.
    let text = stdout(&out);
    assert!(
        text.contains("Downgraded 2 -> 1") && text.contains("Downgraded 1 -> 0"),
        "{text}"
    );
    let out = p.dbm(&["upgrade"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        lines(&err),
        [
            "Applying 001 posts…",
            "Applying 002 n_required…",
            "Rebuilding post (0 rows)…",
        ],
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    assert_eq!(p.version(), Some(2));
}

#[test]
fn migrate_says_what_it_applies_and_rebuilds() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.model_from_ddl("m2.toml", V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate", "-m", "posts"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO post VALUES (1, 'a', 1), (2, 'b', 2);")
        .unwrap();
    let out = p.dbm(&[
        "--model",
        "m2.toml",
        "migrate",
        "-m",
        "n required",
        "--backup",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let steps: Vec<&str> = lines(&err)
        .into_iter()
        .filter(|l| l.ends_with('…'))
        .collect();
    assert_eq!(
        steps,
        [
            "Backing up app.db…",
            "Applying 002 n_required…",
            "Rebuilding post (2 rows)…"
        ],
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
}

#[test]
fn quiet_and_json_print_no_step_lines() {
    let p = project(3);
    let out = p.dbm(&["--quiet", "downgrade", "0", "--backup"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    let out = p.dbm(&["--json", "upgrade"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["version"], 2, "{doc}");
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn a_terminal_gets_a_bar_of_rows_copied() {
    let p = project(400_000);
    p.ok(&["downgrade", "1"]);
    let bin = assert_cmd::cargo::cargo_bin("dbm");
    let line = format!(
        "{} --database app.db --repository db_repository upgrade",
        shell_quote(&bin.display().to_string())
    );
    // util-linux `script` gives dbm a pseudo-terminal; without it there is nothing to test.
    let Ok(out) = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
    else {
        eprintln!("skipped: no `script` command");
        return;
    };
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Rebuilding post (400,000 rows)…"), "{text}");
    // The bar's own words, drawn and then cleared with escape codes.
    assert!(text.contains(" rows, ETA "), "{text}");
    assert!(text.contains("\x1b["), "{text:?}");
    assert!(text.contains("Upgraded 1 -> 2"), "{text}");
    assert_eq!(p.version(), Some(2));
}

#[test]
fn ctrl_c_during_a_rebuild_rolls_back_and_says_so() {
    let rows = 2_000_000;
    let p = project(rows);
    p.ok(&["downgrade", "1"]);
    assert_eq!(n_not_null(&p), 0);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("dbm"))
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .args([
            "--database",
            "app.db",
            "--repository",
            "db_repository",
            "upgrade",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbm");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "no rebuild line: {seen}"
        );
        seen.push_str(&line);
        // Said as the copy starts: the signal arrives while it runs.
        if line.starts_with("Rebuilding post") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    seen.push_str(&rest);
    assert_eq!(out.status.code(), Some(2), "{seen}");
    assert!(
        seen.contains("error: interrupted: rolled back, app.db still at version 1"),
        "{seen}"
    );
    assert!(!seen.contains("panicked"), "{seen}");
    assert!(!stdout(&out).contains("Upgraded"), "{}", stdout(&out));
    assert_eq!(p.version(), Some(1));
    assert_eq!(count(&p), rows as i64);
    assert_eq!(n_not_null(&p), 0, "the old definition of post");
    assert_eq!(integrity(&p.path("app.db")), "ok");
    // Nothing is left half done: the next upgrade applies the version.
    p.ok(&["upgrade"]);
    assert_eq!(
        (p.version(), n_not_null(&p), count(&p)),
        (Some(2), 1, rows as i64)
    );
}
