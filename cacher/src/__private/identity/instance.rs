//! The caches of a generic `#[cached]` function: one per instance, as a method of a generic impl
//! has one per `Self` type. A `static` in a generic function is shared by all its instances, and
//! a type or const parameter that only a skipped argument carries (`price::<R>(region: R, id)`,
//! the region skipped) chooses what the function computes: one cache would serve `price(Eur, 1)`
//! the value of `price(Usd, 1)`.

use std::any::TypeId;

use super::{Init, PerType, Site, per_type_cache};
use crate::Cache;

/// Which instance of a generic function (or of a method with generic parameters of its own) a
/// call is, as `type_name` gives it.
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    /// What tells its cache from the other instances': the [`type_key`](super::type_key) of the
    /// arguments, with `Self` first for a method (not their `type_name`, which may be another
    /// type's: two closures of one function are both `…::{{closure}}`).
    pub id: TypeId,
    /// `type_name::<Self>()`, for a method.
    pub self_type: Option<&'static str>,
    /// `type_name` of the tuple of the type parameters, and of a [`konst`] marker for each const
    /// parameter, in their order.
    pub arguments: &'static str,
}

/// The cache of one `instance` of a generic function, kept in the function's `slot`; as
/// [`function_cache`](super::function_cache), named after the function with its arguments
/// (`my::price<my::Eur>`, `my::scaled<3>`).
///
/// # Panics
/// As [`function_cache`](super::function_cache).
pub fn instance_cache<K, V>(
    slot: &'static PerType<K, V>,
    instance: Instance,
    site: &'static Site,
    init: Init<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    let which = (instance.id, instance.self_type, Some(instance.arguments));
    per_type_cache(slot, which, site, init)
}

/// A type for each kind of const parameter, so that its value is in a `type_name`:
/// `konst::U32<3>` for `const N: u32`.
pub mod konst {
    macro_rules! markers {
        ($($name:ident: $ty:ty),* $(,)?) => {$(
            #[doc = concat!("The value of a `const` parameter of type `", stringify!($ty), "`.")]
            #[derive(Debug)]
            pub struct $name<const N: $ty>;
        )*};
    }
    markers!(
        U8: u8, U16: u16, U32: u32, U64: u64, U128: u128, Usize: usize,
        I8: i8, I16: i16, I32: i32, I64: i64, I128: i128, Isize: isize,
        Bool: bool, Char: char,
    );
}

/// The path of the [`konst`] markers, as `type_name` writes it.
const KONST: &str = "cacher::__private::identity::instance::konst::";

/// The arguments of an instance as the namespace writes them: `<my::Eur, 3>` from the
/// `type_name` of `(my::Eur, cacher::…::konst::U32<3>)`.
pub(super) fn label(arguments: &str) -> String {
    let inner = arguments
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or(arguments);
    let parts: Vec<&str> = top_level_items(inner)
        .map(|item| {
            item.strip_prefix(KONST)
                .and_then(|marker| marker.get(marker.find('<')? + 1..marker.rfind('>')?))
                .unwrap_or(item)
        })
        .collect();
    format!("<{}>", parts.join(", "))
}

/// `text`'s items separated by `,` outside of `<…>`, `(…)` and `[…]`, trimmed, empty ones left
/// out (a one-element tuple's trailing comma).
fn top_level_items(text: &str) -> impl Iterator<Item = &str> {
    let mut items = Vec::new();
    let (mut depth, mut start, mut previous) = (0_usize, 0, ' ');
    for (at, c) in text.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' if previous == '-' => {}
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
        previous = c;
    }
    items.push(&text[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{KONST, konst, label};

    #[test]
    fn arguments_are_written_as_the_compiler_writes_a_functions() {
        let of = |arguments: &str| label(arguments);
        assert_eq!(of("(app::Eur,)"), "<app::Eur>");
        assert_eq!(
            of("(app::Pair<u8, (u16, u32)>, [u8; 2], fn(u8) -> u8)"),
            "<app::Pair<u8, (u16, u32)>, [u8; 2], fn(u8) -> u8>"
        );
        let marker = std::any::type_name::<konst::U32<3>>();
        assert!(marker.starts_with(KONST), "{marker}");
        assert_eq!(
            label(std::any::type_name::<(u8, konst::U32<3>)>()),
            "<u8, 3>"
        );
        let chars = std::any::type_name::<(konst::Char<'x'>, konst::Bool<true>)>();
        assert_eq!(label(chars), "<'x', true>");
    }
}
