//! Writing a schema as model TOML (`dbm create-model`): deterministic, and parsing the
//! output gives the schema back.

use super::super::types::friendly_name;
use super::super::*;
use super::ref_ident;
use std::fmt::Write as _;

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
                f.push(format!("not_null_on_conflict = {}", q(oc.sql())));
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
                f.push(format!("on_conflict = {}", q(c.sql())));
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
                f.push(format!("on_conflict = {}", q(c.sql())));
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
