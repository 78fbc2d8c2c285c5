//! The statement splitter: SQLite's own tokenizer, top-level `;`, trigger bodies kept whole.
//! One pass over the tokens, line numbers counted as it goes (linear in script size).

use crate::sql::{tokens, Tok};
use sqlite3_parser::dialect::TokenType;

/// One statement of a script.
#[derive(Debug, Clone)]
pub(crate) struct Stmt<'a> {
    /// The statement's text, from its first token to its terminating `;` (if any).
    pub text: &'a str,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// Its tokens, without the terminating `;`.
    pub toks: Vec<Tok<'a>>,
    /// Whether a `;` ends it (the last statement of a script may lack one).
    pub terminated: bool,
}

/// Splits a script into statements on top-level `;`, keeping `CREATE TRIGGER .. BEGIN .. END;`
/// whole. The body's `END` is the one where a body statement would begin (right after
/// `BEGIN` or a `;`): every statement of a body starts with a keyword of its own, so a CASE's
/// `END` or a column named `end` (`SET end = 1`, `NEW.end`) never ends it. Empty statements
/// (`;;`) are skipped. `None` if the text does not lex.
pub(crate) fn split(sql: &str) -> Option<Vec<Stmt<'_>>> {
    let toks = tokens(sql)?;
    let mut out = vec![];
    // Lines are counted incrementally: `counted` is the byte offset up to which `line` is known.
    let (mut line, mut counted) = (1usize, 0usize);
    let mut line_at = |offset: usize| {
        line += sql[counted..offset].matches('\n').count();
        counted = offset;
        line
    };
    let mut start: Option<usize> = None;
    // In a trigger's body, `at_start`: the token begins one of its statements.
    let (mut trigger, mut in_body, mut body_done, mut at_start) = (false, false, false, false);
    let mut push = |s: usize, end: usize, semi: Option<usize>, line: usize| {
        let last = semi.unwrap_or(end - 1);
        out.push(Stmt {
            text: &sql[toks[s].start..toks[last].end],
            line,
            toks: toks[s..end].to_vec(),
            terminated: semi.is_some(),
        });
    };
    let mut start_line = 0;
    for (i, t) in toks.iter().enumerate() {
        let Some(s) = start else {
            if t.kind == TokenType::TK_SEMI {
                continue;
            }
            start = Some(i);
            start_line = line_at(t.start);
            (trigger, in_body, body_done, at_start) = (false, false, false, false);
            continue;
        };
        let pos = i - s;
        if toks[s].is("CREATE")
            && ((pos == 1 && t.is("TRIGGER"))
                || (pos == 2
                    && t.is("TRIGGER")
                    && (toks[s + 1].is("TEMP") || toks[s + 1].is("TEMPORARY"))))
        {
            trigger = true;
        }
        if trigger && !body_done {
            if !in_body {
                in_body = t.is("BEGIN");
                at_start = in_body;
            } else {
                body_done = at_start && t.is("END");
                at_start = t.kind == TokenType::TK_SEMI;
            }
        }
        if t.kind == TokenType::TK_SEMI && (!trigger || body_done) {
            push(s, i, Some(i), start_line);
            start = None;
        }
    }
    if let Some(s) = start {
        push(s, toks.len(), None, start_line);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_splitting() {
        let sql = "CREATE TABLE a(x);;\nCREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN\n SELECT CASE WHEN 1 THEN 2 END;\n SELECT 3;\nEND;\n-- c\nSELECT 'a;b'";
        let s = split(sql).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[1].text.starts_with("CREATE TEMP TRIGGER") && s[1].text.ends_with("END;"));
        assert_eq!(s[1].line, 2);
        assert_eq!(s[2].text, "SELECT 'a;b'");
        assert_eq!(s[2].line, 7);
        assert!(s[0].terminated && !s[2].terminated);
        assert_eq!(
            s[0].toks.len(),
            6,
            "the `;` is not a token of the statement"
        );
    }

    #[test]
    fn a_column_named_end_does_not_end_a_trigger_body() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET end = NEW.end + 1, x = CASE WHEN NEW.end THEN 1 ELSE 2 END WHERE rowid = NEW.rowid;\n  INSERT INTO b (end) VALUES (NEW.end);\nEND;\nSELECT 1;";
        let s = split(sql).unwrap();
        assert_eq!(s.len(), 2, "{s:#?}");
        assert!(
            s[0].text.ends_with("VALUES (NEW.end);\nEND;"),
            "{}",
            s[0].text
        );
        assert_eq!((s[1].text, s[1].line), ("SELECT 1;", 5));
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE a (end, x); CREATE TABLE b (end);")
            .unwrap();
        c.execute_batch(s[0].text).unwrap();
    }

    #[test]
    fn text_that_does_not_lex() {
        assert!(split("SELECT 'open").is_none());
        assert!(split("").unwrap().is_empty());
    }
}
