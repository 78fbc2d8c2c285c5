//! A plan → script text, runnable by the `sqlite3` shell and by rusqlite `execute_batch`:
//! the header (from the typed changes and plan, never from the SQL), then the statements.

use sqlite3_parser::dialect::TokenType;

use super::{Plan, Statement};
use crate::diff::Change;
use crate::script::header::{self, Entry};
use crate::script::Direction;
use crate::sql::tokens;

/// The text of a generated script: a header listing every change in words (hazards marked,
/// rebuilt tables noted, `notes` last), then the plan's statements.
pub(crate) fn text(
    version: u64,
    direction: Direction,
    changes: &[Change],
    plan: &Plan,
    notes: &[String],
) -> String {
    let mut entries = vec![];
    for c in changes {
        let note = match c {
            Change::AlterTable { to, .. } if plan.rebuilds(&to.name) => " (table rebuild)",
            _ => "",
        };
        entries.extend(c.describe().into_iter().map(|d| Entry {
            text: format!("{}{note}", d.text),
            hazard: d.hazard,
        }));
    }
    render_script(
        &header::lines(version, direction, &entries, notes),
        &plan.statements,
    )
}

/// Renders a script: `header` lines as `-- ` comments, a blank line, then every statement
/// (its comment as a `-- ` line above it) terminated by `;`, statements separated by a blank
/// line. Deterministic; ends with exactly one newline (empty input gives an empty string).
pub(crate) fn render_script(header: &[String], statements: &[Statement]) -> String {
    let mut blocks: Vec<String> = vec![];
    if !header.is_empty() {
        blocks.push(comment_lines(&header.join("\n")));
    }
    for st in statements {
        let mut block = String::new();
        if let Some(c) = &st.comment {
            block.push_str(&comment_lines(c));
            block.push('\n');
        }
        block.push_str(&terminate(&st.sql));
        blocks.push(block);
    }
    if blocks.is_empty() {
        return String::new();
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

fn comment_lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.trim_end();
            if l.is_empty() {
                "--".to_string()
            } else {
                format!("-- {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Adds the terminating `;` (trigger bodies keep their inner `;` verbatim). A statement
/// that ends in a comment gets its `;` on a line of its own, so the comment cannot eat it.
fn terminate(sql: &str) -> String {
    let s = sql.trim_end();
    let Some(toks) = tokens(s) else {
        return format!("{s};");
    };
    let Some(last) = toks.iter().rev().find(|t| t.kind != TokenType::TK_SEMI) else {
        return format!("{s};");
    };
    let tail = &s[last.end..];
    if tail.chars().all(|c| c == ';' || c.is_whitespace()) {
        format!("{};", &s[..last.end])
    } else {
        format!("{s}\n;")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(comment: Option<&str>, sql: &str) -> Statement {
        Statement {
            comment: comment.map(str::to_string),
            ..Statement::new(sql)
        }
    }

    #[test]
    fn layout() {
        let s = render_script(
            &["dbm up 002".into(), "from x".into()],
            &[
                st(Some("why"), "CREATE TABLE a (x)"),
                st(None, "DROP TABLE b;  "),
            ],
        );
        assert_eq!(
            s,
            "-- dbm up 002\n-- from x\n\n-- why\nCREATE TABLE a (x);\n\nDROP TABLE b;\n"
        );
        assert_eq!(render_script(&[], &[]), "");
        assert_eq!(render_script(&[], &[st(None, "SELECT 1")]), "SELECT 1;\n");
    }

    #[test]
    fn trailing_comment_does_not_swallow_terminator() {
        let s = render_script(
            &[],
            &[
                st(None, "CREATE VIEW v AS SELECT 1 -- one"),
                st(None, "CREATE VIEW w AS SELECT 2"),
            ],
        );
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(&s).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type='view'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn trigger_bodies_keep_their_semicolons() {
        let trig = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (new.x);\n  INSERT INTO log VALUES (new.x + 1);\nEND";
        let s = render_script(
            &["h".into()],
            &[
                st(None, "CREATE TABLE t (x)"),
                st(None, "CREATE TABLE log (y)"),
                st(None, trig),
                st(None, "INSERT INTO t VALUES (1)"),
            ],
        );
        assert!(s.contains("\nEND;\n"));
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(&s).unwrap();
        let n: i64 = c
            .query_row("SELECT sum(y) FROM log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }
}
