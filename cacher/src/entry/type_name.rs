//! Type names as entries record them, compared without module paths when the shape guards the
//! layout (see [`entry`](super#a-types-identity-its-name-and-its-shape-not-its-module)).

/// Whether an entry recording the type `stored` holds a value of the type `expected`. When the
/// reader's shape is traced (`traced`), the shape is the guard that matters and the names are
/// compared without their module paths, so that a type moved to another module (`models::User`
/// to `accounts::User`, `Vec<models::User>` to `Vec<accounts::User>`) keeps its entries; the
/// shape check that follows refuses a layout change. An untraced type has no such guard: its full
/// path must match.
pub(super) fn same_type(stored: &str, expected: &str, traced: bool) -> bool {
    stored == expected || (traced && without_paths(stored) == without_paths(expected))
}

/// A type name as [`std::any::type_name`] prints it, without module paths: `Vec<User>` for
/// `alloc::vec::Vec<app::models::User>`, `<User as Tr>::Out` for `<app::User as app::Tr>::Out`.
fn without_paths(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len());
    let mut word = String::new();
    let mut chars = type_name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') && !word.is_empty() {
            // `word::` is a module (or type) on the way to the name: left out.
            chars.next();
            word.clear();
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

#[cfg(test)]
mod tests {
    use super::without_paths;

    #[test]
    fn type_names_lose_their_module_paths_only() {
        let cases = [
            ("alloc::string::String", "String"),
            ("alloc::vec::Vec<app::models::User>", "Vec<User>"),
            ("(u32, core::option::Option<&str>)", "(u32, Option<&str>)"),
            ("[app::User; 3]", "[User; 3]"),
            ("<app::User as app::Tr>::Out", "<User as Tr>::Out"),
            ("std::collections::HashMap<k::K, v::V>", "HashMap<K, V>"),
        ];
        for (full, short) in cases {
            assert_eq!(without_paths(full), short, "{full}");
        }
    }
}
