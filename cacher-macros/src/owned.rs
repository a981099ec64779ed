//! Arguments that hold references without being one (`Option<&str>`, `(u32, &str)`,
//! `Vec<&str>`, `&[&str]`): the cache keeps keys beyond the call, so it keys each by its owned
//! form (`Option<String>`, `(u32, String)`, `Vec<String>`), as it keys `&str` by `String`. The
//! expansion makes the owned form, and compares a borrowed argument with one, by the shape of
//! the type as written.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::visit::{self, Visit};
use syn::{Expr, GenericArgument, Index, Lifetime, PathArguments, Type, TypeReference};

use crate::func::ungroup;
use crate::types::static_type;

/// The shape of an argument type that borrows, down to the parts that do not.
pub(crate) enum Shape {
    /// A part that owns its data: cloned.
    Owned(Type),
    /// `&T` (or `Cow<'_, T>`) with `T` owning its data: `T`'s `ToOwned` form (`String` for
    /// `str`, `Vec<U>` for `[U]`).
    Ref {
        referent: Type,
        cow: bool,
    },
    /// `&T` where `T` itself borrows: keyed as `T` is.
    Deref(Box<Shape>),
    Option(Box<Shape>),
    Tuple(Vec<Shape>),
    /// `Vec<T>`, or `[T]` behind a reference: a `Vec` of the owned parts.
    Seq(Box<Shape>),
    Array(Box<Shape>, Expr),
}

/// The first reference or lifetime in `ty` that is not `'static`: what makes a type borrow.
pub(crate) fn borrowed_part(ty: &Type) -> Option<TokenStream> {
    #[derive(Default)]
    struct Find(Option<TokenStream>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_type_reference(&mut self, reference: &'ast TypeReference) {
            let is_static = reference
                .lifetime
                .as_ref()
                .is_some_and(|l| l.ident == "static");
            if self.0.is_none() && !is_static {
                self.0 = Some(reference.to_token_stream());
            }
            visit::visit_type_reference(self, reference);
        }
        fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
            if self.0.is_none() && lifetime.ident != "static" {
                self.0 = Some(lifetime.to_token_stream());
            }
        }
    }
    let mut find = Find::default();
    find.visit_type(ty);
    find.0
}

impl Shape {
    /// The shape of `ty`, or the part of it whose owned form cannot be made.
    pub(crate) fn of(ty: &Type) -> Result<Shape, &Type> {
        let ty = ungroup(ty);
        if borrowed_part(ty).is_none() {
            return Ok(Shape::Owned(ty.clone()));
        }
        match ty {
            Type::Reference(r) if r.mutability.is_some() => Err(ty),
            Type::Reference(r) if borrowed_part(&r.elem).is_none() => Ok(Shape::Ref {
                referent: (*r.elem).clone(),
                cow: false,
            }),
            Type::Reference(r) => Ok(Shape::Deref(Box::new(Shape::of(&r.elem)?))),
            Type::Tuple(tuple) => Ok(Shape::Tuple(
                tuple
                    .elems
                    .iter()
                    .map(Shape::of)
                    .collect::<Result<_, _>>()?,
            )),
            Type::Slice(slice) => Ok(Shape::Seq(Box::new(Shape::of(&slice.elem)?))),
            Type::Array(array) => Ok(Shape::Array(
                Box::new(Shape::of(&array.elem)?),
                array.len.clone(),
            )),
            Type::Path(_) => Shape::of_path(ty),
            _ => Err(ty),
        }
    }

    /// `Option<T>`, `Vec<T>` and `Cow<'_, T>`, by their last segment.
    fn of_path(ty: &Type) -> Result<Shape, &Type> {
        let Type::Path(path) = ty else { return Err(ty) };
        let Some(last) = path.path.segments.last() else {
            return Err(ty);
        };
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return Err(ty);
        };
        let types: Vec<&Type> = args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect();
        let name = last.ident.to_string();
        match (name.as_str(), types.as_slice()) {
            ("Option", [inner]) => Ok(Shape::Option(Box::new(Shape::of(inner)?))),
            ("Vec", [inner]) => Ok(Shape::Seq(Box::new(Shape::of(inner)?))),
            ("Cow", [inner]) if borrowed_part(inner).is_none() => Ok(Shape::Ref {
                referent: (*inner).clone(),
                cow: true,
            }),
            _ => Err(ty),
        }
    }

    /// The owned form's type, as a static names it.
    pub(crate) fn owned_type(&self) -> TokenStream {
        match self {
            Shape::Owned(ty) => static_type(ty).to_token_stream(),
            Shape::Ref { referent, .. } => match ungroup(referent) {
                Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => {
                    quote!(::std::string::String)
                }
                Type::Slice(slice) => {
                    let elem = static_type(&slice.elem);
                    quote!(::std::vec::Vec<#elem>)
                }
                _ => {
                    let referent = static_type(referent);
                    quote!(<#referent as ::std::borrow::ToOwned>::Owned)
                }
            },
            Shape::Deref(inner) => inner.owned_type(),
            Shape::Option(inner) => {
                let inner = inner.owned_type();
                quote!(::core::option::Option<#inner>)
            }
            Shape::Tuple(parts) => {
                let parts = parts.iter().map(Shape::owned_type);
                quote!((#(#parts,)*))
            }
            Shape::Seq(inner) => {
                let inner = inner.owned_type();
                quote!(::std::vec::Vec<#inner>)
            }
            Shape::Array(inner, len) => {
                let inner = inner.owned_type();
                quote!([#inner; #len])
            }
        }
    }

    /// The owned form of `value`, an expression of type `&T`.
    pub(crate) fn make_owned(&self, value: &TokenStream) -> TokenStream {
        match self {
            Shape::Owned(_) => quote!(::core::clone::Clone::clone(#value)),
            Shape::Ref { cow: false, .. } => quote!(::std::borrow::ToOwned::to_owned(*#value)),
            Shape::Ref { cow: true, .. } => quote!(::std::borrow::ToOwned::to_owned(&**#value)),
            Shape::Deref(inner) => inner.make_owned(&quote!(*#value)),
            Shape::Option(inner) => {
                let part = inner.make_owned(&quote!(part));
                quote!(::core::option::Option::map(::core::option::Option::as_ref(#value), |part| #part))
            }
            Shape::Tuple(parts) => {
                let parts = parts.iter().enumerate().map(|(i, part)| {
                    let i = Index::from(i);
                    part.make_owned(&quote!(&(#value).#i))
                });
                quote!((#(#parts,)*))
            }
            Shape::Seq(inner) => {
                let part = inner.make_owned(&quote!(part));
                quote!(::core::iter::Iterator::collect::<::std::vec::Vec<_>>(
                    ::core::iter::Iterator::map((#value).iter(), |part| #part)
                ))
            }
            Shape::Array(inner, _) => {
                let part = inner.make_owned(&quote!(part));
                quote!((#value).each_ref().map(|part| #part))
            }
        }
    }

    /// Whether `owned` (`&` the owned form) is the owned form of `value` (`&T`).
    pub(crate) fn matches(&self, value: &TokenStream, owned: &TokenStream) -> TokenStream {
        match self {
            Shape::Owned(_) => quote!(#value == #owned),
            Shape::Ref { referent, cow } => {
                let referent = static_type(referent);
                let value = if *cow {
                    quote!(&**#value)
                } else {
                    quote!(*#value)
                };
                quote!(::core::borrow::Borrow::<#referent>::borrow(#owned) == #value)
            }
            Shape::Deref(inner) => inner.matches(&quote!(*#value), owned),
            Shape::Option(inner) => {
                let both = inner.matches(&quote!(value), &quote!(owned));
                quote! {
                    match (#value, #owned) {
                        (::core::option::Option::Some(value), ::core::option::Option::Some(owned)) => #both,
                        (::core::option::Option::None, ::core::option::Option::None) => true,
                        _ => false,
                    }
                }
            }
            Shape::Tuple(parts) => {
                let parts = parts.iter().enumerate().map(|(i, part)| {
                    let i = Index::from(i);
                    part.matches(&quote!(&(#value).#i), &quote!(&(#owned).#i))
                });
                quote!(#(#parts)&&*)
            }
            Shape::Seq(inner) | Shape::Array(inner, _) => {
                let each = inner.matches(&quote!(value), &quote!(owned));
                quote! {
                    (#value).len() == (#owned).len()
                        && ::core::iter::Iterator::all(
                            &mut ::core::iter::Iterator::zip((#value).iter(), (#owned).iter()),
                            |(value, owned)| #each,
                        )
                }
            }
        }
    }
}
