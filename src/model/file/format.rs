//! The model file's syntax: the serde shapes of `models.toml`, as people write it. Read in
//! [`super`], mapped onto [`crate::model::Schema`]; nothing outside `model::file` sees them.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileModel {
    #[serde(default)]
    pub(super) tables: IndexMap<Spanned<String>, Spanned<FileTable>>,
    #[serde(default)]
    pub(super) views: IndexMap<Spanned<String>, Spanned<FileView>>,
    #[serde(default)]
    pub(super) triggers: IndexMap<Spanned<String>, Spanned<FileTrigger>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTable {
    pub(super) renamed_from: Option<String>,
    #[serde(default)]
    pub(super) columns: Vec<Spanned<FileColumn>>,
    pub(super) primary_key: Option<FileKey>,
    #[serde(default)]
    pub(super) unique: Vec<FileKey>,
    #[serde(default)]
    pub(super) checks: Vec<FileCheck>,
    #[serde(default)]
    pub(super) foreign_keys: Vec<Spanned<FileForeignKey>>,
    #[serde(default)]
    pub(super) indexes: Vec<Spanned<FileIndex>>,
    #[serde(default)]
    pub(super) without_rowid: bool,
    #[serde(default)]
    pub(super) strict: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileColumn {
    pub(super) name: String,
    pub(super) renamed_from: Option<String>,
    #[serde(rename = "type")]
    pub(super) friendly_type: Option<Spanned<String>>,
    pub(super) sql_type: Option<String>,
    #[serde(default)]
    pub(super) not_null: bool,
    pub(super) not_null_on_conflict: Option<String>,
    pub(super) default: Option<DefaultValue>,
    pub(super) collate: Option<String>,
    #[serde(default)]
    pub(super) primary_key: bool,
    /// `CONSTRAINT <this>` of a primary key written on its column.
    pub(super) primary_key_name: Option<String>,
    /// `PRIMARY KEY ON CONFLICT <this>` of a primary key written on its column.
    pub(super) primary_key_on_conflict: Option<String>,
    #[serde(default)]
    pub(super) autoincrement: bool,
    #[serde(default)]
    pub(super) desc: bool,
    #[serde(default)]
    pub(super) unique: bool,
    pub(super) references: Option<String>,
    pub(super) on_delete: Option<String>,
    pub(super) on_update: Option<String>,
    #[serde(default)]
    pub(super) deferrable: bool,
    pub(super) check: Option<String>,
    pub(super) generated: Option<String>,
    #[serde(default)]
    pub(super) stored: bool,
}

/// A default: SQL text, or a TOML number/boolean standing for its SQL literal.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum DefaultValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Sql(String),
}

impl DefaultValue {
    pub(super) fn sql(&self) -> String {
        match self {
            DefaultValue::Int(i) => i.to_string(),
            DefaultValue::Float(f) => format!("{f:?}"),
            DefaultValue::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            DefaultValue::Sql(s) => s.clone(),
        }
    }
}

/// A key (`primary_key`, or one of `unique`): `["a", "b"]` or
/// `{ name = "pk", columns = [...], autoincrement = true }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum FileKey {
    Columns(Vec<FilePart>),
    Full(FileKeyFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileKeyFull {
    pub(super) name: Option<String>,
    pub(super) columns: Vec<FilePart>,
    #[serde(default)]
    pub(super) autoincrement: bool,
    pub(super) on_conflict: Option<String>,
}

/// An index or key term: `"col"` or `{ column = "c", desc = true, collate = "NOCASE" }`
/// or `{ expr = "lower(email)" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum FilePart {
    Name(String),
    Full(FilePartFull),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePartFull {
    pub(super) column: Option<String>,
    pub(super) expr: Option<String>,
    pub(super) collate: Option<String>,
    #[serde(default)]
    pub(super) desc: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCheck {
    pub(super) name: Option<String>,
    pub(super) expr: String,
    /// Written on this column's definition (matters to SQLite's DROP COLUMN).
    pub(super) column: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileForeignKey {
    pub(super) name: Option<String>,
    pub(super) columns: Vec<String>,
    pub(super) references: String,
    #[serde(default)]
    pub(super) ref_columns: Vec<String>,
    pub(super) on_delete: Option<String>,
    pub(super) on_update: Option<String>,
    #[serde(default)]
    pub(super) deferrable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileIndex {
    pub(super) name: String,
    pub(super) columns: Vec<FilePart>,
    #[serde(default)]
    pub(super) unique: bool,
    #[serde(rename = "where")]
    pub(super) where_clause: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileView {
    pub(super) sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTrigger {
    pub(super) table: String,
    pub(super) sql: String,
}
