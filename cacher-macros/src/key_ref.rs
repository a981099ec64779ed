//! The borrowed key: a struct of the key arguments, as the call has them, that hashes, compares
//! and serialises exactly as the owned key tuple does, so that a hit allocates nothing.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use syn::Index;

use crate::func::{Func, Param, Role};

/// One field of the borrowed key, and what each generated impl needs of it.
struct Field {
    /// The struct's generic parameters for it: `T0: ?Sized`, or `A0: ?Sized, O0`.
    params: TokenStream,
    /// Its generic arguments, as the impls name them: `T0`, or `A0, O0`.
    args: TokenStream,
    /// Its type in the struct: `&'k T0`, or `Converted<'k, A0, O0>`.
    ty: TokenStream,
    /// The bound that `Hash` and `Serialize` need: on `T0`, or on `A0`.
    borrowed: Ident,
    /// Its part of the owned key: `T0::Owned`, or `O0`.
    owned: TokenStream,
    /// The bounds that `KeyRef` needs.
    bounds: TokenStream,
    /// `is_key` of `key.i`, and `to_key`.
    is_key: TokenStream,
    to_key: TokenStream,
    /// The value the lookup passes.
    arg: TokenStream,
}

impl Field {
    fn new(i: usize, param: &Param) -> Field {
        let index = Index::from(i);
        let serde = quote!(::cacher::__private::serde);
        let mut ident = param.ident.clone();
        ident.set_span(Span::call_site());
        if let Role::Converted(shape) = &param.role {
            let (a, o) = (format_ident!("A{}", i), format_ident!("O{}", i));
            let to_owned = shape.make_owned(&quote!(value));
            let matches = shape.matches(&quote!(value), &quote!(owned));
            return Field {
                params: quote!(#a: ?::core::marker::Sized, #o),
                args: quote!(#a, #o),
                ty: quote!(::cacher::__private::Converted<'k, #a, #o>),
                borrowed: a.clone(),
                owned: quote!(#o),
                bounds: quote!(#a: ?::core::marker::Sized + ::core::hash::Hash + #serde::Serialize,),
                is_key: quote!(self.#index.is_part(&key.#index)),
                to_key: quote!(self.#index.to_owned_part()),
                arg: quote! {
                    ::cacher::__private::Converted::new(
                        &#ident,
                        |value| #to_owned,
                        |value, owned| #matches,
                    )
                },
            };
        }
        let t = format_ident!("T{}", i);
        Field {
            params: quote!(#t: ?::core::marker::Sized),
            args: quote!(#t),
            ty: quote!(&'k #t),
            borrowed: t.clone(),
            owned: quote!(#t::Owned),
            bounds: quote! {
                #t: ?::core::marker::Sized + ::std::borrow::ToOwned + ::core::hash::Hash
                    + ::core::cmp::Eq + #serde::Serialize,
            },
            is_key: quote!(::core::borrow::Borrow::<#t>::borrow(&key.#index) == self.#index),
            to_key: quote!(::std::borrow::ToOwned::to_owned(self.#index)),
            arg: match param.role {
                Role::Borrowed(_) => quote!(#ident),
                Role::Float { by_ref: true, .. } => quote!(&::cacher::Float::new(*#ident)),
                Role::Float { by_ref: false, .. } => quote!(&::cacher::Float::new(#ident)),
                _ => quote!(&#ident),
            },
        }
    }
}

/// The items of the borrowed key and the expression of the key. Generic over the borrowed
/// types, so that its impls hold no bound of their own to fail (the checks report those).
pub(crate) fn key_ref(func: &Func) -> (TokenStream, TokenStream) {
    let fields: Vec<Field> = func
        .key_params()
        .enumerate()
        .map(|(i, p)| Field::new(i, p))
        .collect();
    if fields.is_empty() {
        return (quote!(), quote!(&()));
    }
    let values = fields.iter().map(|f| &f.arg);
    (items(&fields), quote!(&__CacherKeyRef(#(#values),*)))
}

/// The struct and its `Hash`, `Serialize` and `KeyRef` impls.
fn items(fields: &[Field]) -> TokenStream {
    let count = Literal::usize_unsuffixed(fields.len());
    let index: Vec<Index> = (0..fields.len()).map(Index::from).collect();
    let params: Vec<&TokenStream> = fields.iter().map(|f| &f.params).collect();
    let args: Vec<&TokenStream> = fields.iter().map(|f| &f.args).collect();
    let (types, borrowed) = (
        fields.iter().map(|f| &f.ty),
        fields.iter().map(|f| &f.borrowed),
    );
    let borrowed_too = borrowed.clone();
    let (owned, bounds) = (
        fields.iter().map(|f| &f.owned).collect::<Vec<_>>(),
        fields.iter().map(|f| &f.bounds),
    );
    let (is_key, to_key) = (
        fields.iter().map(|f| &f.is_key),
        fields.iter().map(|f| &f.to_key),
    );
    let serde = quote!(::cacher::__private::serde);
    quote! {
        struct __CacherKeyRef<'k, #(#params),*>(#(#types),*);
        // Field by field, as the tuple hashes its elements.
        impl<#(#params),*> ::core::hash::Hash for __CacherKeyRef<'_, #(#args),*>
        where
            #(#borrowed: ::core::hash::Hash,)*
        {
            fn hash<H: ::core::hash::Hasher>(&self, state: &mut H) {
                #(::core::hash::Hash::hash(&self.#index, state);)*
            }
        }
        // As a tuple, as the owned key serialises.
        impl<#(#params),*> #serde::Serialize for __CacherKeyRef<'_, #(#args),*>
        where
            #(#borrowed_too: #serde::Serialize,)*
        {
            fn serialize<S: #serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                let mut tuple = #serde::Serializer::serialize_tuple(serializer, #count)?;
                #(#serde::ser::SerializeTuple::serialize_element(&mut tuple, &self.#index)?;)*
                #serde::ser::SerializeTuple::end(tuple)
            }
        }
        impl<#(#args),*> ::cacher::KeyRef<(#(#owned,)*)> for __CacherKeyRef<'_, #(#args),*>
        where
            #(#bounds)*
        {
            fn is_key(&self, key: &(#(#owned,)*)) -> bool {
                #(#is_key)&&*
            }
            fn to_key(&self) -> (#(#owned,)*) {
                (#(#to_key,)*)
            }
        }
    }
}
