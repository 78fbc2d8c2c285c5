//! SQL text helpers shared by every stage: quoting, and a token-level normal form built on
//! SQLite's own tokenizer (from `sqlite3-parser`), so comparisons never depend on spacing,
//! case or identifier quoting.

use sqlite3_parser::dialect::{keyword_token, TokenType};
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
///
/// The tokens SQL text is mostly made of (words, plain integers, quoted strings and names,
/// operators) are lexed here, exactly as `sqlite3-parser` lexes them; anything else (other
/// numbers, blobs, parameters, `->`, `!`, an unterminated quote) goes to its scanner one token
/// at a time. A test holds the two equal on every script of the repository and on random text.
pub(crate) fn scan<'a>(sql: &'a str, mut f: impl FnMut(Tok<'a>)) -> Option<()> {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match (c, b.get(i + 1)) {
            (b'-', Some(b'-')) => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |n| i + n + 1);
                continue;
            }
            (b'/', Some(b'*')) => {
                // An unterminated comment does not lex.
                i = i + 2 + b[i + 2..].windows(2).position(|w| w == b"*/")? + 2;
                continue;
            }
            _ => {}
        }
        let (kind, end) = match quick(b, i) {
            Some(t) => t,
            None => match Scanner::new(Tokenizer::new()).scan(&b[i..]) {
                Ok((0, Some((_, kind)), n)) => (kind, i + n),
                _ => return None,
            },
        };
        // `sql` is UTF-8: a token is too when it starts and ends on a character.
        if !sql.is_char_boundary(end) {
            return None;
        }
        f(Tok {
            text: &sql[i..end],
            kind,
            start: i,
            end,
        });
        i = end;
    }
    Some(())
}

/// The token starting at `b[i]` (not white space or a comment) and where it ends, for the
/// common tokens only; `None` hands it to `sqlite3-parser`'s scanner.
fn quick(b: &[u8], i: usize) -> Option<(TokenType, usize)> {
    use TokenType::*;
    // `sqlite3-parser`'s `is_identifier_start` / `_continue`.
    let start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c > 0x7f;
    let cont = |c: u8| start(c) || c.is_ascii_digit() || c == b'$';
    let next = b.get(i + 1).copied();
    let one = |k| Some((k, i + 1));
    let two = |k| Some((k, i + 2));
    match b[i] {
        b'(' => one(TK_LP),
        b')' => one(TK_RP),
        b';' => one(TK_SEMI),
        b'+' => one(TK_PLUS),
        b'*' => one(TK_STAR),
        b'%' => one(TK_REM),
        b',' => one(TK_COMMA),
        b'&' => one(TK_BITAND),
        b'~' => one(TK_BITNOT),
        b'/' => one(TK_SLASH),
        b'-' if next != Some(b'>') => one(TK_MINUS),
        b'=' if next == Some(b'=') => two(TK_EQ),
        b'=' => one(TK_EQ),
        b'<' => match next {
            Some(b'=') => two(TK_LE),
            Some(b'>') => two(TK_NE),
            Some(b'<') => two(TK_LSHIFT),
            _ => one(TK_LT),
        },
        b'>' => match next {
            Some(b'=') => two(TK_GE),
            Some(b'>') => two(TK_RSHIFT),
            _ => one(TK_GT),
        },
        b'|' if next == Some(b'|') => two(TK_CONCAT),
        b'|' => one(TK_BITOR),
        b'.' if !next.is_some_and(|c| c.is_ascii_digit()) => one(TK_DOT),
        q @ (b'\'' | b'"' | b'`') => {
            // A doubled quote stands for one; unterminated goes to the scanner (an error).
            let mut j = i + 1;
            loop {
                let k = j + b[j..].iter().position(|&c| c == q)?;
                if b.get(k + 1) == Some(&q) {
                    j = k + 2;
                } else {
                    let kind = if q == b'\'' { TK_STRING } else { TK_ID };
                    return Some((kind, k + 1));
                }
            }
        }
        b'[' => Some((TK_ID, i + b[i..].iter().position(|&c| c == b']')? + 1)),
        c if c.is_ascii_digit() => {
            // Plain integers only: hex, fractions, exponents, `_` separators and malformed
            // numbers go to the scanner.
            let j = i + b[i..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(b.len() - i);
            match b.get(j) {
                Some(&c) if c == b'.' || cont(c) => None,
                _ => Some((TK_INTEGER, j)),
            }
        }
        // `x'..'` is a blob literal.
        b'x' | b'X' if next == Some(b'\'') => None,
        c if start(c) => {
            let j = i + b[i..].iter().position(|&c| !cont(c)).unwrap_or(b.len() - i);
            let word = &b[i..j];
            // As `sqlite3-parser`: keywords are 2 to 17 ASCII letters long.
            let kind = match (2..=17).contains(&word.len()) && word.is_ascii() {
                true => keyword_token(word).unwrap_or(TK_ID),
                false => TK_ID,
            };
            Some((kind, j))
        }
        _ => None,
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

/// The text of every file of the repository whose name ends with one of `suffixes` (not
/// under `target/` or a hidden folder): what the lexer and splitter tests read.
#[cfg(test)]
pub(crate) fn repository_texts(suffixes: &[&str]) -> Vec<String> {
    let mut out = vec![];
    let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if p.is_dir() && !name.starts_with('.') && name != "target" {
                dirs.push(p);
            } else if suffixes.iter().any(|x| name.ends_with(x)) {
                out.extend(std::fs::read_to_string(&p));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tokens as `sqlite3-parser`'s scanner alone gives them: what [`scan`] must equal.
    fn library_tokens(sql: &str) -> Option<Vec<Tok<'_>>> {
        let mut s = Scanner::new(Tokenizer::new());
        let mut out = vec![];
        loop {
            match s.scan(sql.as_bytes()) {
                Ok((start, Some((tok, kind)), end)) => {
                    std::str::from_utf8(tok).ok()?;
                    out.push(Tok {
                        text: &sql[start..end],
                        kind,
                        start,
                        end,
                    });
                }
                Ok((_, None, _)) => return Some(out),
                Err(_) => return None,
            }
        }
    }

    #[test]
    fn scan_equals_the_library_scanner_on_every_file_and_statement() {
        // Scripts, snapshots, models, and the Rust sources, whose `#`, `!` and `'a` exercise
        // the refusals.
        let texts = repository_texts(&[".sql", ".snap", ".toml", ".rs", ".md"]);
        assert!(texts.len() > 100, "{} files", texts.len());
        let (mut lexed, mut refused) = (0, 0);
        for text in &texts {
            // Whole files, and each line alone (most files do not lex whole).
            for t in std::iter::once(text.as_str()).chain(text.lines()) {
                assert_eq!(tokens(t), library_tokens(t), "{t}");
                match tokens(t) {
                    Some(_) => lexed += 1,
                    None => refused += 1,
                }
            }
        }
        assert!(
            lexed > 1000 && refused > 100,
            "{lexed} lexed, {refused} refused"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn scan_equals_the_library_scanner_on_random_text(parts in proptest::collection::vec(
            prop::sample::select(vec![
                " ", "\n", "\t", "\r", "a", "Z_9", "select", "x", "X", "é", "ü1", "0", "1", "42",
                "0x1F", "0x", "1.5", ".5", ".", "1e3", "1e", "1_000", "1_", "1a", "$", "$v", "?", "?3",
                ":n", "@", "#", "'", "''", "'a''b'", "\"", "\"q\"", "`", "[", "]", "[b]", "--", "--c\n",
                "/*", "*/", "/* c */", "-", "->", "->>", "=", "==", "<", "<=", "<>", "<<", ">", ">=",
                ">>", "!", "!=", "|", "||", "(", ")", ";", ",", "+", "*", "/", "%", "&", "~", "x'0A'",
                "x'0'", "\u{0}", "\u{7f}", "end", "BEGIN",
            ]),
            0..24,
        )) {
            let t = parts.concat();
            prop_assert_eq!(tokens(&t), library_tokens(&t), "{:?}", t);
        }
    }

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
