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
