//! Procedural macros of dbm (not the unrelated `dbm` crate on crates.io): `#[derive(dbm::Table)]` and
//! `dbm::embed_migrations!`. Use them through the `dbm` crate (feature `derive`), which
//! re-exports both and documents them.

#![warn(missing_docs)]

mod attrs;
mod embed;
mod table;

use proc_macro::TokenStream;

/// Implements `dbm::Table` for a struct: its fields are the table's columns, its
/// `#[dbm(..)]` attributes say what the model file would. Every attribute and the table of
/// Rust types are documented on the `dbm::Table` trait.
#[proc_macro_derive(Table, attributes(dbm))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    table::derive(syn::parse_macro_input!(input as syn::DeriveInput))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Compiles a migration repository into the binary, checked as `dbm upgrade` checks it
/// (a compile error otherwise). See `dbm::embed_migrations!`, which documents it.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    embed::expand(syn::parse_macro_input!(input as syn::LitStr))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
