//! How functions are named: their paths, pinned namespaces, refusals, directories.

use super::*;
use crate::__private::NO_OPTIONS;

/// The `Site` of a function whose marker's `type_name` is `$marker`.
macro_rules! site {
    ($marker:literal) => {
        site_of(|| $marker)
    };
}

fn site_of(marker: fn() -> &'static str) -> Site {
    Site {
        marker,
        module: "app::api",
        function: "lookup",
        location: "src/api.rs:1:1",
        persistent: false,
        package: "my-app",
        pinned: None,
        names: &[],
        options: NO_OPTIONS,
    }
}

#[test]
fn functions_are_named_after_their_module_and_enclosing_function() {
    let top = site!("app::api::lookup::__CacherSite");
    assert_eq!(top.namespace(None).unwrap(), "app::api::lookup");
    let companion = site!("app::api::lookup_cache::__CacherSite");
    assert_eq!(companion.namespace(None).unwrap(), "app::api::lookup");
    let nested = site!("app::api::usd::lookup::__CacherSite");
    assert_eq!(nested.namespace(None).unwrap(), "app::api::usd::lookup");
    let associated = site!("app::api::Api::lookup::__CacherSite");
    assert_eq!(associated.namespace(None).unwrap(), "app::api::Api::lookup");
    let in_async = site!("app::api::lookup::{{closure}}::__CacherSite");
    assert_eq!(in_async.namespace(None).unwrap(), "app::api::lookup");
    let in_closure = site!("app::api::usd::{{closure}}::lookup::__CacherSite");
    let namespace = in_closure.namespace(None).unwrap();
    assert_eq!(namespace, "app::api::usd::{{closure}}::lookup");
}

#[test]
fn methods_are_named_after_their_self_type_and_trait() {
    let inherent = site!("app::api::Api<_>::lookup::__CacherSite");
    let usd = inherent.namespace(Some("app::api::Api<app::Usd>")).unwrap();
    assert_eq!(usd, "app::api::Api<app::Usd>::lookup");
    let client = site!("app::api::Client<'_>::lookup::__CacherSite");
    let named = client.namespace(Some("app::api::Client<'_>")).unwrap();
    assert_eq!(named, "app::api::Client::lookup");
    let in_trait = site!("<app::api::Api<_> as app::Convert>::lookup::__CacherSite");
    let eur = in_trait.namespace(Some("app::api::Api<app::Eur>")).unwrap();
    assert_eq!(eur, "<app::api::Api<app::Eur> as app::Convert>::lookup");
    // In an anonymous `const _`, the compiler prints impls otherwise.
    let anonymous = site!("app::_::<impl app::Convert for app::Api<_>>::lookup::__CacherSite");
    let usd = anonymous.namespace(Some("app::Api<app::Usd>")).unwrap();
    assert_eq!(usd, "<app::Api<app::Usd> as app::Convert>::lookup");
    let inherent = site!("app::_::<impl app::Api<_>>::lookup::__CacherSite");
    let usd = inherent.namespace(Some("app::Api<app::Usd>")).unwrap();
    assert_eq!(usd, "app::Api<app::Usd>::lookup");
}

#[test]
fn caches_that_cannot_tell_their_types_apart_are_refused() {
    let associated = site!("app::api::Api<_>::lookup::__CacherSite");
    assert!(
        associated
            .namespace(None)
            .unwrap_err()
            .contains("take `&self`")
    );
    let generic_trait = site!("<app::Money as app::Convert<_>>::lookup::__CacherSite");
    let refusal = generic_trait.namespace(Some("app::Money")).unwrap_err();
    assert!(refusal.contains("app::Convert<_>"), "{refusal}");
    let anonymous = site!("app::_::<impl app::Convert<_> for app::Money>::lookup::__CacherSite");
    assert!(anonymous.namespace(Some("app::Money")).is_err());
    assert!(!has_placeholder("app::Client<'_>") && !has_placeholder("app::a_b::_c"));
    assert!(has_placeholder("app::Api<_, u8>") && has_placeholder("app::Api<[_; 2]>"));
    // An anonymous `const _: () = { … };` is no generic impl.
    assert!(!has_placeholder("app::_") && !has_placeholder("app::_::<impl app::W>"));
    assert!(has_placeholder("app::_::<impl app::Api<_>>"));
    let anonymous = site!("app::api::_::lookup::__CacherSite");
    assert_eq!(anonymous.namespace(None).unwrap(), "app::api::_::lookup");
}

#[test]
fn directories_are_portable_names_of_the_namespace_parts() {
    let parts: Vec<_> = top_level_parts("app::Api<app::Usd>::get").collect();
    assert_eq!(parts, ["app", "Api<app::Usd>", "get"]);
    assert_eq!(portable_part("Api<app::Usd>"), "Api%3Capp.Usd%3E");
    assert_eq!(portable_part("{{closure}}"), "%7B%7Bclosure%7D%7D");
    let long = portable_part(&format!("Api<{}>", "a".repeat(300)));
    assert!(long.len() <= 96 && long.starts_with("Api%3Caaa"), "{long}");
    assert_ne!(long, portable_part(&format!("Api<{}>", "a".repeat(301))));
}

#[test]
fn a_pinned_namespace_replaces_the_path_below_the_package() {
    let pinned = Site {
        pinned: Some("users::fetch"),
        ..site!("app::api::lookup::__CacherSite")
    };
    assert_eq!(pinned.namespace(None).unwrap(), "my_app::users::fetch");
    // A method of a generic type keeps the type's arguments: one cache per type.
    let method = Site {
        pinned: Some("prices::get"),
        ..site!("app::api::Api<_>::lookup::__CacherSite")
    };
    let usd = method.namespace(Some("app::api::Api<app::Usd>")).unwrap();
    assert_eq!(usd, "my_app::prices::get<app::Usd>");
    let client = method.namespace(Some("app::api::Client<'_>")).unwrap();
    assert_eq!(client, "my_app::prices::get");
    // What cannot have a cache of its own still cannot, pinned or not.
    assert!(method.namespace(None).is_err());
}

#[test]
fn a_pinned_namespace_that_another_function_already_uses_is_refused_either_way() {
    let automatic = Site {
        location: "src/a.rs:1:1",
        ..site!("app::api::lookup::__CacherSite")
    };
    let pinned = Site {
        location: "src/b.rs:1:1",
        pinned: Some("api::lookup"),
        ..site!("app::other::lookup::__CacherSite")
    };
    for (first, second, namespace) in [
        (&automatic, &pinned, "test::claim::one"),
        (&pinned, &automatic, "test::claim::two"),
    ] {
        claim(namespace, first, None);
        claim(namespace, first, None); // the same site again: its own namespace
        let refusal = std::panic::catch_unwind(|| claim(namespace, second, None)).unwrap_err();
        let message = refusal.downcast_ref::<String>().unwrap();
        assert!(message.contains("src/a.rs:1:1") && message.contains("src/b.rs:1:1"));
        assert!(
            message.contains("give each its own `namespace`"),
            "{message}"
        );
    }
}

/// A `PerType` finds each type's own cache, for the types in its lock-free slots and for those
/// past them, whatever the order of first uses, and calls `find` only at a type's first use.
#[test]
fn a_per_type_static_keeps_each_types_cache_in_its_slots_and_beyond() {
    static CACHES: PerType<u32, u32> = PerType::new();
    let ids = [
        type_key::<u8>(),
        type_key::<u16>(),
        type_key::<u32>(),
        type_key::<u64>(),
        type_key::<i8>(),
        type_key::<i16>(),
        type_key::<i32>(),
        type_key::<i64>(),
        type_key::<u128>(),
        type_key::<i128>(),
        type_key::<char>(),
    ];
    assert!(ids.len() > 8, "past the slots too");
    fn init(_namespace: &str, _names: &[&str], _options: &[Opt]) -> Cache<u32, u32> {
        Cache::builder().build().unwrap()
    }
    let made: Vec<Found> = (0..ids.len())
        .map(|_| Found::built(&Init(init), "t", &site_of(|| "app::t::__CacherSite")))
        .collect();
    for round in 0..3 {
        for (n, id) in ids.iter().enumerate().rev() {
            let found = CACHES.get(*id, || match round {
                0 => made[n],
                _ => panic!("type {n} looked up again in round {round}"),
            });
            let made = made[n].cache::<u32, u32>().unwrap();
            assert!(std::ptr::eq(found, made), "type {n}, round {round}");
        }
    }
}
