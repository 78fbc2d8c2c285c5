//! Writing a schema as model TOML (`dbm create-model`): deterministic, and parsing the
//! output gives the schema back.

use super::super::types::friendly_name;
use super::super::*;
use super::ref_ident;
use std::fmt::Write as _;

/// A one-line TOML basic string. Not `toml`'s own encoder: it picks a multi-line string for
/// text holding a newline, which is no valid key (a table named `"a\nb"`).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
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

/// The `key = value` pairs of one inline table, in order.
#[derive(Default)]
struct Fields(Vec<String>);

impl Fields {
    fn raw(&mut self, key: &str, value: String) {
        self.0.push(format!("{key} = {value}"));
    }
    fn str(&mut self, key: &str, value: &str) {
        self.raw(key, q(value));
    }
    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }
    fn flag(&mut self, key: &str, on: bool) {
        if on {
            self.raw(key, "true".into());
        }
    }
    /// `on_delete`, `on_update`, `deferrable` of a foreign key.
    fn actions(&mut self, fk: &ForeignKey) {
        for (key, action) in [("on_delete", fk.on_delete), ("on_update", fk.on_update)] {
            if action != FkAction::NoAction {
                self.str(key, action.sql());
            }
        }
        self.flag("deferrable", fk.deferred);
    }
    fn inline(&self) -> String {
        format!("{{ {} }}", self.0.join(", "))
    }
}

fn part_toml(p: &IndexPart) -> String {
    if !p.expr && p.collate.is_none() && p.order == Order::Asc {
        return q(&p.target);
    }
    let mut f = Fields::default();
    f.str(if p.expr { "expr" } else { "column" }, &p.target);
    f.opt("collate", p.collate.as_deref());
    f.flag("desc", p.order == Order::Desc);
    f.inline()
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
        // `unique = true` on a column says nothing of an order: `UNIQUE (a DESC)` stays listed.
        [p] if !p.expr && p.collate.is_none() && p.order == Order::Asc => Some(&p.target),
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
    // A literal string holds no escapes: any control character but a tab or newline
    // (`\r`, a form feed SQLite takes for a blank) needs the escaped form.
    let literal_ok = !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if s.contains('\n') && literal_ok && !s.contains("'''") && !s.ends_with('\'') {
        format!("'''\n{s}'''")
    } else {
        q(s)
    }
}

/// Which of a table's constraints are written on their column (single-column, unnamed ones
/// read best there): for each column, the index of its primary-key term, UNIQUE, foreign key
/// and CHECK in the table's lists. The rest is written table-level.
struct OnColumn {
    pk: Option<usize>,
    uniques: Placed,
    fks: Placed,
    checks: Placed,
}

/// One constraint list's items that go on a column: `by_column[c]` is the item on column `c`;
/// the first `count` items of the list are placed, the rest written table-level.
struct Placed {
    by_column: Vec<Option<usize>>,
    count: usize,
}

impl Placed {
    /// Parsing lowers the column shorthands first, in column order, and appends the
    /// table-level list after them; so only a prefix of the list whose columns come in
    /// increasing order can go on columns without reordering the list. The column is matched
    /// by its exact spelling, which the shorthand gives back.
    fn new<T>(t: &Table, items: &[T], column_of: impl Fn(&T) -> Option<&str>) -> Placed {
        let mut by_column = vec![None; t.columns.len()];
        let mut count = 0;
        let mut last = None;
        for item in items {
            let Some(ci) = column_of(item).and_then(|n| t.columns.iter().position(|c| c.name == n))
            else {
                break;
            };
            if last.is_some_and(|l| ci <= l) {
                break;
            }
            by_column[ci] = Some(count);
            last = Some(ci);
            count += 1;
        }
        Placed { by_column, count }
    }
}

impl OnColumn {
    fn new(t: &Table) -> OnColumn {
        let pk = t.primary_key.as_ref().and_then(|pk| {
            // A table-level `PRIMARY KEY ("id" DESC)` on an INTEGER column stays table-level:
            // written on the column it would stop being the rowid alias.
            // Named or with ON CONFLICT it goes on its column only when declared there: an
            // `INTEGER PRIMARY KEY DESC ON CONFLICT ..` moved to the table would become the
            // rowid alias.
            let plain = pk.name.is_none() && pk.on_conflict.is_none() && !t.pk_desc_quirk();
            let simple = pk.inline || plain;
            match pk.columns.as_slice() {
                [p] if simple && !p.expr && p.collate.is_none() => {
                    t.columns.iter().position(|c| c.name == p.target)
                }
                _ => None,
            }
        });
        OnColumn {
            pk,
            uniques: Placed::new(t, &t.uniques, |u| {
                (u.name.is_none() && u.on_conflict.is_none())
                    .then(|| is_plain_single(&u.columns))
                    .flatten()
            }),
            fks: Placed::new(t, &t.foreign_keys, |fk| match fk.columns.as_slice() {
                [one] if fk.name.is_none() => Some(one.as_str()),
                _ => None,
            }),
            checks: Placed::new(t, &t.checks, |ch| {
                ch.column.as_deref().filter(|_| ch.name.is_none())
            }),
        }
    }
}

fn write_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "\n[tables.{}]", key(&t.name));
    if let Some(r) = &t.renamed_from {
        let _ = writeln!(out, "renamed_from = {}", q(r));
    }
    let on_column = OnColumn::new(t);
    let _ = writeln!(out, "columns = [");
    for (ci, c) in t.columns.iter().enumerate() {
        let _ = writeln!(out, "  {},", column_fields(t, ci, c, &on_column).inline());
    }
    let _ = writeln!(out, "]");
    if let (Some(pk), None) = (&t.primary_key, on_column.pk) {
        let mut f = Fields::default();
        f.opt("name", pk.name.as_deref());
        f.raw("columns", parts_toml(&pk.columns));
        f.flag("autoincrement", pk.autoincrement);
        f.opt("on_conflict", pk.on_conflict.map(Conflict::sql));
        let _ = writeln!(out, "primary_key = {}", f.inline());
    }
    list(
        out,
        "unique",
        t.uniques[on_column.uniques.count..].iter().map(|u| {
            let mut f = Fields::default();
            f.opt("name", u.name.as_deref());
            f.raw("columns", parts_toml(&u.columns));
            f.opt("on_conflict", u.on_conflict.map(Conflict::sql));
            f
        }),
    );
    list(
        out,
        "checks",
        t.checks[on_column.checks.count..].iter().map(|c| {
            let mut f = Fields::default();
            f.opt("name", c.name.as_deref());
            f.str("expr", &c.expr);
            f.opt("column", c.column.as_deref());
            f
        }),
    );
    list(
        out,
        "foreign_keys",
        t.foreign_keys[on_column.fks.count..].iter().map(|fk| {
            let mut f = Fields::default();
            f.opt("name", fk.name.as_deref());
            f.raw("columns", strings_toml(&fk.columns));
            f.str("references", &ref_ident(&fk.ref_table));
            if !fk.ref_columns.is_empty() {
                f.raw("ref_columns", strings_toml(&fk.ref_columns));
            }
            f.actions(fk);
            f
        }),
    );
    list(
        out,
        "indexes",
        t.indexes.iter().map(|i| {
            let mut f = Fields::default();
            f.str("name", &i.name);
            f.raw("columns", parts_toml(&i.parts));
            f.flag("unique", i.unique);
            f.opt("where", i.where_clause.as_deref());
            f
        }),
    );
    if t.without_rowid {
        let _ = writeln!(out, "without_rowid = true");
    }
    if t.strict {
        let _ = writeln!(out, "strict = true");
    }
}

/// Column `ci`'s inline table, with the constraints `on_column` puts on it.
fn column_fields(t: &Table, ci: usize, c: &Column, on_column: &OnColumn) -> Fields {
    let mut f = Fields::default();
    f.str("name", &c.name);
    f.opt("renamed_from", c.renamed_from.as_deref());
    if !c.sql_type.is_empty() {
        match friendly_name(&c.sql_type) {
            Some(fr) => f.str("type", &fr),
            None => f.str("sql_type", &c.sql_type),
        }
    }
    if c.not_null {
        f.flag("not_null", true);
        f.opt(
            "not_null_on_conflict",
            c.not_null_on_conflict.map(Conflict::sql),
        );
    }
    if let Some(pk) = t.primary_key.as_ref().filter(|_| on_column.pk == Some(ci)) {
        f.flag("primary_key", true);
        f.opt("primary_key_name", pk.name.as_deref());
        f.opt("primary_key_on_conflict", pk.on_conflict.map(Conflict::sql));
        f.flag("autoincrement", pk.autoincrement);
        f.flag("desc", pk.columns[0].order == Order::Desc);
    }
    if on_column.uniques.by_column[ci].is_some() {
        f.flag("unique", true);
    }
    f.opt("default", c.default.as_deref());
    f.opt("collate", c.collate.as_deref());
    if let Some(g) = &c.generated {
        f.str("generated", &g.expr);
        f.flag("stored", g.stored);
    }
    if let Some(fk) = on_column.fks.by_column[ci].map(|i| &t.foreign_keys[i]) {
        let r = if fk.ref_columns.is_empty() {
            ref_ident(&fk.ref_table)
        } else {
            let cols: Vec<String> = fk.ref_columns.iter().map(|c| ref_ident(c)).collect();
            format!("{}({})", ref_ident(&fk.ref_table), cols.join(", "))
        };
        f.str("references", &r);
        f.actions(fk);
    }
    if let Some(ch) = on_column.checks.by_column[ci].map(|i| &t.checks[i]) {
        f.str("check", &ch.expr);
    }
    f
}

fn list(out: &mut String, name: &str, items: impl Iterator<Item = Fields>) {
    let items: Vec<Fields> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{name} = [");
    for i in items {
        let _ = writeln!(out, "  {},", i.inline());
    }
    let _ = writeln!(out, "]");
}
