//! The `#[cached]` attribute of the [`cacher`](https://docs.rs/cacher) crate. Use it through
//! `cacher::cached`: the code it generates names `::cacher` paths.

// The attribute reads as its design: parse the function (`func`) and the options (`attr`), check
// the options against each other into a `plan::Plan` of what to generate (`valid`), generate
// from the plan (`expand`). Every step records its mistakes in one `error::Errors` and goes on,
// so that the user sees them all at once.
mod attr;
mod error;
mod expand;
mod fresh;
mod func;
mod key_ref;
mod owned;
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
    // Parse: the function and the options, each part on its own.
    let mut func = Func::from_syn(item, &mut errors);
    let options = Options::parse(args.into(), &mut errors);
    // Validate: the options against each other and against the function, once each is right,
    // into what to generate.
    let plan = options.and_then(|options| options.build(func.as_mut().ok(), &mut errors));
    // Expand: every error, and the function whatever they are (the attribute never makes it
    // disappear, which would add an error at each of its calls).
    let mut tokens = errors.into_compile_errors();
    match func {
        // With options that are wrong, the default plan: calls of the function and of its
        // companion still compile, and the user sees the options' errors alone.
        Ok(func) => tokens.extend(expand::cached(&plan.unwrap_or_default(), &func)),
        // The function as written, without its companion, whose types are in doubt.
        Err(item) => item.to_tokens(&mut tokens),
    }
    tokens.into()
}
