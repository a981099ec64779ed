//! The `#[cached]` attribute of the `cacher` crate. Use it through `cacher::cached`.

use proc_macro::TokenStream;

/// Placeholder until the attribute lands.
#[proc_macro_attribute]
pub fn cached(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
