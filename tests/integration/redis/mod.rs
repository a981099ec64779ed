//! Against a real `redis-server`, one private server per test (`cacher_tests::redis_server`):
//! the backend, failover, the shared rate limiter, the cross-process lock and the attribute.
//! Without the binary these tests skip; under `CACHER_REQUIRE_REDIS=1` they fail instead.

mod attribute;
mod backend;
mod failover;
mod freshness;
mod lock;
mod rate_limit;
