//! Where a function's cache is found: an expression of its `&'static Cache`, in the body of the
//! function or of its companion.
//!
//! Neither can name the other (which would be `fetch_cache()` at the top of a module,
//! `Self::fetch_cache()` in an impl, and which the attribute cannot tell apart), so each finds
//! the cache through `__private` by what the compiler knows of the function (see
//! `cacher/src/__private/identity.rs`): its site — the path of a marker type declared beside it,
//! its module, name and place, and the attribute's expansion — and the key's names and the
//! options that are data, which its build reads. The site is a constant of the body (promoted;
//! neither a `static` nor a function that makes it, each more to compile per `#[cached]`
//! function), the build a function pointer (`memory_build` of the cache type for a memory-only
//! function whose options are all data, else a nested `fn` or a closure); the function keeps
//! the cache in a `static`, found at first use; a method's static holds one cache per `Self`
//! type (a static in a generic impl is shared by all its types). A plain function's companion
//! keeps none: its site and its build are in the `#[inline]` companion, compiled only where it
//! is called (`companion_cache`).

use std::sync::atomic::{AtomicU32, Ordering};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::expand::{Named, function_name, option};
use crate::func::Func;
use crate::mention::mentions;
use crate::plan::Plan;

/// Which body the cache expression is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finder {
    /// The function's: the cache kept in its static.
    Function,
    /// The companion's: found at each call, nothing kept.
    Companion,
}

/// The attribute's expansions so far in this compilation: each gives its function and its
/// companion one number, which tells apart two functions one `macro_rules!` invocation writes
/// (`line!()` and `column!()` give both the invocation's place, and their names may be alike).
static EXPANSIONS: AtomicU32 = AtomicU32::new(0);

/// The number of the attribute's expansion now under way ([`EXPANSIONS`]), for [`cache`].
pub(crate) fn next_expansion() -> u32 {
    EXPANSIONS.fetch_add(1, Ordering::Relaxed)
}

/// The function's `&'static Cache`, as the body `finder` says; `expansion` is the attribute's
/// ([`next_expansion`]), the same for the function and its companion.
pub(crate) fn cache(
    plan: &Plan,
    func: &Func,
    named: &Named,
    finder: Finder,
    expansion: u32,
) -> TokenStream {
    let site = site(plan, func, expansion);
    let memory = crate::build::memory_init(plan, named);
    let instance = crate::instance::instance(func);
    if finder == Finder::Companion && !func.method && instance.is_none() {
        return companion(plan, func, named, &site, memory);
    }
    let (kept, value) = (&named.kept, &named.value);
    let (init_fn, init) = match memory {
        Some(memory) => (quote!(), memory),
        None => init_fn(named, crate::build::init(plan, func)),
    };
    let marker = quote! {
        // Its path, as `type_name` gives it, is the function's (nested functions included).
        #[allow(dead_code)]
        struct __CacherSite;
        #init_fn
    };
    if let Some(instance) = instance {
        return quote!({
            #marker
            static CACHES: <(#kept, #value) as ::cacher::__private::Statics>::Method =
                ::cacher::__private::PerType::new();
            ::cacher::__private::instance_cache(&CACHES, #instance, &#site, #init)
        });
    }
    if func.method {
        return quote!({
            #marker
            static CACHES: <(#kept, #value) as ::cacher::__private::Statics>::Method =
                ::cacher::__private::PerType::new();
            let (id, self_type) = (
                ::cacher::__private::type_key::<Self>(),
                ::core::any::type_name::<Self>(),
            );
            ::cacher::__private::method_cache(&CACHES, id, self_type, &#site, #init)
        });
    }
    quote!({
        #marker
        static CACHE: <(#kept, #value) as ::cacher::__private::Statics>::Function =
            ::cacher::__private::FunctionSlot::new();
        ::cacher::__private::function_cache(&CACHE, &#site, #init)
    })
}

/// The `Site` of the function, as an expression: `expansion` is appended to its place.
fn site(plan: &Plan, func: &Func, expansion: u32) -> TokenStream {
    let name = function_name(func);
    let persistent = plan.persistent();
    let pinned = option(plan.namespace.as_ref());
    let expansion = Literal::string(&format!("#{expansion}"));
    let (names, options) = crate::build::site_parts(plan, func);
    quote! {
        ::cacher::__private::site!(#name, #expansion, #persistent, #pinned, #names, #options)
    }
}

/// A plain function's companion: its site as a constant, and its build as a function pointer
/// (`memory`, `memory_build` of a memory-only function's cache type, else a closure that
/// captures nothing). The build's closure is checked with the companion's body, whose bounds'
/// checks come first (`expand::checks`): none of its own (rustc would report the same error
/// once anyway).
fn companion(
    plan: &Plan,
    func: &Func,
    named: &Named,
    site: &TokenStream,
    memory: Option<TokenStream>,
) -> TokenStream {
    let init = match memory {
        Some(memory) => memory,
        None => init_closure(named, crate::build::init(plan, func)),
    };
    quote!({
        #[allow(dead_code)]
        struct __CacherSite;
        ::cacher::__private::companion_cache(&#site, #init)
    })
}

/// The build `init` as an `fn` item and the `Init` that names it (for a function whose build is
/// not `memory_build`: `build::memory_init`). Function pointers, not closures: a closure's type is
/// the function's own, and would make the runtime's code that finds the cache a copy per function
/// (compile time); nested `fn` items rather than closures coerced to pointers, which compile to a
/// shim each as well. But a build that names `Self` (`ttl_fn = Self::ttl` on an associated
/// function; not `clock`, which the site lists) cannot be a nested `fn`, which does not see its
/// impl's `Self`: a closure then.
fn init_fn(named: &Named, init: TokenStream) -> (TokenStream, TokenStream) {
    if mentions(init.clone(), &Ident::new("Self", Span::call_site())) {
        return (quote!(), init_closure(named, init));
    }
    // A body of its own, which rustc checks apart: the bounds first again, so that a missing
    // trait is still the one error they report (see `checks`).
    let (cache, checks, params) = (&named.cache, &named.checks, build_params());
    let init_fn = quote!(fn __cacher_init(#params) -> #cache { #checks #init });
    (init_fn, quote!(::cacher::__private::Init(__cacher_init)))
}

/// The build `init` as a closure that captures nothing, coerced to the `Init`'s function
/// pointer: the companion's build, and one that names `Self` ([`init_fn`]).
fn init_closure(named: &Named, init: TokenStream) -> TokenStream {
    let (cache, params) = (&named.cache, build_params());
    quote!(::cacher::__private::Init(|#params| -> #cache { #init }))
}

/// The parameters of a build the expansion writes: the namespace, and its site's names and
/// options (`build::site_parts`), which its settings read.
fn build_params() -> TokenStream {
    quote! {
        namespace: &str,
        __cacher_names: &'static [&'static str],
        __cacher_options: &[::cacher::__private::Opt]
    }
}
