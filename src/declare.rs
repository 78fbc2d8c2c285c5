//! The schema declared on the app's own structs: `#[derive(dbm::Table)]` implements
//! [`Table`] and [`schema!`](crate::schema!) collects the tables into a checked
//! [`Schema`](crate::Schema).

use crate::model::builder::{SchemaBuilder, TableBuilder};

#[doc = include_str!("declare/table.md")]
pub trait Table {
    /// The table, as the builder would declare it; [`SchemaBuilder::build`] checks it with
    /// the rest of the schema.
    fn table() -> TableBuilder;
}

/// The declared SQL type `#[derive(dbm::Table)]` gives a field of this Rust type when the
/// field has no `#[dbm(sql_type = "...")]`. `Option<T>` is not one of them: the derive
/// reads `Option<..>` as "nullable" and maps `T`.
///
/// Implement it for the app's own types (a newtype id, an enum stored as text) to use them
/// without `sql_type`:
///
/// ```
/// struct UserId(i64);
/// impl dbm::SqlType for UserId {
///     const SQL_TYPE: &'static str = "INTEGER";
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no SQL type: give the field `#[dbm(sql_type = \"...\")]` or implement `dbm::SqlType` for it",
    label = "no SQL type for `{Self}`",
    note = "dbm maps integers to INTEGER, f32/f64 to REAL, bool to BOOLEAN, String to TEXT, Vec<u8> to BLOB, and Option<T> to a nullable T"
)]
pub trait SqlType {
    /// The declared type, as it goes into `CREATE TABLE`.
    const SQL_TYPE: &'static str;
    /// The declared type in a `STRICT` table, which accepts only `INT`, `INTEGER`, `REAL`,
    /// `TEXT`, `BLOB` and `ANY` (`bool` is `INTEGER` there).
    const STRICT_SQL_TYPE: &'static str = Self::SQL_TYPE;
}

/// The SQL type of a field's Rust type; the marker `F` names the field, so that the
/// error for an unmapped type says which field it is.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "field `{F}`: `{Self}` has no SQL type; give the field `#[dbm(sql_type = \"...\")]` or implement `dbm::SqlType` for `{Self}`",
    label = "no SQL type for `{Self}`",
    note = "dbm maps integers to INTEGER, f32/f64 to REAL, bool to BOOLEAN, String to TEXT, Vec<u8> to BLOB, and Option<T> to a nullable T"
)]
pub trait FieldType<F> {
    const SQL_TYPE: &'static str;
    const STRICT_SQL_TYPE: &'static str;
}

impl<F, T: SqlType + ?Sized> FieldType<F> for T {
    const SQL_TYPE: &'static str = T::SQL_TYPE;
    const STRICT_SQL_TYPE: &'static str = T::STRICT_SQL_TYPE;
}

macro_rules! sql_types {
    ($sql:literal: $($t:ty),*) => {
        $(impl SqlType for $t {
            const SQL_TYPE: &'static str = $sql;
        })*
    };
}

sql_types!("INTEGER": i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);
sql_types!("REAL": f32, f64);
sql_types!("TEXT": String);
sql_types!("BLOB": Vec<u8>);

impl SqlType for bool {
    const SQL_TYPE: &'static str = "BOOLEAN";
    const STRICT_SQL_TYPE: &'static str = "INTEGER";
}

impl SchemaBuilder {
    /// Adds the table a [`Table`] type declares, so derived tables compose with views and
    /// triggers declared in the builder.
    pub fn derived<T: Table>(self) -> Self {
        self.table(T::table())
    }
}

/// The checked schema of the given [`Table`] types: `dbm::schema![User, Post]` is
/// `SchemaBuilder::new().derived::<User>().derived::<Post>().build()`.
#[macro_export]
macro_rules! schema {
    ($($t:ty),* $(,)?) => {
        $crate::SchemaBuilder::new()$(.derived::<$t>())*.build()
    };
}
