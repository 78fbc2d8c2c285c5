//! The generated scripts run in the machine's `sqlite3` shell (an older SQLite than the
//! bundled one: 3.40 on Debian 12). For every scenario of `tests/scenarios/` that the shell
//! is new enough for, the up and down scripts, wrapped as `apply` wraps them, are run by
//! the shell on a copy of the database and must give the same schema and rows as dbm's
//! own apply. Without `sqlite3`: fails when `CI` is set, otherwise skips with a note.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn shell_version() -> Option<(u32, u32, u32)> {
    let out = Command::new("sqlite3").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.split_whitespace().next()?;
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    Some((it.next()?, it.next().unwrap_or(0), it.next().unwrap_or(0)))
}

fn parse_version(v: &str) -> (u32, u32, u32) {
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// Runs `script` as apply does (foreign keys off, one transaction) plus a foreign key
/// check, with `sqlite3 -bail`; panics on any error or FK violation.
fn run_in_shell(db: &Path, script: &str, what: &str) {
    let wrapped = format!(
        "PRAGMA foreign_keys=OFF;\nBEGIN;\n{script}\nPRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA integrity_check;\n"
    );
    let file = db.with_extension("sql");
    std::fs::write(&file, wrapped).unwrap();
    let out = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .arg(format!(".read '{}'", file.display()))
        .output()
        .expect("run sqlite3");
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && se.trim().is_empty(),
        "{what}: sqlite3 failed ({:?}):\n{se}\n{so}",
        out.status.code()
    );
    assert_eq!(
        so.trim(),
        "ok",
        "{what}: FK violations or integrity problems:\n{so}"
    );
}

/// Every user table's rows; a `volatile` column (`table.column`, filled by a non-constant
/// default) is reduced to NULL or not, since the shell and dbm run at different moments.
fn all_rows(db: &Path, volatile: &[String]) -> Vec<(String, Vec<Vec<String>>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'migrate_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    names
        .into_iter()
        .map(|n| {
            let cols = row_columns(db, &n);
            let mut rs = rows(db, &n);
            for (i, col) in cols.iter().enumerate() {
                if volatile
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&format!("{n}.{col}")))
                {
                    for r in &mut rs {
                        r[i] = if r[i] == "Null" { "Null" } else { "<volatile>" }.to_string();
                    }
                }
            }
            (n, rs)
        })
        .collect()
}

fn run_scenario(path: &Path, shell: (u32, u32, u32)) -> bool {
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let sc: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = |k: &str| sc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let volatile: Vec<String> = sc
        .get("volatile")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if sc.get("error").is_some() {
        return false;
    }
    let min = s("min_sqlite");
    if min.as_deref().is_some_and(|v| parse_version(v) > shell) {
        return false;
    }
    let p = Project::new();
    if let Some(v) = &min {
        p.write("dbm.toml", &format!("min_sqlite = \"{v}\"\n"));
    }
    p.model_from_ddl("before.toml", &s("before").unwrap());
    match s("after_model") {
        Some(m) => {
            p.write("after.toml", &m);
        }
        None => {
            p.model_from_ddl("after.toml", &s("after").unwrap());
        }
    }
    p.ok(&["--model", "before.toml", "create"]);
    p.ok(&["--model", "before.toml", "migrate", "-m", "before"]);
    if let Some(seed) = s("seed") {
        p.conn("app.db").execute_batch(&seed).unwrap();
    }
    std::fs::copy(p.path("app.db"), p.path("shell.db")).unwrap();
    p.ok(&["--model", "after.toml", "migrate", "-m", "after"]);
    let up = p.read("db_repository/versions/002_after.up.sql");
    let down = p.read("db_repository/versions/002_after.down.sql");

    run_in_shell(&p.path("shell.db"), &up, &format!("{name} up"));
    assert_same_schema(
        &p.path("shell.db"),
        &p.path("app.db"),
        &format!("{name}: shell up vs dbm up"),
    );
    assert_eq!(
        all_rows(&p.path("shell.db"), &volatile),
        all_rows(&p.path("app.db"), &volatile),
        "{name}: rows after shell up"
    );

    p.ok(&["downgrade"]);
    run_in_shell(&p.path("shell.db"), &down, &format!("{name} down"));
    assert_same_schema(
        &p.path("shell.db"),
        &p.path("app.db"),
        &format!("{name}: shell down vs dbm down"),
    );
    assert_eq!(
        all_rows(&p.path("shell.db"), &volatile),
        all_rows(&p.path("app.db"), &volatile),
        "{name}: rows after shell down"
    );
    true
}

#[test]
fn scripts_run_in_the_sqlite3_shell() {
    let Some(shell) = shell_version() else {
        if std::env::var_os("CI").is_some() {
            panic!("sqlite3 shell not found, and CI is set: install sqlite3");
        }
        eprintln!("note: sqlite3 shell not found; skipping the shell test");
        return;
    };
    let files = scenario_files();
    let only = std::env::var("SCENARIO").ok();
    let mut failures = vec![];
    let mut ran = 0;
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        if only.as_deref().is_some_and(|o| !stem.contains(o)) {
            continue;
        }
        match std::panic::catch_unwind(|| run_scenario(f, shell)) {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => failures.push(format!(
                "{stem}: {}",
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed in the sqlite3 shell:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if only.is_none() {
        assert!(ran >= 40, "only {ran} scenarios ran in the shell");
    }
    eprintln!("{ran} scenarios ran in sqlite3 {shell:?}");
}
