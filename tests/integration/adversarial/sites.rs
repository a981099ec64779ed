//! The place a `#[cached]` function's site records (`Site::location`, `file:line:column#n`),
//! which tells apart two functions the compiler names alike and which the refusals name: the
//! attribute's place, or, for functions a `macro_rules!` of the user's writes, that macro's
//! invocation, one `#n` each. The `Site` is written by cacher's own `macro_rules!`
//! (`__private::site!`), whose `line!()`, `column!()` and `file!()` must still give the user's
//! place, never cacher's, and give the function and its companion the same one.

use cacher_tests::panic_of;

use cacher::cached;

/// One cache directory per test, below the tests' temporary directory.
macro_rules! dir {
    ($name:literal) => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/adversarial_sites/", $name)
    };
}

/// The two places a refusal of two functions of one pinned namespace names: the first one's
/// and the second one's.
fn places(message: &str) -> (&str, &str) {
    let rest = message
        .strip_prefix("#[cached] functions at ")
        .unwrap_or_else(|| panic!("{message}"));
    let (first, rest) = rest.split_once(" and at ").expect(message);
    let (second, _) = rest.split_once(' ').expect(message);
    (first, second)
}

/// `file:line:column` of a place, without its `#n`.
fn place(location: &str) -> &str {
    location
        .rsplit_once('#')
        .map_or(location, |(place, _)| place)
}

const ATTRIBUTE_LINE: u32 = line!() + 1;
#[cached(backend = "file", namespace = "sites::attribute", cache_dir = dir!("attribute"))]
fn claimed(n: u32) -> u32 {
    n
}

mod elsewhere {
    use cacher::cached;

    #[cached(backend = "file", namespace = "sites::attribute", cache_dir = dir!("attribute"))]
    pub fn claimed(n: u32) -> u32 {
        n + 1
    }
}

#[test]
fn a_functions_place_is_its_attributes_in_the_users_file() {
    // The companion first: its site is the function's, so the function's call is no second
    // claim of the namespace.
    let _ = claimed_cache();
    assert_eq!(claimed(1), 1);
    let message = panic_of(|| {
        elsewhere::claimed(1);
    });
    let (first, second) = places(&message);
    assert_eq!(
        place(first),
        format!("{}:{ATTRIBUTE_LINE}:1", file!()),
        "{message}"
    );
    assert_eq!(
        place(second),
        format!("{}:{}:5", file!(), ATTRIBUTE_LINE + 8),
        "{message}"
    );
}

/// Two functions of one namespace, both written by one invocation of a macro of the user's.
macro_rules! two_of_one_namespace {
    () => {
        mod written {
            use cacher::cached;

            #[cached(backend = "file", namespace = "sites::written", cache_dir = dir!("written"))]
            pub fn first(n: u32) -> u32 {
                n
            }

            #[cached(backend = "file", namespace = "sites::written", cache_dir = dir!("written"))]
            pub fn second(n: u32) -> u32 {
                n + 1
            }
        }
    };
}

const INVOCATION_LINE: u32 = line!() + 1;
two_of_one_namespace!();

#[test]
fn functions_a_users_macro_writes_have_its_invocations_place_and_a_number_each() {
    let _ = written::first_cache();
    assert_eq!(written::first(1), 1);
    let message = panic_of(|| {
        written::second(1);
    });
    let (first, second) = places(&message);
    let invocation = format!("{}:{INVOCATION_LINE}:1", file!());
    assert_eq!(place(first), invocation, "{message}");
    assert_eq!(place(second), invocation, "{message}");
    assert_ne!(first, second, "each its own `#n`: {message}");
}
