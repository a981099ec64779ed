//! Generic functions: one cache per instance. A `static` in a generic function is shared by all
//! its instances, so the function's static holds a cache per instance, found by the `TypeId` of
//! its type parameters and of a marker of each const parameter's value, and named by their
//! `type_name` (`cacher::__private::Instance`), as a method's holds one per `Self` type.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{GenericParam, ImplGenerics, Signature, Type, WhereClause};

use crate::error::Errors;
use crate::func::Func;

/// The marker of a const parameter of type `ty` (`konst::U32` for `u32`), `None` for a type
/// that has none.
fn marker(ty: &Type) -> Option<proc_macro2::Ident> {
    let Type::Path(path) = ty else { return None };
    let name = path.path.get_ident()?.to_string();
    let marker = match name.as_str() {
        "bool" => "Bool",
        "char" => "Char",
        "usize" => "Usize",
        "isize" => "Isize",
        "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32" | "i64" | "i128" => {
            return Some(format_ident!("{}", name.to_uppercase()));
        }
        _ => return None,
    };
    Some(format_ident!("{}", marker))
}

/// A const parameter of a type without a marker cannot name its instance's cache.
pub(crate) fn check_const_types(sig: &Signature, errors: &mut Errors) {
    for param in &sig.generics.params {
        if let GenericParam::Const(c) = param
            && marker(&c.ty).is_none()
        {
            errors.at(
                &c.ty,
                "#[cached] keeps one cache per value of a const parameter, which must then be of a primitive type (an integer, `bool` or `char`), written as such",
            );
        }
    }
}

/// The function's `cacher::__private::Instance`, when it has type or const parameters.
pub(crate) fn instance(func: &Func) -> Option<TokenStream> {
    let arguments: Vec<TokenStream> = func
        .item
        .sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => Some(t.ident.clone()).map(|t| quote!(#t)),
            GenericParam::Const(c) => {
                let (ident, marker) = (&c.ident, marker(&c.ty)?);
                Some(quote!(::cacher::__private::konst::#marker<#ident>))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if arguments.is_empty() {
        return None;
    }
    let arguments = quote!((#(#arguments,)*));
    let (id, self_type) = if func.method {
        (
            quote!(::cacher::__private::type_key::<(Self, #arguments)>()),
            quote!(::core::option::Option::Some(
                ::core::any::type_name::<Self>()
            )),
        )
    } else {
        (
            quote!(::cacher::__private::type_key::<#arguments>()),
            quote!(::core::option::Option::None),
        )
    };
    Some(quote! {
        ::cacher::__private::Instance {
            id: #id,
            self_type: #self_type,
            arguments: ::core::any::type_name::<#arguments>(),
        }
    })
}

/// The generic parameters and bounds of the companion: a generic function's is generic too, one
/// cache per instance (`price_cache::<Eur>()`); another's has none.
pub(crate) fn companion_generics(func: &Func) -> (Option<ImplGenerics<'_>>, Option<&WhereClause>) {
    let (generics, _, bounds) = func.item.sig.generics.split_for_impl();
    match instance(func) {
        Some(_) => (Some(generics), bounds),
        None => (None, None),
    }
}
