//! The TOML model file (`models.toml`): parse with file:line:column errors, and write
//! (`dbm create-model`). The file format is for humans; it maps onto [`Schema`].
//!
//! ```toml
//! [tables.user]
//! columns = [
//!   { name = "id", type = "integer", primary_key = true },
//!   { name = "nickname", type = "string(64)" },
//! ]
//! indexes = [{ name = "ix_user_nickname", columns = ["nickname"], unique = true }]
//! ```

use super::types::{friendly_name, known_names, resolve_alias};
use super::*;
use indexmap::IndexMap;
use std::fmt::Write as _;
use std::path::Path;
use toml::Spanned;

/// A model-file error, located in the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ModelError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    #[serde(default)]
    tables: IndexMap<Spanned<String>, Spanned<FileTable>>,
    #[serde(default)]
    views: IndexMap<Spanned<String>, Spanned<FileView>>,
    #[serde(default)]
    triggers: IndexMap<Spanned<String>, Spanned<FileTrigger>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTable {
    renamed_from: Option<String>,
    #[serde(default)]
    columns: Vec<Spanned<FileColumn>>,
    primary_key: Option<FileKey>,
    #[serde(default)]
    unique: Vec<FileUnique>,
    #[serde(default)]
    checks: Vec<FileCheck>,
    #[serde(default)]
    foreign_keys: Vec<Spanned<FileForeignKey>>,
    #[serde(default)]
    indexes: Vec<Spanned<FileIndex>>,
    #[serde(default)]
    without_rowid: bool,
    #[serde(default)]
    strict: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileColumn {
    name: String,
    renamed_from: Option<String>,
    #[serde(rename = "type")]
    friendly_type: Option<Spanned<String>>,
    sql_type: Option<String>,
    #[serde(default)]
    not_null: bool,
    not_null_on_conflict: Option<String>,
    default: Option<DefaultValue>,
    collate: Option<String>,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    autoincrement: bool,
    #[serde(default)]
    desc: bool,
    #[serde(default)]
    unique: bool,
    references: Option<String>,
    on_delete: Option<String>,
    on_update: Option<String>,
    #[serde(default)]
    deferrable: bool,
    check: Option<String>,
    generated: Option<String>,
    #[serde(default)]
    stored: bool,
}

/// A default: SQL text, or a TOML number/boolean standing for its SQL literal.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DefaultValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Sql(String),
}

impl DefaultValue {
    fn sql(&self) -> String {
        match self {
            DefaultValue::Int(i) => i.to_string(),
            DefaultValue::Float(f) => format!("{f:?}"),
            DefaultValue::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            DefaultValue::Sql(s) => s.clone(),
        }
    }
}

/// A key: `["a", "b"]` or `{ name = "pk", columns = [...], autoincrement = true }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileKey {
    Columns(Vec<FilePart>),
    Full(FileKeyFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeyFull {
    name: Option<String>,
    columns: Vec<FilePart>,
    #[serde(default)]
    autoincrement: bool,
    on_conflict: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileUnique {
    Columns(Vec<FilePart>),
    Full(FileKeyFull),
}

/// An index or key term: `"col"` or `{ column = "c", desc = true, collate = "NOCASE" }`
/// or `{ expr = "lower(email)" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FilePart {
    Name(String),
    Full(FilePartFull),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePartFull {
    column: Option<String>,
    expr: Option<String>,
    collate: Option<String>,
    #[serde(default)]
    desc: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheck {
    name: Option<String>,
    expr: String,
    /// Written on this column's definition (matters to SQLite's DROP COLUMN).
    column: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForeignKey {
    name: Option<String>,
    columns: Vec<String>,
    references: String,
    #[serde(default)]
    ref_columns: Vec<String>,
    on_delete: Option<String>,
    on_update: Option<String>,
    #[serde(default)]
    deferrable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndex {
    name: String,
    columns: Vec<FilePart>,
    #[serde(default)]
    unique: bool,
    #[serde(rename = "where")]
    where_clause: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileView {
    sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTrigger {
    table: String,
    sql: String,
}

/// Reads and parses a model file.
pub fn load(path: &Path) -> Result<Schema, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message: format!("cannot read model file: {e}"),
    })?;
    parse(&text, &path.display().to_string())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|p| offset - p).unwrap_or(offset + 1);
    (line, col)
}

/// Parses model TOML; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Schema, ModelError> {
    let err_at = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        ModelError {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let fm: FileModel = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        err_at(offset, e.message().trim().to_string())
    })?;

    let mut schema = Schema::default();
    // Name keys seen so far: duplicate checks by lookup, not by scanning (linear in size).
    let mut table_keys = std::collections::HashSet::new();
    let mut view_keys = std::collections::HashSet::new();
    let mut trigger_keys = std::collections::HashSet::new();
    // Where each table and trigger is declared, for errors found after parsing.
    let mut declared_at: std::collections::HashMap<String, usize> = Default::default();
    for (tname, ftable) in fm.tables {
        let at = ftable.span().start;
        declared_at.insert(name_key(tname.get_ref()), tname.span().start);
        let t = convert_table(tname.get_ref(), ftable.into_inner())
            .map_err(|(off, msg)| err_at(off.unwrap_or(at), msg))?;
        if !table_keys.insert(name_key(&t.name)) {
            return Err(err_at(at, format!("duplicate table `{}`", t.name)));
        }
        schema.tables.push(t);
    }
    for (vname, fview) in fm.views {
        let at = fview.span().start;
        let key = name_key(vname.get_ref());
        if table_keys.contains(&key) || !view_keys.insert(key) {
            return Err(err_at(at, format!("duplicate name `{}`", vname.get_ref())));
        }
        schema.views.push(View {
            name: vname.into_inner(),
            sql: fview
                .into_inner()
                .sql
                .trim()
                .trim_end_matches(';')
                .to_string(),
        });
    }
    for (tname, ftrig) in fm.triggers {
        let at = ftrig.span().start;
        declared_at
            .entry(name_key(tname.get_ref()))
            .or_insert(tname.span().start);
        if !trigger_keys.insert(name_key(tname.get_ref())) {
            return Err(err_at(
                at,
                format!("duplicate trigger `{}`", tname.get_ref()),
            ));
        }
        let ft = ftrig.into_inner();
        schema.triggers.push(Trigger {
            name: tname.into_inner(),
            table: ft.table,
            sql: ft.sql.trim().trim_end_matches(';').to_string(),
        });
    }
    validate_located(&schema).map_err(|(object, msg)| {
        err_at(
            declared_at.get(&name_key(&object)).copied().unwrap_or(0),
            msg,
        )
    })?;
    Ok(schema)
}

type ConvResult<T> = Result<T, (Option<usize>, String)>;

fn part(p: FilePart) -> ConvResult<IndexPart> {
    Ok(match p {
        FilePart::Name(n) => IndexPart::column(n),
        FilePart::Full(f) => {
            let (target, expr) = match (f.column, f.expr) {
                (Some(c), None) => (c, false),
                (None, Some(e)) => (e, true),
                _ => {
                    return Err((
                        None,
                        "an index term needs exactly one of `column` or `expr`".into(),
                    ))
                }
            };
            IndexPart {
                target,
                expr,
                collate: f.collate,
                order: if f.desc { Order::Desc } else { Order::Asc },
            }
        }
    })
}

fn parts(ps: Vec<FilePart>) -> ConvResult<Vec<IndexPart>> {
    ps.into_iter().map(part).collect()
}

fn action(s: Option<String>) -> ConvResult<FkAction> {
    match s {
        None => Ok(FkAction::NoAction),
        Some(s) => FkAction::parse(&s).ok_or_else(|| {
            (
                None,
                format!("unknown foreign-key action `{s}` (use NO ACTION, RESTRICT, SET NULL, SET DEFAULT or CASCADE)"),
            )
        }),
    }
}

/// `"user(id)"`, `"user"`, `"\"odd name\"(a, b)"` → (table, columns).
/// `table(col, ..)` or `table`. A name holding `(`, `)`, `,` or `"`, or with white space at
/// its ends, is written as a double-quoted SQL identifier: `"p,(x)"("k)")`.
fn parse_reference(s: &str) -> ConvResult<(String, Vec<String>)> {
    let bad = || (None, format!("bad reference `{s}`: use \"table(column)\""));
    let (table, rest) = ref_name(s, &['(']).ok_or_else(bad)?;
    if table.is_empty() {
        return Err(if s.trim().is_empty() {
            (None, "empty reference".into())
        } else {
            bad()
        });
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok((table, vec![]));
    }
    let mut inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let mut cols = vec![];
    while !inner.trim().is_empty() {
        let (c, after) = ref_name(inner, &[',']).ok_or_else(bad)?;
        if c.is_empty() {
            return Err(bad());
        }
        cols.push(c);
        let after = after.trim_start();
        inner = after.strip_prefix(',').unwrap_or(after);
        if after.is_empty() {
            break;
        }
        if !after.starts_with(',') {
            return Err(bad());
        }
    }
    Ok((table, cols))
}

/// One name of a reference, quoted (`"a""b"`) or bare up to one of `stops`; and the rest.
fn ref_name<'a>(s: &'a str, stops: &[char]) -> Option<(String, &'a str)> {
    let s = s.trim_start();
    if let Some(body) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if body[i + 1..].starts_with('"') {
                    chars.next();
                } else {
                    return Some((name, &body[i + 1..]));
                }
            }
            name.push(c);
        }
        return None;
    }
    let end = s.find(stops).unwrap_or(s.len());
    Some((s[..end].trim().to_string(), &s[end..]))
}

/// A name as written in a reference: bare unless it needs quoting (see [`parse_reference`]).
fn ref_ident(name: &str) -> String {
    let plain = !name.is_empty() && name.trim() == name && !name.contains(['(', ')', ',', '"']);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn convert_table(name: &str, ft: FileTable) -> ConvResult<Table> {
    let mut t = Table {
        name: name.to_string(),
        renamed_from: ft.renamed_from,
        without_rowid: ft.without_rowid,
        strict: ft.strict,
        ..Table::default()
    };
    let mut col_pk: Vec<(IndexPart, bool)> = vec![];
    for sc in ft.columns {
        let at = sc.span().start;
        let fc = sc.into_inner();
        if t.column(&fc.name).is_some() {
            return Err((
                Some(at),
                format!("duplicate column `{}` in table `{name}`", fc.name),
            ));
        }
        let sql_type = match (&fc.friendly_type, &fc.sql_type) {
            (Some(_), Some(_)) => {
                return Err((Some(at), format!("column `{}`: give `type` or `sql_type`, not both", fc.name)))
            }
            (Some(ft), None) => resolve_alias(ft.get_ref()).ok_or_else(|| {
                (
                    Some(ft.span().start),
                    format!(
                        "unknown type `{}` for column `{name}.{}`; known types: {}; write any other declared type as sql_type = \"...\"",
                        ft.get_ref(),
                        fc.name,
                        known_names()
                    ),
                )
            })?,
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        };
        if fc.primary_key {
            let mut p = IndexPart::column(fc.name.clone());
            if fc.desc {
                p.order = Order::Desc;
            }
            col_pk.push((p, fc.autoincrement));
        } else if fc.autoincrement || fc.desc {
            return Err((
                Some(at),
                format!(
                    "column `{}`: autoincrement/desc need primary_key = true",
                    fc.name
                ),
            ));
        }
        if fc.unique {
            t.uniques.push(Unique {
                name: None,
                columns: vec![IndexPart::column(fc.name.clone())],
                on_conflict: None,
            });
        }
        if let Some(r) = &fc.references {
            let (ref_table, ref_columns) =
                parse_reference(r).map_err(|(o, m)| (o.or(Some(at)), m))?;
            t.foreign_keys.push(ForeignKey {
                name: None,
                columns: vec![fc.name.clone()],
                ref_table,
                ref_columns,
                on_delete: action(fc.on_delete.clone()).map_err(|(o, m)| (o.or(Some(at)), m))?,
                on_update: action(fc.on_update.clone()).map_err(|(o, m)| (o.or(Some(at)), m))?,
                deferred: fc.deferrable,
            });
        } else if fc.on_delete.is_some() || fc.on_update.is_some() || fc.deferrable {
            return Err((
                Some(at),
                format!(
                    "column `{}`: on_delete/on_update/deferrable need `references`",
                    fc.name
                ),
            ));
        }
        if let Some(c) = fc.check {
            t.checks.push(Check {
                name: None,
                expr: c,
                column: Some(fc.name.clone()),
            });
        }
        t.columns.push(Column {
            name: fc.name,
            renamed_from: fc.renamed_from,
            sql_type,
            not_null: fc.not_null || fc.not_null_on_conflict.is_some(),
            not_null_on_conflict: fc.not_null_on_conflict,
            default: fc.default.map(|d| d.sql()),
            collate: fc.collate,
            generated: fc.generated.map(|expr| Generated {
                expr,
                stored: fc.stored,
            }),
        });
    }
    if !col_pk.is_empty() && ft.primary_key.is_some() {
        return Err((
            None,
            format!("table `{name}`: primary key given both on columns and as `primary_key`"),
        ));
    }
    if !col_pk.is_empty() {
        let autoincrement = col_pk.iter().any(|(_, a)| *a);
        t.primary_key = Some(PrimaryKey {
            name: None,
            inline: col_pk.len() == 1,
            columns: col_pk.into_iter().map(|(p, _)| p).collect(),
            autoincrement,
            on_conflict: None,
        });
    }
    if let Some(k) = ft.primary_key {
        t.primary_key = Some(match k {
            FileKey::Columns(c) => PrimaryKey {
                name: None,
                columns: parts(c)?,
                autoincrement: false,
                on_conflict: None,
                inline: false,
            },
            FileKey::Full(f) => PrimaryKey {
                name: f.name,
                columns: parts(f.columns)?,
                autoincrement: f.autoincrement,
                on_conflict: f.on_conflict,
                inline: false,
            },
        });
    }
    for u in ft.unique {
        t.uniques.push(match u {
            FileUnique::Columns(c) => Unique {
                name: None,
                columns: parts(c)?,
                on_conflict: None,
            },
            FileUnique::Full(f) => Unique {
                name: f.name,
                columns: parts(f.columns)?,
                on_conflict: f.on_conflict,
            },
        });
    }
    for c in ft.checks {
        t.checks.push(Check {
            name: c.name,
            expr: c.expr,
            column: c.column,
        });
    }
    for sfk in ft.foreign_keys {
        let at = sfk.span().start;
        let f = sfk.into_inner();
        let (ref_table, mut ref_columns) =
            parse_reference(&f.references).map_err(|(_, m)| (Some(at), m))?;
        if !f.ref_columns.is_empty() {
            ref_columns = f.ref_columns;
        }
        t.foreign_keys.push(ForeignKey {
            name: f.name,
            columns: f.columns,
            ref_table,
            ref_columns,
            on_delete: action(f.on_delete).map_err(|(_, m)| (Some(at), m))?,
            on_update: action(f.on_update).map_err(|(_, m)| (Some(at), m))?,
            deferred: f.deferrable,
        });
    }
    for si in ft.indexes {
        let at = si.span().start;
        let fi = si.into_inner();
        if t.index(&fi.name).is_some() {
            return Err((Some(at), format!("duplicate index `{}`", fi.name)));
        }
        t.indexes.push(Index {
            name: fi.name,
            unique: fi.unique,
            parts: parts(fi.columns).map_err(|(_, m)| (Some(at), m))?,
            where_clause: fi.where_clause,
        });
    }
    Ok(t)
}

/// Cross-object checks that the file syntax cannot express.
pub fn validate(schema: &Schema) -> Result<(), String> {
    validate_located(schema).map_err(|(_, message)| message)
}

/// [`validate`], naming the table or trigger at fault so the loader can point at its line.
fn validate_located(schema: &Schema) -> Result<(), (String, String)> {
    let mut index_names = std::collections::HashSet::new();
    // By name key, first one wins (as `Schema::table`): one lookup per foreign key, not a scan.
    let mut tables: std::collections::HashMap<String, &Table> = std::collections::HashMap::new();
    for t in &schema.tables {
        tables.entry(name_key(&t.name)).or_insert(t);
    }
    let check_table = |t: &Table,
                       index_names: &mut std::collections::HashSet<String>|
     -> Result<(), String> {
        if crate::inspect::is_internal(&t.name) {
            return Err(format!(
                    "table `{}`: names starting with sqlite_ or migrate_ are reserved for SQLite and dbm",
                    t.name
                ));
        }
        if t.columns.is_empty() {
            return Err(format!("table `{}` has no columns", t.name));
        }
        let col = |c: &str, what: &str| {
            if t.column(c).is_none() {
                Err(format!(
                    "table `{}`: {what} names unknown column `{c}`",
                    t.name
                ))
            } else {
                Ok(())
            }
        };
        if let Some(pk) = &t.primary_key {
            for p in pk.columns.iter().filter(|p| !p.expr) {
                col(&p.target, "primary key")?;
            }
        } else if t.without_rowid {
            return Err(format!(
                "table `{}`: WITHOUT ROWID needs a primary key",
                t.name
            ));
        }
        for u in &t.uniques {
            for p in u.columns.iter().filter(|p| !p.expr) {
                col(&p.target, "unique constraint")?;
            }
        }
        for i in &t.indexes {
            if !index_names.insert(name_key(&i.name)) {
                return Err(format!("duplicate index name `{}`", i.name));
            }
            for p in i.parts.iter().filter(|p| !p.expr) {
                col(&p.target, &format!("index `{}`", i.name))?;
            }
        }
        for fk in &t.foreign_keys {
            for c in &fk.columns {
                col(c, "foreign key")?;
            }
            let Some(parent) = tables.get(&name_key(&fk.ref_table)) else {
                return Err(format!(
                    "table `{}`: foreign key references missing table `{}`",
                    t.name, fk.ref_table
                ));
            };
            for c in &fk.ref_columns {
                if parent.column(c).is_none() {
                    return Err(format!(
                        "table `{}`: foreign key references missing column `{}.{c}`",
                        t.name, fk.ref_table
                    ));
                }
            }
            if !fk.ref_columns.is_empty() && fk.ref_columns.len() != fk.columns.len() {
                return Err(format!(
                    "table `{}`: foreign key has {} columns but references {}",
                    t.name,
                    fk.columns.len(),
                    fk.ref_columns.len()
                ));
            }
        }
        Ok(())
    };
    for t in &schema.tables {
        check_table(t, &mut index_names).map_err(|m| (t.name.clone(), m))?;
    }
    for tr in &schema.triggers {
        if !tables.contains_key(&name_key(&tr.table)) && schema.view(&tr.table).is_none() {
            return Err((
                tr.name.clone(),
                format!("trigger `{}` is on missing table `{}`", tr.name, tr.table),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- writing

/// A TOML string literal (basic string, escaped).
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when possible, quoted otherwise.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        q(s)
    }
}

fn part_toml(p: &IndexPart) -> String {
    if !p.expr && p.collate.is_none() && p.order == Order::Asc {
        return q(&p.target);
    }
    let mut fields = vec![if p.expr {
        format!("expr = {}", q(&p.target))
    } else {
        format!("column = {}", q(&p.target))
    }];
    if let Some(c) = &p.collate {
        fields.push(format!("collate = {}", q(c)));
    }
    if p.order == Order::Desc {
        fields.push("desc = true".into());
    }
    format!("{{ {} }}", fields.join(", "))
}

fn parts_toml(ps: &[IndexPart]) -> String {
    format!(
        "[{}]",
        ps.iter().map(part_toml).collect::<Vec<_>>().join(", ")
    )
}

fn strings_toml(ss: &[String]) -> String {
    format!(
        "[{}]",
        ss.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

fn is_plain_single(cols: &[IndexPart]) -> Option<&str> {
    match cols {
        [p] if !p.expr && p.collate.is_none() => Some(&p.target),
        _ => None,
    }
}

/// Writes a schema as model TOML. Deterministic; parsing the output gives the schema back.
pub fn write(schema: &Schema) -> String {
    let mut out = String::from("# dbm schema model. Types: `type` takes a friendly name (string(64), integer, text,\n# datetime, boolean, ...); `sql_type` takes any declared SQL type verbatim.\n");
    for t in &schema.tables {
        write_table(&mut out, t);
    }
    for v in &schema.views {
        let _ = write!(
            out,
            "\n[views.{}]\nsql = {}\n",
            key(&v.name),
            multiline(&v.sql)
        );
    }
    for tr in &schema.triggers {
        let _ = write!(
            out,
            "\n[triggers.{}]\ntable = {}\nsql = {}\n",
            key(&tr.name),
            q(&tr.table),
            multiline(&tr.sql)
        );
    }
    out
}

fn multiline(s: &str) -> String {
    if s.contains('\n') && !s.contains("'''") && !s.ends_with('\'') && !s.contains('\r') {
        format!("'''\n{s}'''")
    } else {
        q(s)
    }
}

fn write_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "\n[tables.{}]", key(&t.name));
    if let Some(r) = &t.renamed_from {
        let _ = writeln!(out, "renamed_from = {}", q(r));
    }
    // Single-column, unnamed constraints read best on the column itself.
    let pk_on_column = t.primary_key.as_ref().and_then(|pk| {
        // A table-level `PRIMARY KEY ("id" DESC)` on an INTEGER column stays table-level:
        // written on the column it would stop being the rowid alias.
        (pk.name.is_none() && pk.on_conflict.is_none() && (pk.inline || !t.pk_desc_quirk()))
            .then(|| match pk.columns.as_slice() {
                [p] if !p.expr && p.collate.is_none() => Some(p.clone()),
                _ => None,
            })
            .flatten()
    });
    let mut unique_on_column = vec![false; t.uniques.len()];
    let mut fk_on_column = vec![false; t.foreign_keys.len()];
    let mut check_on_column = vec![false; t.checks.len()];
    let _ = writeln!(out, "columns = [");
    for c in &t.columns {
        let mut f = vec![format!("name = {}", q(&c.name))];
        if let Some(r) = &c.renamed_from {
            f.push(format!("renamed_from = {}", q(r)));
        }
        if !c.sql_type.is_empty() {
            match friendly_name(&c.sql_type) {
                Some(fr) => f.push(format!("type = {}", q(&fr))),
                None => f.push(format!("sql_type = {}", q(&c.sql_type))),
            }
        }
        if c.not_null {
            f.push("not_null = true".into());
            if let Some(oc) = &c.not_null_on_conflict {
                f.push(format!("not_null_on_conflict = {}", q(oc)));
            }
        }
        if let Some(pk) = &pk_on_column {
            if same_name(&pk.target, &c.name) {
                f.push("primary_key = true".into());
                if t.primary_key.as_ref().is_some_and(|k| k.autoincrement) {
                    f.push("autoincrement = true".into());
                }
                if pk.order == Order::Desc {
                    f.push("desc = true".into());
                }
            }
        }
        for (i, u) in t.uniques.iter().enumerate() {
            if !unique_on_column[i]
                && u.name.is_none()
                && u.on_conflict.is_none()
                && is_plain_single(&u.columns).is_some_and(|n| same_name(n, &c.name))
                && !f.iter().any(|x| x == "unique = true")
            {
                unique_on_column[i] = true;
                f.push("unique = true".into());
            }
        }
        if let Some(d) = &c.default {
            f.push(format!("default = {}", q(d)));
        }
        if let Some(co) = &c.collate {
            f.push(format!("collate = {}", q(co)));
        }
        if let Some(g) = &c.generated {
            f.push(format!("generated = {}", q(&g.expr)));
            if g.stored {
                f.push("stored = true".into());
            }
        }
        for (i, fk) in t.foreign_keys.iter().enumerate() {
            if !fk_on_column[i]
                && fk.name.is_none()
                && fk.columns.len() == 1
                && same_name(&fk.columns[0], &c.name)
                && !f.iter().any(|x| x.starts_with("references"))
            {
                fk_on_column[i] = true;
                let r = if fk.ref_columns.is_empty() {
                    ref_ident(&fk.ref_table)
                } else {
                    let cols: Vec<String> = fk.ref_columns.iter().map(|c| ref_ident(c)).collect();
                    format!("{}({})", ref_ident(&fk.ref_table), cols.join(", "))
                };
                f.push(format!("references = {}", q(&r)));
                if fk.on_delete != FkAction::NoAction {
                    f.push(format!("on_delete = {}", q(fk.on_delete.sql())));
                }
                if fk.on_update != FkAction::NoAction {
                    f.push(format!("on_update = {}", q(fk.on_update.sql())));
                }
                if fk.deferred {
                    f.push("deferrable = true".into());
                }
            }
        }
        for (i, ch) in t.checks.iter().enumerate() {
            if ch.name.is_none()
                && ch
                    .column
                    .as_deref()
                    .is_some_and(|cn| same_name(cn, &c.name))
                && !f.iter().any(|x| x.starts_with("check ="))
            {
                check_on_column[i] = true;
                f.push(format!("check = {}", q(&ch.expr)));
            }
        }
        let _ = writeln!(out, "  {{ {} }},", f.join(", "));
    }
    let _ = writeln!(out, "]");
    if let Some(pk) = &t.primary_key {
        if pk_on_column.is_none() {
            let mut f = vec![];
            if let Some(n) = &pk.name {
                f.push(format!("name = {}", q(n)));
            }
            f.push(format!("columns = {}", parts_toml(&pk.columns)));
            if pk.autoincrement {
                f.push("autoincrement = true".into());
            }
            if let Some(c) = &pk.on_conflict {
                f.push(format!("on_conflict = {}", q(c)));
            }
            let _ = writeln!(out, "primary_key = {{ {} }}", f.join(", "));
        }
    }
    let uniques: Vec<String> = t
        .uniques
        .iter()
        .zip(&unique_on_column)
        .filter(|(_, on_col)| !**on_col)
        .map(|(u, _)| {
            let mut f = vec![];
            if let Some(n) = &u.name {
                f.push(format!("name = {}", q(n)));
            }
            f.push(format!("columns = {}", parts_toml(&u.columns)));
            if let Some(c) = &u.on_conflict {
                f.push(format!("on_conflict = {}", q(c)));
            }
            format!("{{ {} }}", f.join(", "))
        })
        .collect();
    list(out, "unique", &uniques);
    let checks: Vec<String> = t
        .checks
        .iter()
        .zip(&check_on_column)
        .filter(|(_, on_col)| !**on_col)
        .map(|(c, _)| {
            let mut f = vec![];
            if let Some(n) = &c.name {
                f.push(format!("name = {}", q(n)));
            }
            f.push(format!("expr = {}", q(&c.expr)));
            if let Some(col) = &c.column {
                f.push(format!("column = {}", q(col)));
            }
            format!("{{ {} }}", f.join(", "))
        })
        .collect();
    list(out, "checks", &checks);
    let fks: Vec<String> = t
        .foreign_keys
        .iter()
        .zip(&fk_on_column)
        .filter(|(_, on_col)| !**on_col)
        .map(|(fk, _)| {
            let mut f = vec![];
            if let Some(n) = &fk.name {
                f.push(format!("name = {}", q(n)));
            }
            f.push(format!("columns = {}", strings_toml(&fk.columns)));
            f.push(format!("references = {}", q(&ref_ident(&fk.ref_table))));
            if !fk.ref_columns.is_empty() {
                f.push(format!("ref_columns = {}", strings_toml(&fk.ref_columns)));
            }
            if fk.on_delete != FkAction::NoAction {
                f.push(format!("on_delete = {}", q(fk.on_delete.sql())));
            }
            if fk.on_update != FkAction::NoAction {
                f.push(format!("on_update = {}", q(fk.on_update.sql())));
            }
            if fk.deferred {
                f.push("deferrable = true".into());
            }
            format!("{{ {} }}", f.join(", "))
        })
        .collect();
    list(out, "foreign_keys", &fks);
    let idx: Vec<String> = t
        .indexes
        .iter()
        .map(|i| {
            let mut f = vec![
                format!("name = {}", q(&i.name)),
                format!("columns = {}", parts_toml(&i.parts)),
            ];
            if i.unique {
                f.push("unique = true".into());
            }
            if let Some(w) = &i.where_clause {
                f.push(format!("where = {}", q(w)));
            }
            format!("{{ {} }}", f.join(", "))
        })
        .collect();
    list(out, "indexes", &idx);
    if t.without_rowid {
        let _ = writeln!(out, "without_rowid = true");
    }
    if t.strict {
        let _ = writeln!(out, "strict = true");
    }
}

fn list(out: &mut String, name: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{name} = [");
    for i in items {
        let _ = writeln!(out, "  {i},");
    }
    let _ = writeln!(out, "]");
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUTORIAL: &str = r#"
[tables.user]
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "nickname", type = "string(64)" },
  { name = "email", type = "string(120)", unique = true },
]
indexes = [{ name = "ix_user_nickname", columns = ["nickname"], unique = true }]

[tables.post]
columns = [
  { name = "id", type = "integer", not_null = true, primary_key = true },
  { name = "body", type = "string(140)", default = "'x'" },
  { name = "user_id", type = "integer", references = "user(id)", on_delete = "cascade" },
]
checks = [{ name = "len", expr = "length(body) < 1000" }]
"#;

    #[test]
    fn parses_tutorial_model() {
        let s = parse(TUTORIAL, "m.toml").unwrap();
        assert_eq!(s.tables.len(), 2);
        let post = s.table("post").unwrap();
        assert_eq!(post.columns[1].sql_type, "VARCHAR(140)");
        assert_eq!(post.foreign_keys[0].ref_table, "user");
        assert_eq!(post.foreign_keys[0].on_delete, FkAction::Cascade);
        assert_eq!(post.pk_columns(), vec!["id"]);
    }

    #[test]
    fn write_then_parse_is_identity() {
        let s = parse(TUTORIAL, "m.toml").unwrap();
        let text = write(&s);
        let back = parse(&text, "out.toml").unwrap();
        assert_eq!(s, back, "{text}");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse(
            "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"intger\" },\n]\n",
            "m.toml",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("m.toml", 3), "{e}");
        assert!(e.to_string().contains("unknown type `intger`"), "{e}");
        let e = parse("[tables.user\n", "bad.toml").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("[tables.a]\ncolumns=[{name=\"x\"}]\n[tables.a]\n", "d.toml").unwrap_err();
        assert!(e.to_string().starts_with("d.toml:3"), "{e}");
        let e = parse(
            "[tables.b]\ncolumns=[{name=\"y\"}]\n\n[tables.a]\ncolumns=[{name=\"x\", references=\"nope(id)\"}]\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing table `nope`"), "{e}");
        // Found after parsing, still located: the declaration of table `a`.
        assert_eq!(e.line, 4, "{e}");
        let e = parse("[tables.migrate_x]\ncolumns=[{name=\"x\"}]\n", "r.toml").unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
    }
}
