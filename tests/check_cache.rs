//! The check cache (issue 13): a `check` whose inputs match the last run that found a match
//! answers from one read of `sqlite_schema`. Each input the key covers is changed here and
//! must send the next run down the full comparison, with the full comparison's answer.

mod common;
use common::*;
use std::path::Path;

const HIT: &str = "answered from the cache";

/// `check --verbose` against `m2.toml`: (exit code, whether the cache answered).
fn check(p: &Project) -> (Option<i32>, bool) {
    let out = p.dbm(&["--model", "m2.toml", "--verbose", "check"]);
    (out.status.code(), stderr(&out).contains(HIT))
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[test]
fn a_repeated_check_is_answered_from_the_cache() {
    let p = blog_project();
    assert_eq!(check(&p), (Some(0), false), "the first check runs in full");
    assert_eq!(entries(p.cache.path()).len(), 1, "one entry per database");
    assert_eq!(check(&p), (Some(0), true));
    // `diff` shares the entry and prints what the full path prints.
    let out = p.dbm(&["--model", "m2.toml", "--verbose", "diff"]);
    assert!(stderr(&out).contains(HIT), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "No differences: the database matches the model.\n"
    );
}

#[test]
fn a_changed_model_misses() {
    let p = blog_project();
    check(&p);
    // Bytes that mean the same model still miss (the key is the bytes, not the meaning).
    let text = p.read("m2.toml");
    p.write("m2.toml", &format!("# a comment\n{text}"));
    assert_eq!(check(&p), (Some(0), false));
    assert_eq!(check(&p), (Some(0), true));
    // A model that differs from the database is found to differ.
    p.write("m2.toml", &p.read("m1.toml"));
    assert_eq!(check(&p), (Some(1), false));
}

#[test]
fn a_changed_live_schema_misses() {
    let p = blog_project();
    check(&p);
    p.conn("app.db")
        .execute_batch("ALTER TABLE post ADD COLUMN title TEXT")
        .unwrap();
    assert_eq!(check(&p), (Some(1), false));
    // A change and its undo leave the same text but not the same schema cookie.
    p.conn("app.db")
        .execute_batch("ALTER TABLE post DROP COLUMN title")
        .unwrap();
    assert_eq!(check(&p), (Some(0), false));
    assert_eq!(check(&p), (Some(0), true));
}

#[test]
fn a_different_dbm_binary_misses() {
    let p = blog_project();
    check(&p);
    assert_eq!(check(&p), (Some(0), true));
    // A copy of the binary has its own modification time: a rebuilt dbm of the same version.
    let bin = p.path("dbm-copy");
    std::fs::copy(assert_cmd::cargo::cargo_bin("dbm"), &bin).unwrap();
    let run = || {
        let mut cmd = std::process::Command::new(&bin);
        cmd.current_dir(p.dir.path())
            .env("DBM_CACHE_DIR", p.cache.path())
            .args(["--database", "app.db", "--model", "m2.toml", "-v", "check"]);
        // Another test thread forking while the copy was open for writing holds that
        // descriptor until its child execs: "text file busy" for a moment, so try again.
        let mut tries = 0;
        let out = loop {
            match cmd.output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.unwrap(),
            }
        };
        (out.status.code(), stderr(&out).contains(HIT))
    };
    assert_eq!(run(), (Some(0), false));
    assert_eq!(run(), (Some(0), true));
}

#[test]
fn a_damaged_entry_is_a_miss_not_an_error() {
    let p = blog_project();
    check(&p);
    let entry = entries(p.cache.path()).pop().expect("an entry");
    std::fs::write(&entry, "not a key\n").unwrap();
    assert_eq!(check(&p), (Some(0), false));
    assert_eq!(check(&p), (Some(0), true), "rewritten by the full run");
    // An entry that cannot be read at all (a folder in its place) is a miss too.
    std::fs::remove_file(&entry).unwrap();
    std::fs::create_dir(&entry).unwrap();
    assert_eq!(check(&p), (Some(0), false));
    assert_eq!(check(&p), (Some(0), false));
}

#[test]
fn only_a_clean_match_is_stored() {
    let p = blog_project();
    // A difference is never stored.
    let out = p.dbm(&["--model", "m1.toml", "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(entries(p.cache.path()).is_empty());
    // A match with a warning is not stored either: the next run says the warning again.
    p.build_db(
        "dangling.db",
        "PRAGMA foreign_keys=OFF;
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES gone(id));",
    );
    let out = p.dbm_raw(&["--database", "dangling.db", "create-model"]);
    p.write("dangling.toml", &stdout(&out));
    for _ in 0..2 {
        let out = p.dbm_raw(&[
            "--database",
            "dangling.db",
            "--model",
            "dangling.toml",
            "-v",
            "check",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("missing table `gone`"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(HIT));
    }
}

#[test]
fn json_on_a_hit_is_the_json_of_the_full_run() {
    let p = blog_project();
    let run = |args: &[&str]| {
        let mut all = vec!["--model", "m2.toml", "--json"];
        all.extend_from_slice(args);
        let out = p.dbm(&all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    for args in [&["check"][..], &["diff", "--sql"][..]] {
        let full = {
            let _ = std::fs::remove_dir_all(p.cache.path());
            run(args)
        };
        assert_eq!(entries(p.cache.path()).len(), 1);
        assert_eq!(run(args), full, "{args:?}");
    }
}

#[test]
fn an_empty_cache_dir_turns_the_cache_off() {
    let p = blog_project();
    let off = p.path("off");
    for _ in 0..2 {
        let out = p
            .command()
            .env("DBM_CACHE_DIR", "")
            .env("HOME", &off)
            .env("XDG_CACHE_HOME", &off)
            .args(["--database", "app.db", "--model", "m2.toml", "-v", "check"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(!stderr(&out).contains(HIT));
    }
    assert!(
        !off.exists(),
        "nothing written under HOME or XDG_CACHE_HOME"
    );
    assert!(entries(p.cache.path()).is_empty());
}

#[test]
fn xdg_cache_home_is_the_default_place() {
    let p = blog_project();
    let xdg = p.path("xdg");
    let out = p
        .command()
        .env_remove("DBM_CACHE_DIR")
        .env("XDG_CACHE_HOME", &xdg)
        .args(["--database", "app.db", "--model", "m2.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(entries(&xdg.join("dbm")).len(), 1);
}
