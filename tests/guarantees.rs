//! Safety under careless and hostile use (issue 10, part 6: wrong state, replays, offline SQL,
//! names, backups, interrupted migrations). Every case drives the real binary on real files.

mod common;
use common::*;

/// The file name of version `n`'s script in `direction` (`up` / `down`).
fn script_of(p: &Project, n: u32, direction: &str) -> String {
    let prefix = format!("{n:03}_");
    let suffix = format!(".{direction}.sql");
    p.versions_dir()
        .into_iter()
        .find(|f| f.starts_with(&prefix) && f.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no {prefix}*{suffix} in {:?}", p.versions_dir()))
}

/// Item 3: a script the tokenizer rejects is refused as a whole: no statement of it runs
/// (a `COMMIT` before the bad token used to commit half the work), and the error names the
/// file and the line.
#[test]
fn scripts_that_cannot_be_split_are_refused_whole() {
    let p = blog_project();
    p.ok(&["script", "broken"]);
    let up = script_of(&p, 3, "up");
    let commit_then = "INSERT INTO user(nickname) VALUES ('a');\nCOMMIT;\nINSERT INTO user(nickname) VALUES ('b');\n";
    #[rustfmt::skip]
    let cases: &[(String, &str)] = &[
        (format!("{commit_then}SELECT 'open\n"), "line 4"),
        (format!("{commit_then}SELECT $;\n"), "line 4"),
        (format!("{commit_then}SELECT 1 # 2;\n"), "line 4"),
        (format!("{commit_then}/* open comment\nSELECT 1;\n"), "line 4"),
        (format!("INSERT INTO user(nickname) VALUES ('a');\nCOMMIT;\nUPDATE migrate_version SET version = 3;\n/*\n"), "line 4"),
    ];
    for (text, line) in cases {
        p.write(&format!("db_repository/versions/{up}"), text);
        p.refused(&["upgrade"], &[&up, line, "none of it"]);
        assert_eq!(p.version(), Some(2), "{text}");
        assert_eq!(rows(&p.path("app.db"), "user").len(), 1, "{text}");
        // The offline SQL refuses it too.
        p.refused(&["upgrade", "--sql"], &[&up, line]);
    }
}

/// Item 2: SQL that dbm runs on a scratch database (a model's view text, replayed scripts)
/// cannot reach a file: `ATTACH` and `VACUUM INTO` are impossible there. A view declared as
/// `SELECT 1; ATTACH 'app.db' AS live; DELETE FROM live.user` used to empty the live table
/// during a read-only `dbm diff`.
#[test]
fn scratch_databases_cannot_attach_files() {
    let p = blog_project();
    let model = p.read("m2.toml");
    for (name, payload) in [
        ("attach", "ATTACH 'app.db' AS live; DELETE FROM live.user"),
        ("vacuum", "VACUUM INTO 'escaped.db'"),
    ] {
        let m = format!("{name}.toml");
        p.write(
            &m,
            &format!("{model}\n[views.v_{name}]\nsql = \"CREATE VIEW v_{name} AS SELECT 1; {payload}\"\n"),
        );
        for cmd in [&["diff"][..], &["check"], &["migrate"]] {
            let args = [&["--model", m.as_str()][..], cmd].concat();
            let out = p.dbm(&args);
            assert_ne!(out.status.code(), Some(0), "{args:?}: {}", stdout(&out));
            assert_eq!(
                rows(&p.path("app.db"), "user").len(),
                1,
                "{args:?} deleted rows"
            );
            assert!(!p.path("escaped.db").exists(), "{args:?} wrote a file");
        }
    }
    assert_eq!(p.version(), Some(2));
}

/// Item 2: `status` does not execute an applied script that was edited since (it reports it
/// as edited and the drift as unknown).
#[test]
fn status_does_not_replay_an_edited_script() {
    let p = blog_project();
    let up = script_of(&p, 2, "up");
    let path = format!("db_repository/versions/{up}");
    let text = p.read(&path);
    p.write(&path, &format!("{text}\nCREATE TABLE smuggled (x);\n"));
    let out = p.ok(&["status"]);
    assert!(out.contains("changed after it was applied"), "{out}");
    assert!(out.contains("not replayed"), "{out}");
    assert!(
        !out.contains("smuggled"),
        "status ran the edited script:\n{out}"
    );
}
