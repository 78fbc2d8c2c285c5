//! Careless and hostile use (issue 10, part 6): messages that would become SQL, panics on
//! closed pipes and huge numbers, the lock wait, pre-existing foreign-key orphans, reserved
//! names, and the smaller traps. Each test drives the real binary on real files.

mod common;
use common::*;
use common::{blog_project as project, BLOG_V2 as V2};

#[test]
fn a_message_never_becomes_sql() {
    let p = project();
    let files = p.versions_dir();
    // A newline (or any control character) would end the header comment and make the rest
    // of the message a live statement of the "empty" template.
    for msg in ["fix\nDROP TABLE user;", "fix\rDROP TABLE user;", "a\u{7}b"] {
        for args in [vec!["script", msg], vec!["migrate", "-m", msg]] {
            let err = p.refused(&args, &["one line", "control character"]);
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert_eq!(p.versions_dir(), files, "nothing written");
    // A one-line message is a comment, and the template lints clean.
    p.ok(&["script", "fix -- DROP TABLE user; */ /*"]);
    let up = p.read("db_repository/versions/003_fix_drop_table_user.up.sql");
    assert!(
        up.lines().all(|l| l.is_empty() || l.starts_with("--")),
        "{up}"
    );
    assert!(
        p.ok(&["lint", "3"]).contains("No risky changes"),
        "a template has no findings"
    );
    // A live DROP in a template (as dbm wrote them before messages were one line) is found.
    p.write(
        "db_repository/versions/003_fix_drop_table_user.up.sql",
        "-- dbm migration 003 (up): fix\nDROP TABLE user;\n-- Hand-written SQL: it runs in one transaction with the version update.\n\n",
    );
    let lint = p.ok(&["lint", "3"]);
    assert!(lint.contains(":2: destructive: drops table user"), "{lint}");
}
