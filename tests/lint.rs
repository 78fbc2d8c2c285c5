//! Lint through the CLI: `dbm migrate` warns about destructive and may-fail changes and
//! writes them into the script header; may-fail changes are checked against the rows first
//! (offenders counted, nothing written); `dbm lint [VERSION..] [--json]` reports them later.

mod common;
use common::*;
use std::path::Path;

const V1: &str = "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));";
/// Drops `email`: destructive.
const V2: &str = "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64));";
/// `nickname` becomes NOT NULL: may fail on existing rows.
const V3: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64) NOT NULL);";
/// A unique index on `nickname`: may fail on duplicates.
const V4: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64) NOT NULL);
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);";

fn up(p: &Project, v: u32) -> String {
    let prefix = format!("{v:03}_");
    let f = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with(&prefix) && f.ends_with(".up.sql"))
        .unwrap();
    format!("db_repository/versions/{f}")
}

#[test]
fn migrate_warns_checks_rows_and_lint_reports() {
    let p = Project::new();
    for (i, ddl) in [V1, V2, V3, V4].iter().enumerate() {
        p.model_from_ddl(&format!("m{}.toml", i + 1), ddl);
    }
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname, email) VALUES ('john', 'j@x'), (NULL, 'n@x'), ('john', 'k@x');")
        .unwrap();

    // Destructive: a warning on stderr and a header line in the script.
    let out = p.dbm(&["--model", "m2.toml", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: destructive") && stderr(&out).contains("email"),
        "{}",
        stderr(&out)
    );
    let text = p.read(&up(&p, 2));
    assert!(text.contains("[DESTRUCTIVE: "), "{text}");

    // May fail: the rows are checked first; one NULL nickname -> refused, nothing written.
    let files = p.versions_dir();
    let before = p.bytes("app.db");
    let out = p.dbm(&["--model", "m3.toml", "migrate"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("1 row would fail"), "{err}");
    assert!(err.contains("no script written"), "{err}");
    assert_eq!(p.versions_dir(), files);
    assert!(p.bytes("app.db") == before);
    p.conn("app.db")
        .execute_batch("UPDATE user SET nickname = 'anon' WHERE nickname IS NULL;")
        .unwrap();
    let out = p.dbm(&["--model", "m3.toml", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: checked against existing rows"),
        "{}",
        stderr(&out)
    );
    assert!(
        p.read(&up(&p, 3)).contains("[may fail: "),
        "{}",
        p.read(&up(&p, 3))
    );

    // Duplicate nicknames ('john' twice): the unique index is refused with a count.
    let before = p.bytes("app.db");
    let out = p.dbm(&["--model", "m4.toml", "migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("would fail"), "{}", stderr(&out));
    assert!(p.bytes("app.db") == before);
    assert_eq!(p.versions_dir().len(), 6);

    // A hand-written script.
    p.ok(&["script", "purge"]);
    let up4 = up(&p, 4);
    p.write(
        &up4,
        "DELETE FROM user WHERE id > 2;\nDROP TABLE IF EXISTS \"old\";\n",
    );

    // dbm lint: every version.
    let out = p.ok(&["lint"]);
    let up2 = up(&p, 2);
    let up3 = up(&p, 3);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{up2}:")) && l.contains("destructive")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{up3}:")) && l.contains("may fail")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{up4}:1: destructive: deletes rows")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{up4}:2: destructive: drops table old")),
        "{out}"
    );
    assert!(!out.contains("001_"), "{out}");
    // Selected versions only.
    let out = p.ok(&["lint", "3"]);
    assert!(out.contains(&up3) && !out.contains(&up2), "{out}");
    let out = p.ok(&["lint", "1"]);
    assert!(out.contains("No risky changes"), "{out}");
    // JSON for CI.
    let out = p.ok(&["lint", "--json", "2", "4"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3, "{out}");
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[0]["risk"], "destructive");
    assert_eq!(items[0]["file"], up2.as_str());
    assert!(items[0]["line"].as_u64().unwrap() >= 1);
    assert_eq!(items[1]["version"], 4);
    assert_eq!(items[1]["line"], 1);
    let out = p.ok(&["lint", "--json", "1"]);
    assert_eq!(out.trim(), "[]");
    // Bad versions.
    for (bad, needle) in [
        ("99", "does not exist"),
        ("abc", "not a number"),
        ("-1", "negative"),
    ] {
        let err = p.fails(&["lint", bad]);
        assert!(err.contains(needle), "{bad}: {err}");
    }
}

/// Lint reads a header only as dbm writes it above generated scripts: a `dbm script`
/// template (whose first line looks alike) and statements added to a generated script are
/// classified like any hand-written SQL.
#[test]
fn statements_added_by_hand_are_found() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", V1);
    p.model_from_ddl("m2.toml", V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);

    p.ok(&["script", "purge"]);
    let up2 = up(&p, 2);
    let template = p.read(&up2);
    assert!(
        template.starts_with("-- dbm migration 002 (up)"),
        "{template}"
    );
    p.write(&up2, &format!("{template}DROP TABLE IF EXISTS u;\n"));
    let out = p.ok(&["lint", "2"]);
    assert!(
        out.contains(&format!("{up2}:4: destructive: drops table u")),
        "{out}"
    );

    // A generated script (destructive: drops user.email) with a DELETE added by hand.
    p.ok(&["upgrade"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    let up3 = up(&p, 3);
    let generated = p.read(&up3);
    p.write(&up3, &format!("{generated}\nDELETE FROM \"user\";\n"));
    let out = p.ok(&["lint", "--json", "3"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 2, "{out}");
    assert!(
        items[0]["message"]
            .as_str()
            .unwrap()
            .contains("drops column user.email"),
        "{out}"
    );
    assert_eq!(items[1]["message"], "deletes rows of user", "{out}");
    assert_eq!(
        items[1]["line"].as_u64().unwrap() as usize,
        generated.lines().count() + 2,
        "{out}"
    );
}

/// Every script dbm generated in the corpus (the scenarios' snapshots, up and down, and the
/// shipped tutorial repository) is linted by its header alone: each statement finding is one
/// the header already lists, so lint reports exactly the header's marked changes, at their
/// header lines.
#[test]
fn generated_scripts_are_linted_by_their_header_alone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/scenarios/snapshots");
    let read = |dir: &Path, ext: &str| -> Vec<(String, String)> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                // insta's front matter: `---` ... `---`, then the script.
                let body = match text.strip_prefix("---\n") {
                    Some(rest) => rest.split_once("---\n").map_or(rest, |(_, b)| b),
                    None => &text,
                };
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    body.to_string(),
                )
            })
            .collect()
    };
    let mut scripts = read(&dir, "snap");
    scripts.extend(read(&root.join("db_repository/versions"), "sql"));
    scripts.sort();
    assert!(
        scripts.len() > 100,
        "snapshots not found in {}",
        dir.display()
    );
    let p = Project::new();
    let (repo, _) = dbm::Repository::create(&p.path("db_repository"), "lint").unwrap();
    for (name, body) in &scripts {
        repo.write_version(name, body, "").unwrap();
    }
    let findings = dbm::lint(&repo, &[]).unwrap();
    for (i, (name, body)) in scripts.iter().enumerate() {
        let version = i as u64 + 1;
        let header_lines = body.lines().take_while(|l| l.starts_with("--")).count();
        let tags = body
            .lines()
            .take(header_lines)
            .filter(|l| l.contains("  [DESTRUCTIVE: ") || l.contains("  [may fail: "))
            .count();
        let mine: Vec<_> = findings.iter().filter(|f| f.version == version).collect();
        assert_eq!(mine.len(), tags, "{name}: {mine:#?}");
        for f in mine {
            assert!(
                f.finding.line <= header_lines,
                "{name}: {f:?} is not a header line"
            );
        }
    }
}
