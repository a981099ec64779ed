//! A bypassing async call's engine: no tier, no flight, only the limiter and the function's run,
//! taken on the call's relay as a typed engine's would be.

use std::sync::Arc;

use super::Turned;
use crate::cache::control::report;
use crate::cache::inner::Shared;
use crate::cache::origin::Origin;
use crate::future::BoxFuture;

/// A bypassing async call, its engine: `shared`'s limiter waited for, then the function, asked
/// for through `relay`'s turns: whether it gave a value (the relay's; `false`: it failed, and
/// the caller's future has its error); a `lookup` observing the call told it computed. Untyped,
/// and boxed here: its poll is compiled once, in cacher, and no copy of the typed engine has a
/// state for it.
pub(in crate::cache) fn bypass_async(
    shared: &Shared,
    relay: Arc<dyn Turned>,
) -> BoxFuture<'_, bool> {
    Box::pin(async move {
        if let Some(limiter) = &shared.rate_limiter {
            limiter.acquire_async().await;
        }
        let gave = relay.turns().run(None).await;
        report(shared.id(), Origin::Computed);
        gave
    })
}
