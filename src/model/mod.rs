//! The declared schema model: plain data, no I/O.
//!
//! One `Schema` type is produced by the TOML loader (`model::file`), by the Rust builder
//! (`model::builder`) and by introspection (`inspect`). Expressions (defaults, CHECKs,
//! generated columns, index terms, partial-index predicates) are kept as SQL source text;
//! views and triggers keep their whole `CREATE` statement, because SQLite stores and
//! compares them as text.

pub mod builder;
pub(crate) mod ddl;
pub mod file;
mod lower;
pub(crate) mod order;
pub(crate) mod types;
pub(crate) mod validate;

use serde::{Deserialize, Serialize};

/// A whole database schema (the user's objects only: never `sqlite_*` or `migrate_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables, in declaration order (order is never a difference).
    pub tables: Vec<Table>,
    /// Views, each its whole `CREATE VIEW`.
    pub views: Vec<View>,
    /// Triggers, each its whole `CREATE TRIGGER`.
    pub triggers: Vec<Trigger>,
}

/// A table with its columns, constraints and indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The table's name, as written in the DDL (compared case-insensitively, as SQLite does).
    pub name: String,
    /// Rename hint: the table was called this before (declared models only).
    pub renamed_from: Option<String>,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// The primary key, column- or table-level; `None`: only the rowid.
    pub primary_key: Option<PrimaryKey>,
    /// Table `UNIQUE` constraints (SQLite's index origin `u`). Single-column ones may be
    /// declared on the column in TOML; the model keeps them here.
    pub uniques: Vec<Unique>,
    /// CHECK constraints, column-level ones (with `column` set) and table-level ones.
    pub checks: Vec<Check>,
    /// Column- and table-level foreign keys alike.
    pub foreign_keys: Vec<ForeignKey>,
    /// `CREATE INDEX` indexes on this table.
    pub indexes: Vec<Index>,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `STRICT`.
    pub strict: bool,
}

/// A column definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Rename hint: the column was called this before (declared models only).
    pub renamed_from: Option<String>,
    /// Declared type exactly as it goes into the DDL (`VARCHAR(64)`); empty = no type.
    pub sql_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `NOT NULL ON CONFLICT <this>`.
    #[serde(default)]
    pub not_null_on_conflict: Option<Conflict>,
    /// Default as SQL source text: `0`, `-1`, `'it''s'`, `CURRENT_TIMESTAMP`,
    /// `(datetime('now'))`. Expressions keep their parentheses.
    pub default: Option<String>,
    /// `COLLATE` name, as declared.
    pub collate: Option<String>,
    /// `GENERATED ALWAYS AS (..)`, when the column is computed.
    pub generated: Option<Generated>,
}

/// `GENERATED ALWAYS AS (expr) VIRTUAL|STORED`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// The expression without its surrounding parentheses.
    pub expr: String,
    /// `STORED` (written to disk); `VIRTUAL` otherwise.
    pub stored: bool,
}

/// Sort order of a key or index term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Order {
    /// `ASC`, SQLite's default.
    #[default]
    Asc,
    /// `DESC`.
    Desc,
}

/// One term of a key or index: a column or an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPart {
    /// Column name, or SQL expression source text when `expr` is true.
    pub target: String,
    /// `target` is an expression, not a column name.
    pub expr: bool,
    /// `COLLATE` of the term.
    pub collate: Option<String>,
    /// Only `Desc` is written out; `ASC` in the source is kept as `Asc`.
    pub order: Order,
}

impl IndexPart {
    /// Whether this term uses column `name`: a column term naming it, or an expression
    /// mentioning it.
    pub(crate) fn uses(&self, name: &str) -> bool {
        if self.expr {
            crate::sql::mentions(&self.target, name)
        } else {
            same_name(&self.target, name)
        }
    }

    /// A plain ascending column term.
    pub fn column(name: impl Into<String>) -> Self {
        IndexPart {
            target: name.into(),
            expr: false,
            collate: None,
            order: Order::Asc,
        }
    }

    /// An expression term (`lower(email)`), SQL source text.
    pub fn expr(sql: impl Into<String>) -> Self {
        IndexPart {
            expr: true,
            ..IndexPart::column(sql)
        }
    }

    /// This term in descending order.
    pub fn desc(mut self) -> Self {
        self.order = Order::Desc;
        self
    }

    /// This term with `COLLATE name`.
    pub fn collate(mut self, name: impl Into<String>) -> Self {
        self.collate = Some(name.into());
        self
    }
}

/// `PRIMARY KEY`, column-level or table-level (SQLite treats them alike except for
/// `INTEGER PRIMARY KEY DESC`, which dbm renders table-level to keep the rowid alias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// `CONSTRAINT name`, when declared.
    pub name: Option<String>,
    /// The key's columns, in key order.
    pub columns: Vec<IndexPart>,
    /// `AUTOINCREMENT` (an `INTEGER PRIMARY KEY` only).
    pub autoincrement: bool,
    /// `ON CONFLICT` resolution.
    pub on_conflict: Option<Conflict>,
    /// Declared on its column (`id INTEGER PRIMARY KEY`) rather than as a table constraint.
    /// SQLite tells them apart in one case only: a column-level `INTEGER PRIMARY KEY DESC`
    /// is not a rowid alias (see [`Table::pk_desc_quirk`]).
    #[serde(default)]
    pub inline: bool,
}

/// A table `UNIQUE (..)` constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    /// `CONSTRAINT name`, when declared.
    pub name: Option<String>,
    /// The constrained columns.
    pub columns: Vec<IndexPart>,
    /// `ON CONFLICT` resolution.
    pub on_conflict: Option<Conflict>,
}

/// A CHECK constraint. `column` set means it is written on that column's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `CONSTRAINT name`, when declared (only named checks can be dropped natively, with `min_sqlite = "3.53"`).
    pub name: Option<String>,
    /// The expression without its surrounding parentheses.
    pub expr: String,
    /// The column it is written on; `None` for a table-level check.
    pub column: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// `CONSTRAINT name`, when declared.
    pub name: Option<String>,
    /// The referencing columns of this table.
    pub columns: Vec<String>,
    /// The referenced (parent) table; it may be missing from the schema, as SQLite allows.
    pub ref_table: String,
    /// Empty means "the referenced table's primary key".
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action.
    pub on_delete: FkAction,
    /// `ON UPDATE` action.
    pub on_update: FkAction,
    /// `DEFERRABLE INITIALLY DEFERRED`.
    pub deferred: bool,
}

/// `ON DELETE` / `ON UPDATE` action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FkAction {
    /// `NO ACTION`, SQLite's default.
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
    /// `CASCADE`.
    Cascade,
}

impl FkAction {
    /// The SQL words, as `PRAGMA foreign_key_list` spells them.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
            FkAction::Cascade => "CASCADE",
        }
    }

    /// Parses the SQL words (any case, any spacing).
    pub fn parse(s: &str) -> Option<FkAction> {
        let norm: String = s
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        Some(match norm.as_str() {
            "NO ACTION" => FkAction::NoAction,
            "RESTRICT" => FkAction::Restrict,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            "CASCADE" => FkAction::Cascade,
            _ => return None,
        })
    }
}

/// The `ON CONFLICT` resolution of a NOT NULL, PRIMARY KEY or UNIQUE constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Conflict {
    /// `ROLLBACK`.
    Rollback,
    /// `ABORT`, SQLite's default.
    Abort,
    /// `FAIL`.
    Fail,
    /// `IGNORE`.
    Ignore,
    /// `REPLACE`.
    Replace,
}

impl Conflict {
    /// The SQL word, upper case.
    pub fn sql(self) -> &'static str {
        match self {
            Conflict::Rollback => "ROLLBACK",
            Conflict::Abort => "ABORT",
            Conflict::Fail => "FAIL",
            Conflict::Ignore => "IGNORE",
            Conflict::Replace => "REPLACE",
        }
    }

    /// Parses the SQL word (any case).
    pub fn parse(s: &str) -> Option<Conflict> {
        [
            Conflict::Rollback,
            Conflict::Abort,
            Conflict::Fail,
            Conflict::Ignore,
            Conflict::Replace,
        ]
        .into_iter()
        .find(|c| c.sql().eq_ignore_ascii_case(s.trim()))
    }
}

/// A `CREATE INDEX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The index's name (unique in the whole schema, with tables, views and triggers).
    pub name: String,
    /// `CREATE UNIQUE INDEX`.
    pub unique: bool,
    /// The indexed terms, in order.
    pub parts: Vec<IndexPart>,
    /// Partial-index predicate source text (after `WHERE`).
    pub where_clause: Option<String>,
}

/// A view; `sql` is the whole `CREATE VIEW` statement as SQLite stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The view's name.
    pub name: String,
    /// The whole `CREATE VIEW` statement.
    pub sql: String,
}

/// A trigger; `sql` is the whole `CREATE TRIGGER` statement as SQLite stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The trigger's name.
    pub name: String,
    /// The table it fires on.
    pub table: String,
    /// The whole `CREATE TRIGGER` statement.
    pub sql: String,
}

/// Table names that are not the user's schema: SQLite's own (`sqlite_*`), dbm's control
/// tables (`migrate_version` and `migrate_history`, which any repository sharing the file
/// may use) and the control table a repository names in `migrate.cfg`. Inspect hides them,
/// the model may not declare them (a clear error). Other names, `migrate_log` included, are
/// the user's: a prefix would hide an app's own tables from `create-model` and the diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reserved {
    /// Exact names (any ASCII case) reserved beyond SQLite's prefix and dbm's defaults.
    names: Vec<String>,
}

impl Reserved {
    /// SQLite's prefix and dbm's default control tables plus `names` (e.g. a repository's
    /// `version_table`).
    pub fn with_names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Reserved {
        Reserved {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `name` is reserved.
    pub fn contains(&self, name: &str) -> bool {
        self.reason(name).is_some()
    }

    /// Why `name` is reserved, if it is.
    pub(crate) fn reason(&self, name: &str) -> Option<&'static str> {
        let l = name.to_ascii_lowercase();
        if l.starts_with("sqlite_") {
            Some("names starting with sqlite_ are reserved for SQLite")
        } else if l == "migrate_version" || l == "migrate_history" {
            Some("the name is reserved for dbm's control tables (migrate_version, migrate_history)")
        } else if self.names.iter().any(|n| same_name(n, name)) {
            Some("the name is reserved for the repository's control table (migrate.cfg)")
        } else {
            None
        }
    }
}

/// SQLite compares identifiers ASCII-case-insensitively.
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Key for maps of names (ASCII lower case, as SQLite folds identifiers).
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A foreign key whose parent table is not in the schema: legal in SQLite (which checks
/// the parent only when a row is written with foreign keys on), and left behind in real
/// histories when `ALTER TABLE ... RENAME` rewrote a child's reference to a table that was
/// then dropped, or when a table references one a later migration creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingParent {
    /// The child table.
    pub table: String,
    /// The parent it names.
    pub parent: String,
}

impl std::fmt::Display for MissingParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table `{}`: foreign key references missing table `{}` (kept as it is; SQLite refuses writes of non-NULL keys while foreign keys are on)",
            self.table, self.parent
        )
    }
}

impl Schema {
    /// The foreign keys whose parent table does not exist, one per (table, parent), in
    /// table order.
    pub fn missing_parents(&self) -> Vec<MissingParent> {
        let tables: std::collections::HashSet<String> =
            self.tables.iter().map(|t| name_key(&t.name)).collect();
        let mut out: Vec<MissingParent> = vec![];
        for t in &self.tables {
            for fk in &t.foreign_keys {
                let m = MissingParent {
                    table: t.name.clone(),
                    parent: fk.ref_table.clone(),
                };
                if !tables.contains(&name_key(&fk.ref_table)) && !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// The table named `name` (case-insensitively, as SQLite compares names).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| same_name(&t.name, name))
    }
    /// The table named `name`, to change it.
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| same_name(&t.name, name))
    }
    /// The view named `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| same_name(&v.name, name))
    }
    /// The trigger named `name`.
    pub fn trigger(&self, name: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| same_name(&t.name, name))
    }
    /// The statements that create this schema in an empty database: tables (parents
    /// first), indexes, views (dependencies first), triggers.
    pub fn to_ddl(&self) -> Vec<String> {
        ddl::create_all(self)
    }

    /// The schema as model TOML, the form `--model` and `--model-command` read: a program
    /// that prints this is how the `dbm` command line reads a model declared in Rust.
    pub fn to_toml(&self) -> String {
        file::write(self)
    }

    /// Drops rename hints (they describe history, not the schema).
    pub fn without_hints(&self) -> Schema {
        let mut s = self.clone();
        for t in &mut s.tables {
            t.renamed_from = None;
            for c in &mut t.columns {
                c.renamed_from = None;
            }
        }
        s
    }
}

impl Table {
    /// The column named `name` (case-insensitively).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| same_name(&c.name, name))
    }
    /// The column named `name`, to change it.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| same_name(&c.name, name))
    }
    /// The index named `name` on this table.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| same_name(&i.name, name))
    }
    /// True when the table has a rowid (it is not `WITHOUT ROWID`).
    pub fn has_rowid(&self) -> bool {
        !self.without_rowid
    }
    /// Whether the primary key is a single `INTEGER` column in DESC order on a rowid table:
    /// the one case where column-level and table-level declarations differ (a column-level
    /// one is not a rowid alias).
    pub fn pk_desc_quirk(&self) -> bool {
        let Some(pk) = &self.primary_key else {
            return false;
        };
        match pk.columns.as_slice() {
            [p] if !p.expr && p.order == Order::Desc && !self.without_rowid => self
                .column(&p.target)
                .is_some_and(|c| c.sql_type.eq_ignore_ascii_case("INTEGER")),
            _ => false,
        }
    }

    /// The column that aliases the rowid (`INTEGER PRIMARY KEY`), if any.
    pub fn rowid_alias(&self) -> Option<&Column> {
        if self.without_rowid {
            return None;
        }
        let pk = self.primary_key.as_ref()?;
        if pk.inline && self.pk_desc_quirk() {
            return None;
        }
        if pk.columns.len() != 1 || pk.columns[0].expr {
            return None;
        }
        let col = self.column(&pk.columns[0].target)?;
        col.sql_type.eq_ignore_ascii_case("INTEGER").then_some(col)
    }
    /// Names of the primary-key columns (empty when there is none).
    pub fn pk_columns(&self) -> Vec<&str> {
        self.primary_key
            .as_ref()
            .map(|pk| pk.columns.iter().map(|p| p.target.as_str()).collect())
            .unwrap_or_default()
    }
}
