//! Scenario driver: each `tests/scenarios/*.toml` holds a schema before, a schema after,
//! rows, and expectations. For each one the real binary migrates before → after with
//! rows in place, then down and up again; schemas are compared with an independent
//! snapshot, surviving rows must be intact, and the generated scripts are snapshotted.
//! Adding a case is adding a file.

mod common;
use common::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    /// DDL of the schema before.
    before: String,
    /// DDL of the schema after (the expected result).
    after: String,
    /// A hand-written model for "after" (for rename hints); default: create-model of `after`.
    after_model: Option<String>,
    /// Rows inserted into the "before" database.
    #[serde(default)]
    seed: String,
    /// `table.column` values not compared (e.g. a type change converts them).
    #[serde(default)]
    skip_rows: Vec<String>,
    /// `table.column` filled by a non-constant default (`datetime('now')`): its value depends
    /// on when a script runs, so runs at different moments compare it as NULL or not only.
    #[serde(default)]
    volatile: Vec<String>,
    /// Pairs `old_table.old_col = new_table.new_col` for renamed things whose rows must survive.
    #[serde(default)]
    renamed: BTreeMap<String, String>,
    /// Text the up script must contain / must not contain.
    #[serde(default)]
    up_contains: Vec<String>,
    #[serde(default)]
    up_lacks: Vec<String>,
    /// When set, `migrate` must fail with stderr containing each of these, writing nothing.
    #[serde(default)]
    error: Vec<String>,
    /// dbm.toml `min_sqlite`.
    min_sqlite: Option<String>,
    /// Expected `sqlite_sequence` counters after up / after down (AUTOINCREMENT).
    #[serde(default)]
    sequence: BTreeMap<String, i64>,
    /// Tables whose rowids are legitimately renumbered (they had none: WITHOUT ROWID).
    #[serde(default)]
    new_rowids: Vec<String>,
    #[serde(default)]
    sequence_down: BTreeMap<String, i64>,
}

fn seq(path: &Path, table: &str) -> Option<i64> {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE",
        [table],
        |r| r.get(0),
    )
    .ok()
}

fn assert_sequences(want: &BTreeMap<String, i64>, db: &Path, what: &str) {
    for (t, n) in want {
        assert_eq!(seq(db, t), Some(*n), "{what}: AUTOINCREMENT counter of {t}");
    }
}

fn tables(path: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c
        .prepare("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'migrate_%'")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn columns(path: &Path, table: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c
        .prepare("SELECT name, hidden FROM pragma_table_xinfo(?1)")
        .unwrap();
    s.query_map([table], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .filter(|(_, h)| *h == 0)
    .map(|(n, _)| n)
    .collect()
}

fn without_rowid(c: &rusqlite::Connection, table: &str) -> bool {
    c.query_row(
        "SELECT count(*) FROM pragma_table_list(?1) WHERE wr = 1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .unwrap_or(0)
        > 0
}

/// The rowid of each row (ordered), for tables that have one and no column hiding it.
fn rowids(path: &Path, table: &str) -> Option<Vec<i64>> {
    let c = rusqlite::Connection::open(path).unwrap();
    if without_rowid(&c, table)
        || columns(path, table)
            .iter()
            .any(|n| n.eq_ignore_ascii_case("rowid"))
    {
        return None;
    }
    let mut s = c
        .prepare(&format!(
            "SELECT rowid FROM \"{}\" ORDER BY rowid",
            table.replace('"', "\"\"")
        ))
        .unwrap();
    Some(
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect(),
    )
}

fn values(path: &Path, table: &str, cols: &[String]) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let list = cols
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    let order = if without_rowid(&c, table) {
        "1".to_string()
    } else {
        "rowid".to_string()
    };
    let mut s = c
        .prepare(&format!(
            "SELECT {list} FROM \"{}\" ORDER BY {order}",
            table.replace('"', "\"\"")
        ))
        .unwrap();
    let n = cols.len();
    s.query_map([], |r| {
        let mut row = vec![];
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            row.push(format!("{v:?}"));
        }
        Ok(row.join("|"))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

/// Rows of every column that exists on both sides (after renames) must be identical.
fn assert_rows_survive(sc: &Scenario, from: &Path, to: &Path, name: &str, reverse: bool) {
    let map = |t: &str, c: &str| -> (String, String) {
        let key = format!("{t}.{c}");
        let found = if reverse {
            sc.renamed
                .iter()
                .find(|(_, v)| v.eq_ignore_ascii_case(&key))
                .map(|(k, _)| k.clone())
        } else {
            sc.renamed
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&key))
                .map(|(_, v)| v.clone())
        };
        match found {
            Some(v) => {
                let (a, b) = v.split_once('.').unwrap();
                (a.to_string(), b.to_string())
            }
            None => (t.to_string(), c.to_string()),
        }
    };
    let to_tables = tables(to);
    for t in tables(from) {
        let from_cols = columns(from, &t);
        let mut pairs = vec![];
        for c in &from_cols {
            let (nt, nc) = map(&t, c);
            if !to_tables.iter().any(|x| x.eq_ignore_ascii_case(&nt)) {
                continue;
            }
            let skip = sc.skip_rows.iter().any(|s| {
                s.eq_ignore_ascii_case(&format!("{t}.{c}"))
                    || s.eq_ignore_ascii_case(&format!("{nt}.{nc}"))
            });
            if skip || !columns(to, &nt).iter().any(|x| x.eq_ignore_ascii_case(&nc)) {
                continue;
            }
            pairs.push((nt, c.clone(), nc));
        }
        if pairs.is_empty() {
            continue;
        }
        let nt = pairs[0].0.clone();
        let fc: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect();
        let tc: Vec<String> = pairs.iter().map(|p| p.2.clone()).collect();
        assert_eq!(
            values(from, &t, &fc),
            values(to, &nt, &tc),
            "{name}: rows of {t} ({fc:?}) changed"
        );
        if let (Some(a), Some(b)) = (rowids(from, &t), rowids(to, &nt)) {
            if !sc.new_rowids.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                assert_eq!(a, b, "{name}: rowids of {t} changed");
            }
        }
    }
}

fn run_scenario(path: &Path) {
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let sc: Scenario = toml::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let p = Project::new();
    if let Some(v) = &sc.min_sqlite {
        p.write("dbm.toml", &format!("min_sqlite = \"{v}\"\n"));
    }
    p.model_from_ddl("before.toml", &sc.before);
    match &sc.after_model {
        Some(m) => {
            p.write("after.toml", m);
        }
        None => {
            p.model_from_ddl("after.toml", &sc.after);
        }
    }
    p.build_db("want_before.db", &sc.before);
    p.build_db("want_after.db", &sc.after);
    p.ok(&["--model", "before.toml", "create"]);
    p.ok(&["--model", "before.toml", "migrate", "-m", "before"]);
    assert_same_schema(
        &p.path("app.db"),
        &p.path("want_before.db"),
        &format!("{name}: before"),
    );
    if !sc.seed.is_empty() {
        p.conn("app.db")
            .execute_batch(&sc.seed)
            .unwrap_or_else(|e| panic!("{name}: seed: {e}"));
    }
    std::fs::copy(p.path("app.db"), p.path("seeded.db")).unwrap();

    if !sc.error.is_empty() {
        let before = p.bytes("app.db");
        let files = p.versions_dir();
        let err = p.fails(&["--model", "after.toml", "migrate", "-m", "after"]);
        for n in &sc.error {
            assert!(
                err.contains(n.as_str()),
                "{name}: stderr lacks {n:?}:\n{err}"
            );
        }
        assert_eq!(
            p.versions_dir(),
            files,
            "{name}: a failed migrate wrote files"
        );
        assert!(
            p.bytes("app.db") == before,
            "{name}: a failed migrate changed the database"
        );
        return;
    }

    let out = p.ok(&["--model", "after.toml", "migrate", "-m", "after"]);
    assert!(out.contains("Current database version: 2"), "{name}: {out}");
    assert_same_schema(
        &p.path("app.db"),
        &p.path("want_after.db"),
        &format!("{name}: after up"),
    );
    assert_rows_survive(
        &sc,
        &p.path("seeded.db"),
        &p.path("app.db"),
        &format!("{name} up"),
        false,
    );
    assert_sequences(
        &sc.sequence,
        &p.path("app.db"),
        &format!("{name}: after up"),
    );
    let check = p.dbm(&["--model", "after.toml", "check"]);
    assert!(
        check.status.success(),
        "{name}: check after migrate: {}",
        stdout(&check)
    );
    let ok = |c: &rusqlite::Connection| {
        c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap()
    };
    assert_eq!(ok(&p.conn("app.db")), "ok");
    // A non-constant default fills the rows that were there (the rebuild's copy runs it).
    for v in &sc.volatile {
        let (t, c) = v.split_once('.').expect("volatile is table.column");
        let sql = format!("SELECT count(*) FROM \"{t}\" WHERE \"{c}\" IS NULL");
        let nulls: i64 = p.conn("app.db").query_row(&sql, [], |r| r.get(0)).unwrap();
        assert_eq!(nulls, 0, "{name}: {v} left NULL by up");
    }

    let up_file = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with("002_") && f.ends_with(".up.sql"))
        .unwrap();
    let down_file = up_file.replace(".up.sql", ".down.sql");
    let up = p.read(&format!("db_repository/versions/{up_file}"));
    let down = p.read(&format!("db_repository/versions/{down_file}"));
    for s in &sc.up_contains {
        assert!(
            up.contains(s.as_str()),
            "{name}: up script lacks {s:?}:\n{up}"
        );
    }
    for s in &sc.up_lacks {
        assert!(
            !up.contains(s.as_str()),
            "{name}: up script contains {s:?}:\n{up}"
        );
    }

    p.ok(&["downgrade"]);
    assert_same_schema(
        &p.path("app.db"),
        &p.path("want_before.db"),
        &format!("{name}: after down"),
    );
    assert_rows_survive(
        &sc,
        &p.path("app.db"),
        &p.path("seeded.db"),
        &format!("{name} down"),
        false,
    );
    assert_sequences(
        &sc.sequence_down,
        &p.path("app.db"),
        &format!("{name}: after down"),
    );
    p.ok(&["upgrade"]);
    assert_same_schema(
        &p.path("app.db"),
        &p.path("want_after.db"),
        &format!("{name}: after up again"),
    );
    assert_eq!(ok(&p.conn("app.db")), "ok");

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("scenarios/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(sc.description.clone());
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}.up"), up);
        insta::assert_snapshot!(format!("{name}.down"), down);
    });
}

#[test]
fn scenarios() {
    let files = scenario_files();
    assert!(
        files.len() >= 5,
        "scenario files missing in tests/scenarios"
    );
    let only = std::env::var("SCENARIO").ok();
    let mut failures = vec![];
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        if only.as_deref().is_some_and(|o| !stem.contains(o)) {
            continue;
        }
        let r = std::panic::catch_unwind(|| run_scenario(f));
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{stem}: {msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
