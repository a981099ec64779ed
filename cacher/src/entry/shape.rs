//! The fingerprint of a type's serde shape: what an entry records so that a reader whose type has
//! another layout misses instead of misreading.
//!
//! postcard and bincode write values by position: a variant inserted before `Active` makes a
//! stored `Active` read back as the new one, two swapped `String` fields swap their values, and
//! the type's name is the same throughout. The shape is traced once per type and process from the
//! type's `Deserialize` ([`trace`]: every container's name, every field's name and format in
//! order, every variant's index, name and content) and hashed with blake3.
//!
//! Some types cannot be traced: their `Deserialize` asks the format what comes next
//! (`deserialize_any`: `serde_json::Value`, `#[serde(untagged)]`, internally tagged and flattened
//! types), or refuses every placeholder the tracer offers (it tries empty text and bytes, then a
//! timestamp, a date, a time, a version, a URL, and 16 bytes for a UUID), or panics on one, or is
//! an enum none of whose variants ends a recursion. Their entries record no shape and are checked
//! by type name only: safe with JSON, which names fields and variants in the bytes (not an
//! untagged enum's variants: reordering them is not detected), and `deserialize_any` types are
//! JSON-only anyway (postcard and bincode cannot decode them); with
//! postcard or bincode a layout change of such a type is not detected — bump the cache's
//! `version` when you change one. A warning says so once per type.
//!
//! A type whose layout depends on a value it reads (an enum sent as its `#[repr(u8)]` number, a
//! hand-written tag) traces as that value's kind: a variant inserted is not seen. Field and
//! variant names are written whole, aliases included, each with its length.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use hashbrown::HashMap;
use serde::de::DeserializeOwned;

mod trace;

/// What starts a fingerprint of this tracer: one of an earlier tracer (none, before session 31's,
/// which took types of one serde name for one) describes the same layout in other words, so an
/// entry that records one is a plain miss, not "its layout changed" (`entry::check`).
const SCHEME: &str = "2:";

/// Whether `fingerprint` was made by this tracer ([`SCHEME`]).
pub(crate) fn current_scheme(fingerprint: &str) -> bool {
    fingerprint.starts_with(SCHEME)
}

/// What is known of one type's shape.
#[derive(Debug)]
pub(crate) struct Shape {
    /// The hex fingerprint, or `None` for a type that cannot be traced.
    pub(crate) fingerprint: Option<String>,
    /// Why it could not be traced.
    untraced: Option<String>,
    warned: AtomicBool,
}

impl Shape {
    /// Warns, once per type, that a layout change of this untraceable type goes unnoticed with
    /// a formatter that is not self-describing.
    pub(crate) fn warn_untraced(&self, type_name: &str, formatter: &'static str) {
        if let Some(why) = &self.untraced
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                type_name,
                formatter,
                reason = %why,
                "cacher cannot trace this type's serde shape: a change to its layout will not be \
                 detected in stored entries; change the cache's version when you change the type"
            );
        }
    }
}

type Shapes = HashMap<TypeId, &'static Shape>;

static SHAPES: Mutex<Option<Shapes>> = Mutex::new(None);

thread_local! {
    static LOCAL: RefCell<Shapes> = RefCell::new(HashMap::new());
    /// The type this thread looked up last, and its shape: most lookups ask for it again.
    static LAST: Cell<Option<(TypeId, &'static Shape)>> = const { Cell::new(None) };
}

/// The shape of `V`: traced on a type's first use in the process, then a thread-local lookup.
pub(crate) fn of<V: DeserializeOwned>() -> &'static Shape {
    let id = typeid::of::<V>();
    if let Some((last, shape)) = LAST.get()
        && last == id
    {
        return shape;
    }
    let shape = match LOCAL.with(|local| local.borrow().get(&id).copied()) {
        Some(shape) => shape,
        None => {
            let shape = shared::<V>(id);
            LOCAL.with(|local| local.borrow_mut().insert(id, shape));
            shape
        }
    };
    LAST.set(Some((id, shape)));
    shape
}

/// The process-wide record of `V`'s shape, traced if no thread has yet.
fn shared<V: DeserializeOwned>(id: TypeId) -> &'static Shape {
    let known = |shapes: &Option<Shapes>| shapes.as_ref().and_then(|s| s.get(&id).copied());
    if let Some(shape) = known(&SHAPES.lock().unwrap_or_else(PoisonError::into_inner)) {
        return shape;
    }
    // Traced outside the lock: two threads may both trace a new type; the first one stored wins.
    // A `Deserialize` that panics on a placeholder makes the type untraceable, not the read fail.
    let traced = std::panic::catch_unwind(AssertUnwindSafe(trace::fingerprint::<V>))
        .unwrap_or_else(|_| Err("its Deserialize panicked on a placeholder".to_owned()));
    let mut shapes = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
    let shapes = shapes.get_or_insert_with(HashMap::new);
    let stored: &&'static Shape = shapes.entry(id).or_insert_with(|| {
        let (fingerprint, untraced) = match traced {
            Ok(fingerprint) => (Some(fingerprint), None),
            Err(why) => (None, Some(why)),
        };
        // One per type, for the life of the process.
        Box::leak(Box::new(Shape {
            fingerprint,
            untraced,
            warned: AtomicBool::new(false),
        }))
    });
    stored
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::of;

    /// Parses its text, as chrono's `DateTime` does.
    struct Timestamp;

    impl<'de> Deserialize<'de> for Timestamp {
        fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            let text = <&str>::deserialize(de)?;
            match text.len() == 20 && text.ends_with('Z') {
                true => Ok(Timestamp),
                false => Err(serde::de::Error::custom("not a timestamp")),
            }
        }
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Comment {
        text: String,
        replies: Vec<Comment>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    enum Tree {
        Node(Vec<Tree>, Box<Tree>),
        Leaf(u8),
    }

    mod before {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Status {
            Pending,
            Active { since: u64 },
        }
    }

    mod after {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Status {
            Pending,
            Active { since: u32 },
        }
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Account<S> {
        id: u64,
        status: Option<S>,
    }

    #[test]
    fn recursive_types_are_traced() {
        assert!(of::<Comment>().fingerprint.is_some());
        assert!(of::<Tree>().fingerprint.is_some());
        assert!(of::<Vec<std::num::NonZeroU32>>().fingerprint.is_some());
        assert!(of::<Vec<Timestamp>>().fingerprint.is_some());
    }

    #[test]
    fn a_change_inside_a_nested_enum_variant_changes_the_fingerprint() {
        let before = of::<Account<before::Status>>().fingerprint.as_deref();
        let after = of::<Account<after::Status>>().fingerprint.as_deref();
        assert!(before.is_some() && after.is_some());
        assert_ne!(before, after);
        // Traced once per type: the same record every time.
        assert!(std::ptr::eq(of::<Comment>(), of::<Comment>()));
    }

    /// The thread's last lookup answers only for its own type: types taking turns each get
    /// their own record.
    #[test]
    fn types_looked_up_in_turn_each_get_their_own_shape() {
        let (a, b) = (
            of::<Account<before::Status>>(),
            of::<Account<after::Status>>(),
        );
        for _ in 0..3 {
            assert!(std::ptr::eq(of::<Account<before::Status>>(), a));
            assert!(std::ptr::eq(of::<Account<before::Status>>(), a));
            assert!(std::ptr::eq(of::<Account<after::Status>>(), b));
        }
        assert_ne!(a.fingerprint, b.fingerprint);
    }

    mod deep_before {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Outer {
            X,
            Y(Vec<Middle>),
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub struct Middle {
            pub inner: Option<Inner>,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Inner {
            P,
            Q(u8),
        }
    }

    mod deep_after {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Outer {
            X,
            Y(Vec<Middle>),
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub struct Middle {
            pub inner: Option<Inner>,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        pub enum Inner {
            P,
            Q(u16),
        }
    }

    #[test]
    fn every_variant_of_an_enum_reached_only_through_another_variant_is_traced() {
        let before = super::trace::fingerprint::<deep_before::Outer>().unwrap();
        let after = super::trace::fingerprint::<deep_after::Outer>().unwrap();
        assert_ne!(before, after);
        // The same type, traced again from scratch: the same fingerprint.
        assert_eq!(
            before,
            super::trace::fingerprint::<deep_before::Outer>().unwrap()
        );
    }

    struct Panics;

    impl<'de> Deserialize<'de> for Panics {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            panic!("a Deserialize that panics on anything")
        }
    }

    #[test]
    fn a_deserialize_that_panics_on_a_placeholder_leaves_the_type_untraced() {
        assert!(of::<Panics>().fingerprint.is_none());
    }

    #[test]
    fn types_that_ask_the_format_what_comes_next_are_not_traced() {
        assert!(of::<serde_json::Value>().fingerprint.is_none());
        assert!(of::<Vec<serde_json::Value>>().fingerprint.is_none());
    }

    /// Types of one serde name that are different Rust types (helper-107): serde names carry
    /// no module path nor generic arguments, and the tracer took them for one container — the
    /// second one's layout never traced, so a field retyped or swapped in it kept the
    /// fingerprint, and postcard, bincode and the store read old entries as new values.
    #[allow(dead_code)]
    mod same_name {
        use serde::Deserialize;

        #[derive(Deserialize)]
        pub struct Pair<T> {
            pub a: T,
        }

        pub mod m1 {
            #[derive(serde::Deserialize)]
            pub enum Kind {
                A,
                B(u32),
            }
        }

        pub mod m2 {
            #[derive(serde::Deserialize)]
            pub enum Kind {
                A,
                B(u32),
            }
        }

        pub mod m3 {
            #[derive(serde::Deserialize)]
            pub enum Kind {
                A,
                B(i32),
            }
        }

        pub mod github_before {
            #[derive(serde::Deserialize)]
            pub struct User {
                pub id: u64,
                pub followers: u32,
                pub following: u32,
            }
        }

        pub mod github_after {
            #[derive(serde::Deserialize)]
            pub struct User {
                pub id: u64,
                pub following: u32,
                pub followers: u32,
            }
        }

        /// Each type twice, as before and after a change, under one serde name.
        pub mod before {
            use super::*;

            #[derive(Deserialize)]
            pub struct Probe {
                pub dns: Result<u32, String>,
                pub tcp: Result<u32, u32>,
            }

            #[derive(Deserialize)]
            pub struct Pairs {
                pub a: Pair<u32>,
                pub b: Pair<i32>,
            }

            #[derive(Deserialize)]
            pub struct Kinds {
                pub x: m1::Kind,
                pub y: m2::Kind,
            }

            #[derive(Deserialize)]
            pub struct User {
                pub name: String,
                pub github: github_before::User,
            }
        }

        pub mod after {
            use super::*;

            #[derive(Deserialize)]
            pub struct Probe {
                pub dns: Result<u32, String>,
                pub tcp: Result<i32, u32>,
            }

            #[derive(Deserialize)]
            pub struct Pairs {
                pub a: Pair<i32>,
                pub b: Pair<u32>,
            }

            #[derive(Deserialize)]
            pub struct Kinds {
                pub x: m1::Kind,
                pub y: m3::Kind,
            }

            #[derive(Deserialize)]
            pub struct User {
                pub name: String,
                pub github: github_after::User,
            }
        }

        /// `before::Kinds` moved to another module, unchanged.
        pub mod moved {
            use super::*;

            #[derive(Deserialize)]
            pub struct Kinds {
                pub x: m1::Kind,
                pub y: m2::Kind,
            }
        }
    }

    #[test]
    fn types_of_one_serde_name_are_traced_apart() {
        use same_name::{after, before, moved};
        fn differ<A: serde::de::DeserializeOwned, B: serde::de::DeserializeOwned>(what: &str) {
            let (a, b) = (
                of::<A>().fingerprint.as_deref(),
                of::<B>().fingerprint.as_deref(),
            );
            assert!(a.is_some() && b.is_some(), "{what}: untraced");
            assert_ne!(a, b, "{what}: one fingerprint for two layouts");
        }
        differ::<before::Probe, after::Probe>("a `Result` of two, one retyped");
        differ::<before::Pairs, after::Pairs>("two instances of a generic swapped");
        differ::<before::Kinds, after::Kinds>("`m1::Kind` beside another `Kind`, retyped");
        differ::<before::User, after::User>("a `User` inside a `User`, fields swapped");
        assert_eq!(
            of::<before::Kinds>().fingerprint,
            of::<moved::Kinds>().fingerprint,
            "a type moved to another module keeps its fingerprint"
        );
    }

    /// `#[serde(alias)]` (helper-109): a struct's field names come with its aliases, and the
    /// fields were labelled by position from them, so with two aliases the last two fields went
    /// unnamed and could be swapped unseen; an enum with an alias was offered an index past its
    /// variants, refused, and left untraced. A field renamed to look like two is one.
    #[allow(dead_code)]
    mod aliased {
        pub mod before {
            #[derive(serde::Deserialize)]
            pub struct Account {
                #[serde(alias = "userName", alias = "user_name")]
                pub username: String,
                pub first_name: String,
                pub last_name: String,
            }

            #[derive(serde::Deserialize)]
            pub enum Status {
                #[serde(alias = "active")]
                Active,
                Pending,
                Banned,
            }

            #[derive(serde::Deserialize)]
            pub struct Named {
                #[serde(rename = "a:u32,b")]
                pub a: u32,
            }
        }

        pub mod after {
            #[derive(serde::Deserialize)]
            pub struct Account {
                #[serde(alias = "userName", alias = "user_name")]
                pub username: String,
                pub last_name: String,
                pub first_name: String,
            }

            #[derive(serde::Deserialize)]
            pub enum Status {
                #[serde(alias = "active")]
                Active,
                Banned,
                Pending,
            }

            #[derive(serde::Deserialize)]
            pub struct Named {
                pub a: u32,
                pub b: u32,
            }
        }
    }

    #[test]
    fn aliases_and_odd_names_keep_every_field_and_variant_in_the_fingerprint() {
        use aliased::{after, before};
        let traced = |f: Option<&str>| f.map(str::to_owned).expect("traced");
        let account = (of::<before::Account>(), of::<after::Account>());
        assert_ne!(
            traced(account.0.fingerprint.as_deref()),
            traced(account.1.fingerprint.as_deref()),
            "the two fields after the aliases swapped"
        );
        let status = (of::<before::Status>(), of::<after::Status>());
        assert_ne!(
            traced(status.0.fingerprint.as_deref()),
            traced(status.1.fingerprint.as_deref()),
            "variants swapped beside an alias"
        );
        assert_ne!(
            traced(of::<before::Named>().fingerprint.as_deref()),
            traced(of::<after::Named>().fingerprint.as_deref()),
            "a field named like two"
        );
    }
}
