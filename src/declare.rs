//! The schema declared on the app's own structs: `#[derive(dbm::Table)]` implements
//! [`Table`] and [`schema!`](crate::schema!) collects the tables into a checked
//! [`Schema`](crate::Schema).

use crate::model::builder::{SchemaBuilder, TableBuilder};

/// A struct that declares one table of the model, usually through `#[derive(dbm::Table)]`.
pub trait Table {
    /// The table, as the builder would declare it; [`SchemaBuilder::build`] checks it with
    /// the rest of the schema.
    fn table() -> TableBuilder;
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
