//! The `cached` crate's other attributes, `#[once]` and `#[io_cached]`, which `#[cached]`
//! covers: code ported from `cached` that imports them gets one error, at the attribute, that
//! says what to write — rather than rustc's unresolved import, which suggests importing
//! `cached` twice. The function is kept as written, so that its calls add no error.

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// `#[once]`: one value for every call.
pub(crate) fn once(item: TokenStream) -> TokenStream {
    refuse(
        "cacher has no `#[once]`: write `#[cached]`. A function without arguments is computed once (its key is `()`); for one whose first value should serve every call, mark its arguments `#[cached(skip)]`. `once`'s `time = 60` is `ttl = \"60s\"`",
        item,
    )
}

/// `#[io_cached]`: a cache on disk or in Redis.
pub(crate) fn io_cached(args: &TokenStream, item: TokenStream) -> TokenStream {
    let redis = args
        .to_string()
        .split([' ', ',', '('])
        .any(|word| word == "redis");
    let backend = match redis {
        true => "#[cached(backend = \"redis\")]` (cacher's `redis` feature)",
        false => {
            "#[cached(backend = \"file\")]` (`backend = \"store\"`: one embedded database; `\"redis\"`: Redis)"
        }
    };
    refuse(
        &format!(
            "cacher has no `#[io_cached]`: `#[cached]` caches on disk and in Redis too: write `{backend}. The function's `Err` is returned as it is and never cached, so `map_error` has no counterpart; `disk_dir` is `cache_dir`"
        ),
        item,
    )
}

/// One error at the attribute, and the item unchanged.
fn refuse(message: &str, item: TokenStream) -> TokenStream {
    let error = syn::Error::new(Span::call_site(), message).to_compile_error();
    quote!(#error #item)
}
