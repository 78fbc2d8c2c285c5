//! The statement splitter: SQLite's own tokenizer, top-level `;`, trigger bodies kept whole.
//! One pass over the tokens, line numbers counted as it goes (linear in script size).

use crate::sql::Tok;
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
pub(crate) fn split<'a>(sql: &'a str) -> Option<Vec<Stmt<'a>>> {
    let mut out = vec![];
    each(sql, |s| out.push(s.clone()))?;
    Some(out)
}

/// [`split`] without keeping the statements: each is handed to `f` as soon as its `;` is
/// read, and its token buffer is reused for the next one (no allocation per statement, memory
/// flat in script size). One pass: tokens go straight from the scanner into their statement,
/// lines are counted as it goes. `None` if the text does not lex (`f` may have seen a prefix).
pub(crate) fn each<'a>(sql: &'a str, mut f: impl FnMut(&Stmt<'a>)) -> Option<()> {
    // Lines are counted incrementally: `counted` is the byte offset up to which `line` is known.
    let (mut line, mut counted) = (1usize, 0usize);
    // The statement being read: its tokens, start line, and in a trigger's body
    // `at_start`: the next token begins one of the body's statements.
    let mut cur: Vec<Tok<'a>> = vec![];
    let mut start_line = 0;
    let (mut trigger, mut in_body, mut body_done, mut at_start) = (false, false, false, false);
    let mut finish = |cur: &mut Vec<Tok<'a>>, semi: Option<Tok<'a>>, line: usize| {
        let first = cur[0].start;
        let end = semi.map_or(cur[cur.len() - 1].end, |t| t.end);
        let stmt = Stmt {
            text: &sql[first..end],
            line,
            toks: std::mem::take(cur),
            terminated: semi.is_some(),
        };
        f(&stmt);
        *cur = stmt.toks;
        cur.clear();
    };
    crate::sql::scan(sql, |t| {
        if cur.is_empty() {
            if t.kind == TokenType::TK_SEMI {
                return;
            }
            line += sql.as_bytes()[counted..t.start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted = t.start;
            start_line = line;
            (trigger, in_body, body_done, at_start) = (false, false, false, false);
            cur.push(t);
            return;
        }
        let pos = cur.len();
        if pos <= 2
            && t.is("TRIGGER")
            && cur[0].is("CREATE")
            && (pos == 1 || cur[1].is("TEMP") || cur[1].is("TEMPORARY"))
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
            finish(&mut cur, Some(t), start_line);
        } else {
            cur.push(t);
        }
    })?;
    if !cur.is_empty() {
        finish(&mut cur, None, start_line);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::tokens;

    /// The splitter before it streamed (whole-script token vector, statements copied out of
    /// it), kept as the reference the one-pass splitter must equal.
    /// A statement as owned data: text, line, token texts, terminated.
    type Owned = (String, usize, Vec<String>, bool);

    fn reference(sql: &str) -> Option<Vec<Owned>> {
        let toks = tokens(sql)?;
        let mut out = vec![];
        let mut start: Option<usize> = None;
        let (mut trigger, mut in_body, mut body_done, mut at_start) = (false, false, false, false);
        let line_of = |o: usize| sql[..o].matches('\n').count() + 1;
        let mut push = |s: usize, end: usize, semi: Option<usize>| {
            let last = semi.unwrap_or(end - 1);
            out.push((
                sql[toks[s].start..toks[last].end].to_string(),
                line_of(toks[s].start),
                toks[s..end].iter().map(|t| t.text.to_string()).collect(),
                semi.is_some(),
            ));
        };
        for (i, t) in toks.iter().enumerate() {
            let Some(s) = start else {
                if t.kind == TokenType::TK_SEMI {
                    continue;
                }
                start = Some(i);
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
                push(s, i, Some(i));
                start = None;
            }
        }
        if let Some(s) = start {
            push(s, toks.len(), None);
        }
        Some(out)
    }

    /// Every script in the repository's tests and examples, and tricky fragments, split
    /// exactly as the reference splits them (text, line, tokens, terminator).
    #[test]
    fn one_pass_split_equals_the_reference() {
        let mut scripts: Vec<String> = [
            "",
            ";;;",
            "SELECT 1",
            "SELECT 1;\n\n;SELECT 2 -- c\n;",
            "CREATE TEMPORARY TRIGGER t BEFORE DELETE ON a BEGIN DELETE FROM b; END; SELECT 'x;y'",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n UPDATE a SET end = 1; END;\nCREATE TRIGGER",
            "/* a\n b */ INSERT INTO t VALUES (';');\r\nDROP TABLE \"x;\"",
            "SELECT 'open",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        scripts.extend(crate::sql::repository_texts(&[".sql", ".snap"]));
        assert!(scripts.len() > 50, "{} scripts", scripts.len());
        for sql in &scripts {
            let got = split(sql).map(|v| {
                v.into_iter()
                    .map(|s| {
                        let toks = s.toks.iter().map(|t| t.text.to_string()).collect();
                        (s.text.to_string(), s.line, toks, s.terminated)
                    })
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, reference(sql), "{sql}");
        }
    }

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
