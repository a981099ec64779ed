//! The rules that span several options — tier order, options that apply only to some backends,
//! options that need another — and the [`Plan`] the options make once they keep them.

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::attr::{Backend, Formatter, Opt, Options};
use crate::error::Errors;
use crate::func::{Func, Output};
use crate::plan::{FileTier, MemoryTier, Plan, RedisTier, StoreTier};

impl Options {
    /// What to generate: `None` when a rule is broken, with every broken rule in `errors`.
    /// With the function (when it could be read), the rules between the options and it too,
    /// which settle what it caches.
    pub(crate) fn build(self, func: Option<&mut Func>, errors: &mut Errors) -> Option<Plan> {
        let found = errors.len();
        let tiers = self.tiers();
        self.check_tiers(errors);
        self.check_scopes(&tiers, errors);
        if let (Some(url), true) = (&self.redis_url, tiers.contains(&Backend::Redis)) {
            check_redis_url(url, errors);
        }
        self.check_freshness(errors);
        self.check_clock(&tiers, errors);
        if let (Some(key_type), None) = (&self.key_type, &self.key) {
            errors.at(
                &key_type.meta,
                "`key_type` is the owned type of the `key` expression's value: add `key = …`, or remove `key_type` to key by the arguments",
            );
        }
        if let Some(func) = func {
            self.check_output(func, errors);
        }
        (errors.len() == found).then(|| self.into_plan(&tiers))
    }

    /// What the function caches: the `result` option settles a return type named like a
    /// `Result` (`AppResult<T>`), and `stale_if_error` needs a function that can fail.
    fn check_output(&self, func: &mut Func, errors: &mut Errors) {
        match &self.result {
            Some(result) => func.set_result(result.value, errors),
            None if func.unsure => {
                errors.at(
                    &func.ret,
                    "#[cached] caches every value but a `Result`'s `Err`, and cannot tell whether this type is a `Result` by another name: write `result = true` to cache only its `Ok` values, or `result = false` to cache every value",
                );
                return;
            }
            None => {}
        }
        if self.stale_while_revalidate.is_some() {
            crate::fresh::check_refreshable(func, errors);
        }
        self.check_send(func, errors);
        if let (Some(grace), Output::Value(_)) = (&self.stale_if_error, &func.output) {
            errors.at(
                &grace.meta,
                "`stale_if_error` serves an expired entry when the function returns `Err`, and this function does not return a `Result`: remove the option, or return a `Result` (`result = true` for one by another name)",
            );
        }
    }

    /// `send` is about an async body's future, and a refresh in the background is a tokio task,
    /// whose future must be `Send`.
    fn check_send(&self, func: &Func, errors: &mut Errors) {
        let Some(send) = &self.send else { return };
        if !func.is_async() {
            errors.at(
                &send.meta,
                "`send` says whether an async function's body is `Send`, and this function is not async: remove it",
            );
        } else if let (false, Some(_)) = (send.value, &self.stale_while_revalidate) {
            errors.at(
                &send.meta,
                "`stale_while_revalidate` refreshes in a tokio task, which needs a body that is `Send`: remove `send = false`, or `stale_while_revalidate`",
            );
        }
    }

    /// The tiers in order; memory when `backend` was left out.
    fn tiers(&self) -> Vec<Backend> {
        match &self.backend {
            Some(opt) => opt.value.iter().map(|t| t.backend).collect(),
            None => vec![Backend::Memory],
        }
    }

    /// Memory may only come first, the file tier before the redis one, and no tier twice.
    /// (Redis needs cacher's `redis` feature, which only the runtime knows: `require_redis!` in
    /// the expansion checks it.)
    fn check_tiers(&self, errors: &mut Errors) {
        let Some(backend) = &self.backend else { return };
        let tiers = &backend.value;
        for (i, tier) in tiers.iter().enumerate() {
            let before = |backend| tiers[..i].iter().any(|t| t.backend == backend);
            if before(tier.backend) {
                let name = tier.lit.value();
                errors.at(
                    &tier.lit,
                    format!("backend \"{name}\" is listed twice: give each tier once"),
                );
            } else if tier.backend == Backend::File && before(Backend::Redis) {
                errors.at(
                    &tier.lit,
                    "the file tier comes before the redis one (nearer, faster tiers first): write `backend = [\"file\", \"redis\"]`",
                );
            } else if tier.backend == Backend::Store && before(Backend::Redis) {
                errors.at(
                    &tier.lit,
                    "the store tier comes before the redis one (nearer, faster tiers first): write `backend = [\"memory\", \"store\", \"redis\"]`",
                );
            } else if tier.backend == Backend::Memory && i > 0 {
                errors.at(
                    &tier.lit,
                    "the memory tier can only come first, in front of the others: write `backend = [\"memory\", \"file\"]`",
                );
            }
        }
    }

    /// An option given for a backend that the cache does not have would do nothing: an error.
    fn check_scopes(&self, tiers: &[Backend], errors: &mut Errors) {
        let scoped = [
            ("formatter", spanned(&self.formatter), Scope::Persistent),
            ("keyer", spanned(&self.keyer), Scope::Persistent),
            ("version", spanned(&self.version), Scope::Persistent),
            ("namespace", spanned(&self.namespace), Scope::Persistent),
            ("cache_dir", spanned(&self.cache_dir), Scope::Disk),
            ("filename_fn", spanned(&self.filename_fn), Scope::File),
            ("durable", spanned(&self.durable), Scope::Disk),
            ("redis_url", spanned(&self.redis_url), Scope::Redis),
            ("max_entries", spanned(&self.max_entries), Scope::Bounded),
            ("max_size", spanned(&self.max_size), Scope::Disk),
        ];
        for (name, tokens, scope) in scoped {
            if let (Some(tokens), false) = (tokens, scope.allows(tiers)) {
                errors.at(tokens, scope.message(name));
            }
        }
    }

    /// The checked options, tier by tier.
    fn into_plan(self, tiers: &[Backend]) -> Plan {
        let has = |backend| tiers.contains(&backend);
        let chosen = value(self.formatter);
        let formatter = chosen.unwrap_or(Formatter::Json);
        let max_entries = value(self.max_entries);
        let max_size = value(self.max_size);
        let durable = value(self.durable);
        let dir = value(self.cache_dir);
        Plan {
            memory: has(Backend::Memory).then_some(MemoryTier { max_entries }),
            file: has(Backend::File).then(|| FileTier {
                dir: dir.clone(),
                filename_fn: value(self.filename_fn),
                max_entries,
                max_size,
                durable,
                formatter,
            }),
            store: has(Backend::Store).then(|| StoreTier {
                dir,
                max_entries,
                max_size,
                durable,
                formatter: chosen,
            }),
            redis: has(Backend::Redis).then(|| RedisTier {
                url: value(self.redis_url),
                formatter,
            }),
            keyer: value(self.keyer),
            version: value(self.version),
            namespace: value(self.namespace),
            code: None,
            ttl: value(self.ttl),
            stale_if_error: value(self.stale_if_error),
            ttl_fn: value(self.ttl_fn),
            stale_while_revalidate: value(self.stale_while_revalidate),
            time_to_idle: value(self.time_to_idle),
            error_backoff: value(self.error_backoff),
            clock: value(self.clock),
            rate_limit: value(self.rate_limit),
            companion: value(self.companion).unwrap_or(true),
            send: value(self.send).unwrap_or(true),
        }
    }
}

impl Options {
    /// What the function is expanded with when an option is wrong: the default plan (so that
    /// its calls compile and the user sees the options' errors alone), but without the
    /// companion if `companion = false` was written (a trait impl cannot hold it) and with the
    /// body boxed as written by `send` (one that is not `Send` is no error of its own then).
    pub(crate) fn fallback(&self) -> Plan {
        let said = |opt: &Option<Opt<bool>>| opt.as_ref().map(|opt| opt.value);
        Plan {
            companion: said(&self.companion).unwrap_or(true),
            send: said(&self.send).unwrap_or(true),
            ..Plan::default()
        }
    }
}

/// The backends an option configures.
#[derive(Clone, Copy)]
enum Scope {
    /// File, store and redis, which serialise entries.
    Persistent,
    File,
    /// File and store: a directory on this machine's disk.
    Disk,
    Redis,
    /// Memory, file and store, which `max_entries` bounds (a Redis server bounds itself).
    Bounded,
}

impl Scope {
    fn allows(self, tiers: &[Backend]) -> bool {
        match self {
            Scope::Persistent => tiers.iter().any(|t| *t != Backend::Memory),
            Scope::File => tiers.contains(&Backend::File),
            Scope::Disk => tiers.contains(&Backend::File) || tiers.contains(&Backend::Store),
            Scope::Redis => tiers.contains(&Backend::Redis),
            Scope::Bounded => tiers.iter().any(|t| *t != Backend::Redis),
        }
    }

    fn message(self, name: &str) -> String {
        match self {
            Scope::Persistent => format!(
                "`{name}` applies to the file, store and redis backends, and this cache is memory only: remove it or use backend = \"file\""
            ),
            Scope::File => {
                format!("`{name}` applies to the file backend: remove it or use backend = \"file\"")
            }
            Scope::Disk => format!(
                "`{name}` applies to the file and store backends: remove it or use backend = \"file\" or backend = \"store\""
            ),
            Scope::Redis => format!(
                "`{name}` applies to the redis backend: remove it, or add \"redis\" to `backend`"
            ),
            Scope::Bounded => format!(
                "`{name}` applies to the memory, file and store backends (a Redis server bounds itself, with its `maxmemory-policy`): remove it, or put a memory tier in front: backend = [\"memory\", \"redis\"]"
            ),
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

fn check_redis_url(url: &Opt<String>, errors: &mut Errors) {
    if !REDIS_SCHEMES
        .iter()
        .any(|scheme| url.value.starts_with(scheme))
    {
        errors.at(
            &url.meta,
            format!(
                "`redis_url` must start with {}: e.g. redis_url = \"redis://127.0.0.1:6379/\"",
                REDIS_SCHEMES.join(", ")
            ),
        );
    }
}

fn spanned<T>(opt: &Option<Opt<T>>) -> Option<TokenStream> {
    opt.as_ref().map(|opt| opt.meta.to_token_stream())
}

fn value<T>(opt: Option<Opt<T>>) -> Option<T> {
    opt.map(|opt| opt.value)
}
