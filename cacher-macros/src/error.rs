//! The one way the attribute collects mistakes: every step records what it finds in an
//! [`Errors`] and goes on, so that the user sees all the independent mistakes at once.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The mistakes found so far, in the order they were found.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// An error at `tokens`, which the compiler underlines.
    pub(crate) fn at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// How many were found: a step compares it before and after to learn whether it failed.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// One `compile_error!` per mistake; nothing when there is none.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0.iter().map(syn::Error::to_compile_error).collect()
    }
}
