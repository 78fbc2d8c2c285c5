//! `#[dbm(..)]` attributes read into plain data. Every error points at the attribute or
//! value at fault; a known attribute in the wrong place says where it belongs, an unknown
//! one suggests the nearest known name.
//!
//! The words (`on_delete = "set null"`, `on_conflict = "replace"`) and the reference syntax
//! (`"table(column)"`, `"table"`, quoted names) are the model file's, so the derive and
//! `models.toml` accept the same values (the root crate's tests compare the two).

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Token};

/// Attributes of a field, each with where it was written.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub primary_key: Option<Span>,
    pub autoincrement: Option<Span>,
    pub desc: Option<Span>,
    pub unique: Option<Span>,
    pub index: Option<IndexFlag>,
    pub sql_type: Option<LitStr>,
    pub default: Option<LitStr>,
    pub check: Option<LitStr>,
    pub collate: Option<LitStr>,
    pub references: Option<Reference>,
    pub on_delete: Option<Action>,
    pub on_update: Option<Action>,
    pub deferrable: Option<Span>,
    pub renamed_from: Option<LitStr>,
    pub name: Option<LitStr>,
    pub skip: Option<Span>,
    pub generated: Option<LitStr>,
    pub stored: Option<Span>,
    pub not_null_on_conflict: Option<Conflict>,
}

impl FieldAttrs {
    /// `autoincrement` and `desc` are properties of a primary-key column and imply it.
    pub fn is_primary_key(&self) -> bool {
        self.primary_key.is_some() || self.autoincrement.is_some() || self.desc.is_some()
    }
}

/// `index` on a field, or `index = "name"`.
pub(crate) struct IndexFlag {
    pub name: Option<LitStr>,
}

/// Attributes of the struct (the table).
#[derive(Default)]
pub(crate) struct StructAttrs {
    pub name: Option<LitStr>,
    pub renamed_from: Option<LitStr>,
    pub strict: Option<Span>,
    pub without_rowid: Option<Span>,
    pub primary_key: Option<Key>,
    pub uniques: Vec<Key>,
    pub checks: Vec<CheckAttr>,
    pub indexes: Vec<IndexAttr>,
    pub foreign_keys: Vec<ForeignKeyAttr>,
}

/// `primary_key(..)` or `unique(..)` on the struct.
pub(crate) struct Key {
    pub span: Span,
    pub name: Option<LitStr>,
    pub parts: Vec<Part>,
    pub on_conflict: Option<Conflict>,
}

/// A term of a key or index: a column (with its span, to point at it) or an expression.
pub(crate) struct Part {
    pub column: Option<LitStr>,
    pub expr: Option<LitStr>,
    pub desc: bool,
    pub collate: Option<LitStr>,
}

pub(crate) struct CheckAttr {
    pub name: Option<LitStr>,
    pub expr: LitStr,
    pub column: Option<LitStr>,
}

pub(crate) struct IndexAttr {
    pub name: LitStr,
    pub parts: Vec<Part>,
    pub unique: Option<Span>,
    pub where_clause: Option<LitStr>,
}

pub(crate) struct ForeignKeyAttr {
    pub name: Option<LitStr>,
    pub columns: Vec<LitStr>,
    pub references: Reference,
    pub on_delete: Option<Action>,
    pub on_update: Option<Action>,
    pub deferrable: Option<Span>,
}

/// `"table(col, ..)"` or `"table"` (its primary key).
pub(crate) struct Reference {
    pub table: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FkAction {
    NoAction,
    Restrict,
    SetNull,
    SetDefault,
    Cascade,
}

pub(crate) struct Action {
    pub value: FkAction,
}

pub(crate) struct Conflict {
    pub span: Span,
    variant: &'static str,
}

impl Conflict {
    /// The `dbm::model::Conflict` variant.
    pub fn variant(&self) -> &'static str {
        self.variant
    }
}

const FIELD_ONLY: &[&str] = &[
    "autoincrement",
    "desc",
    "sql_type",
    "default",
    "collate",
    "references",
    "on_delete",
    "on_update",
    "deferrable",
    "skip",
    "generated",
    "stored",
    "not_null_on_conflict",
];
const STRUCT_ONLY: &[&str] = &["strict", "without_rowid", "foreign_key"];
const BOTH: &[&str] = &[
    "name",
    "renamed_from",
    "primary_key",
    "unique",
    "index",
    "check",
];

fn dbm_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("dbm"))
}

/// The attribute's name; keywords (`where`, `type`) are names too.
fn key(meta: &ParseNestedMeta) -> String {
    meta.path
        .get_ident()
        .map(|i| i.unraw().to_string())
        .unwrap_or_else(|| {
            let segs: Vec<String> = meta
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            segs.join("::")
        })
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn unknown(meta: &ParseNestedMeta, name: &str, known: &[&str], what: &str) -> syn::Error {
    let mut msg = format!("unknown dbm attribute `{name}`");
    if let Some(best) = known
        .iter()
        .filter(|k| distance(name, k) <= 2.max(name.len() / 4))
        .min_by_key(|k| distance(name, k))
    {
        msg.push_str(&format!(" (did you mean `{best}`?)"));
    }
    msg.push_str(&format!("; {what} attributes: {}", known.join(", ")));
    meta.error(msg)
}

fn duplicate(meta: &ParseNestedMeta, name: &str) -> syn::Error {
    meta.error(format!("duplicate dbm attribute `{name}`"))
}

fn set<T>(slot: &mut Option<T>, meta: &ParseNestedMeta, name: &str, v: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(meta, name));
    }
    *slot = Some(v);
    Ok(())
}

/// A flag: `name` alone.
fn flag(meta: &ParseNestedMeta, name: &str) -> syn::Result<Span> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{name}` takes no value: write `{name}` alone")));
    }
    Ok(meta.path.span())
}

/// `name = "text"`.
fn string(meta: &ParseNestedMeta, name: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{name}` needs a value: `{name} = \"...\"`")));
    }
    let v = meta.value()?;
    v.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{name}` takes a string: `{name} = \"...\"`"),
        )
    })
}

/// A default as SQL text; a number or boolean stands for its literal, as in the model file.
fn default_value(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error("`default` needs a value: `default = \"SQL\"` (or a number)"));
    }
    let v = meta.value()?;
    let neg = v.parse::<Option<Token![-]>>()?.is_some();
    let sign = if neg { "-" } else { "" };
    let lit: syn::Lit = v.parse()?;
    let text = match &lit {
        syn::Lit::Str(s) if !neg => return Ok(s.clone()),
        syn::Lit::Int(i) => format!("{sign}{}", i.base10_parse::<i64>()?),
        syn::Lit::Float(f) => format!(
            "{:?}",
            f.base10_parse::<f64>()? * if neg { -1.0 } else { 1.0 }
        ),
        syn::Lit::Bool(b) if !neg => if b.value { "1" } else { "0" }.to_string(),
        _ => {
            return Err(syn::Error::new(
                lit.span(),
                "`default` takes SQL text (`default = \"'draft'\"`), a number or a boolean",
            ))
        }
    };
    Ok(LitStr::new(&text, lit.span()))
}

fn fk_action(meta: &ParseNestedMeta, name: &str) -> syn::Result<Action> {
    let s = string(meta, name)?;
    let norm = s
        .value()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let value = match norm.as_str() {
        "NO ACTION" => FkAction::NoAction,
        "RESTRICT" => FkAction::Restrict,
        "SET NULL" => FkAction::SetNull,
        "SET DEFAULT" => FkAction::SetDefault,
        "CASCADE" => FkAction::Cascade,
        _ => {
            return Err(syn::Error::new(
                s.span(),
                format!(
                    "unknown foreign-key action `{}` (use NO ACTION, RESTRICT, SET NULL, SET DEFAULT or CASCADE)",
                    s.value()
                ),
            ))
        }
    };
    Ok(Action { value })
}

fn conflict(meta: &ParseNestedMeta, name: &str) -> syn::Result<Conflict> {
    conflict_word(&string(meta, name)?)
}

fn conflict_word(s: &LitStr) -> syn::Result<Conflict> {
    let variant = [
        ("ROLLBACK", "Rollback"),
        ("ABORT", "Abort"),
        ("FAIL", "Fail"),
        ("IGNORE", "Ignore"),
        ("REPLACE", "Replace"),
    ]
    .into_iter()
    .find(|(sql, _)| sql.eq_ignore_ascii_case(s.value().trim()))
    .map(|(_, v)| v)
    .ok_or_else(|| {
        syn::Error::new(
            s.span(),
            format!(
                "unknown ON CONFLICT `{}` (use ROLLBACK, ABORT, FAIL, IGNORE or REPLACE)",
                s.value()
            ),
        )
    })?;
    Ok(Conflict {
        span: s.span(),
        variant,
    })
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

/// `"user(id)"`, `"user"`, `"\"odd name\"(a, b)"`: the model file's reference syntax.
fn parse_reference(s: &str) -> Option<Reference> {
    let (table, rest) = ref_name(s, &['('])?;
    if table.is_empty() {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(Reference {
            table,
            columns: vec![],
        });
    }
    let mut inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let mut columns = vec![];
    while !inner.trim().is_empty() {
        let (c, after) = ref_name(inner, &[','])?;
        if c.is_empty() {
            return None;
        }
        columns.push(c);
        let after = after.trim_start();
        if after.is_empty() {
            break;
        }
        inner = after.strip_prefix(',')?;
    }
    Some(Reference { table, columns })
}

fn reference(meta: &ParseNestedMeta, name: &str) -> syn::Result<(LitStr, Reference)> {
    let s = string(meta, name)?;
    let r = parse_reference(&s.value()).ok_or_else(|| {
        syn::Error::new(
            s.span(),
            format!(
                "bad reference `{}`: use \"table(column)\", or \"table\" for its primary key",
                s.value()
            ),
        )
    })?;
    Ok((s, r))
}

/// Reads every `#[dbm(..)]` of a field.
pub(crate) fn field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut a = FieldAttrs::default();
    let mut first: Option<Span> = None;
    let mut count = 0;
    for attr in dbm_attrs(attrs) {
        attr.parse_nested_meta(|meta| {
            let name = key(&meta);
            first.get_or_insert(meta.path.span());
            count += 1;
            let takes_list = meta.input.peek(syn::token::Paren);
            match name.as_str() {
                "primary_key" | "unique" if takes_list => Err(meta.error(format!(
                    "on a field, `{name}` takes no columns; a key over several columns, `{name}(a, b)`, goes on the struct"
                ))),
                "index" if takes_list => Err(meta.error(
                    "on a field, write `index` (or `index = \"name\"`); `index(name = .., columns = [..])` goes on the struct",
                )),
                "check" if takes_list => Err(meta.error(
                    "on a field, write `check = \"expr\"`; a named check, `check(name = .., expr = ..)`, goes on the struct",
                )),
                "primary_key" => set(&mut a.primary_key, &meta, &name, flag(&meta, &name)?),
                "autoincrement" => set(&mut a.autoincrement, &meta, &name, flag(&meta, &name)?),
                "desc" => set(&mut a.desc, &meta, &name, flag(&meta, &name)?),
                "unique" => set(&mut a.unique, &meta, &name, flag(&meta, &name)?),
                "index" => {
                    let name_lit = if meta.input.peek(Token![=]) {
                        Some(string(&meta, "index")?)
                    } else {
                        None
                    };
                    set(&mut a.index, &meta, &name, IndexFlag { name: name_lit })
                }
                "sql_type" => set(&mut a.sql_type, &meta, &name, string(&meta, &name)?),
                "default" => set(&mut a.default, &meta, &name, default_value(&meta)?),
                "check" => set(&mut a.check, &meta, &name, string(&meta, &name)?),
                "collate" => set(&mut a.collate, &meta, &name, string(&meta, &name)?),
                "references" => {
                    let (lit, r) = reference(&meta, &name)?;
                    if r.columns.len() > 1 {
                        return Err(syn::Error::new(
                            lit.span(),
                            "a field references one column; a foreign key over several columns, `foreign_key(columns = [..], references = \"t(a, b)\")`, goes on the struct",
                        ));
                    }
                    set(&mut a.references, &meta, &name, r)
                }
                "on_delete" => set(&mut a.on_delete, &meta, &name, fk_action(&meta, &name)?),
                "on_update" => set(&mut a.on_update, &meta, &name, fk_action(&meta, &name)?),
                "deferrable" => set(&mut a.deferrable, &meta, &name, flag(&meta, &name)?),
                "renamed_from" => set(&mut a.renamed_from, &meta, &name, string(&meta, &name)?),
                "name" => set(&mut a.name, &meta, &name, string(&meta, &name)?),
                "skip" => set(&mut a.skip, &meta, &name, flag(&meta, &name)?),
                "generated" => set(&mut a.generated, &meta, &name, string(&meta, &name)?),
                "stored" => set(&mut a.stored, &meta, &name, flag(&meta, &name)?),
                "not_null_on_conflict" => set(
                    &mut a.not_null_on_conflict,
                    &meta,
                    &name,
                    conflict(&meta, &name)?,
                ),
                n if STRUCT_ONLY.contains(&n) => Err(meta.error(format!(
                    "`{n}` is a struct attribute: put `#[dbm({n}..)]` on the struct, not on a field"
                ))),
                n => Err(unknown(&meta, n, &field_names(), "field")),
            }
        })?;
    }
    if let Some(skip) = a.skip {
        if count > 1 {
            return Err(syn::Error::new(
                skip,
                "a `skip` field is not a column: it takes no other dbm attribute",
            ));
        }
    }
    if a.references.is_none() {
        let orphan = a
            .on_delete
            .as_ref()
            .map(|_| "on_delete")
            .or(a.on_update.as_ref().map(|_| "on_update"))
            .or(a.deferrable.map(|_| "deferrable"));
        if let Some(what) = orphan {
            return Err(syn::Error::new(
                first.unwrap_or_else(Span::call_site),
                format!("`{what}` needs `references = \"table(column)\"` on the same field"),
            ));
        }
    }
    if let (Some(s), None) = (a.stored, &a.generated) {
        return Err(syn::Error::new(
            s,
            "`stored` needs `generated = \"expr\"` on the same field",
        ));
    }
    Ok(a)
}

fn field_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = BOTH.iter().chain(FIELD_ONLY).copied().collect();
    v.sort_unstable();
    v
}

fn struct_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = BOTH.iter().chain(STRUCT_ONLY).copied().collect();
    v.sort_unstable();
    v
}

/// Reads every `#[dbm(..)]` of the struct.
pub(crate) fn struct_attrs(attrs: &[Attribute]) -> syn::Result<StructAttrs> {
    let mut a = StructAttrs::default();
    for attr in dbm_attrs(attrs) {
        attr.parse_nested_meta(|meta| {
            let name = key(&meta);
            let takes_list = meta.input.peek(syn::token::Paren);
            match name.as_str() {
                "name" => set(&mut a.name, &meta, &name, string(&meta, &name)?),
                "renamed_from" => set(&mut a.renamed_from, &meta, &name, string(&meta, &name)?),
                "strict" => set(&mut a.strict, &meta, &name, flag(&meta, &name)?),
                "without_rowid" => set(&mut a.without_rowid, &meta, &name, flag(&meta, &name)?),
                "primary_key" | "unique" if !takes_list => Err(meta.error(format!(
                    "on the struct, `{name}` lists its columns: `{name}(a, b)`; for one column, put `#[dbm({name})]` on its field"
                ))),
                "primary_key" => {
                    let k = key_list(&meta, true)?;
                    set(&mut a.primary_key, &meta, &name, k)
                }
                "unique" => {
                    a.uniques.push(key_list(&meta, false)?);
                    Ok(())
                }
                "check" => {
                    a.checks.push(check(&meta)?);
                    Ok(())
                }
                "index" if !takes_list => Err(meta.error(
                    "on the struct, `index(name = \"..\", columns = [..])`; for an index on one column, put `#[dbm(index)]` on its field",
                )),
                "index" => {
                    a.indexes.push(index(&meta)?);
                    Ok(())
                }
                "foreign_key" => {
                    a.foreign_keys.push(foreign_key(&meta)?);
                    Ok(())
                }
                n if FIELD_ONLY.contains(&n) => Err(meta.error(format!(
                    "`{n}` is a field attribute: put `#[dbm({n}..)]` on the field it is about, not on the struct"
                ))),
                n => Err(unknown(&meta, n, &struct_names(), "struct")),
            }
        })?;
    }
    Ok(a)
}

/// `primary_key(a, b, "odd name", (column = "c", desc, collate = "NOCASE"), (expr = ".."),
/// name = "pk", on_conflict = "replace")`.
fn key_list(meta: &ParseNestedMeta, pk: bool) -> syn::Result<Key> {
    let what = if pk { "primary_key" } else { "unique" };
    let span = meta.path.span();
    let content;
    syn::parenthesized!(content in meta.input);
    let mut k = Key {
        span,
        name: None,
        parts: vec![],
        on_conflict: None,
    };
    while !content.is_empty() {
        if content.peek(syn::token::Paren) {
            k.parts.push(rich_part(&content)?);
        } else if content.peek(LitStr) {
            k.parts.push(column_part(content.parse()?));
        } else if content.peek(Ident::peek_any) && content.peek2(Token![=]) {
            let ident = Ident::parse_any(&content)?;
            content.parse::<Token![=]>()?;
            let v: LitStr = content.parse()?;
            match ident.to_string().as_str() {
                "name" if k.name.is_none() => k.name = Some(v),
                "on_conflict" if k.on_conflict.is_none() => {
                    k.on_conflict = Some(conflict_word(&v)?);
                }
                "name" | "on_conflict" => {
                    return Err(syn::Error::new(ident.span(), format!("duplicate `{ident}`")))
                }
                other => {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!("unknown `{other}` in `{what}(..)`: it takes columns, `name = \"..\"` and `on_conflict = \"..\"`"),
                    ))
                }
            }
        } else {
            let ident = Ident::parse_any(&content).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("`{what}(..)` takes column names, `(column = \"..\", desc)`, `(expr = \"..\")`, `name = \"..\"`, `on_conflict = \"..\"`"),
                )
            })?;
            let ident = ident.unraw();
            k.parts
                .push(column_part(LitStr::new(&ident.to_string(), ident.span())));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if k.parts.is_empty() {
        return Err(syn::Error::new(
            span,
            format!("`{what}(..)` needs at least one column"),
        ));
    }
    Ok(k)
}

fn column_part(c: LitStr) -> Part {
    Part {
        column: Some(c),
        expr: None,
        desc: false,
        collate: None,
    }
}

/// `(column = "c", desc, collate = "NOCASE")` or `(expr = "lower(email)", desc)`.
fn rich_part(input: ParseStream) -> syn::Result<Part> {
    let content;
    let paren = syn::parenthesized!(content in input);
    let mut p = Part {
        column: None,
        expr: None,
        desc: false,
        collate: None,
    };
    let parser = syn::meta::parser(|meta| {
        let name = key(&meta);
        match name.as_str() {
            "column" => set(&mut p.column, &meta, &name, string(&meta, &name)?),
            "expr" => set(&mut p.expr, &meta, &name, string(&meta, &name)?),
            "collate" => set(&mut p.collate, &meta, &name, string(&meta, &name)?),
            "desc" => {
                flag(&meta, &name)?;
                p.desc = true;
                Ok(())
            }
            other => Err(meta.error(format!(
                "unknown `{other}` in an index term: it takes `column = \"..\"` or `expr = \"..\"`, `desc`, `collate = \"..\"`"
            ))),
        }
    });
    parser.parse2(content.parse()?)?;
    if p.column.is_some() == p.expr.is_some() {
        return Err(syn::Error::new(
            paren.span.join(),
            "an index term needs exactly one of `column` or `expr`",
        ));
    }
    Ok(p)
}

/// `["a", "b", (column = "c", desc), (expr = "..")]`.
fn part_list(meta: &ParseNestedMeta, name: &str) -> syn::Result<Vec<Part>> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{name}` needs a list: `{name} = [\"a\", \"b\"]`")));
    }
    let v = meta.value()?;
    let content;
    let bracket = syn::bracketed!(content in v);
    let mut parts = vec![];
    while !content.is_empty() {
        if content.peek(syn::token::Paren) {
            parts.push(rich_part(&content)?);
        } else {
            let lit: LitStr = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "a column is a string (`\"a\"`), or `(column = \"..\", desc)`, `(expr = \"..\")`",
                )
            })?;
            parts.push(column_part(lit));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if parts.is_empty() {
        return Err(syn::Error::new(
            bracket.span.join(),
            format!("`{name}` needs at least one column"),
        ));
    }
    Ok(parts)
}

/// `check = "expr"` or `check(name = "..", expr = "..", column = "..")`.
fn check(meta: &ParseNestedMeta) -> syn::Result<CheckAttr> {
    if !meta.input.peek(syn::token::Paren) {
        return Ok(CheckAttr {
            name: None,
            expr: string(meta, "check")?,
            column: None,
        });
    }
    let (mut name, mut expr, mut column) = (None, None, None);
    meta.parse_nested_meta(|m| {
        let k = key(&m);
        match k.as_str() {
            "name" => set(&mut name, &m, &k, string(&m, &k)?),
            "expr" => set(&mut expr, &m, &k, string(&m, &k)?),
            "column" => set(&mut column, &m, &k, string(&m, &k)?),
            other => Err(m.error(format!(
                "unknown `{other}` in `check(..)`: it takes `expr = \"..\"`, `name = \"..\"`, `column = \"..\"`"
            ))),
        }
    })?;
    Ok(CheckAttr {
        name,
        expr: expr.ok_or_else(|| meta.error("`check(..)` needs `expr = \"..\"`"))?,
        column,
    })
}

/// `index(name = "..", columns = [..], unique, where = "..")`.
fn index(meta: &ParseNestedMeta) -> syn::Result<IndexAttr> {
    let (mut name, mut parts, mut unique, mut where_clause) = (None, None, None, None);
    meta.parse_nested_meta(|m| {
        let k = key(&m);
        match k.as_str() {
            "name" => set(&mut name, &m, &k, string(&m, &k)?),
            "columns" => set(&mut parts, &m, &k, part_list(&m, &k)?),
            "unique" => set(&mut unique, &m, &k, flag(&m, &k)?),
            "where" => set(&mut where_clause, &m, &k, string(&m, &k)?),
            other => Err(m.error(format!(
                "unknown `{other}` in `index(..)`: it takes `name = \"..\"`, `columns = [..]`, `unique`, `where = \"..\"`"
            ))),
        }
    })?;
    Ok(IndexAttr {
        name: name.ok_or_else(|| meta.error("`index(..)` needs `name = \"..\"`"))?,
        parts: parts.ok_or_else(|| meta.error("`index(..)` needs `columns = [..]`"))?,
        unique,
        where_clause,
    })
}

/// `foreign_key(columns = ["a", "b"], references = "t(x, y)", on_delete = "..",
/// on_update = "..", deferrable, name = "..")`.
fn foreign_key(meta: &ParseNestedMeta) -> syn::Result<ForeignKeyAttr> {
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(
            "`foreign_key(columns = [..], references = \"table(columns)\")`; for one column, put `#[dbm(references = \"table(column)\")]` on its field",
        ));
    }
    let mut fk = ForeignKeyAttr {
        name: None,
        columns: vec![],
        references: Reference {
            table: String::new(),
            columns: vec![],
        },
        on_delete: None,
        on_update: None,
        deferrable: None,
    };
    let (mut columns, mut references) = (None, None);
    meta.parse_nested_meta(|m| {
        let k = key(&m);
        match k.as_str() {
            "name" => set(&mut fk.name, &m, &k, string(&m, &k)?),
            "columns" => {
                if !m.input.peek(Token![=]) {
                    return Err(m.error("`columns` needs a list: `columns = [\"a\", \"b\"]`"));
                }
                let v = m.value()?;
                let content;
                syn::bracketed!(content in v);
                let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                if list.is_empty() {
                    return Err(m.error("`columns` needs at least one column"));
                }
                set(&mut columns, &m, &k, list.into_iter().collect::<Vec<_>>())
            }
            "references" => set(&mut references, &m, &k, reference(&m, &k)?),
            "on_delete" => set(&mut fk.on_delete, &m, &k, fk_action(&m, &k)?),
            "on_update" => set(&mut fk.on_update, &m, &k, fk_action(&m, &k)?),
            "deferrable" => set(&mut fk.deferrable, &m, &k, flag(&m, &k)?),
            other => Err(m.error(format!(
                "unknown `{other}` in `foreign_key(..)`: it takes `columns = [..]`, `references = \"..\"`, `on_delete`, `on_update`, `deferrable`, `name`"
            ))),
        }
    })?;
    fk.columns = columns.ok_or_else(|| meta.error("`foreign_key(..)` needs `columns = [..]`"))?;
    let (lit, r) = references
        .ok_or_else(|| meta.error("`foreign_key(..)` needs `references = \"table(columns)\"`"))?;
    if !r.columns.is_empty() && r.columns.len() != fk.columns.len() {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "the foreign key has {} columns but references {}",
                fk.columns.len(),
                r.columns.len()
            ),
        ));
    }
    fk.references = r;
    Ok(fk)
}
