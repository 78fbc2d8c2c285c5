//! SQL text helpers shared by every stage: quoting, and a token-level normal form built on
//! SQLite's own tokenizer (from `sqlite3-parser`), so comparisons never depend on spacing,
//! case or identifier quoting.

use sqlite3_parser::dialect::TokenType;
use sqlite3_parser::lexer::sql::Tokenizer;
use sqlite3_parser::lexer::Scanner;

/// Quotes an identifier: `a"b` → `"a""b"`. Every identifier dbm writes goes through this.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal: `it's` → `'it''s'`.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Removes SQL quoting from an identifier token: `"a""b"` → `a"b`, `[x]` → `x`.
pub(crate) fn unquote(raw: &str) -> String {
    let b = raw.as_bytes();
    if b.len() >= 2 {
        match (b[0], b[b.len() - 1]) {
            (b'[', b']') => return raw[1..raw.len() - 1].to_string(),
            (q @ (b'"' | b'`' | b'\''), e) if e == q => {
                let q = q as char;
                return raw[1..raw.len() - 1].replace(&format!("{q}{q}"), &q.to_string());
            }
            _ => {}
        }
    }
    raw.to_string()
}

/// One token of SQL text with its byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    pub text: &'a str,
    pub kind: TokenType,
    pub start: usize,
    pub end: usize,
}

impl Tok<'_> {
    /// Whether the token is `word` (keywords compare ASCII-case-insensitively).
    pub(crate) fn is(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }
}

/// Tokenizes SQL text (comments and white space dropped). `None` if it does not lex.
pub(crate) fn tokens(sql: &str) -> Option<Vec<Tok<'_>>> {
    let mut out = vec![];
    scan(sql, |t| out.push(t))?;
    Some(out)
}

/// Hands each token of `sql` to `f` as it is scanned, without collecting them (comments and
/// white space dropped). `None` if the text does not lex (`f` may have seen a prefix).
pub(crate) fn scan<'a>(sql: &'a str, mut f: impl FnMut(Tok<'a>)) -> Option<()> {
    let mut s = Scanner::new(Tokenizer::new());
    let input = sql.as_bytes();
    loop {
        match s.scan(input) {
            Ok((start, Some((_, kind)), end)) => {
                // `sql` is UTF-8: a token is too when it starts and ends on a character.
                if !(sql.is_char_boundary(start) && sql.is_char_boundary(end)) {
                    return None;
                }
                f(Tok {
                    text: &sql[start..end],
                    kind,
                    start,
                    end,
                });
            }
            Ok((_, None, _)) => return Some(()),
            Err(_) => return None,
        }
    }
}

/// Where and why SQL text does not lex (`None` when it does): the 1-based line and what
/// is wrong there, for errors that must name the line of a script that cannot be split.
pub(crate) fn lex_error(sql: &str) -> Option<(usize, &'static str)> {
    use sqlite3_parser::lexer::sql::Error as E;
    let mut s = Scanner::new(Tokenizer::new());
    let input = sql.as_bytes();
    loop {
        match s.scan(input) {
            Ok((_, Some(_), _)) => {}
            Ok((_, None, _)) => return None,
            Err(e) => {
                let (pos, what) = match &e {
                    E::UnterminatedLiteral(p) => (p, "unterminated string or quoted name"),
                    E::UnterminatedBracket(p) => (p, "unterminated [bracketed name]"),
                    E::UnterminatedBlockComment(p) => (p, "unterminated /* comment"),
                    E::BadVariableName(p) => (p, "bad parameter name"),
                    E::BadNumber(p) | E::MalformedHexInteger(p) => (p, "malformed number"),
                    E::MalformedBlobLiteral(p) => (p, "malformed blob literal"),
                    E::ExpectedEqualsSign(p) => (p, "`!` without `=`"),
                    E::UnrecognizedToken(p) | E::ParserError(_, p) => (p, "unrecognized token"),
                    _ => (&None, "unreadable text"),
                };
                let line = pos.as_ref().map_or(1, |p| p.line);
                return Some((line, what));
            }
        }
    }
}

fn is_identifier_like(t: &Tok<'_>) -> bool {
    let first = t.text.as_bytes().first().copied().unwrap_or(b' ');
    matches!(first, b'"' | b'`' | b'[')
        || first.is_ascii_alphabetic()
        || first == b'_'
        || first >= 0x80
}

/// A canonical form of SQL text for comparison: tokens separated by one space, identifiers
/// and keywords unquoted and lower-cased (SQLite folds ASCII case), literals kept verbatim.
/// Text that does not lex is compared by its trimmed self.
pub(crate) fn normalize(sql: &str) -> String {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    let Some(toks) = tokens(trimmed) else {
        return trimmed.to_string();
    };
    let mut out = String::with_capacity(trimmed.len());
    for t in toks {
        if t.kind == TokenType::TK_SEMI {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if t.text.starts_with('\'')
            || t.text.starts_with(['x', 'X']) && t.text.get(1..2) == Some("'")
        {
            out.push_str(t.text);
        } else if is_identifier_like(&t) {
            out.push_str(&unquote(t.text).to_ascii_lowercase());
        } else {
            out.push_str(&t.text.to_ascii_lowercase());
        }
    }
    out
}

/// The name keys (ASCII lower case, unquoted) of every identifier and string literal in
/// `sql`: what [`mentions`] looks for, collected in one pass. `None` if the text does not lex.
pub(crate) fn mentioned_names(sql: &str) -> Option<std::collections::HashSet<String>> {
    Some(
        tokens(sql)?
            .iter()
            .filter(|t| is_identifier_like(t) || t.text.starts_with('\''))
            .map(|t| unquote(t.text).to_ascii_lowercase())
            .collect(),
    )
}

/// Whether `sql` mentions the identifier `name` (quoted or not, any ASCII case) as a token.
pub(crate) fn mentions(sql: &str, name: &str) -> bool {
    match tokens(sql) {
        Some(toks) => toks.iter().any(|t| {
            is_identifier_like(t) && unquote(t.text).eq_ignore_ascii_case(name)
                || t.text.starts_with('\'') && unquote(t.text).eq_ignore_ascii_case(name)
        }),
        None => sql
            .to_ascii_lowercase()
            .contains(&name.to_ascii_lowercase()),
    }
}

/// Whether a default/expression text is a plain literal (number, string, blob, NULL,
/// TRUE/FALSE), possibly signed: such defaults are allowed by `ALTER TABLE ADD COLUMN`.
pub(crate) fn is_constant_literal(expr: &str) -> bool {
    let Some(toks) = tokens(expr.trim()) else {
        return false;
    };
    let rest: &[Tok<'_>] = match toks.first() {
        Some(t) if matches!(t.kind, TokenType::TK_MINUS | TokenType::TK_PLUS) => &toks[1..],
        _ => &toks[..],
    };
    match rest {
        [t] => {
            matches!(
                t.kind,
                TokenType::TK_INTEGER
                    | TokenType::TK_FLOAT
                    | TokenType::TK_STRING
                    | TokenType::TK_BLOB
                    | TokenType::TK_NULL
            ) || t.text.eq_ignore_ascii_case("true")
                || t.text.eq_ignore_ascii_case("false")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("[x y]"), "x y");
        assert_eq!(unquote("`y`"), "y");
    }

    #[test]
    fn normal_form_ignores_spacing_case_and_quotes() {
        assert_eq!(
            normalize("CREATE VIEW v AS SELECT \"A\" FROM t WHERE x='Q'"),
            normalize("create view  v as\n select a from \"t\" where x = 'Q';")
        );
        assert_ne!(normalize("SELECT 'a'"), normalize("SELECT 'A'"));
    }

    #[test]
    fn literals() {
        assert!(is_constant_literal("-1"));
        assert!(is_constant_literal("'it''s'"));
        assert!(is_constant_literal("NULL"));
        assert!(!is_constant_literal("CURRENT_TIMESTAMP"));
        assert!(!is_constant_literal("(datetime('now'))"));
    }

    #[test]
    fn mentions_tokens_only() {
        assert!(mentions("SELECT * FROM \"Post\"", "post"));
        assert!(!mentions("SELECT * FROM posts", "post"));
    }
}
