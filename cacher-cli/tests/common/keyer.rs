//! A keyer that keeps the arguments' text whole: a long argument (a prompt, a query) makes a
//! long key, which a store hashes into its own key and the entry records whole — for the tests
//! of listings that read a key longer than their first read.

/// Keys an entry by its canonical text as it is.
#[derive(Debug)]
pub struct WholeKeyer;

impl cacher::Keyer for WholeKeyer {
    fn key(&self, _namespace: &str, _version: Option<&str>, canonical: &str) -> String {
        canonical.to_owned()
    }
}
