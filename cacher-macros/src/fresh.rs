//! Freshness options of `#[cached]`: the rules between them (`stale_while_revalidate` and
//! `stale_if_error` need a ttl, `error_backoff` needs a stale entry to serve, `clock` something
//! that reads it), the rule between `stale_while_revalidate` and the function (the background
//! refresh owns copies of the arguments), and the refresh closure that the lookup hands to the
//! cache.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ReturnType, Type};

use crate::attr::{Backend, Options};
use crate::error::Errors;
use crate::func::{Func, Role};
use crate::plan::Plan;

impl Options {
    /// Options of freshness that need another.
    pub(crate) fn check_freshness(&self, errors: &mut Errors) {
        let ttl = self.ttl.is_some() || self.ttl_fn.is_some();
        if let (Some(grace), false) = (&self.stale_if_error, ttl) {
            errors.at(
                &grace.meta,
                "`stale_if_error` needs a `ttl` (entries without one never go stale): add e.g. `ttl = \"1h\"`",
            );
        }
        if let (Some(window), false) = (&self.stale_while_revalidate, ttl) {
            errors.at(
                &window.meta,
                "`stale_while_revalidate` needs a `ttl` (entries without one never go stale): add e.g. `ttl = \"1h\"`",
            );
        }
        let serves_stale = self.stale_if_error.is_some() || self.stale_while_revalidate.is_some();
        if let (Some(backoff), false) = (&self.error_backoff, serves_stale) {
            errors.at(
                &backoff.meta,
                "`error_backoff` spaces the calls of a failing function while a stale entry is served, and this cache serves none: add `stale_if_error = \"10m\"` or `stale_while_revalidate = \"10m\"`, or remove it",
            );
        }
    }

    /// A `clock` that nothing reads would do nothing: in a memory-only cache, only the ttls, the
    /// idle time and the rate limit read it (persistent tiers also stamp their entries' times).
    pub(crate) fn check_clock(&self, tiers: &[Backend], errors: &mut Errors) {
        let Some(clock) = &self.clock else { return };
        let timed = self.ttl.is_some()
            || self.ttl_fn.is_some()
            || self.time_to_idle.is_some()
            || self.rate_limit.is_some();
        if !timed && tiers.iter().all(|tier| *tier == Backend::Memory) {
            errors.at(
                &clock.meta,
                "`clock` is the time that `ttl`, `ttl_fn`, `time_to_idle` and `rate_limit` read, and this cache has none of them: add e.g. `ttl = \"1h\"`, or remove it",
            );
        }
    }
}

/// The refresh runs after the call returned: it cannot borrow what the call borrowed.
pub(crate) fn check_refreshable(func: &Func, errors: &mut Errors) {
    if func.method {
        errors.at(
            &func.item.sig.ident,
            "`stale_while_revalidate` refreshes in the background after the call returns, and a method's `self` is borrowed for the call only: cache a free function of owned arguments, or remove the option",
        );
    }
    for param in &func.params {
        let borrowing = match &param.role {
            Role::Converted(_) => true,
            Role::Skip => matches!(param.ty, Type::Reference(_)),
            Role::Owned | Role::Borrowed(_) | Role::Float { .. } => false,
        };
        if borrowing {
            let name = &param.ident;
            errors.at(
                &param.ty,
                format!("`stale_while_revalidate` refreshes in the background with owned copies of the arguments, and `{name}` holds references it cannot copy: take it by value (an `Arc` for a shared client), or remove the option"),
            );
        }
    }
}

/// The body as a function that owns copies of its arguments, `Send + 'static`, for
/// `try_get_or_refresh`: the cache runs it in the caller on a miss, or in the background to
/// refresh a stale entry.
pub(crate) fn refresh_compute(func: &Func, by_trait: bool) -> TokenStream {
    let mut owned = Vec::new();
    let mut rebound = Vec::new();
    for p in &func.params {
        let (ident, mutability) = (&p.ident, &p.mutability);
        match &p.role {
            // The key borrows the original; the refresh owns a clone.
            Role::Owned | Role::Float { by_ref: false, .. } => {
                owned.push(quote!(let #ident = ::core::clone::Clone::clone(&#ident);));
                rebound.push(quote!(#[allow(unused_mut)] let #mutability #ident = #ident;));
            }
            Role::Borrowed(target) => {
                owned.push(quote!(let #ident = ::std::borrow::ToOwned::to_owned(#ident);));
                rebound
                    .push(quote!(let #ident: &#target = ::core::borrow::Borrow::borrow(&#ident);));
            }
            Role::Float {
                by_ref: true,
                float,
            } => {
                owned.push(quote!(let #ident: #float = *#ident;));
                rebound.push(quote!(let #ident: &#float = &#ident;));
            }
            // Moved in as it is (refused above when it is a reference).
            Role::Skip | Role::Converted(_) => {}
        }
    }
    let block = &func.item.block;
    let body = &block.stmts;
    if func.is_async() {
        let future = crate::expand::async_body(func, quote!(#(#rebound)* #(#body)*));
        let future = match by_trait {
            true => quote!(::cacher::__private::fallible_async(#future)),
            false => future,
        };
        return quote!({ #(#owned)* move || #future });
    }
    let ret = match &func.item.sig.output {
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
        ReturnType::Default => quote!(),
    };
    let compute = quote!(move || #ret { #(#rebound)* #(#body)* });
    match by_trait {
        true => quote!({ #(#owned)* move || ::cacher::__private::fallible(#compute) }),
        false => quote!({ #(#owned)* #compute }),
    }
}

/// The parts of the build that name the value type but its persistent tiers: `ttl_fn`, if any.
pub(crate) fn typed(plan: &Plan) -> TokenStream {
    let typed = quote!(::cacher::__private::Typed::NEW);
    match &plan.ttl_fn {
        Some(path) => {
            // Spanned at the path, where a function of the wrong type is reported.
            let ttl_fn = quote_spanned!(path.span()=> ::cacher::__private::ttl_fn(#path));
            quote!(#typed.ttl_fn(#ttl_fn))
        }
        None => typed,
    }
}
