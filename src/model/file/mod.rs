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

mod format;
mod write;

pub use write::write;

use super::lower::{Lowering, Shorthands};
use super::types::{known_names, resolve_alias};
use super::*;
use crate::error::{ModelError, SourceSnippet};
use format::*;
use std::path::Path;

/// The most lines an error's snippet shows.
const SNIPPET_LINES: usize = 4;

/// Reads and parses a model file.
pub fn load(path: &Path) -> Result<Schema, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        message: format!("cannot read model file: {e}"),
        snippet: None,
    })?;
    parse(&text, &path.display().to_string())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|p| offset - p).unwrap_or(offset + 1);
    (line, col)
}

/// Whole lines of `text` around `span` (at most [`SNIPPET_LINES`]; a longer span is cut
/// to its first line), for an error to show as rustc does.
fn snippet(text: &str, span: Span) -> SourceSnippet {
    let clamp = |mut o: usize| {
        o = o.min(text.len());
        while !text.is_char_boundary(o) {
            o -= 1;
        }
        o
    };
    let (start, mut end) = (clamp(span.start), clamp(span.end.max(span.start)));
    let first = text[..start].rfind('\n').map_or(0, |p| p + 1);
    let line_end = |o: usize| text[o..].find('\n').map_or(text.len(), |p| o + p);
    if text[first..end].matches('\n').count() >= SNIPPET_LINES {
        end = line_end(start);
    }
    let last = line_end(end.max(first));
    SourceSnippet {
        text: text[first..last].to_string(),
        first_line: text[..first].matches('\n').count() + 1,
        span: start - first..end - first,
    }
}

/// Parses model TOML; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Schema, ModelError> {
    let err_at = |span: Span, message: String| {
        let (line, column) = line_col(text, span.start);
        ModelError {
            file: file.to_string(),
            line,
            column,
            message,
            snippet: Some(snippet(text, span)),
        }
    };
    let fm: FileModel = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        err_at(span, e.message().trim().to_string())
    })?;

    let mut schema = Schema::default();
    // Name keys seen so far: duplicate checks by lookup, not by scanning (linear in size).
    let mut table_keys = std::collections::HashSet::new();
    let mut view_keys = std::collections::HashSet::new();
    let mut trigger_keys = std::collections::HashSet::new();
    // Where each table and trigger is declared, for errors found after parsing.
    let mut declared_at: std::collections::HashMap<String, Span> = Default::default();
    // Where each column and index is declared: (table key, 'c' or 'i', name key).
    let mut places: Places = Default::default();
    for (tname, ftable) in fm.tables {
        let at = ftable.span();
        declared_at.insert(name_key(tname.get_ref()), tname.span());
        let t = convert_table(tname.get_ref(), ftable.into_inner(), &mut places)
            .map_err(|(span, msg)| err_at(span.unwrap_or_else(|| at.clone()), msg))?;
        if !table_keys.insert(name_key(&t.name)) {
            return Err(err_at(at, format!("duplicate table `{}`", t.name)));
        }
        schema.tables.push(t);
    }
    for (vname, fview) in fm.views {
        let at = fview.span();
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
        let at = ftrig.span();
        declared_at
            .entry(name_key(tname.get_ref()))
            .or_insert(tname.span());
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
    validate::validate(&schema, &Reserved::default()).map_err(|e| {
        let key = name_key(&e.object);
        let part = e.place.and_then(|p| match p {
            validate::Place::Column(c) => places.get(&(key.clone(), 'c', name_key(&c))),
            validate::Place::Index(i) => places.get(&(key.clone(), 'i', name_key(&i))),
        });
        let span = part.or(declared_at.get(&key)).cloned().unwrap_or(0..0);
        err_at(span, e.message)
    })?;
    Ok(schema)
}

/// A byte range of the model text.
type Span = std::ops::Range<usize>;

type ConvResult<T> = Result<T, (Option<Span>, String)>;

/// Where the columns and indexes of tables are declared: (table key, 'c' or 'i', name key).
type Places = std::collections::HashMap<(String, char, String), Span>;

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
pub(super) fn ref_ident(name: &str) -> String {
    let plain = !name.is_empty() && name.trim() == name && !name.contains(['(', ')', ',', '"']);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn conflict(s: Option<String>) -> ConvResult<Option<Conflict>> {
    s.map(|s| {
        Conflict::parse(&s).ok_or_else(|| {
            (
                None,
                format!("unknown ON CONFLICT `{s}` (use ROLLBACK, ABORT, FAIL, IGNORE or REPLACE)"),
            )
        })
    })
    .transpose()
}

/// A column's declared type: a friendly `type` or a verbatim `sql_type`.
fn column_type(table: &str, fc: &FileColumn, at: &Span) -> ConvResult<String> {
    match (&fc.friendly_type, &fc.sql_type) {
        (Some(_), Some(_)) => Err((
            Some(at.clone()),
            format!("column `{}`: give `type` or `sql_type`, not both", fc.name),
        )),
        (Some(ft), None) => resolve_alias(ft.get_ref()).ok_or_else(|| {
            (
                Some(ft.span()),
                format!(
                    "unknown type `{}` for column `{table}.{}`; known types: {}; write any other declared type as sql_type = \"...\"",
                    ft.get_ref(),
                    fc.name,
                    known_names()
                ),
            )
        }),
        (None, Some(s)) => Ok(s.clone()),
        (None, None) => Ok(String::new()),
    }
}

fn convert_column(table: &str, fc: FileColumn, at: &Span) -> ConvResult<(Column, Shorthands)> {
    let located = |(o, m): (Option<Span>, String)| (o.or_else(|| Some(at.clone())), m);
    let sql_type = column_type(table, &fc, at)?;
    let references = fc
        .references
        .as_deref()
        .map(parse_reference)
        .transpose()
        .map_err(located)?;
    let shorthands = Shorthands {
        primary_key: fc.primary_key,
        autoincrement: fc.autoincrement,
        desc: fc.desc,
        unique: fc.unique,
        references,
        on_delete: action(fc.on_delete).map_err(located)?,
        on_update: action(fc.on_update).map_err(located)?,
        deferrable: fc.deferrable,
        check: fc.check,
    };
    let not_null_on_conflict = conflict(fc.not_null_on_conflict).map_err(located)?;
    let column = Column {
        name: fc.name,
        renamed_from: fc.renamed_from,
        sql_type,
        not_null: fc.not_null || not_null_on_conflict.is_some(),
        not_null_on_conflict,
        default: fc.default.map(|d| d.sql()),
        collate: fc.collate,
        generated: fc.generated.map(|expr| Generated {
            expr,
            stored: fc.stored,
        }),
    };
    Ok((column, shorthands))
}

/// A table-level key (`primary_key` or an entry of `unique`).
fn key(k: FileKey) -> ConvResult<PrimaryKey> {
    Ok(match k {
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
            on_conflict: conflict(f.on_conflict)?,
            inline: false,
        },
    })
}

fn convert_table(name: &str, ft: FileTable, places: &mut Places) -> ConvResult<Table> {
    let mut t = Lowering::new(Table {
        name: name.to_string(),
        renamed_from: ft.renamed_from,
        without_rowid: ft.without_rowid,
        strict: ft.strict,
        ..Table::default()
    });
    // The name and ON CONFLICT of a primary key written on its column.
    let mut column_pk: (Option<String>, Option<Conflict>) = (None, None);
    for sc in ft.columns {
        let at = sc.span();
        let mut fc = sc.into_inner();
        places
            .entry((name_key(name), 'c', name_key(&fc.name)))
            .or_insert_with(|| at.clone());
        let (pk_name, pk_conflict) = (
            fc.primary_key_name.take(),
            conflict(fc.primary_key_on_conflict.take()).map_err(|(_, m)| (Some(at.clone()), m))?,
        );
        if (pk_name.is_some() || pk_conflict.is_some()) && !fc.primary_key {
            return Err((
                Some(at.clone()),
                format!(
                    "column `{}`: primary_key_name/primary_key_on_conflict need primary_key = true",
                    fc.name
                ),
            ));
        }
        column_pk.0 = column_pk.0.or(pk_name);
        column_pk.1 = column_pk.1.or(pk_conflict);
        let (column, shorthands) = convert_column(name, fc, &at)?;
        t.column(column, shorthands)
            .map_err(|m| (Some(at.clone()), m))?;
    }
    if let Some(k) = ft.primary_key {
        t.table.primary_key = Some(key(k)?);
    }
    let mut t = t.finish().map_err(|m| (None, m))?;
    if let (Some(pk), (name, on_conflict)) = (&mut t.primary_key, column_pk) {
        if (name.is_some() || on_conflict.is_some()) && !pk.inline {
            return Err((
                None,
                format!(
                    "table `{}`: primary_key_name/primary_key_on_conflict need a one-column key",
                    t.name
                ),
            ));
        }
        pk.name = name.or(pk.name.take());
        pk.on_conflict = on_conflict.or(pk.on_conflict);
    }
    for u in ft.unique {
        let k = key(u)?;
        t.uniques.push(Unique {
            name: k.name,
            columns: k.columns,
            on_conflict: k.on_conflict,
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
        let at = sfk.span();
        let f = sfk.into_inner();
        let located = |(_, m): (Option<Span>, String)| (Some(at.clone()), m);
        let (ref_table, mut ref_columns) = parse_reference(&f.references).map_err(located)?;
        if !f.ref_columns.is_empty() {
            ref_columns = f.ref_columns;
        }
        t.foreign_keys.push(ForeignKey {
            name: f.name,
            columns: f.columns,
            ref_table,
            ref_columns,
            on_delete: action(f.on_delete).map_err(located)?,
            on_update: action(f.on_update).map_err(located)?,
            deferred: f.deferrable,
        });
    }
    for si in ft.indexes {
        let at = si.span();
        let fi = si.into_inner();
        places
            .entry((name_key(name), 'i', name_key(&fi.name)))
            .or_insert_with(|| at.clone());
        if t.index(&fi.name).is_some() {
            return Err((Some(at.clone()), format!("duplicate index `{}`", fi.name)));
        }
        t.indexes.push(Index {
            name: fi.name,
            unique: fi.unique,
            parts: parts(fi.columns).map_err(|(_, m)| (Some(at.clone()), m))?,
            where_clause: fi.where_clause,
        });
    }
    Ok(t)
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

    /// A table of plain columns (no type), for the exact round-trip cases below.
    fn table(name: &str, columns: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        }
    }

    /// `write` then `parse` gives exactly `s` back.
    fn assert_exact(s: Schema) {
        let text = write(&s);
        let back = parse(&text, "x.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, s, "{text}");
    }

    #[test]
    fn names_and_texts_with_control_characters_round_trip() {
        let mut t = table("new\nline", &["tab\tcol", "cr\rcol"]);
        t.columns[0].default = Some("'a\nb'".into());
        let sql = "CREATE VIEW v AS\nSELECT '\u{c}'".to_string();
        assert_exact(Schema {
            tables: vec![t],
            views: vec![View {
                name: "v\u{1}".into(),
                sql,
            }],
            triggers: vec![],
        });
    }

    #[test]
    fn unique_desc_round_trips() {
        let mut t = table("t", &["a"]);
        t.uniques.push(Unique {
            name: None,
            columns: vec![IndexPart {
                order: Order::Desc,
                ..IndexPart::column("a")
            }],
            on_conflict: None,
        });
        assert_exact(Schema {
            tables: vec![t],
            ..Schema::default()
        });
    }

    #[test]
    fn constraint_order_and_spelling_round_trip() {
        let mut t = table("t", &["a", "b"]);
        let check = |column: Option<&str>| Check {
            name: None,
            expr: "1".into(),
            column: column.map(Into::into),
        };
        // A table-level check before a column's, a column's after a later column's.
        t.checks = vec![check(None), check(Some("a"))];
        let unique = |c: &str| Unique {
            name: None,
            columns: vec![IndexPart::column(c)],
            on_conflict: None,
        };
        t.uniques = vec![unique("b"), unique("a")];
        // Names spelt in another case than the column's (SQLite folds ASCII case).
        t.foreign_keys.push(ForeignKey {
            name: None,
            columns: vec!["A".into()],
            ref_table: "t".into(),
            ref_columns: vec!["b".into()],
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferred: false,
        });
        t.primary_key = Some(PrimaryKey {
            name: None,
            columns: vec![IndexPart::column("B")],
            autoincrement: false,
            on_conflict: None,
            inline: false,
        });
        let mut u = table("u", &["x"]);
        u.checks.push(check(Some("X")));
        assert_exact(Schema {
            tables: vec![t, u],
            ..Schema::default()
        });
    }

    #[test]
    fn named_column_primary_key_stays_on_its_column() {
        // `"id" INTEGER CONSTRAINT "pk" PRIMARY KEY DESC ON CONFLICT ROLLBACK` is no rowid
        // alias; as a table constraint it would be one.
        let mut t = table("t", &["id"]);
        t.columns[0].sql_type = "INTEGER".into();
        t.primary_key = Some(PrimaryKey {
            name: Some("pk".into()),
            columns: vec![IndexPart {
                order: Order::Desc,
                ..IndexPart::column("id")
            }],
            autoincrement: false,
            on_conflict: Some(Conflict::Rollback),
            inline: true,
        });
        assert!(t.rowid_alias().is_none());
        assert_exact(Schema {
            tables: vec![t],
            ..Schema::default()
        });
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
            "[tables.b]\ncolumns=[{name=\"y\"}]\n\n[tables.a]\ncolumns=[{name=\"x\", references=\"b(nope)\"}]\n",
            "f.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing column `b.nope`"), "{e}");
        // Found after parsing, still located: the column declaring the key.
        assert_eq!((e.line, e.column), (5, 10), "{e}");
        let snip = e.snippet.as_ref().unwrap();
        assert_eq!(snip.first_line, 5);
        assert_eq!(
            &snip.text[snip.span.clone()],
            "{name=\"x\", references=\"b(nope)\"}"
        );
        // A parent that does not exist is legal (a warning the CLI gives).
        let s = parse(
            "[tables.a]\ncolumns=[{name=\"x\", references=\"gone(id)\"}]\n",
            "g.toml",
        )
        .unwrap();
        assert_eq!(
            s.missing_parents()[0].to_string().split(" (").next(),
            Some("table `a`: foreign key references missing table `gone`")
        );
        let e = parse(
            "[tables.migrate_history]\ncolumns=[{name=\"x\"}]\n",
            "r.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
        assert!(parse("[tables.migrate_log]\ncolumns=[{name=\"x\"}]\n", "r.toml").is_ok());
    }
}
