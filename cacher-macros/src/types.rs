//! The types the expansion writes: the key tuple and the value, as a static names them.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::visit_mut::{self, VisitMut};
use syn::{Lifetime, Type};

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
