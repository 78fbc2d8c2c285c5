//! Changes in words (script headers, `dbm diff`) and their risk (lint). Everything here
//! reads the same [`Change`] list the planner turns into SQL.

use super::{Change, TableChange};
use crate::model::{same_name, Column, IndexPart, Order, Table};
use serde::Serialize;

/// How risky a change is for existing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Risk {
    /// Cannot lose or reject data.
    Safe,
    /// May fail on existing rows (new NOT NULL, UNIQUE, CHECK, FK, STRICT...).
    MayFail,
    /// Loses data (a dropped table or column, a narrowing type change).
    Destructive,
}

/// One line of description with its risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Described {
    pub text: String,
    pub risk: Risk,
    /// Why it is risky, when it is.
    pub why: Option<String>,
}

fn col_sig(c: &Column) -> String {
    let mut s = if c.sql_type.is_empty() {
        "(no type)".to_string()
    } else {
        c.sql_type.clone()
    };
    if c.not_null {
        s.push_str(" NOT NULL");
        if let Some(oc) = &c.not_null_on_conflict {
            s.push_str(&format!(" ON CONFLICT {}", oc.to_ascii_uppercase()));
        }
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(co) = &c.collate {
        s.push_str(&format!(" COLLATE {co}"));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(
            " AS ({}) {}",
            g.expr,
            if g.stored { "STORED" } else { "VIRTUAL" }
        ));
    }
    s
}

fn parts(ps: &[IndexPart]) -> String {
    ps.iter()
        .map(|p| {
            let mut s = p.target.clone();
            if let Some(c) = &p.collate {
                s.push_str(&format!(" COLLATE {c}"));
            }
            if p.order == Order::Desc {
                s.push_str(" DESC");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQLite type affinity of a declared type (sqlite.org/datatype3.html §3.1).
pub fn affinity(sql_type: &str) -> &'static str {
    let t = sql_type.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// Whether changing the declared type can change stored values: moving to a numeric
/// affinity converts text that looks like a number (`'007'` → 7), REAL → INTEGER rounds.
fn narrowing(from: &str, to: &str) -> bool {
    let (a, b) = (affinity(from), affinity(to));
    a != b
        && matches!(
            (a, b),
            (_, "INTEGER") | ("TEXT" | "BLOB", _) | ("REAL", "NUMERIC")
        )
}

impl Change {
    /// Words for this change, one line per effect, each with its risk.
    pub fn describe(&self) -> Vec<Described> {
        let safe = |text: String| Described {
            text,
            risk: Risk::Safe,
            why: None,
        };
        match self {
            Change::CreateTable(t) => vec![safe(format!("+ table {}", t.name))],
            Change::DropTable(t) => vec![Described {
                text: format!("- table {}", t.name),
                risk: Risk::Destructive,
                why: Some(format!("drops table {} and all its rows", t.name)),
            }],
            Change::RenameTable { from, to } => {
                vec![safe(format!("> table {from} -> {to} (rename)"))]
            }
            Change::CreateView(v) => vec![safe(format!("+ view {}", v.name))],
            Change::DropView(v) => vec![safe(format!("- view {}", v.name))],
            Change::CreateTrigger(t) => vec![safe(format!("+ trigger {} on {}", t.name, t.table))],
            Change::DropTrigger(t) => vec![safe(format!("- trigger {} on {}", t.name, t.table))],
            Change::AlterTable { to, changes, .. } => changes
                .iter()
                .map(|c| describe_table_change(to, c))
                .collect(),
        }
    }
}

fn describe_table_change(to: &Table, c: &TableChange) -> Described {
    let t = &to.name;
    let d = |text: String, risk: Risk, why: Option<String>| Described { text, risk, why };
    match c {
        TableChange::AddColumn(col) => {
            let fails = col.not_null && col.default.is_none() && col.generated.is_none();
            d(
                format!("~ {t}: + column {} {}", col.name, col_sig(col)),
                if fails { Risk::MayFail } else { Risk::Safe },
                fails.then(|| {
                    format!(
                        "NOT NULL column {t}.{} without a default fails if {t} has rows",
                        col.name
                    )
                }),
            )
        }
        TableChange::DropColumn(col) => d(
            format!("~ {t}: - column {}", col.name),
            Risk::Destructive,
            Some(format!("drops column {t}.{} and its data", col.name)),
        ),
        TableChange::RenameColumn { from: a, to: b } => d(
            format!("~ {t}.{a} -> {t}.{b} (rename column)"),
            Risk::Safe,
            None,
        ),
        TableChange::ModifyColumn {
            from: a,
            to: b,
            kind,
        } => {
            let mut risk = Risk::Safe;
            let mut why = None;
            if kind.sql_type && narrowing(&a.sql_type, &b.sql_type) {
                risk = Risk::Destructive;
                why = Some(format!(
                    "type change {} -> {} can convert stored values of {t}.{}",
                    a.sql_type, b.sql_type, b.name
                ));
            } else if (kind.not_null && b.not_null) || (kind.sql_type && to.strict) {
                risk = Risk::MayFail;
                why = Some(format!(
                    "existing rows of {t}.{} may violate the new definition",
                    b.name
                ));
            }
            d(
                format!("~ {t}.{}: {} -> {}", b.name, col_sig(a), col_sig(b)),
                risk,
                why,
            )
        }
        TableChange::SetPrimaryKey { from: a, to: b } => {
            let show = |k: &Option<crate::model::PrimaryKey>| {
                k.as_ref()
                    .map(|k| {
                        // The one case where the place of declaration changes meaning.
                        let quirk = k.inline
                            && matches!(k.columns.as_slice(), [p] if p.order == Order::Desc);
                        format!(
                            "PRIMARY KEY ({}){}",
                            parts(&k.columns),
                            if quirk { " on the column" } else { "" }
                        )
                    })
                    .unwrap_or_else(|| "no primary key".into())
            };
            d(
                format!("~ {t}: {} -> {}", show(a), show(b)),
                if b.is_some() {
                    Risk::MayFail
                } else {
                    Risk::Safe
                },
                b.is_some()
                    .then(|| format!("existing rows of {t} may have duplicate keys")),
            )
        }
        TableChange::AddUnique(u) => d(
            format!("~ {t}: + UNIQUE ({})", parts(&u.columns)),
            Risk::MayFail,
            Some(format!("existing rows of {t} may have duplicates")),
        ),
        TableChange::DropUnique(u) => d(
            format!("~ {t}: - UNIQUE ({})", parts(&u.columns)),
            Risk::Safe,
            None,
        ),
        TableChange::AddCheck(c) => d(
            format!("~ {t}: + CHECK ({})", c.expr),
            Risk::MayFail,
            Some(format!("existing rows of {t} may fail CHECK ({})", c.expr)),
        ),
        TableChange::DropCheck(c) => d(format!("~ {t}: - CHECK ({})", c.expr), Risk::Safe, None),
        TableChange::AddForeignKey(f) => d(
            format!(
                "~ {t}: + FOREIGN KEY ({}) REFERENCES {}",
                f.columns.join(", "),
                f.ref_table
            ),
            Risk::MayFail,
            Some(format!(
                "existing rows of {t} may reference missing {} rows",
                f.ref_table
            )),
        ),
        TableChange::DropForeignKey(f) => d(
            format!(
                "~ {t}: - FOREIGN KEY ({}) REFERENCES {}",
                f.columns.join(", "),
                f.ref_table
            ),
            Risk::Safe,
            None,
        ),
        TableChange::AddIndex(i) => d(
            format!(
                "~ {t}: + {}index {} ({})",
                if i.unique { "unique " } else { "" },
                i.name,
                parts(&i.parts)
            ),
            if i.unique { Risk::MayFail } else { Risk::Safe },
            i.unique
                .then(|| format!("existing rows of {t} may have duplicates for {}", i.name)),
        ),
        TableChange::DropIndex(i) => d(format!("~ {t}: - index {}", i.name), Risk::Safe, None),
        TableChange::SetWithoutRowid(on) => d(
            format!("~ {t}: {} WITHOUT ROWID", if *on { "+" } else { "-" }),
            if *on { Risk::MayFail } else { Risk::Safe },
            on.then(|| format!("rowids of {t} are not kept; NULL primary keys are rejected")),
        ),
        TableChange::SetStrict(on) => d(
            format!("~ {t}: {} STRICT", if *on { "+" } else { "-" }),
            if *on { Risk::MayFail } else { Risk::Safe },
            on.then(|| format!("existing values of {t} may not fit the STRICT column types")),
        ),
    }
}

/// A hint when a table both drops and adds a column of the same type and no rename was
/// declared: this may be a rename, which would keep the data.
pub fn rename_hints(changes: &[Change]) -> Vec<String> {
    let mut out = vec![];
    for c in changes {
        if let Change::AlterTable { to, changes, .. } = c {
            for tc in changes {
                let TableChange::DropColumn(old) = tc else {
                    continue;
                };
                for tc2 in changes {
                    if let TableChange::AddColumn(new) = tc2 {
                        if old.sql_type.eq_ignore_ascii_case(&new.sql_type) {
                            out.push(format!(
                                "column {t}.{o} is dropped and {t}.{n} ({ty}) is added: if this is a rename, declare it with renamed_from = \"{o}\" on column {n} to keep the data",
                                t = to.name,
                                o = old.name,
                                n = new.name,
                                ty = new.sql_type
                            ));
                        }
                    }
                }
            }
        }
    }
    let dropped: Vec<&Table> = changes
        .iter()
        .filter_map(|c| {
            if let Change::DropTable(t) = c {
                Some(t)
            } else {
                None
            }
        })
        .collect();
    for c in changes {
        if let Change::CreateTable(new) = c {
            for old in &dropped {
                let same_cols = old.columns.len() == new.columns.len()
                    && old.columns.iter().all(|oc| new.column(&oc.name).is_some());
                if same_cols && !same_name(&old.name, &new.name) {
                    out.push(format!(
                        "table {o} is dropped and {n} with the same columns is created: if this is a rename, declare renamed_from = \"{o}\" on table {n} to keep the data",
                        o = old.name,
                        n = new.name
                    ));
                }
            }
        }
    }
    out
}

/// Header lines for a script: every change in words, destructive steps marked.
pub fn header_lines(changes: &[Change], rebuilt: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = vec![];
    for c in changes {
        let rebuild_note = match c {
            Change::AlterTable { to, .. } if rebuilt(&to.name) => " (table rebuild)",
            _ => "",
        };
        for d in c.describe() {
            let mut line = format!("{}{rebuild_note}", d.text);
            match d.risk {
                Risk::Destructive => {
                    line.push_str(&format!("  [DESTRUCTIVE: {}]", d.why.unwrap_or_default()))
                }
                Risk::MayFail => {
                    line.push_str(&format!("  [may fail: {}]", d.why.unwrap_or_default()))
                }
                Risk::Safe => {}
            }
            out.push(line);
        }
    }
    out
}

/// The worst risk of a change list.
pub fn worst_risk(changes: &[Change]) -> Risk {
    changes
        .iter()
        .flat_map(|c| c.describe())
        .map(|d| d.risk)
        .max()
        .unwrap_or(Risk::Safe)
}
