//! The rules that span several options: tier order, options that apply only to some backends,
//! options that need another.

use quote::ToTokens;

use crate::attr::{Backend, Opt, Options};

impl Options {
    /// The tiers in order; memory when `backend` was left out.
    pub(crate) fn tiers(&self) -> Vec<Backend> {
        match &self.backend {
            Some(opt) => opt.value.iter().map(|t| t.backend).collect(),
            None => vec![Backend::Memory],
        }
    }

    pub(crate) fn has(&self, backend: Backend) -> bool {
        self.tiers().contains(&backend)
    }

    /// The options, once checked against each other.
    pub(crate) fn validated(self) -> syn::Result<Self> {
        self.validate().map(|()| self)
    }

    /// Checks the options against each other; reports every broken rule.
    fn validate(&self) -> syn::Result<()> {
        let mut errors: Vec<syn::Error> = Vec::new();
        self.validate_tiers(&mut errors);
        let persistent = self.has(Backend::File) || self.has(Backend::Redis);
        if !persistent {
            let why = "applies to file and redis backends, and this cache is memory only";
            let fix = "remove it or use backend = \"file\"";
            for (name, tokens) in [
                ("formatter", spanned(&self.formatter)),
                ("keyer", spanned(&self.keyer)),
                ("version", spanned(&self.version)),
            ] {
                if let Some(tokens) = tokens {
                    errors.push(syn::Error::new_spanned(
                        tokens,
                        format!("`{name}` {why}: {fix}"),
                    ));
                }
            }
        }
        if !self.has(Backend::File) {
            for (name, tokens) in [
                ("cache_dir", spanned(&self.cache_dir)),
                ("filename_fn", spanned(&self.filename_fn)),
                ("durable", spanned(&self.durable)),
            ] {
                if let Some(tokens) = tokens {
                    errors.push(syn::Error::new_spanned(
                        tokens,
                        format!(
                            "`{name}` applies to the file backend: remove it or use backend = \"file\""
                        ),
                    ));
                }
            }
        }
        if let Some(url) = &self.redis_url {
            if !self.has(Backend::Redis) {
                errors.push(syn::Error::new_spanned(
                    &url.meta,
                    "`redis_url` applies to the redis backend: remove it, or add \"redis\" to `backend`",
                ));
            } else if !REDIS_SCHEMES
                .iter()
                .any(|scheme| url.value.starts_with(scheme))
            {
                errors.push(syn::Error::new_spanned(
                    &url.meta,
                    format!(
                        "`redis_url` must start with {}: e.g. redis_url = \"redis://127.0.0.1:6379/\"",
                        REDIS_SCHEMES.join(", ")
                    ),
                ));
            }
        }
        if let (Some(grace), None) = (&self.stale_if_error, &self.ttl) {
            errors.push(syn::Error::new_spanned(
                &grace.meta,
                "`stale_if_error` needs a `ttl` (entries without one never go stale): add e.g. `ttl = \"1h\"`",
            ));
        }
        combine(errors)
    }

    /// Memory may only come first, and no tier twice. (Redis needs cacher's `redis` feature,
    /// which only the runtime knows: `require_redis!` in the expansion checks it.)
    fn validate_tiers(&self, errors: &mut Vec<syn::Error>) {
        let Some(backend) = &self.backend else { return };
        let tiers = &backend.value;
        for (i, tier) in tiers.iter().enumerate() {
            let name = tier.lit.value();
            if tiers[..i].iter().any(|t| t.backend == tier.backend) {
                errors.push(syn::Error::new_spanned(
                    &tier.lit,
                    format!("backend \"{name}\" is listed twice: give each tier once"),
                ));
            } else if tier.backend == Backend::File
                && tiers[..i].iter().any(|t| t.backend == Backend::Redis)
            {
                errors.push(syn::Error::new_spanned(
                    &tier.lit,
                    "the file tier comes before the redis one (nearer, faster tiers first): write `backend = [\"file\", \"redis\"]`",
                ));
            } else if tier.backend == Backend::Memory && i > 0 {
                errors.push(syn::Error::new_spanned(
                    &tier.lit,
                    "the memory tier can only come first, in front of the others: write `backend = [\"memory\", \"file\"]`",
                ));
            }
        }
    }
}

/// The URL schemes the redis crate connects to.
const REDIS_SCHEMES: &[&str] = &[
    "redis://",
    "rediss://",
    "redis+unix://",
    "unix://",
    "valkey://",
    "valkeys://",
    "valkey+unix://",
];

fn spanned<T>(opt: &Option<Opt<T>>) -> Option<proc_macro2::TokenStream> {
    opt.as_ref().map(|opt| opt.meta.to_token_stream())
}

/// One error holding them all, or `Ok` when there are none.
pub(crate) fn combine(errors: impl IntoIterator<Item = syn::Error>) -> syn::Result<()> {
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else {
        return Ok(());
    };
    for e in errors {
        first.combine(e);
    }
    Err(first)
}
