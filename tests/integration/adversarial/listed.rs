//! `cacher prune` lists expired entries, then removes what it listed: a value written over one
//! since (a fresh value of the same key, from a process that recomputed it) must stay, in every
//! backend the CLI prunes (`Listing::remove_listed`). The store's and Redis's removed by
//! location alone until session 20 (NOTE19's leftover), the fresh value with the expired one.

use cacher::{RedisBackend, RedisOptions, SeparateFileBackend, StoreBackend};
use cacher_tests::listing::an_entry_written_over_since_it_was_listed_is_left;
use cacher_tests::redis_server::RedisServer;

#[test]
fn in_a_file_directory() {
    let dir = tempfile::tempdir().unwrap();
    an_entry_written_over_since_it_was_listed_is_left(&SeparateFileBackend::new(dir.path()));
}

#[test]
fn in_a_store() {
    let dir = tempfile::tempdir().unwrap();
    an_entry_written_over_since_it_was_listed_is_left(&StoreBackend::new(dir.path()));
}

#[test]
fn on_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let backend = RedisBackend::new(RedisOptions::new(server.url())).unwrap();
    an_entry_written_over_since_it_was_listed_is_left(&backend);
}
