// `IntoBackend` is sealed: another crate cannot add its own kind of backend to a builder (and
// so cannot rewrite the builder's options through it), though the types the builder holds are
// reachable through `cacher::__private` for `#[cached]`'s expansion.

use cacher::IntoBackend;

pub struct Rogue;
pub enum RogueKind {}

impl<K, V> IntoBackend<K, V, RogueKind> for Rogue {
    fn add_to(
        self,
        _settings: &mut cacher::__private::Settings,
        _typed: &mut cacher::__private::Typed<V>,
    ) {
    }
}

fn main() {}
