//! `#[derive(dbm::Table)]`: the struct's `#[dbm(..)]` attributes read into plain data
//! (`attrs`), checked against the struct's columns, then written out as calls to dbm's
//! table builder. Everything the derive can check alone is a compile error pointing at the
//! attribute; what needs the whole schema (a referenced table exists) is checked by
//! `SchemaBuilder::build`, which the model file goes through too.

use crate::attrs::{self, Action, Conflict, FieldAttrs, Part, StructAttrs};
use heck::ToSnakeCase;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr, Type};

/// One column: the field it comes from and what its attributes say.
struct Column {
    field: syn::Ident,
    name: String,
    ty: Type,
    nullable: bool,
    attrs: FieldAttrs,
}

pub(crate) fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            Fields::Unnamed(_) | Fields::Unit => return Err(syn::Error::new_spanned(
                &input.ident,
                "#[derive(dbm::Table)] needs a struct with named fields: each field is a column",
            )),
        },
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "#[derive(dbm::Table)] works on structs (a table), not on enums",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "#[derive(dbm::Table)] works on structs (a table), not on unions",
            ))
        }
    };

    let mut errors = Errors::default();
    let table = errors.take(attrs::struct_attrs(&input.attrs));
    let mut columns = vec![];
    for f in fields {
        let Some(a) = errors.take(attrs::field_attrs(&f.attrs)) else {
            continue;
        };
        if a.skip.is_some() {
            continue;
        }
        let field = f.ident.clone().expect("named field");
        let (nullable, inner) = match option_inner(&f.ty) {
            Some(t) => (true, t.clone()),
            None => (false, f.ty.clone()),
        };
        let name = a
            .name
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_else(|| field.unraw().to_string());
        if nullable {
            if let Some(c) = &a.not_null_on_conflict {
                errors.push(syn::Error::new(
                    c.span,
                    "`not_null_on_conflict` makes the column NOT NULL, but the field is an `Option`",
                ));
            }
        }
        columns.push(Column {
            field,
            name,
            ty: inner,
            nullable,
            attrs: a,
        });
    }
    let table = errors.finish(table)?;
    if columns.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(dbm::Table)]: the table has no columns (every field is skipped)",
        ));
    }
    check_columns(&table, &columns)?;
    Ok(expand(&input, &table, &columns))
}

/// Reports every attribute error at once, not only the first.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn take<T>(&mut self, r: syn::Result<T>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }
    fn finish<T>(self, value: Option<T>) -> syn::Result<T> {
        match (self.0, value) {
            (Some(e), _) => Err(e),
            (None, Some(v)) => Ok(v),
            (None, None) => unreachable!("a failed parse pushed its error"),
        }
    }
}

/// `T` of `Option<T>` (also written `std::option::Option<T>`), read syntactically: a type
/// alias of an `Option` is not seen as one (it then needs `sql_type`, or is a compile error
/// since `Option` has no [`SqlType`]).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let is_option = match segs.as_slice() {
        [o] => o == "Option",
        [std, m, o] => (std == "std" || std == "core") && m == "option" && o == "Option",
        _ => false,
    };
    if !is_option {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(t)] => Some(t),
        _ => None,
    }
}

/// Struct-level attributes name columns: each must be one of the struct's.
fn check_columns(table: &StructAttrs, columns: &[Column]) -> syn::Result<()> {
    let mut errors = Errors::default();
    let known = |lit: &LitStr| -> syn::Result<()> {
        let want = lit.value();
        if columns.iter().any(|c| c.name.eq_ignore_ascii_case(&want)) {
            return Ok(());
        }
        let mut msg = format!("no column `{want}` in this table");
        if let Some(c) = columns.iter().find(|c| c.field.unraw() == want) {
            msg.push_str(&format!(
                "; field `{want}` is column `{}` (keys and indexes name columns)",
                c.name
            ));
        } else {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            msg.push_str(&format!("; its columns are: {}", names.join(", ")));
        }
        Err(syn::Error::new(lit.span(), msg))
    };
    let parts = |ps: &[Part], errors: &mut Errors| {
        for p in ps {
            if let Some(c) = &p.column {
                if let Err(e) = known(c) {
                    errors.push(e);
                }
            }
        }
    };
    if let Some(k) = &table.primary_key {
        parts(&k.parts, &mut errors);
        if let Some(c) = columns.iter().find(|c| c.attrs.is_primary_key()) {
            errors.push(syn::Error::new(
                k.span,
                format!(
                    "the primary key is given twice: here and by field `{}` (`#[dbm(primary_key)]`)",
                    c.field
                ),
            ));
        }
    }
    for k in &table.uniques {
        parts(&k.parts, &mut errors);
    }
    for i in &table.indexes {
        parts(&i.parts, &mut errors);
    }
    for fk in &table.foreign_keys {
        for c in &fk.columns {
            if let Err(e) = known(c) {
                errors.push(e);
            }
        }
    }
    for c in &table.checks {
        if let Some(col) = &c.column {
            if let Err(e) = known(col) {
                errors.push(e);
            }
        }
    }
    if table.without_rowid.is_some()
        && table.primary_key.is_none()
        && !columns.iter().any(|c| c.attrs.is_primary_key())
    {
        errors.push(syn::Error::new(
            table.without_rowid.unwrap_or_else(Span::call_site),
            "a WITHOUT ROWID table needs a primary key",
        ));
    }
    errors.finish(Some(()))
}

fn opt_str(s: &Option<LitStr>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(::std::string::String::from(#s))),
        None => quote!(::core::option::Option::None),
    }
}

fn action(a: Option<&Action>) -> TokenStream {
    let v = match a.map(|a| a.value) {
        None | Some(attrs::FkAction::NoAction) => quote!(NoAction),
        Some(attrs::FkAction::Restrict) => quote!(Restrict),
        Some(attrs::FkAction::SetNull) => quote!(SetNull),
        Some(attrs::FkAction::SetDefault) => quote!(SetDefault),
        Some(attrs::FkAction::Cascade) => quote!(Cascade),
    };
    quote!(::dbm::model::FkAction::#v)
}

fn conflict(c: &Conflict) -> TokenStream {
    let v = format_ident!("{}", c.variant());
    quote!(::dbm::model::Conflict::#v)
}

fn opt_conflict(c: &Option<Conflict>) -> TokenStream {
    match c {
        Some(c) => {
            let c = conflict(c);
            quote!(::core::option::Option::Some(#c))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn parts(ps: &[Part]) -> TokenStream {
    let ps = ps.iter().map(|p| {
        let mut t = match (&p.column, &p.expr) {
            (Some(c), _) => quote!(::dbm::model::IndexPart::column(#c)),
            (None, Some(e)) => quote!(::dbm::model::IndexPart::expr(#e)),
            (None, None) => unreachable!("attrs checks a term has a column or an expression"),
        };
        if p.desc {
            t.extend(quote!(.desc()));
        }
        if let Some(c) = &p.collate {
            t.extend(quote!(.collate(#c)));
        }
        t
    });
    quote!(::std::vec![#(#ps),*])
}

fn strings<T: quote::ToTokens>(ss: &[T]) -> TokenStream {
    quote!(::std::vec![#(::std::string::String::from(#ss)),*])
}

fn expand(input: &DeriveInput, table: &StructAttrs, columns: &[Column]) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let table_name = table
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| ident.unraw().to_string().to_snake_case());
    let strict = table.strict.is_some();

    let mut calls = TokenStream::new();
    if let Some(r) = &table.renamed_from {
        calls.extend(quote!(.renamed_from(#r)));
    }
    if strict {
        calls.extend(quote!(.strict()));
    }
    if table.without_rowid.is_some() {
        calls.extend(quote!(.without_rowid()));
    }

    // One marker type per field, so an unmapped field type's error names the field.
    let markers: Vec<syn::Ident> = columns
        .iter()
        .map(|c| syn::Ident::new_raw(&c.field.unraw().to_string(), c.field.span()))
        .collect();
    for (c, marker) in columns.iter().zip(&markers) {
        let name = &c.name;
        let a = &c.attrs;
        let ty = &c.ty;
        let sql_type = match &a.sql_type {
            Some(s) => quote!(#s),
            None => {
                let konst = if strict {
                    quote!(STRICT_SQL_TYPE)
                } else {
                    quote!(SQL_TYPE)
                };
                quote_spanned!(ty.span()=>
                    <#ty as ::dbm::__private::FieldType<__dbm_fields::#marker>>::#konst)
            }
        };
        let mut col = quote!(::dbm::ColumnBuilder::new(#name, #sql_type));
        if let Some(c) = &a.not_null_on_conflict {
            let c = conflict(c);
            col.extend(quote!(.not_null_on_conflict(#c)));
        } else if !c.nullable {
            col.extend(quote!(.not_null()));
        }
        if let Some(d) = &a.default {
            col.extend(quote!(.default_sql(#d)));
        }
        if let Some(s) = &a.collate {
            col.extend(quote!(.collate(#s)));
        }
        if let Some(g) = &a.generated {
            let stored = a.stored.is_some();
            col.extend(quote!(.generated(#g, #stored)));
        }
        if a.primary_key.is_some() {
            col.extend(quote!(.primary_key()));
        }
        if a.autoincrement.is_some() {
            col.extend(quote!(.autoincrement()));
        }
        if a.desc.is_some() {
            col.extend(quote!(.desc()));
        }
        // `unique` with `index` is a unique index (SQLAlchemy's `index=True, unique=True`),
        // not a UNIQUE constraint.
        if a.unique.is_some() && a.index.is_none() {
            col.extend(quote!(.unique()));
        }
        if let Some(r) = &a.references {
            let t = &r.table;
            let c = match r.columns.first() {
                Some(c) => quote!(::core::option::Option::Some(#c)),
                None => quote!(::core::option::Option::None),
            };
            col.extend(quote!(.references(#t, #c)));
        }
        if let Some(act) = &a.on_delete {
            let act = action(Some(act));
            col.extend(quote!(.on_delete(#act)));
        }
        if let Some(act) = &a.on_update {
            let act = action(Some(act));
            col.extend(quote!(.on_update(#act)));
        }
        if a.deferrable.is_some() {
            col.extend(quote!(.deferrable()));
        }
        if let Some(e) = &a.check {
            col.extend(quote!(.check(#e)));
        }
        if let Some(r) = &a.renamed_from {
            col.extend(quote!(.renamed_from(#r)));
        }
        calls.extend(quote!(.column(#col)));
    }
    for c in columns {
        if let Some(ix) = &c.attrs.index {
            let index_name = ix
                .name
                .as_ref()
                .map(LitStr::value)
                .unwrap_or_else(|| format!("ix_{table_name}_{}", c.name));
            let col = &c.name;
            let unique = c.attrs.unique.is_some();
            calls.extend(quote!(.create_index(::dbm::model::Index {
                name: ::std::string::String::from(#index_name),
                unique: #unique,
                parts: ::std::vec![::dbm::model::IndexPart::column(#col)],
                where_clause: ::core::option::Option::None,
            })));
        }
    }
    if let Some(k) = &table.primary_key {
        let name = opt_str(&k.name);
        let ps = parts(&k.parts);
        let on_conflict = opt_conflict(&k.on_conflict);
        calls.extend(quote!(.primary_key_constraint(::dbm::model::PrimaryKey {
            name: #name,
            columns: #ps,
            autoincrement: false,
            on_conflict: #on_conflict,
            inline: false,
        })));
    }
    for k in &table.uniques {
        let name = opt_str(&k.name);
        let ps = parts(&k.parts);
        let on_conflict = opt_conflict(&k.on_conflict);
        calls.extend(quote!(.unique_constraint(::dbm::model::Unique {
            name: #name,
            columns: #ps,
            on_conflict: #on_conflict,
        })));
    }
    for c in &table.checks {
        let name = opt_str(&c.name);
        let expr = &c.expr;
        let column = opt_str(&c.column);
        calls.extend(quote!(.check_constraint(::dbm::model::Check {
            name: #name,
            expr: ::std::string::String::from(#expr),
            column: #column,
        })));
    }
    for fk in &table.foreign_keys {
        let name = opt_str(&fk.name);
        let cols = strings(&fk.columns);
        let ref_table = &fk.references.table;
        let ref_cols = strings(&fk.references.columns);
        let on_delete = action(fk.on_delete.as_ref());
        let on_update = action(fk.on_update.as_ref());
        let deferred = fk.deferrable.is_some();
        calls.extend(quote!(.foreign_key(::dbm::model::ForeignKey {
            name: #name,
            columns: #cols,
            ref_table: ::std::string::String::from(#ref_table),
            ref_columns: #ref_cols,
            on_delete: #on_delete,
            on_update: #on_update,
            deferred: #deferred,
        })));
    }
    for i in &table.indexes {
        let name = &i.name;
        let unique = i.unique.is_some();
        let ps = parts(&i.parts);
        let where_clause = opt_str(&i.where_clause);
        calls.extend(quote!(.create_index(::dbm::model::Index {
            name: ::std::string::String::from(#name),
            unique: #unique,
            parts: #ps,
            where_clause: #where_clause,
        })));
    }

    quote! {
        impl #impl_generics ::dbm::Table for #ident #ty_generics #where_clause {
            fn table() -> ::dbm::TableBuilder {
                #[allow(non_camel_case_types, dead_code)]
                mod __dbm_fields {
                    #(pub struct #markers;)*
                }
                ::dbm::table(#table_name)#calls
            }
        }
    }
}
