//! The `#[cached]` attribute of the [`cacher`](https://docs.rs/cacher) crate. Use it through
//! `cacher::cached`: the code it generates names `::cacher` paths.

// The attribute reads as its design: parse the function (`func`) and the options (`attr`), check
// the options against each other into a `plan::Plan` of what to generate (`valid`), generate
// from the plan (`expand`). Every step records its mistakes in one `error::Errors` and goes on,
// so that the user sees them all at once.
mod attr;
mod build;
mod code;
mod error;
mod expand;
mod float;
mod fresh;
mod func;
mod instance;
mod key;
mod mention;
mod owned;
mod plan;
mod ported;
mod result;
mod site;
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
    attribute(args.into(), item.into()).into()
}

/// [`cached`], on tokens that a unit test can make.
fn attribute(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let Ok(parsed) = syn::parse2::<syn::ItemFn>(item.clone()) else {
        return expand::not_a_function(item);
    };
    let (item, written) = (parsed, item);
    let mut errors = Errors::default();
    // Parse: the function and the options, each part on its own.
    let (key, key_type) = attr::key_options(&args);
    // What an entry's key means is the code too: an edited `key = …` keys other arguments alike.
    let key_tokens = key.as_ref().map(ToTokens::to_token_stream);
    let mut func = Func::from_syn(item, key, &mut errors).map(|mut func| {
        func.key_type = key_type;
        func
    });
    let found = errors.len();
    let options = Options::parse(args, &mut errors);
    let fallback = options.fallback();
    // Validate: the options against each other and against the function, once each is right,
    // into what to generate.
    let plan = (errors.len() == found)
        .then(|| options.build(func.as_mut().ok(), &mut errors))
        .flatten();
    // Expand: every error, and the function whatever they are (the attribute never makes it
    // disappear, which would add an error at each of its calls).
    let mut tokens = errors.into_compile_errors();
    match func {
        // With options that are wrong, the default plan (`Options::fallback`): calls of the
        // function and of its companion still compile, and the user sees the options' errors
        // alone.
        Ok(mut func) => {
            // Nor is the return type asked about: one mistake, one error.
            func.result_said |= plan.is_none();
            let mut plan = plan.unwrap_or(fallback);
            // Persistent entries record the code that computed them, unless `version` pins it.
            if plan.version.is_none() && plan.persistent() {
                plan.code = Some(code::fingerprint(written, key_tokens));
            }
            tokens.extend(expand::cached(&plan, &func));
        }
        // The function as written, without its companion, whose types are in doubt.
        Err(item) => item.to_tokens(&mut tokens),
    }
    tokens
}

/// `#[cached]` imported by the `cached` crate's path (`use cacher::proc_macro::cached`, which
/// rustc suggests for `use cached::proc_macro::cached`, or `cacher::macros::cached`): the
/// function is expanded as `#[cached]` expands it, with one error that says the import to write.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn cached_by_cached_path(args: TokenStream, item: TokenStream) -> TokenStream {
    let message = "this is the `cached` crate's path of its attribute: cacher's is `cacher::cached`; write `use cacher::cached;`";
    let mut tokens = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    tokens.extend(attribute(args.into(), item.into()));
    tokens.into()
}

/// Not an attribute of cacher: the `cached` crate's `#[once]`, which `#[cached]` covers. Its
/// one compile error says what to write.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn once(args: TokenStream, item: TokenStream) -> TokenStream {
    ported::once(&args.into(), item.into()).into()
}

/// Not an attribute of cacher: the `cached` crate's `#[io_cached]`, which `#[cached]` covers
/// (`backend = "file"`, `"store"`, `"redis"`). Its one compile error says what to write.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn io_cached(args: TokenStream, item: TokenStream) -> TokenStream {
    ported::io_cached(&args.into(), item.into()).into()
}

/// Not an attribute of cacher: the `cached` crate's `#[concurrent_cached]` (its 4.x name of
/// `#[io_cached]`), which `#[cached]` covers. Its one compile error says what to write.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn concurrent_cached(args: TokenStream, item: TokenStream) -> TokenStream {
    ported::concurrent_cached(&args.into(), item.into()).into()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// A recursive async body (one that names its function) fails the boxing's `Send` bound
    /// whatever it holds (rustc cannot prove a function's own future `Send` inside it): its
    /// error names the way that works, where another body's names `send = false`.
    #[test]
    fn a_recursive_async_body_is_told_how_to_call_itself() {
        let recursive = quote!(
            async fn fib(n: u64) -> u64 {
                if n < 2 {
                    n
                } else {
                    Box::pin(fib(n - 1)).await + Box::pin(fib(n - 2)).await
                }
            }
        );
        let plain = quote!(
            async fn fib(n: u64) -> u64 {
                fibonacci(n)
            }
        );
        let told = |item| super::attribute(quote!(), item).to_string();
        let (recursive, plain) = (told(recursive), told(plain));
        assert!(
            recursive.contains("a_recursive_call_goes_through"),
            "{recursive}"
        );
        assert!(!recursive.contains("for_a_body_not_send"), "{recursive}");
        assert!(
            plain.contains("for_a_body_not_send_write_cached_send_false"),
            "{plain}"
        );
        assert!(!plain.contains("a_recursive_call_goes_through"), "{plain}");
    }

    /// `send = false` beside an option that is wrong: the function, expanded with the default
    /// plan, still boxes its body as written, not as `Send` (whose error, for a body that is not,
    /// would say to write `send = false`, written already).
    #[test]
    fn a_wrong_option_keeps_send_and_companion_as_written() {
        let body = quote!(
            async fn local(n: u32) -> u32 {
                n
            }
        );
        for wrong in [
            quote!(ttl = "soon"),
            quote!(key_type = "u32"),
            quote!(nope = 1),
        ] {
            let expanded = super::attribute(quote!(send = false, #wrong), body.clone());
            let expanded = expanded.to_string();
            assert!(expanded.contains("compile_error"), "{wrong}: its error");
            assert!(expanded.contains("boxed_local"), "{wrong}: {expanded}");
            assert!(
                !expanded.contains("for_a_body_not_send"),
                "{wrong}: {expanded}"
            );
            let refused = quote!(companion = false, #wrong);
            let expanded = super::attribute(refused, body.clone()).to_string();
            assert!(!expanded.contains("local_cache"), "{wrong}: {expanded}");
        }
    }
}
