//! The statement classifier: what each statement of a script does, read from its leading
//! tokens, and what that means for the rows (lint) and for backups. One classifier for every
//! reader of script text, so lint and the backup policy cannot disagree.

use super::split::{each, split, Stmt};
use super::{header, REBUILD_PREFIX};
use crate::risk::Hazard;
use crate::sql::{unquote, Tok};
use std::collections::HashSet;

/// What one statement does, as far as its data effects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StatementKind {
    /// `BEGIN`, `COMMIT`, `SAVEPOINT`, `VACUUM`...: never allowed in a migration script.
    TransactionControl(String),
    /// `CREATE TABLE t (..)`; `with_rows` for `CREATE TABLE .. AS SELECT`.
    CreateTable {
        table: String,
        with_rows: bool,
    },
    CreateIndex {
        unique: bool,
        index: String,
        table: String,
    },
    DropTable {
        table: String,
    },
    RenameTable {
        from: String,
        to: String,
    },
    DropColumn {
        table: String,
        column: String,
    },
    /// `ALTER TABLE t ALTER COLUMN c SET NOT NULL` (SQLite 3.53).
    SetNotNull {
        table: String,
        column: String,
    },
    /// `ALTER TABLE t ADD [CONSTRAINT n] CHECK (expr)` (SQLite 3.53).
    AddCheck {
        table: String,
        expr: String,
    },
    Insert {
        table: String,
    },
    Update {
        table: String,
    },
    Delete {
        table: String,
    },
    /// Anything without an effect on existing rows worth reporting.
    Other,
}

/// A possibly schema-qualified name starting at `toks[i]`: the name and the index after it.
fn name_at(toks: &[Tok<'_>], i: usize) -> Option<(String, usize)> {
    let first = toks.get(i)?;
    match (toks.get(i + 1), toks.get(i + 2)) {
        (Some(dot), Some(name)) if dot.text == "." => Some((unquote(name.text), i + 3)),
        _ => Some((unquote(first.text), i + 1)),
    }
}

/// Skips `IF EXISTS` / `IF NOT EXISTS` at `i`.
fn skip_if(toks: &[Tok<'_>], mut i: usize) -> usize {
    if toks.get(i).is_some_and(|t| t.is("IF")) {
        i += 1;
        if toks.get(i).is_some_and(|t| t.is("NOT")) {
            i += 1;
        }
        if toks.get(i).is_some_and(|t| t.is("EXISTS")) {
            i += 1;
        }
    }
    i
}

/// The keywords the classifier tells apart. [`keyword`] maps a token to one of them, so
/// classifying a statement allocates nothing for its keywords.
const KEYWORDS: [&str; 30] = [
    "ADD",
    "ALTER",
    "BEGIN",
    "CHECK",
    "COLUMN",
    "COMMIT",
    "CONSTRAINT",
    "CREATE",
    "DELETE",
    "DROP",
    "END",
    "FROM",
    "INDEX",
    "INSERT",
    "NOT",
    "NULL",
    "OR",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "ROLLBACK",
    "SAVEPOINT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "TO",
    "UNIQUE",
    "UPDATE",
    "VACUUM",
];

/// The token as one of [`KEYWORDS`] (ASCII-case-insensitively), `""` for anything else.
fn keyword(t: Option<&Tok<'_>>) -> &'static str {
    t.and_then(|t| KEYWORDS.iter().find(|k| t.is(k)).copied())
        .unwrap_or("")
}

/// Classifies one statement.
pub(crate) fn classify(stmt: &Stmt<'_>) -> StatementKind {
    let t = &stmt.toks;
    let word = |i: usize| keyword(t.get(i));
    let name = |i: usize| name_at(t, i).map(|(n, _)| n).unwrap_or_default();
    match word(0) {
        w @ ("BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "VACUUM") => {
            StatementKind::TransactionControl(w.to_string())
        }
        "CREATE" => {
            let mut i = 1;
            if matches!(word(i), "TEMP" | "TEMPORARY") {
                i += 1;
            }
            let unique = word(i) == "UNIQUE";
            if unique {
                i += 1;
            }
            match word(i) {
                "TABLE" => {
                    let Some((table, after)) = name_at(t, skip_if(t, i + 1)) else {
                        return StatementKind::Other;
                    };
                    let with_rows = t.get(after).is_some_and(|x| x.is("AS"));
                    StatementKind::CreateTable { table, with_rows }
                }
                "INDEX" => {
                    let Some((index, after)) = name_at(t, skip_if(t, i + 1)) else {
                        return StatementKind::Other;
                    };
                    if !t.get(after).is_some_and(|x| x.is("ON")) {
                        return StatementKind::Other;
                    }
                    StatementKind::CreateIndex {
                        unique,
                        index,
                        table: name(after + 1),
                    }
                }
                _ => StatementKind::Other,
            }
        }
        "DROP" if word(1) == "TABLE" => StatementKind::DropTable {
            table: name(skip_if(t, 2)),
        },
        "ALTER" if word(1) == "TABLE" => alter(stmt),
        "INSERT" | "REPLACE" => {
            // `INSERT INTO`, `REPLACE INTO`, `INSERT OR <action> INTO`.
            let Some(into) = t.iter().take(4).position(|x| x.is("INTO")) else {
                return StatementKind::Other;
            };
            StatementKind::Insert {
                table: name(into + 1),
            }
        }
        "UPDATE" => {
            let mut i = 1;
            if word(i) == "OR" {
                i += 2;
            }
            StatementKind::Update { table: name(i) }
        }
        "DELETE" if word(1) == "FROM" => StatementKind::Delete { table: name(2) },
        _ => StatementKind::Other,
    }
}

fn alter(stmt: &Stmt<'_>) -> StatementKind {
    let t = &stmt.toks;
    let Some((table, i)) = name_at(t, 2) else {
        return StatementKind::Other;
    };
    let word = |i: usize| keyword(t.get(i));
    let column = |i: usize| t.get(i).map(|x| unquote(x.text)).unwrap_or_default();
    match word(i) {
        "RENAME" if word(i + 1) == "TO" => StatementKind::RenameTable {
            from: table,
            to: name_at(t, i + 2).map(|(n, _)| n).unwrap_or_default(),
        },
        // `DROP [COLUMN] c` loses data; `DROP CONSTRAINT` does not.
        "DROP" if word(i + 1) != "CONSTRAINT" => {
            let c = if word(i + 1) == "COLUMN" {
                i + 2
            } else {
                i + 1
            };
            StatementKind::DropColumn {
                table,
                column: column(c),
            }
        }
        // `ALTER [COLUMN] c SET NOT NULL` tightens; `DROP NOT NULL` does not.
        "ALTER" => {
            let c = if word(i + 1) == "COLUMN" {
                i + 2
            } else {
                i + 1
            };
            if (c + 1..c + 4).map(word).eq(["SET", "NOT", "NULL"]) {
                StatementKind::SetNotNull {
                    table,
                    column: column(c),
                }
            } else {
                StatementKind::Other
            }
        }
        // `ADD [CONSTRAINT n] CHECK (expr)`: the expression is the source text in the parens.
        "ADD" => {
            let j = if word(i + 1) == "CONSTRAINT" {
                i + 3
            } else {
                i + 1
            };
            match (word(j), t.get(j + 1), t.last()) {
                ("CHECK", Some(open), Some(close)) if open.text == "(" && close.text == ")" => {
                    let base = t[0].start;
                    StatementKind::AddCheck {
                        table,
                        expr: stmt.text[open.end - base..close.start - base].to_string(),
                    }
                }
                _ => StatementKind::Other,
            }
        }
        _ => StatementKind::Other,
    }
}

/// The table a rebuild's copy reads, if `stmt` is one: `INSERT INTO _dbm_new_x (..) SELECT
/// .. FROM x` (the table named after the last top-level `FROM`); `kind` is its
/// [`classify`]. The executor counts and reports the rows of such a statement.
pub(crate) fn rebuild_source(stmt: &Stmt<'_>, kind: &StatementKind) -> Option<String> {
    let StatementKind::Insert { table } = kind else {
        return None;
    };
    let prefix = table.get(..REBUILD_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(REBUILD_PREFIX) {
        return None;
    }
    let t = &stmt.toks;
    let mut depth = 0i32;
    let mut from = None;
    for (i, tok) in t.iter().enumerate() {
        match tok.text {
            "(" => depth += 1,
            ")" => depth -= 1,
            _ if depth == 0 && tok.is("FROM") => from = Some(i + 1),
            _ => {}
        }
    }
    name_at(t, from?).map(|(n, _)| n)
}

/// Whether running `sql` may make SQLite re-parse every view and trigger of the schema or
/// rewrite other objects' text: any `ALTER TABLE` but a plain `ADD [COLUMN]` (a rename, even
/// of a column, rewrites references; `DROP COLUMN` and the constraint edits re-check the
/// whole schema). `true` when the script does not split: a verification that cannot tell
/// must look at everything.
pub(crate) fn reaches_whole_schema(sql: &str) -> bool {
    let Some(stmts) = split(sql) else {
        return true;
    };
    stmts.iter().any(|stmt| {
        let t = &stmt.toks;
        if !(t.first().is_some_and(|x| x.is("ALTER")) && t.get(1).is_some_and(|x| x.is("TABLE"))) {
            return false;
        }
        let Some((_, i)) = name_at(t, 2) else {
            return true;
        };
        let plain_add = t.get(i).is_some_and(|x| x.is("ADD"))
            && !t.get(i + 1).is_some_and(|x| {
                ["CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN"]
                    .iter()
                    .any(|w| x.is(w))
            });
        !plain_add
    })
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// What a script's statements add up to, gathered one statement at a time, so that a script
/// need not be kept whole to know it (apply's backup decision reads it as the script is split).
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Tables the script rebuilds: rows copied into `_dbm_new_x`, renamed back to `x`.
    rebuilt: HashSet<String>,
    /// Tables it drops; whether each was the old copy of a rebuilt one is known at the end.
    dropped: HashSet<String>,
    /// It drops a column or deletes rows.
    loses_rows: bool,
    /// Its header carries `-- dbm:destructive` ([`header::marked_destructive`]).
    marked: bool,
}

impl Effects {
    /// Nothing taken in yet but the script's header mark; [`Effects::add`] takes its statements.
    pub fn for_script(sql: &str) -> Effects {
        Effects {
            marked: header::marked_destructive(sql),
            ..Effects::default()
        }
    }

    /// Every statement of `sql`, split and classified one at a time; `None` if it does not lex.
    pub fn of(sql: &str) -> Option<Effects> {
        let mut effects = Effects::for_script(sql);
        each(sql, |s| effects.add(&classify(s)))?;
        Some(effects)
    }

    /// Takes in the next statement's kind.
    pub fn add(&mut self, kind: &StatementKind) {
        match kind {
            StatementKind::RenameTable { from, to }
                if key(from).strip_prefix(REBUILD_PREFIX) == Some(&key(to)) =>
            {
                self.rebuilt.insert(key(to));
            }
            StatementKind::DropTable { table } => {
                self.dropped.insert(key(table));
            }
            StatementKind::DropColumn { .. } | StatementKind::Delete { .. } => {
                self.loses_rows = true
            }
            _ => {}
        }
    }

    /// Whether running the script loses data: a dropped table (but not the old copy of a
    /// rebuilt one, whose rows were copied first), a dropped column, deleted rows, or its
    /// header says so (dbm writes the mark when a change loses data its statements do not
    /// show, such as a rebuild that leaves a column out).
    pub fn destroys_data(&self) -> bool {
        self.marked || self.loses_rows || self.dropped.iter().any(|t| !self.rebuilt.contains(t))
    }
}

/// A script's statements with their kinds, and what the script does as a whole.
pub(crate) struct Classified<'a> {
    pub stmts: Vec<(Stmt<'a>, StatementKind)>,
    effects: Effects,
}

impl<'a> Classified<'a> {
    /// Splits and classifies a script; `None` if it does not lex.
    pub fn new(sql: &'a str) -> Option<Classified<'a>> {
        let mut effects = Effects::for_script(sql);
        let stmts: Vec<(Stmt<'a>, StatementKind)> = split(sql)?
            .into_iter()
            .map(|s| {
                let k = classify(&s);
                effects.add(&k);
                (s, k)
            })
            .collect();
        Some(Classified { stmts, effects })
    }

    /// The risky statements: (line, what they may do to existing rows).
    pub fn hazards(&self) -> Vec<(usize, Hazard)> {
        // Tables created empty by this script and not yet written to: nothing in them can
        // violate a new unique index.
        let mut fresh: HashSet<String> = HashSet::new();
        let mut out = vec![];
        for (s, k) in &self.stmts {
            let hazard = match k {
                StatementKind::CreateTable { table, with_rows } => {
                    if !with_rows {
                        fresh.insert(key(table));
                    }
                    None
                }
                StatementKind::RenameTable { from, to } => {
                    if fresh.remove(&key(from)) {
                        fresh.insert(key(to));
                    } else {
                        fresh.remove(&key(to));
                    }
                    None
                }
                StatementKind::Insert { table } => {
                    fresh.remove(&key(table));
                    None
                }
                StatementKind::DropTable { table }
                    if !self.effects.rebuilt.contains(&key(table)) =>
                {
                    Some(Hazard::DropsTable {
                        table: table.clone(),
                    })
                }
                StatementKind::DropColumn { table, column } => Some(Hazard::DropsColumn {
                    table: table.clone(),
                    column: column.clone(),
                }),
                StatementKind::Delete { table } => Some(Hazard::DeletesRows {
                    table: table.clone(),
                }),
                // The counters of AUTOINCREMENT are bookkeeping, not rows.
                StatementKind::Update { table }
                    if !table.eq_ignore_ascii_case("sqlite_sequence") =>
                {
                    fresh.remove(&key(table));
                    Some(Hazard::RewritesRows {
                        table: table.clone(),
                    })
                }
                // A rebuild recreates the table's indexes; whether one is new, only the
                // change list knows (and a generated header says).
                StatementKind::CreateIndex {
                    unique: true,
                    index,
                    table,
                } if !fresh.contains(&key(table))
                    && !self.effects.rebuilt.contains(&key(table)) =>
                {
                    Some(Hazard::IndexDuplicates {
                        table: table.clone(),
                        index: index.clone(),
                    })
                }
                StatementKind::SetNotNull { table, column } => Some(Hazard::Tightens {
                    table: table.clone(),
                    column: column.clone(),
                }),
                StatementKind::AddCheck { table, expr } => Some(Hazard::FailsCheck {
                    table: table.clone(),
                    expr: expr.clone(),
                }),
                _ => None,
            };
            out.extend(hazard.map(|h| (s.line, h)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Risk;

    fn kinds(sql: &str) -> Vec<StatementKind> {
        split(sql).unwrap().iter().map(classify).collect()
    }

    #[test]
    fn leading_tokens_name_the_effect() {
        assert_eq!(
            kinds("DROP TABLE IF EXISTS main.\"b\"; ALTER TABLE c DROP d; ALTER TABLE c DROP COLUMN \"e\"; DELETE FROM f; UPDATE OR IGNORE g SET x = 1; INSERT OR REPLACE INTO h VALUES (1); commit"),
            vec![
                StatementKind::DropTable { table: "b".into() },
                StatementKind::DropColumn { table: "c".into(), column: "d".into() },
                StatementKind::DropColumn { table: "c".into(), column: "e".into() },
                StatementKind::Delete { table: "f".into() },
                StatementKind::Update { table: "g".into() },
                StatementKind::Insert { table: "h".into() },
                StatementKind::TransactionControl("COMMIT".into()),
            ]
        );
        assert_eq!(
            kinds("ALTER TABLE t DROP CONSTRAINT ck; ALTER TABLE t ALTER COLUMN a DROP NOT NULL; ALTER TABLE t ALTER COLUMN a SET NOT NULL; ALTER TABLE \"t\" ADD CONSTRAINT \"n\" CHECK (a > (1))"),
            vec![
                StatementKind::Other,
                StatementKind::Other,
                StatementKind::SetNotNull { table: "t".into(), column: "a".into() },
                StatementKind::AddCheck { table: "t".into(), expr: "a > (1)".into() },
            ]
        );
        assert_eq!(
            kinds("CREATE UNIQUE INDEX IF NOT EXISTS \"ix\" ON \"t\" (a); CREATE TEMP TABLE x AS SELECT 1"),
            vec![
                StatementKind::CreateIndex { unique: true, index: "ix".into(), table: "t".into() },
                StatementKind::CreateTable { table: "x".into(), with_rows: true },
            ]
        );
    }

    #[test]
    fn a_rebuild_copy_names_the_table_it_reads() {
        let source = |sql: &str| {
            let s = &split(sql).unwrap()[0];
            rebuild_source(s, &classify(s))
        };
        assert_eq!(
            source("INSERT INTO \"_dbm_new_t\" (a, b) SELECT a, (SELECT 1 FROM u) FROM \"t\""),
            Some("t".into())
        );
        assert_eq!(
            source("INSERT INTO main._DBM_NEW_t SELECT * FROM main.t"),
            Some("t".into())
        );
        assert_eq!(source("INSERT INTO \"_dbm_new_t\" VALUES (1)"), None);
        assert_eq!(source("INSERT INTO t (a) SELECT a FROM u"), None);
        assert_eq!(source("DELETE FROM \"_dbm_new_t\""), None);
    }

    #[test]
    fn rebuilds_and_fresh_tables_are_not_risky() {
        let rebuild = "CREATE TABLE \"_dbm_new_t\" (a TEXT);\nINSERT INTO \"_dbm_new_t\" (a) SELECT a FROM \"t\";\n\
                       DROP TABLE \"t\";\nALTER TABLE \"_dbm_new_t\" RENAME TO \"t\";\nCREATE UNIQUE INDEX u ON t (a);\n\
                       UPDATE sqlite_sequence SET seq = 1;";
        assert!(!Effects::of(rebuild).unwrap().destroys_data());
        let c = Classified::new(rebuild).unwrap();
        assert!(c.hazards().is_empty(), "{:?}", c.hazards());
        let c = Classified::new("CREATE TABLE n (a);\nCREATE UNIQUE INDEX un ON n (a);\nINSERT INTO n VALUES (1);\nCREATE UNIQUE INDEX un2 ON n (a);").unwrap();
        let h = c.hazards();
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].0, h[0].1.risk()), (4, Risk::MayFail));
    }
}
