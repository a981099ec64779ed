//! The `#[cached]` attribute of the [`cacher`](https://docs.rs/cacher) crate. Use it through
//! `cacher::cached`: the code it generates names `::cacher` paths.
//!
//! The attribute reads as the whole design: parse the options (`attr`) and the function
//! (`func`), check the options against each other (`valid`), generate (`expand`).

mod attr;
mod expand;
mod func;
mod suggest;
mod types;
mod valid;

use proc_macro::TokenStream;

use crate::attr::Options;
use crate::func::Func;

#[doc = include_str!("cached.md")]
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(function) = syn::parse::<syn::ItemFn>(item.clone()) else {
        return expand::not_a_function(item.into()).into();
    };
    let options = Options::parse(args.into()).and_then(Options::validated);
    let function = Func::from_syn(function);
    expand::cached(options, function).into()
}
