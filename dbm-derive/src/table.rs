use proc_macro2::TokenStream;

pub(crate) fn derive(input: syn::DeriveInput) -> syn::Result<TokenStream> {
    Err(syn::Error::new_spanned(
        &input.ident,
        "#[derive(dbm::Table)] is not implemented yet",
    ))
}
