//! The types the expansion writes: the key tuple and the value, as a static names them.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::visit_mut::{self, VisitMut};
use syn::{Lifetime, Type};

use crate::error::Errors;
use crate::func::{Param, Role, ungroup};

/// `'static` everywhere: key and value types are those of a static.
pub(crate) fn static_type(ty: &Type) -> Type {
    with_lifetime(ty, "'static")
}

fn with_lifetime(ty: &Type, lifetime: &str) -> Type {
    let mut ty = ty.clone();
    SetLifetimes(Lifetime::new(lifetime, Span::call_site())).visit_type_mut(&mut ty);
    ty
}

/// `tokens`, every one of them (groups included) at `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                TokenTree::Group(new)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// Replaces every lifetime, named or elided, with one.
struct SetLifetimes(Lifetime);

impl VisitMut for SetLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new(&self.0.to_string(), lifetime.span());
    }

    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(self.0.clone());
        }
        visit_mut::visit_type_reference_mut(self, reference);
    }
}

impl Param {
    /// What a lookup borrows for this argument: `str` for `&str`, `u32` for `u32`,
    /// `Option<&str>` for `Option<&str>`.
    pub(crate) fn target(&self) -> &Type {
        match &self.role {
            Role::Borrowed(referent) => referent,
            Role::Owned | Role::Skip | Role::Converted(_) | Role::Float { .. } => &self.ty,
        }
    }

    /// The type whose key traits the expansion asserts: the owned form for an argument that
    /// holds references, else what a lookup borrows.
    pub(crate) fn checked_type(&self) -> TokenStream {
        match &self.role {
            Role::Converted(shape) => shape.owned_type(),
            Role::Float { float, .. } => quote!(::cacher::Float<#float>),
            _ => static_type(self.target()).to_token_stream(),
        }
    }

    /// The argument's part of the key tuple: `String` for `&str`, `Vec<T>` for `&[T]`, the
    /// `ToOwned::Owned` of any other `&T`, by-value types as they are, and the owned form of
    /// those that hold references (`Option<String>` for `Option<&str>`).
    pub(crate) fn owned_type(&self) -> TokenStream {
        match &self.role {
            Role::Converted(shape) => return shape.owned_type(),
            Role::Float { float, .. } => return quote!(::cacher::Float<#float>),
            _ => {}
        }
        let target = static_type(self.target());
        match (&self.role, ungroup(&target)) {
            (Role::Owned | Role::Skip | Role::Converted(_) | Role::Float { .. }, ty) => {
                quote!(#ty)
            }
            (Role::Borrowed(_), Type::Path(path))
                if path.qself.is_none() && path.path.is_ident("str") =>
            {
                quote!(::std::string::String)
            }
            (Role::Borrowed(_), Type::Slice(slice)) => {
                let elem = &slice.elem;
                quote!(::std::vec::Vec<#elem>)
            }
            (Role::Borrowed(_), ty) => quote!(<#ty as ::std::borrow::ToOwned>::Owned),
        }
    }
}

/// The return type: a future is refused as one (what to write is `async fn`), any other as a
/// static's type ([`check_static_type`]).
pub(crate) fn check_return_type(
    sig: &syn::Signature,
    ret: &Type,
    generics: &[Ident],
    errors: &mut Errors,
) {
    let Some(output) = future_output(ungroup(ret)) else {
        return check_static_type(ret, generics, "return", errors);
    };
    let name = &sig.ident;
    let output = output.map_or_else(|| "T".to_string(), |ty| ty.to_token_stream().to_string());
    let message = match sig.asyncness {
        Some(_) => format!(
            "`{name}`'s output is a future, which runs once and cannot be cached: return `{output}` itself from the `async fn`"
        ),
        None => format!(
            "`{name}` returns a future, which runs once and cannot be cached: write `async fn {name}(…) -> {output}` (cacher's `tokio` feature), whose output is cached"
        ),
    };
    errors.at(ret, message);
}

/// `Some` for a future — `impl Future<Output = T>`, `Pin<Box<dyn Future<Output = T>>>`,
/// `BoxFuture<'_, T>` — with its output type when it is written.
fn future_output(ty: &Type) -> Option<Option<&Type>> {
    match ty {
        Type::ImplTrait(bounds) => future_bound(&bounds.bounds),
        Type::TraitObject(object) => future_bound(&object.bounds),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let mut types = args.args.iter().filter_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => Some(ty),
                _ => None,
            });
            match last.ident.to_string().as_str() {
                "Pin" | "Box" => future_output(ungroup(types.next()?)),
                "BoxFuture" | "LocalBoxFuture" => Some(types.last()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The `Future<Output = T>` among a trait object's or `impl Trait`'s bounds.
fn future_bound(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Option<Option<&Type>> {
    bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" && last.ident != "IntoFuture" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return Some(None);
        };
        Some(args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        }))
    })
}

/// Key and value types end up in a static: no `impl Trait`, no `Self`, no generic parameter.
pub(crate) fn check_static_type(ty: &Type, generics: &[Ident], what: &str, errors: &mut Errors) {
    let mut found = None;
    find_forbidden(ty.to_token_stream(), generics, &mut found);
    let Some(token) = found else { return };
    let name = token.to_string();
    let message = if name == "impl" {
        format!(
            "#[cached] cannot cache a function with an `impl Trait` {what} type: its cache is one static, which needs a concrete type; name the type{}",
            if what == "argument" {
                ", or mark the argument `#[cached(skip)]`"
            } else {
                ""
            }
        )
    } else if name == "Self" {
        format!(
            "the cache is a static, which cannot name `Self`: write the type's name instead of `Self` in this {what} type"
        )
    } else {
        format!(
            "the cache is a static, whose key and value types cannot name `{name}`: make the function concrete{}",
            if what == "argument" {
                format!(
                    ", or mark this argument `#[cached(skip)]` (each `{name}` then has a cache of its own)"
                )
            } else {
                String::new()
            }
        )
    };
    errors.push(syn::Error::new(token.span(), message));
}

/// The first `impl`, `Self` or generic parameter name among `tokens`.
fn find_forbidden(tokens: TokenStream, generics: &[Ident], found: &mut Option<Ident>) {
    for tree in tokens {
        if found.is_some() {
            return;
        }
        match tree {
            TokenTree::Ident(ident) if ident == "impl" || ident == "Self" => *found = Some(ident),
            TokenTree::Ident(ident) if generics.contains(&ident) => *found = Some(ident),
            TokenTree::Group(group) => find_forbidden(group.stream(), generics, found),
            _ => {}
        }
    }
}
