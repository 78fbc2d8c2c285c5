//! Lint of existing scripts: destructive and risky steps. Scripts dbm generated carry their
//! classification in the header (written from the same `Change` list as the SQL); for
//! hand-written SQL the statements themselves are classified.

use crate::diff::Risk;
use crate::sql::tokens;
use serde::Serialize;
use sqlite3_parser::dialect::TokenType;

/// One finding in a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub risk: Risk,
    pub message: String,
    /// 1-based line in the script.
    pub line: usize,
}

/// Lints one up script.
pub fn lint_script(sql: &str) -> Vec<Finding> {
    let mut out = vec![];
    let mut generated = false;
    for (i, line) in sql.lines().enumerate() {
        let Some(text) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        if text.contains("dbm migration") {
            generated = true;
        }
        if let Some(pos) = text.find("[DESTRUCTIVE: ") {
            out.push(Finding {
                risk: Risk::Destructive,
                message: text[pos + 14..].trim_end_matches(']').to_string(),
                line: i + 1,
            });
        } else if let Some(pos) = text.find("[may fail: ") {
            out.push(Finding {
                risk: Risk::MayFail,
                message: text[pos + 11..].trim_end_matches(']').to_string(),
                line: i + 1,
            });
        }
    }
    if generated {
        return out;
    }
    // Hand-written SQL: classify statements by their leading keywords.
    let Some(toks) = tokens(sql) else { return out };
    let line_of = |offset: usize| sql[..offset].matches('\n').count() + 1;
    let mut start = 0;
    while start < toks.len() {
        let mut end = start;
        let mut depth_begin = 0i32;
        while end < toks.len() {
            match toks[end].kind {
                TokenType::TK_BEGIN => depth_begin += 1,
                TokenType::TK_END if depth_begin > 0 => depth_begin -= 1,
                TokenType::TK_SEMI if depth_begin <= 0 => break,
                _ => {}
            }
            end += 1;
        }
        let stmt = &toks[start..end.min(toks.len())];
        let words: Vec<String> = stmt
            .iter()
            .take(6)
            .map(|t| t.text.to_ascii_uppercase())
            .collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        if let Some(first) = stmt.first() {
            let line = line_of(first.start);
            let name = |i: usize| {
                stmt.get(i)
                    .map(|t| crate::sql::unquote(t.text))
                    .unwrap_or_default()
            };
            if w(0) == "DROP" && w(1) == "TABLE" {
                let n = if w(2) == "IF" { name(4) } else { name(2) };
                out.push(Finding {
                    risk: Risk::Destructive,
                    message: format!("drops table {n} and its rows"),
                    line,
                });
            } else if w(0) == "ALTER"
                && stmt.iter().any(|t| t.text.eq_ignore_ascii_case("DROP"))
                && !stmt
                    .iter()
                    .any(|t| t.text.eq_ignore_ascii_case("CONSTRAINT"))
            {
                out.push(Finding {
                    risk: Risk::Destructive,
                    message: format!("drops a column of {}", name(2)),
                    line,
                });
            } else if w(0) == "DELETE" {
                out.push(Finding {
                    risk: Risk::Destructive,
                    message: "deletes rows".into(),
                    line,
                });
            } else if w(0) == "UPDATE" {
                out.push(Finding {
                    risk: Risk::MayFail,
                    message: format!("rewrites rows of {}", name(1)),
                    line,
                });
            } else if w(0) == "CREATE" && w(1) == "UNIQUE" {
                out.push(Finding {
                    risk: Risk::MayFail,
                    message: "a new unique index fails on duplicate rows".into(),
                    line,
                });
            }
        }
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_sql_is_classified() {
        let f = lint_script("CREATE TABLE a(x);\nDROP TABLE IF EXISTS \"b\";\nALTER TABLE c DROP COLUMN d;\nUPDATE e SET x=1;\n");
        let risks: Vec<(Risk, usize)> = f.iter().map(|f| (f.risk, f.line)).collect();
        assert_eq!(
            risks,
            vec![
                (Risk::Destructive, 2),
                (Risk::Destructive, 3),
                (Risk::MayFail, 4)
            ]
        );
        assert!(f[0].message.contains("table b"));
    }

    #[test]
    fn trigger_bodies_do_not_split_statements() {
        let f = lint_script("CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;\n");
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn generated_headers_are_read() {
        let f = lint_script("-- dbm migration 002 (up)\n--   - table post  [DESTRUCTIVE: drops table post and all its rows]\nDROP TABLE \"post\";\n");
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].risk, f[0].line), (Risk::Destructive, 2));
    }
}
