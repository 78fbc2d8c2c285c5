//! `--json`: each command's document on the real binary, parsed with serde_json and
//! snapshotted (timestamps, durations, checksums and backup paths redacted); errors as JSON on
//! stderr; the exit codes of `status --check`, `check`, `lint --deny` and `upgrade --sql`.

mod common;
use common::*;
use serde_json::Value;

/// Runs dbm with `--json` plus `args`: the exit code and the parsed stdout.
fn json(p: &Project, args: &[&str]) -> (i32, Value) {
    let out = p.dbm(&[&["--json"], args].concat());
    let text = stdout(&out);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "dbm {args:?}: stdout is not JSON ({e}):\n{text}\nstderr: {}",
            stderr(&out)
        )
    });
    assert!(
        stderr(&out).is_empty(),
        "dbm {args:?}: stderr in JSON mode: {}",
        stderr(&out)
    );
    (out.status.code().unwrap_or(-1), v)
}

/// What changes from run to run, replaced by a placeholder.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match k.as_str() {
                    "applied_at" | "duration_ms" | "checksum" => *val = "[redacted]".into(),
                    "backup" if !val.is_null() => *val = "[backup]".into(),
                    _ => redact(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn snap(name: &str, mut v: Value) {
    redact(&mut v);
    insta::assert_snapshot!(name, serde_json::to_string_pretty(&v).unwrap());
}

/// The error document on stderr: `{"error": "...", "exit": 2}`, exit code 2, nothing on stdout.
fn json_error(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(stdout(out).is_empty(), "stdout: {}", stdout(out));
    let v: Value = serde_json::from_str(&stderr(out))
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", stderr(out)));
    assert_eq!(v["exit"], 2, "{v}");
    let msg = v["error"].as_str().expect("error is a string");
    assert!(msg.contains(needle), "{msg}");
    assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{v}");
}

#[test]
fn every_command_prints_its_documented_shape() {
    let p = blog_project();
    let cases: &[(&str, &[&str], i32)] = &[
        ("version", &["version"], 0),
        ("db_version", &["db-version"], 0),
        ("status", &["--model", "m2.toml", "status", "--check"], 0),
        ("history", &["history"], 0),
        ("check_matches", &["--model", "m2.toml", "check"], 0),
        // m1 has no `post`: dropping it is destructive.
        ("check_differs", &["--model", "m1.toml", "check"], 1),
        ("diff", &["--model", "m1.toml", "diff", "--sql"], 0),
        ("lint", &["lint"], 0),
        ("downgrade", &["downgrade"], 0),
        ("upgrade", &["upgrade"], 0),
        ("upgrade_sql_nothing_pending", &["upgrade", "--sql"], 0),
    ];
    for (name, args, code) in cases {
        let (got, v) = json(&p, args);
        assert_eq!(got, *code, "dbm {args:?}: {v}");
        snap(name, v);
    }
    // The script itself is the offline tests' business: here, its place in the document.
    let (code, v) = json(&p, &["downgrade", "1", "--sql"]);
    assert_eq!(code, 0);
    let sql = v["sql"].as_str().expect("sql is a string");
    assert!(
        sql.starts_with(".bail on") && sql.contains("DROP TABLE \"post\""),
        "{sql}"
    );
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{v}");
}

#[test]
fn status_check_exits_1_on_edited_scripts_and_drift() {
    let p = blog_project();
    assert_eq!(json(&p, &["status", "--check"]).0, 0);
    // Without --check the exit code stays 0 whatever status finds.
    let file = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("001_") && f.ends_with(".up.sql"))
        .unwrap();
    let rel = format!("db_repository/versions/{file}");
    let text = p.read(&rel);
    p.write(&rel, &format!("{text}\n-- edited\n"));
    let (code, v) = json(&p, &["status", "--check"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["edited"][0], rel.as_str());
    assert_eq!(json(&p, &["status"]).0, 0);
    p.write(&rel, &text);

    p.conn("app.db")
        .execute_batch("CREATE TABLE extra (x)")
        .unwrap();
    let (code, v) = json(&p, &["status", "--check"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["drift"]["state"], "differs", "{v}");
    assert!(v["drift"]["differences"][0].is_string(), "{v}");
    // The text output exits the same way.
    assert_eq!(p.dbm(&["status", "--check"]).status.code(), Some(1));
}

#[test]
fn lint_deny_exits_1_on_denied_findings() {
    let p = blog_project();
    assert_eq!(
        p.dbm(&["lint", "--deny", "destructive,may_fail"])
            .status
            .code(),
        Some(0)
    );
    // Version 3 drops `post`: destructive.
    p.ok(&["--model", "m1.toml", "migrate", "--accept-data-loss"]);
    assert_eq!(
        p.dbm(&["lint", "--deny", "may_fail"]).status.code(),
        Some(0)
    );
    assert_eq!(
        p.dbm(&["lint", "--deny", "destructive,may_fail"])
            .status
            .code(),
        Some(1)
    );
    let (code, v) = json(&p, &["lint", "--deny", "destructive"]);
    assert_eq!(code, 1);
    assert_eq!(v[0]["risk"], "destructive", "{v}");
    assert_eq!(v[0]["version"], 3, "{v}");
    snap("lint_findings", v);
}

#[test]
fn upgrade_sql_with_nothing_pending_prints_nothing() {
    let p = blog_project();
    let out = p.dbm(&["upgrade", "--sql"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn errors_are_json_on_stderr() {
    let p = blog_project();
    let before = p.bytes("app.db");
    json_error(
        &p.dbm_raw(&["--json", "--database", "missing.db", "db-version"]),
        "does not exist",
    );
    json_error(&p.dbm(&["--json", "upgrade", "9"]), "version 9");
    json_error(&p.dbm(&["status", "--bogus", "--json"]), "--bogus");
    json_error(&p.dbm(&["--json", "create"]), "not available");
    assert_eq!(p.bytes("app.db"), before);
    // Without --json the error stays text.
    let out = p.dbm(&["upgrade", "9"]);
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn migrate_prints_the_version_it_makes() {
    let p = blog_project();
    let (code, v) = json(&p, &["--model", "m2.toml", "migrate"]);
    assert_eq!(code, 0);
    snap("migrate_nothing_to_do", v);

    let files = p.versions_dir();
    let (code, v) = json(&p, &["--model", "m1.toml", "migrate", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(p.versions_dir(), files, "--dry-run wrote something");
    snap("migrate_dry_run", v);

    // Destructive, and --json never prompts: applied as without a terminal.
    let (code, v) = json(&p, &["--model", "m1.toml", "migrate", "-m", "drop post"]);
    assert_eq!(code, 0);
    assert_eq!(p.version(), Some(3));
    snap("migrate_applied", v);
}
