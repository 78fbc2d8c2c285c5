use proc_macro2::TokenStream;

pub(crate) fn expand(path: syn::LitStr) -> syn::Result<TokenStream> {
    Err(syn::Error::new(
        path.span(),
        "embed_migrations! is not implemented yet",
    ))
}
