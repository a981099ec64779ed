//! The `#[cached]` attribute of the [`cacher`](https://docs.rs/cacher) crate. Use it through
//! `cacher::cached`: the code it generates names `::cacher` paths.
//!
//! The attribute reads as the whole design: parse the function (`func`) and the options
//! (`attr`), check the options against each other into a [`Plan`](plan::Plan) (`valid`),
//! generate from the plan (`expand`). Every step records its mistakes in one
//! [`Errors`](error::Errors) and goes on, so that the user sees them all at once.

mod attr;
mod error;
mod expand;
mod func;
mod plan;
mod suggest;
mod types;
mod valid;

use proc_macro::TokenStream;
use quote::ToTokens;

use crate::attr::Options;
use crate::error::Errors;
use crate::func::Func;

#[doc = include_str!("cached.md")]
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(item) = syn::parse::<syn::ItemFn>(item.clone()) else {
        return expand::not_a_function(item.into()).into();
    };
    let mut errors = Errors::default();
    // Parse, then validate: the options are checked against each other only once each is right.
    let func = Func::from_syn(item, &mut errors);
    let plan = Options::parse(args.into(), &mut errors).and_then(|o| o.build(&mut errors));
    let mut tokens = errors.into_compile_errors();
    match func {
        // With options that are wrong, the function is expanded with the default plan, so that
        // its callers and its companion's compile: the user sees the options' errors alone.
        Ok(func) => tokens.extend(expand::cached(&plan.unwrap_or_default(), &func)),
        // The function as written, without its companion, whose types are in doubt.
        Err(item) => item.to_tokens(&mut tokens),
    }
    tokens.into()
}
