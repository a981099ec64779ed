//! The key: the rules on what makes it (a `key = …` that uses the arguments, at most twelve
//! arguments), and the expression a lookup passes — the key arguments as the call has them, in
//! `cacher::__private::Args`, which hashes, compares and serialises exactly as the owned key
//! tuple does, so that a hit allocates nothing.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Type};

use crate::error::Errors;
use crate::func::{Func, Param, Role, ungroup};
use crate::mention::{mentions, uses};
use crate::types::{respan, static_type};

/// The key: the tuple of the owned key arguments, or for `key = …` the expression's encoding.
pub(crate) fn key_type(func: &Func) -> TokenStream {
    match (&func.key, &func.key_type) {
        (Some(_), Some(ty)) => return respan(static_type(ty).to_token_stream(), Span::call_site()),
        (Some(_), None) => return quote!(::cacher::key::Encoded),
        (None, _) => {}
    }
    let parts = func.key_params().map(|p| p.owned_type());
    respan(quote!((#(#parts,)*)), Span::call_site())
}

/// [`key_type`] as the static that keeps the cache names it: each part `<T as KeyArg>::Kept`
/// of the type its check names (`T::Owned`, the same type), at the check's span. An argument
/// that is no `KeyArg` (an `Rc<str>`: neither `Send` nor `Sync`) is then one error, the check's
/// (rustc reports an obligation once per span), instead of three with the static's own.
pub(crate) fn kept_key_type(func: &Func) -> TokenStream {
    let kept = |ty: TokenStream| quote!(<#ty as ::cacher::__private::Kept>::Kept);
    match (&func.key, &func.key_type) {
        (Some(_), Some(ty)) => {
            quote_spanned!(ty.span()=> <#ty as ::cacher::__private::Kept>::Kept)
        }
        (Some(_), None) => quote!(::cacher::key::Encoded),
        (None, _) => {
            let parts = func.key_params().map(|p| kept(p.checked_type()));
            respan(quote!((#(#parts,)*)), Span::call_site())
        }
    }
}

/// The key a lookup passes, and what must come before it. For `key = …`, the expression's lookup
/// form, spanned at it (a value that cannot be a key is one error there). An async method that
/// takes `self` by value (`self`, `self: Arc<Self>`) and names it there keys by a clone of it,
/// `__cacher_self`: its body, an `async move` block, owns `self` while the key borrows it for the
/// whole lookup (rustc's "cannot move out of `self` because it is borrowed", at the attribute).
/// `persistent`: whether the cache has a persistent tier (else the key says it has none, and the
/// call's miss path compiles without the persistent tiers' code); `timed`: whether its entries
/// age (else no code of expiry is compiled).
pub(crate) fn lookup_key(func: &Func, persistent: bool, timed: bool) -> (TokenStream, TokenStream) {
    let Some(expr) = &func.key else {
        return (TokenStream::new(), key_ref(func, persistent, timed));
    };
    let self_ = Ident::new("self", Span::call_site());
    let tokens = match borrows_a_mut_param(func, expr) {
        true => owned(expr),
        false => expr.to_token_stream(),
    };
    let (before, tokens) = match owned_async_receiver(func) && mentions(tokens.clone(), &self_) {
        true => (
            quote!(let __cacher_self = ::cacher::__private::receiver_clone(&self);),
            renamed_self(tokens),
        ),
        false => (TokenStream::new(), tokens),
    };
    let key = match &func.key_type {
        Some(ty) => {
            quote_spanned!(expr.span()=> &::cacher::__private::key_form::<#ty, _, _, #persistent, #timed>(&(#tokens)))
        }
        None => {
            quote_spanned!(expr.span()=> &::cacher::__private::key_expr::<_, #persistent, #timed>(&(#tokens)))
        }
    };
    (before, key)
}

/// Whether the `key = …` expression of an async function names a `&mut` parameter (or `&mut
/// self`): its body, an `async move` block, takes the reference whole while the key would borrow
/// through it for the whole lookup (rustc's E0505, "cannot move out of `conn` because it is
/// borrowed", at the attribute).
fn borrows_a_mut_param(func: &Func, expr: &Expr) -> bool {
    let tokens = expr.to_token_stream();
    let mut_ref = |ty: &Type| matches!(ungroup(ty), Type::Reference(r) if r.mutability.is_some());
    let self_ = Ident::new("self", Span::call_site());
    let receiver = func.item.sig.inputs.iter().any(|input| match input {
        FnArg::Receiver(r) => mut_ref(&r.ty) && mentions(tokens.clone(), &self_),
        FnArg::Typed(_) => false,
    });
    func.is_async()
        && (receiver
            || (func.params.iter()).any(|p| mut_ref(&p.ty) && mentions(tokens.clone(), &p.ident)))
}

/// The expression's value made owned, so that the key borrows it and not the parameter:
/// `(…).to_owned()`, of each element for a tuple (`(conn.name.as_str(), id)` gives a `(String,
/// u32)`), which keys as the borrowed form does (one canonical text). Method syntax, so that a
/// `&str` gives a `String` (and a `u32` field a copy).
fn owned(expr: &Expr) -> TokenStream {
    match expr {
        Expr::Tuple(tuple) => {
            let elems = tuple.elems.iter().map(owned);
            quote_spanned!(tuple.span()=> (#(#elems,)*))
        }
        Expr::Paren(paren) => owned(&paren.expr),
        _ => quote_spanned!(expr.span()=> (#expr).to_owned()),
    }
}

/// Whether the function is async and takes `self` by value (any receiver but a reference).
fn owned_async_receiver(func: &Func) -> bool {
    let receiver = func.item.sig.inputs.first().and_then(|input| match input {
        FnArg::Receiver(receiver) => Some(receiver),
        FnArg::Typed(_) => None,
    });
    func.is_async() && receiver.is_some_and(|r| !matches!(ungroup(&r.ty), Type::Reference(_)))
}

/// `tokens` with every `self` written `__cacher_self`, at the same place.
fn renamed_self(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "self" => {
                TokenTree::Ident(Ident::new("__cacher_self", ident.span()))
            }
            TokenTree::Group(group) => {
                let mut renamed = Group::new(group.delimiter(), renamed_self(group.stream()));
                renamed.set_span(group.span());
                TokenTree::Group(renamed)
            }
            other => other,
        })
        .collect()
}

/// The expression of the key: `Args` of the arguments, a type of the library's that functions
/// whose arguments have the same types share (so that they share the cache's code too), which
/// says whether the cache has a persistent tier and whether its entries age.
pub(crate) fn key_ref(func: &Func, persistent: bool, timed: bool) -> TokenStream {
    let values = func.key_params().map(arg);
    quote!(&::cacher::__private::Args::<_, #persistent, #timed>((#(#values,)*)))
}

/// What the lookup passes for one key argument.
fn arg(param: &Param) -> TokenStream {
    let mut ident = param.ident.clone();
    ident.set_span(Span::call_site());
    match &param.role {
        Role::Converted(shape) => {
            let to_owned = shape.make_owned(&quote!(value));
            let matches = shape.matches(&quote!(value), &quote!(owned));
            quote! {
                ::cacher::__private::Converted::new(
                    &#ident,
                    |value| #to_owned,
                    |value, owned| #matches,
                )
            }
        }
        Role::Borrowed(_) => quote!(#ident),
        Role::Float { by_ref: true, .. } => quote!(&::cacher::Float::new(*#ident)),
        Role::Float { by_ref: false, .. } => quote!(&::cacher::Float::new(#ident)),
        _ => quote!(&#ident),
    }
}

/// The arguments a key holds at most: it is a tuple of them, and Rust's tuples are `Hash` and
/// `Eq` up to 12 elements.
const MAX_KEY_ARGUMENTS: usize = 12;

/// A key of more arguments would be four errors about a 13-tuple's missing `Hash` and `Eq`,
/// pointing into cacher: one here instead, at the first argument too many, saying what to write.
pub(crate) fn check_key_width(params: &[Param], errors: &mut Errors) {
    if let Some(extra) = params.iter().filter(|p| p.in_key()).nth(MAX_KEY_ARGUMENTS) {
        errors.at(
            &extra.ident,
            format!("#[cached] keys at most {MAX_KEY_ARGUMENTS} arguments (the key is a tuple of them, and tuples have `Hash` and `Eq` up to {MAX_KEY_ARGUMENTS}): group some in a struct that derives them, or mark those that do not change the result `#[cached(skip)]`"),
        );
    }
}

/// A `key = …` that mentions neither `self` nor a parameter gives every call one entry: each
/// call would be served the first call's value. Refused, with what to write.
pub(crate) fn check_key_uses_arguments(key: &Expr, params: &[Param], errors: &mut Errors) {
    let tokens = key.to_token_stream();
    let self_ = Ident::new("self", proc_macro2::Span::call_site());
    if uses(tokens.clone(), &self_) || params.iter().any(|p| uses(tokens.clone(), &p.ident)) {
        return;
    }
    // The example in the function's own names: its arguments (not a `&mut` one, which no key
    // holds), or a field of `self`.
    let names: Vec<String> = (params.iter())
        .filter(|p| !matches!(ungroup(&p.ty), syn::Type::Reference(r) if r.mutability.is_some()))
        .map(|p| p.ident.to_string())
        .collect();
    let example = match names.as_slice() {
        [] => "self.id".to_owned(),
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    };
    let message = match key {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(ty),
            ..
        }) => format!(
            "`key` is an expression over the arguments, not a type: write `key = {example}` (its type inferred), or an expression of that type with it, `key = <expression>, key_type = \"{}\"`; `cached`'s `key = \"Type\", convert = …` is `key = <the convert expression>` here",
            ty.value()
        ),
        _ => format!(
            "this key uses none of the arguments, so every call would be served the first call's value: key by what changes the result (e.g. `key = {example}`), or remove `key` and put `#[cached(skip)]` on the parameters to leave out"
        ),
    };
    errors.at(key, message);
}
