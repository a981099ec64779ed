//! A user's extension trait with a `kind` method for every type, in scope where a `#[cached]`
//! function is. The attribute asks the compiler whether a return type taken for a value is a
//! `Result` by another name by method resolution on `__private::Probe` (`result.rs`): a method
//! of the user's of the name the probe's has, found at the same step or an earlier one, was
//! chosen instead, and every such function failed to compile with "this type is a `Result` by
//! another name" at a return type that is none (`u32`). The probe's method has a name of its own.
//!
//! Warnings are errors here: the import is used by the test, and the expansions add none.
#![deny(warnings)]

use cacher::cached;

/// Traits of the user's, implemented for every type: one by reference, one by value.
mod ext {
    pub trait Kind {
        fn kind(&self) -> &'static str {
            "any"
        }
    }
    impl<T: ?Sized> Kind for T {}

    pub trait Category {
        fn category(self) -> u8
        where
            Self: Sized,
        {
            0
        }
        fn kind(self) -> u8
        where
            Self: Sized,
        {
            1
        }
    }
    impl<T> Category for T {}
}

mod by_reference {
    use super::ext::Kind;
    use cacher::cached;

    #[cached]
    pub fn plain(n: u32) -> u32 {
        n + 1
    }

    #[cached]
    pub fn optional(n: u32) -> Option<Result<u32, String>> {
        Some(Ok(n))
    }

    /// The trait is the user's to call, as before.
    pub fn kind_of(n: u32) -> &'static str {
        n.kind()
    }
}

mod by_value {
    use super::ext::Category;
    use cacher::cached;

    #[cached]
    pub fn plain(n: u32) -> u32 {
        n + 2
    }

    pub fn kind_of(n: u32) -> u8 {
        n.kind() + n.category()
    }
}

#[cached]
fn unrelated(n: u32) -> u32 {
    n + 3
}

#[test]
fn a_users_kind_method_in_scope_leaves_the_result_check_alone() {
    assert_eq!(by_reference::plain(1), 2);
    assert_eq!(by_reference::optional(1), Some(Ok(1)));
    assert_eq!(by_reference::kind_of(1), "any");
    assert_eq!(by_value::plain(1), 3);
    assert_eq!(by_value::kind_of(1), 1);
    assert_eq!(unrelated(1), 4);
}
