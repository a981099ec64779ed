//! Whether a return type is a `Result`, asked of the compiler where the attribute cannot tell
//! from its name.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::spanned::Spanned;

use crate::func::{Func, Output};

/// For a return type taken for a value (`result` not given), the compiler's check that it is
/// no `Result` by another name (`type Res<T> = Result<T, E>`), whose `Err`s would be cached:
/// one error at the return type, saying to write `result = …`. In a closure never called, so
/// that it costs no code. The probe's method has a name of cacher's own, which no trait of the
/// user's in scope shadows (`__private/not_result.rs`).
pub(crate) fn not_result(func: &Func) -> TokenStream {
    if func.result_said || func.unsure || !matches!(func.output, Output::Value(_)) {
        return TokenStream::new();
    }
    let ret = &func.ret;
    quote_spanned! {ret.span()=>
        let _ = || {
            ::cacher::__private::require_not_result(
                ::cacher::__private::Probe::<#ret>::NEW.cacher_result_kind(),
            )
        };
    }
}
