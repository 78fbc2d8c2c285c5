//! Changes in words (script headers, `dbm diff`, `migrate`'s warnings) with the hazard each
//! one carries, and the file-name slug of a change list. Everything here reads the same
//! [`Change`] list the planner turns into SQL.

use super::{diff, Change, Renames, TableChange};
use crate::model::{same_name, Column, IndexPart, Order, Schema, Table};
use crate::risk::{Hazard, Risk};
use serde::Serialize;

/// One line of description, with what it may do to existing rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The change in words (`+ column about_me VARCHAR(140)`).
    pub text: String,
    /// What it may do to existing rows; `None` for a safe change.
    pub hazard: Option<Hazard>,
}

impl Described {
    /// How risky the change is.
    pub fn risk(&self) -> Risk {
        self.hazard.as_ref().map_or(Risk::Safe, Hazard::risk)
    }
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
            s.push_str(&format!(" ON CONFLICT {}", oc.sql()));
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
pub(crate) fn affinity(sql_type: &str) -> &'static str {
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
    /// Words for this change, one line per effect, each with its hazard.
    pub(crate) fn describe(&self) -> Vec<Described> {
        let safe = |text: String| Described { text, hazard: None };
        match self {
            Change::CreateTable(t) => vec![safe(format!("+ table {}", t.name))],
            Change::DropTable(t) => vec![Described {
                text: format!("- table {}", t.name),
                hazard: Some(Hazard::DropsTable {
                    table: t.name.clone(),
                }),
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
    let table = || t.clone();
    let d = |text: String, hazard: Option<Hazard>| Described { text, hazard };
    match c {
        TableChange::AddColumn(col) => {
            let fails = col.not_null && col.default.is_none() && col.generated.is_none();
            d(
                format!("~ {t}: + column {} {}", col.name, col_sig(col)),
                fails.then(|| Hazard::NeedsDefault {
                    table: table(),
                    column: col.name.clone(),
                }),
            )
        }
        TableChange::DropColumn(col) => d(
            format!("~ {t}: - column {}", col.name),
            Some(Hazard::DropsColumn {
                table: table(),
                column: col.name.clone(),
            }),
        ),
        TableChange::RenameColumn { from: a, to: b } => {
            d(format!("~ {t}.{a} -> {t}.{b} (rename column)"), None)
        }
        TableChange::ModifyColumn {
            from: a,
            to: b,
            kind,
        } => {
            let hazard = if kind.sql_type && narrowing(&a.sql_type, &b.sql_type) {
                Some(Hazard::ConvertsValues {
                    table: table(),
                    column: b.name.clone(),
                    from: a.sql_type.clone(),
                    to: b.sql_type.clone(),
                })
            } else if (kind.not_null && b.not_null) || (kind.sql_type && to.strict) {
                Some(Hazard::Tightens {
                    table: table(),
                    column: b.name.clone(),
                })
            } else {
                None
            };
            d(
                format!("~ {t}.{}: {} -> {}", b.name, col_sig(a), col_sig(b)),
                hazard,
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
                b.is_some()
                    .then(|| Hazard::DuplicateKeys { table: table() }),
            )
        }
        TableChange::AddUnique(u) => d(
            format!("~ {t}: + UNIQUE ({})", parts(&u.columns)),
            Some(Hazard::Duplicates { table: table() }),
        ),
        TableChange::DropUnique(u) => d(format!("~ {t}: - UNIQUE ({})", parts(&u.columns)), None),
        TableChange::AddCheck(c) => d(
            format!("~ {t}: + CHECK ({})", c.expr),
            Some(Hazard::FailsCheck {
                table: table(),
                expr: c.expr.clone(),
            }),
        ),
        TableChange::DropCheck(c) => d(format!("~ {t}: - CHECK ({})", c.expr), None),
        TableChange::AddForeignKey(f) => d(
            format!(
                "~ {t}: + FOREIGN KEY ({}) REFERENCES {}",
                f.columns.join(", "),
                f.ref_table
            ),
            Some(Hazard::Orphans {
                table: table(),
                parent: f.ref_table.clone(),
            }),
        ),
        TableChange::DropForeignKey(f) => d(
            format!(
                "~ {t}: - FOREIGN KEY ({}) REFERENCES {}",
                f.columns.join(", "),
                f.ref_table
            ),
            None,
        ),
        TableChange::AddIndex(i) => d(
            format!(
                "~ {t}: + {}index {} ({})",
                if i.unique { "unique " } else { "" },
                i.name,
                parts(&i.parts)
            ),
            i.unique.then(|| Hazard::IndexDuplicates {
                table: table(),
                index: i.name.clone(),
            }),
        ),
        TableChange::DropIndex(i) => d(format!("~ {t}: - index {}", i.name), None),
        TableChange::SetWithoutRowid(on) => d(
            format!("~ {t}: {} WITHOUT ROWID", if *on { "+" } else { "-" }),
            on.then(|| Hazard::LosesRowids { table: table() }),
        ),
        TableChange::SetStrict(on) => d(
            format!("~ {t}: {} STRICT", if *on { "+" } else { "-" }),
            on.then(|| Hazard::StrictTypes { table: table() }),
        ),
    }
}

/// A hint when a table both drops and adds a column of the same type and no rename was
/// declared: this may be a rename, which would keep the data.
pub(crate) fn rename_hints(changes: &[Change]) -> Vec<String> {
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

/// What still differs between two schemas, in words (empty when they are equal).
pub(crate) fn differences(from: &Schema, to: &Schema) -> Vec<String> {
    diff(from, to, &Renames::default())
        .iter()
        .flat_map(|c| c.describe())
        .map(|d| d.text)
        .collect()
}

/// Words naming a change list (`create_user_and_create_post`), from which the repository
/// makes the file name's slug.
pub(crate) fn slug_for(changes: &[Change]) -> String {
    let mut words: Vec<String> = vec![];
    for c in changes {
        let w = match c {
            Change::CreateTable(t) => format!("create_{}", t.name),
            Change::DropTable(t) => format!("drop_{}", t.name),
            Change::RenameTable { to, .. } => format!("rename_to_{to}"),
            Change::AlterTable { to, changes, .. } => match changes.as_slice() {
                [TableChange::AddColumn(col)] => format!("add_{}_to_{}", col.name, to.name),
                [TableChange::DropColumn(col)] => format!("drop_{}_from_{}", col.name, to.name),
                _ => format!("alter_{}", to.name),
            },
            Change::CreateView(v) => format!("create_view_{}", v.name),
            Change::DropView(v) => format!("drop_view_{}", v.name),
            Change::CreateTrigger(t) => format!("create_trigger_{}", t.name),
            Change::DropTrigger(t) => format!("drop_trigger_{}", t.name),
        };
        if !words.contains(&w) {
            words.push(w);
        }
    }
    match words.len() {
        0 => "migration".to_string(),
        1..=2 => words.join("_and_"),
        _ => format!("{}_and_more", words[0]),
    }
}
