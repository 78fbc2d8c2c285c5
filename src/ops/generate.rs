//! Generating a migration: diff the live schema against the model, plan up and down, write
//! both scripts' text, and replay them on a schema-only copy before anything is written.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::Connection;

use super::compare::{compare, Comparison};
use crate::diff::{self, slug_for, Change, Described, Renames};
use crate::error::{Error, Result};
use crate::inspect::inspect;
use crate::model::{name_key, order, Reserved, Schema};
use crate::normalize::{replay, schema_only_copy};
use crate::plan::{self, PlanOptions};
use crate::risk::Risk;
use crate::script::{reaches_whole_schema, Direction};

/// A generated, verified migration (nothing written yet).
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version it becomes.
    pub version: u64,
    /// The up script, as it would be written.
    pub up_sql: String,
    /// The down script: replayed after the up script, it gives the old schema back.
    pub down_sql: String,
    /// Words naming the changes, for the file name.
    pub slug: String,
    /// "This may be a rename" hints.
    pub hints: Vec<String>,
    pub(crate) changes: Vec<Change>,
    /// The model as SQLite sees it (the schema the up script reaches).
    pub(crate) target: Schema,
}

impl Migration {
    /// The changes of the up script in words, each with its hazard.
    pub fn changes(&self) -> Vec<Described> {
        self.changes.iter().flat_map(Change::describe).collect()
    }
}

/// Diffs the live database against the declared model, plans up and down scripts for
/// `version` and verifies them on a schema-only scratch copy. `None` when there is nothing
/// to do.
pub fn generate(
    conn: &Connection,
    reserved: &Reserved,
    declared: &Schema,
    version: u64,
    opts: &PlanOptions,
) -> Result<Option<Migration>> {
    let Comparison {
        live,
        target,
        hints,
        changes,
    } = compare(conn, reserved, declared)?;
    if changes.is_empty() {
        return Ok(None);
    }
    let down_changes = diff::diff(&target, &live, &Renames::from_hints(declared).inverted());
    let up_plan = plan::plan(&changes, &live, &target, opts)?;
    let down_plan = plan::plan(&down_changes, &target, &live, opts)?;
    let down_notes: Vec<String> = changes
        .iter()
        .flat_map(Change::describe)
        .filter(|d| d.risk() == Risk::Destructive)
        .filter_map(|d| d.hazard)
        .map(|h| {
            format!("NOTE: the up script {h}; this script restores the schema, not that data.")
        })
        .collect();
    let up_sql = plan::script::text(version, Direction::Up, &changes, &up_plan, &[]);
    let down_sql = plan::script::text(
        version,
        Direction::Down,
        &down_changes,
        &down_plan,
        &down_notes,
    );
    verify(conn, reserved, &live, &target, &up_sql, &down_sql)?;
    Ok(Some(Migration {
        version,
        slug: slug_for(&changes),
        hints,
        changes,
        up_sql,
        down_sql,
        target,
    }))
}

/// Replays `up` then `down` on a schema-only copy: up must reach `target`, down must give
/// `live` back. Refuses otherwise: a wrong script is never written.
///
/// The copy holds what the scripts can reach ([`order::reach`]: the objects that differ or
/// that the scripts name, their foreign-key parents and children, the views and triggers
/// around them): everything else is the same in `live` and `target` and untouched by the
/// scripts, so checking the rest would prove nothing more. A script with an `ALTER TABLE`
/// that makes SQLite rewrite or re-check other objects (a rename, `DROP COLUMN`) also gets
/// every view and trigger: the rewrite reaches only objects that name the table (in the
/// reach already), the re-check every view and trigger. The whole schema is copied only
/// when some text does not lex.
fn verify(
    conn: &Connection,
    reserved: &Reserved,
    live: &Schema,
    target: &Schema,
    up_sql: &str,
    down_sql: &str,
) -> Result<()> {
    let mut seeds = differing(live, target);
    if reaches_whole_schema(up_sql) || reaches_whole_schema(down_sql) {
        // After such an ALTER SQLite re-parses every view and trigger (tables and indexes
        // parse as they did when loaded) and refuses if one no longer resolves: they, and
        // what they read, come along; the other tables cannot change the outcome.
        seeds.extend(
            [live, target]
                .iter()
                .flat_map(|s| {
                    s.views
                        .iter()
                        .map(|v| &v.name)
                        .chain(s.triggers.iter().map(|t| &t.name))
                })
                .map(|n| name_key(n)),
        );
    }
    let only = order::reach(&[live, target], &seeds, &[up_sql, down_sql]);
    let scratch = schema_only_copy(conn, reserved, only.as_ref())?;
    let parts = only
        .as_ref()
        .map(|keep| (part(live, keep), part(target, keep)));
    let (live, target) = parts.as_ref().map_or((live, target), |(l, t)| (l, t));
    for (direction, sql, expected) in [
        (Direction::Up, up_sql, target),
        (Direction::Down, down_sql, live),
    ] {
        let file = Path::new(direction.as_str());
        replay(&scratch, sql, file).map_err(|e| Error::VerifyFailed {
            direction,
            message: match e {
                Error::Script {
                    statement,
                    line,
                    message,
                    ..
                } => format!("statement {statement} (line {line}): {message}"),
                e => e.to_string(),
            },
        })?;
        let remaining = diff::differences(&inspect(&scratch, reserved)?, expected);
        if !remaining.is_empty() {
            return Err(Error::VerifyMismatch {
                direction,
                remaining,
            });
        }
    }
    Ok(())
}

/// Name keys of the tables, views and triggers that are not the same in both schemas.
fn differing(a: &Schema, b: &Schema) -> HashSet<String> {
    fn index<T>(items: &[T], name: impl Fn(&T) -> &str) -> HashMap<String, &T> {
        items.iter().map(|i| (name_key(name(i)), i)).collect()
    }
    fn unequal<T: PartialEq>(
        a: &HashMap<String, &T>,
        b: &HashMap<String, &T>,
        out: &mut HashSet<String>,
    ) {
        for (k, x) in a {
            if b.get(k) != Some(x) {
                out.insert(k.clone());
            }
        }
        out.extend(b.keys().filter(|k| !a.contains_key(*k)).cloned());
    }
    let mut out = HashSet::new();
    unequal(
        &index(&a.tables, |t| &t.name),
        &index(&b.tables, |t| &t.name),
        &mut out,
    );
    unequal(
        &index(&a.views, |v| &v.name),
        &index(&b.views, |v| &v.name),
        &mut out,
    );
    unequal(
        &index(&a.triggers, |t| &t.name),
        &index(&b.triggers, |t| &t.name),
        &mut out,
    );
    out
}

/// The part of `schema` whose tables, views and triggers `keep` names.
fn part(schema: &Schema, keep: &HashSet<String>) -> Schema {
    Schema {
        tables: schema
            .tables
            .iter()
            .filter(|t| keep.contains(&name_key(&t.name)))
            .cloned()
            .collect(),
        views: schema
            .views
            .iter()
            .filter(|v| keep.contains(&name_key(&v.name)))
            .cloned()
            .collect(),
        triggers: schema
            .triggers
            .iter()
            .filter(|t| keep.contains(&name_key(&t.name)))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(sql: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn
    }

    fn model(sql: &str) -> Schema {
        inspect(&db(sql), &Reserved::default()).unwrap()
    }

    /// SQLite refuses a `DROP COLUMN` while any view, even one on other tables, no longer
    /// resolves: the scoped verification holds every view, so it refuses too instead of
    /// writing a script that cannot run.
    #[test]
    fn drop_column_verification_still_sees_a_broken_view_elsewhere() {
        let live = "CREATE TABLE a (x INTEGER, y TEXT); CREATE TABLE b (p INTEGER);
                    CREATE VIEW v AS SELECT * FROM gone;";
        let target = "CREATE TABLE a (x INTEGER); CREATE TABLE b (p INTEGER);
                      CREATE VIEW v AS SELECT * FROM gone;";
        let err = generate(
            &db(live),
            &Reserved::default(),
            &model(target),
            1,
            &PlanOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::VerifyFailed { message, .. } if message.contains("view v")),
            "{err}"
        );
    }

    /// The same change verifies once the view resolves, whatever else the schema holds.
    #[test]
    fn drop_column_verifies_next_to_unrelated_tables_and_views() {
        let live = "CREATE TABLE a (x INTEGER, y TEXT); CREATE TABLE b (p INTEGER);
                    CREATE TABLE c (id INTEGER PRIMARY KEY, a_x INTEGER REFERENCES a (x));
                    CREATE VIEW v AS SELECT p FROM b;
                    CREATE TRIGGER tr AFTER INSERT ON b BEGIN SELECT 1; END;";
        let target = "CREATE TABLE a (x INTEGER); CREATE TABLE b (p INTEGER);
                      CREATE TABLE c (id INTEGER PRIMARY KEY, a_x INTEGER REFERENCES a (x));
                      CREATE VIEW v AS SELECT p FROM b;
                      CREATE TRIGGER tr AFTER INSERT ON b BEGIN SELECT 1; END;";
        let m = generate(
            &db(live),
            &Reserved::default(),
            &model(target),
            1,
            &PlanOptions::default(),
        )
        .unwrap()
        .expect("a change");
        assert!(m.up_sql.contains("DROP COLUMN"), "{}", m.up_sql);
    }
}
