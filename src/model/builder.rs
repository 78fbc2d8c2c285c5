//! A Rust builder for the model, for apps that declare their schema in code and ship
//! their own migration binary (`dbm::cli::run_with_model(schema)`) or migrate at start-up.
//!
//! ```
//! use dbm::model::builder::{col, table, SchemaBuilder};
//! let schema = SchemaBuilder::new()
//!     .table(table("user")
//!         .column(col("id", "integer").primary_key())
//!         .column(col("nickname", "string(64)"))
//!         .unique_index("ix_user_nickname", &["nickname"]))
//!     .build()
//!     .unwrap();
//! assert_eq!(schema.tables[0].columns[1].sql_type, "VARCHAR(64)");
//! ```

use super::lower::{Lowering, Shorthands};
use super::types::{known_names, resolve_alias};
use super::validate::validate;
use super::*;
use crate::{Error, Result};

/// Builds a [`Schema`]; `build` checks it like a model file.
#[derive(Debug, Default)]
pub struct SchemaBuilder {
    tables: Vec<TableBuilder>,
    views: Vec<View>,
    triggers: Vec<Trigger>,
}

/// Builds one [`Table`].
#[derive(Debug)]
pub struct TableBuilder {
    table: Table,
    columns: Vec<ColumnBuilder>,
}

/// Builds one [`Column`], with column-level shorthands for keys.
#[derive(Debug, Clone)]
pub struct ColumnBuilder {
    column: Column,
    friendly_type: Option<String>,
    shorthands: Shorthands,
}

/// Starts a table.
pub fn table(name: &str) -> TableBuilder {
    TableBuilder {
        table: Table {
            name: name.to_string(),
            ..Table::default()
        },
        columns: vec![],
    }
}

/// Starts a column with a friendly type (`integer`, `string(64)`, `datetime`, ...); see
/// [`ColumnBuilder::new`] for a declared SQL type taken verbatim.
pub fn col(name: &str, friendly_type: &str) -> ColumnBuilder {
    ColumnBuilder {
        column: Column {
            name: name.to_string(),
            ..Column::default()
        },
        friendly_type: Some(friendly_type.to_string()),
        shorthands: Shorthands::default(),
    }
}

impl ColumnBuilder {
    /// Starts a column whose declared type is `sql_type` verbatim (`""`: no type), as
    /// `sql_type = "..."` in the model file; `#[derive(dbm::Table)]` declares its columns so.
    pub fn new(name: &str, sql_type: &str) -> ColumnBuilder {
        col(name, "").sql_type(sql_type)
    }
    /// Uses a declared SQL type verbatim instead of a friendly one.
    pub fn sql_type(mut self, sql: &str) -> Self {
        self.friendly_type = None;
        self.column.sql_type = sql.to_string();
        self
    }
    /// `NOT NULL`.
    pub fn not_null(mut self) -> Self {
        self.column.not_null = true;
        self
    }
    /// `NOT NULL ON CONFLICT <c>` (implies [`not_null`](Self::not_null)).
    pub fn not_null_on_conflict(mut self, c: Conflict) -> Self {
        self.column.not_null = true;
        self.column.not_null_on_conflict = Some(c);
        self
    }
    /// Default as SQL text: `"0"`, `"'draft'"`, `"CURRENT_TIMESTAMP"`.
    pub fn default_sql(mut self, sql: &str) -> Self {
        self.column.default = Some(sql.to_string());
        self
    }
    /// `COLLATE c` (`"NOCASE"`, `"RTRIM"`, ...).
    pub fn collate(mut self, c: &str) -> Self {
        self.column.collate = Some(c.to_string());
        self
    }
    /// This column alone is the primary key.
    pub fn primary_key(mut self) -> Self {
        self.shorthands.primary_key = true;
        self
    }
    /// `INTEGER PRIMARY KEY AUTOINCREMENT`: rowids are never reused (implies [`primary_key`](Self::primary_key)).
    pub fn autoincrement(mut self) -> Self {
        self.shorthands.primary_key = true;
        self.shorthands.autoincrement = true;
        self
    }
    /// A single-column `UNIQUE` constraint.
    pub fn unique(mut self) -> Self {
        self.shorthands.unique = true;
        self
    }
    /// References `table(column)` (or the table's primary key when `column` is `None`).
    pub fn references(mut self, table: &str, column: Option<&str>) -> Self {
        self.shorthands.references = Some((
            table.to_string(),
            column.map(str::to_string).into_iter().collect(),
        ));
        self
    }
    /// `ON DELETE` action of the reference (see [`references`](Self::references)).
    pub fn on_delete(mut self, a: FkAction) -> Self {
        self.shorthands.on_delete = a;
        self
    }
    /// `ON UPDATE` action of the reference.
    pub fn on_update(mut self, a: FkAction) -> Self {
        self.shorthands.on_update = a;
        self
    }
    /// The reference is checked at COMMIT (`DEFERRABLE INITIALLY DEFERRED`).
    pub fn deferrable(mut self) -> Self {
        self.shorthands.deferrable = true;
        self
    }
    /// A primary-key column in descending order (`id INTEGER PRIMARY KEY DESC`, which SQLite
    /// does not treat as a rowid alias).
    pub fn desc(mut self) -> Self {
        self.shorthands.primary_key = true;
        self.shorthands.desc = true;
        self
    }
    /// A column `CHECK (expr)`; `expr` without its parentheses.
    pub fn check(mut self, expr: &str) -> Self {
        self.shorthands.check = Some(expr.to_string());
        self
    }
    /// The column's previous name: dbm renames it, keeping the data, instead of dropping and adding.
    pub fn renamed_from(mut self, old: &str) -> Self {
        self.column.renamed_from = Some(old.to_string());
        self
    }
    /// `GENERATED ALWAYS AS (expr)`, `STORED` or `VIRTUAL`.
    pub fn generated(mut self, expr: &str, stored: bool) -> Self {
        self.column.generated = Some(Generated {
            expr: expr.to_string(),
            stored,
        });
        self
    }
}

impl TableBuilder {
    /// Adds a column; columns keep the order they are added in.
    pub fn column(mut self, c: ColumnBuilder) -> Self {
        self.columns.push(c);
        self
    }
    /// A table-level (e.g. composite) primary key.
    pub fn primary_key(mut self, cols: &[&str]) -> Self {
        self.table.primary_key = Some(PrimaryKey {
            name: None,
            columns: cols.iter().map(|c| IndexPart::column(*c)).collect(),
            autoincrement: false,
            on_conflict: None,
            inline: false,
        });
        self
    }
    /// Any primary key: named, with `ON CONFLICT`, with `DESC`/`COLLATE` terms.
    pub fn primary_key_constraint(mut self, pk: PrimaryKey) -> Self {
        self.table.primary_key = Some(pk);
        self
    }
    /// `CREATE INDEX name ON t (cols)`.
    pub fn index(self, name: &str, cols: &[&str]) -> Self {
        self.create_index(Index {
            name: name.to_string(),
            unique: false,
            parts: cols.iter().map(|c| IndexPart::column(*c)).collect(),
            where_clause: None,
        })
    }
    /// `CREATE UNIQUE INDEX name ON t (cols)`.
    pub fn unique_index(self, name: &str, cols: &[&str]) -> Self {
        self.create_index(Index {
            name: name.to_string(),
            unique: true,
            parts: cols.iter().map(|c| IndexPart::column(*c)).collect(),
            where_clause: None,
        })
    }
    /// Any index: expression, `DESC` or `COLLATE` terms ([`IndexPart`]), unique or not,
    /// partial (`where_clause`: the SQL after `WHERE`).
    ///
    /// ```
    /// use dbm::model::{Index, IndexPart};
    /// use dbm::{col, table, SchemaBuilder};
    /// let s = SchemaBuilder::new()
    ///     .table(table("user")
    ///         .column(col("email", "text"))
    ///         .column(col("deleted", "boolean"))
    ///         .create_index(Index {
    ///             name: "ix_user_live_email".into(),
    ///             unique: true,
    ///             parts: vec![IndexPart::expr("lower(email)")],
    ///             where_clause: Some("NOT deleted".into()),
    ///         }))
    ///     .build()?;
    /// assert!(s.to_ddl().iter().any(|d| d.contains("WHERE NOT deleted")));
    /// # Ok::<(), dbm::Error>(())
    /// ```
    pub fn create_index(mut self, index: Index) -> Self {
        self.table.indexes.push(index);
        self
    }
    /// A table-level `UNIQUE (..)` constraint.
    pub fn unique(self, cols: &[&str]) -> Self {
        self.unique_constraint(Unique {
            name: None,
            columns: cols.iter().map(|c| IndexPart::column(*c)).collect(),
            on_conflict: None,
        })
    }
    /// Any `UNIQUE` constraint: named, with `ON CONFLICT`, with `DESC`/`COLLATE` terms.
    pub fn unique_constraint(mut self, u: Unique) -> Self {
        self.table.uniques.push(u);
        self
    }
    /// A table-level `CHECK (expr)`, optionally named (`CONSTRAINT name CHECK ..`).
    pub fn check(self, name: Option<&str>, expr: &str) -> Self {
        self.check_constraint(Check {
            name: name.map(str::to_string),
            expr: expr.to_string(),
            column: None,
        })
    }
    /// Any CHECK; with `column` set it is written on that column's definition (which is
    /// what lets SQLite's `DROP COLUMN` drop it with the column).
    pub fn check_constraint(mut self, c: Check) -> Self {
        self.table.checks.push(c);
        self
    }
    /// A table-level (e.g. composite) foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.table.foreign_keys.push(fk);
        self
    }
    /// `WITHOUT ROWID`.
    pub fn without_rowid(mut self) -> Self {
        self.table.without_rowid = true;
        self
    }
    /// `STRICT`: SQLite enforces the declared types.
    pub fn strict(mut self) -> Self {
        self.table.strict = true;
        self
    }
    /// The table's previous name: dbm renames it, keeping the rows, instead of dropping and creating.
    pub fn renamed_from(mut self, old: &str) -> Self {
        self.table.renamed_from = Some(old.to_string());
        self
    }

    /// This table alone: friendly types resolved, column shorthands lowered to constraints.
    /// None of [`SchemaBuilder::build`]'s schema-wide checks run (references, index names,
    /// reserved names), so code that handles single tables, such as the planner's tests,
    /// gets a [`Table`] without declaring a whole valid schema.
    pub(crate) fn build(self) -> Result<Table> {
        let name = self.table.name.clone();
        self.lower().map_err(|message| Error::InvalidModel {
            table: Some(name),
            message,
        })
    }

    fn lower(self) -> Result<Table, String> {
        // Table-level constraints follow the columns' own, in the order the model file
        // gives them, so the builder and the file say the same thing the same way.
        let mut base = self.table;
        let uniques = std::mem::take(&mut base.uniques);
        let checks = std::mem::take(&mut base.checks);
        let foreign_keys = std::mem::take(&mut base.foreign_keys);
        let indexes = std::mem::take(&mut base.indexes);
        let mut t = Lowering::new(base);
        for cb in self.columns {
            let mut c = cb.column;
            if let Some(f) = &cb.friendly_type {
                c.sql_type = resolve_alias(f).ok_or_else(|| {
                    format!(
                        "unknown type `{f}` for column `{}.{}`; known types: {}",
                        t.table.name,
                        c.name,
                        known_names()
                    )
                })?;
            }
            t.column(c, cb.shorthands)?;
        }
        let mut t = t.finish()?;
        t.uniques.extend(uniques);
        t.checks.extend(checks);
        t.foreign_keys.extend(foreign_keys);
        for i in indexes {
            if t.index(&i.name).is_some() {
                return Err(format!("duplicate index `{}`", i.name));
            }
            t.indexes.push(i);
        }
        Ok(t)
    }
}

impl SchemaBuilder {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a table.
    pub fn table(mut self, t: TableBuilder) -> Self {
        self.tables.push(t);
        self
    }
    /// A view from its whole `CREATE VIEW` statement.
    pub fn view(mut self, name: &str, sql: &str) -> Self {
        self.views.push(View {
            name: name.to_string(),
            sql: sql.to_string(),
        });
        self
    }
    /// A trigger from its whole `CREATE TRIGGER` statement.
    pub fn trigger(mut self, name: &str, table: &str, sql: &str) -> Self {
        self.triggers.push(Trigger {
            name: name.to_string(),
            table: table.to_string(),
            sql: sql.to_string(),
        });
        self
    }
    /// Checks the model (types, duplicates, references) and returns it.
    pub fn build(self) -> Result<Schema> {
        let invalid = |table: &str, message: String| Error::InvalidModel {
            table: Some(table.to_string()),
            message,
        };
        let mut s = Schema::default();
        let mut seen = std::collections::HashSet::new();
        for tb in self.tables {
            let name = tb.table.name.clone();
            let t = tb.build()?;
            if !seen.insert(name_key(&t.name)) {
                return Err(invalid(&name, format!("duplicate table `{name}`")));
            }
            s.tables.push(t);
        }
        s.views = self.views;
        s.triggers = self.triggers;
        validate(&s, &Reserved::default()).map_err(|e| invalid(&e.object, e.message))?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_model_file_say_the_same() {
        let built = SchemaBuilder::new()
            .table(
                table("t").column(col("id", "integer").desc()).column(
                    col("p", "integer")
                        .unique()
                        .references("t", Some("id"))
                        .on_delete(FkAction::Cascade)
                        .deferrable()
                        .check("p > 0"),
                ),
            )
            .build()
            .unwrap();
        let parsed = super::super::file::parse(
            r#"[tables.t]
columns = [
  { name = "id", type = "integer", primary_key = true, desc = true },
  { name = "p", type = "integer", unique = true, references = "t(id)", on_delete = "cascade", deferrable = true, check = "p > 0" },
]"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(built, parsed);
        let e = SchemaBuilder::new()
            .table(table("u").column(col("id", "intger")))
            .build()
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidModel { table: Some(t), message } if t == "u" && message.contains("unknown type `intger`")),
            "{e}"
        );
    }

    /// The methods that take whole constraints say what the model file's full forms say,
    /// in the same order (column shorthands first, then the table's own).
    #[test]
    fn builder_constraints_and_model_file_say_the_same() {
        let built = SchemaBuilder::new()
            .table(
                table("t")
                    .unique_constraint(Unique {
                        name: Some("uq".into()),
                        columns: vec![IndexPart::column("a").collate("NOCASE")],
                        on_conflict: Some(Conflict::Replace),
                    })
                    .check_constraint(Check {
                        name: Some("pos".into()),
                        expr: "b > 0".into(),
                        column: Some("b".into()),
                    })
                    .create_index(Index {
                        name: "ix_t_live".into(),
                        unique: true,
                        parts: vec![IndexPart::column("a").desc(), IndexPart::expr("lower(a)")],
                        where_clause: Some("b > 0".into()),
                    })
                    .primary_key_constraint(PrimaryKey {
                        name: Some("pk".into()),
                        columns: vec![IndexPart::column("a"), IndexPart::column("b")],
                        autoincrement: false,
                        on_conflict: Some(Conflict::Abort),
                        inline: false,
                    })
                    .column(ColumnBuilder::new("a", "TEXT").unique())
                    .column(
                        ColumnBuilder::new("b", "INTEGER")
                            .not_null_on_conflict(Conflict::Ignore)
                            .check("b < 100"),
                    ),
            )
            .build()
            .unwrap();
        let parsed = super::super::file::parse(
            r#"[tables.t]
columns = [
  { name = "a", sql_type = "TEXT", unique = true },
  { name = "b", sql_type = "INTEGER", not_null_on_conflict = "ignore", check = "b < 100" },
]
primary_key = { name = "pk", columns = ["a", "b"], on_conflict = "abort" }
unique = [{ name = "uq", columns = [{ column = "a", collate = "NOCASE" }], on_conflict = "replace" }]
checks = [{ name = "pos", expr = "b > 0", column = "b" }]
indexes = [{ name = "ix_t_live", columns = [{ column = "a", desc = true }, { expr = "lower(a)" }], unique = true, where = "b > 0" }]
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(built, parsed);
        let e = table("t")
            .column(col("a", "text"))
            .index("ix", &["a"])
            .unique_index("ix", &["a"])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("duplicate index `ix`"), "{e}");
    }
}
