//! Whether an expression or a type names an identifier: by a token of its own ([`mentions`]),
//! or also inside a macro call's format string, which names its arguments inline
//! (`format!("{a}-{b:?}")`, the Rust of today's `format!("{}-{:?}", a, b)`: [`uses`]).
//!
//! What the attribute asks of a `key = …` expression (does it use an argument; which ones it
//! borrows, by their tokens), of an argument's type (does it carry a generic parameter), of a
//! build (does it name `Self`) and of an async body (does it call its own function).

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::ext::IdentExt;

/// Whether `tokens` name `ident` by a token: what the expansion borrows or moves. A format
/// string's inline argument is no such token: the `format!` family borrows it within the
/// macro's own expression, whose value owns its text.
pub(crate) fn mentions(tokens: TokenStream, ident: &Ident) -> bool {
    found(tokens, ident, (false, false))
}

/// Whether a key expression `tokens` uses `ident`: a token ([`mentions`]), or an argument a
/// format string inside a macro call takes inline (`key = format!("{a}")` uses `a`).
pub(crate) fn uses(tokens: TokenStream, ident: &Ident) -> bool {
    found(tokens, ident, (true, false))
}

/// [`mentions`] (`formats` false) or [`uses`]; `in_macro` when `tokens` are a macro call's (or
/// inside one): there a string literal may be a format string.
fn found(tokens: TokenStream, ident: &Ident, (formats, in_macro): (bool, bool)) -> bool {
    // A group right after a `!` is a macro call's arguments (or a negation's operand, whose
    // string literals are read as well: the answer is then "uses" for a text that names it
    // between braces, which a negation's operand does not hold in practice).
    let mut after_bang = false;
    tokens.into_iter().any(|tree| {
        let bang = matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == '!');
        let inside = (formats, in_macro || after_bang);
        let hit = match tree {
            TokenTree::Ident(found) => found == *ident,
            TokenTree::Group(group) => found(group.stream(), ident, inside),
            // A format string names a parameter `r#type` as `type`.
            TokenTree::Literal(literal) if formats && in_macro => match syn::Lit::new(literal) {
                syn::Lit::Str(text) => {
                    format_names(&text.value()).any(|name| ident.unraw() == name)
                }
                _ => false,
            },
            _ => false,
        };
        after_bang = bang;
        hit
    })
}

/// The names a format string takes inline: `a` of `{a}`, `{a:?}` and `{a:>8}`, `w` and `p` of
/// `{:w$.p$}`. Positions (`{0}`) and escaped braces (`{{`, `}}`) are none.
fn format_names(text: &str) -> impl Iterator<Item = &str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(escaped) = rest.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = rest.find('}') else { break };
        let (argument, spec) = rest[..close]
            .split_once(':')
            .unwrap_or((&rest[..close], ""));
        names.push(argument.trim());
        // A width or precision taken from an argument: the name before each `$`.
        let mut parts = spec.split('$');
        parts.next_back();
        names.extend(parts.map(|before| {
            let start = before
                .rfind(|c: char| !is_ident_char(c))
                .map_or(0, |at| at + 1);
            &before[start..]
        }));
        rest = &rest[close + 1..];
    }
    names.into_iter().filter(|name| is_identifier(name))
}

/// A name Rust reads as an identifier (not a position: `0`, and not empty).
fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_alphabetic() || c == '_') && name.chars().all(is_ident_char)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;
    use quote::quote;

    use super::*;

    fn names(text: &str) -> Vec<&str> {
        format_names(text).collect()
    }

    #[test]
    fn a_format_string_names_its_inline_arguments() {
        assert_eq!(names("{a}-{b:?}/{c:>8}"), ["a", "b", "c"]);
        assert_eq!(names("{:w$.p$} {0} {} {{a}} }}"), ["w", "p"]);
        assert_eq!(names("{_x1:#?}{y:x?}"), ["_x1", "y"]);
        assert!(names("{{").is_empty() && names("{a").is_empty());
    }

    #[test]
    fn a_key_uses_an_argument_inside_a_macro_call_format_string_only() {
        let a = Ident::new("a", Span::call_site());
        assert!(uses(quote!(format!("{a}-x")), &a));
        assert!(uses(quote!((format!("{:a$}", 1), 2)), &a));
        assert!(uses(quote!(a.len()), &a));
        // A string that is no macro's is no format string.
        assert!(!uses(quote!(("{a}", b)), &a));
        assert!(!uses(quote!(format!("{ab}{0}", b)), &a));
        // A raw parameter is written without `r#` in a format string.
        assert!(uses(
            quote!(format!("{type}")),
            &Ident::new_raw("type", Span::call_site())
        ));
    }

    #[test]
    fn a_format_strings_argument_is_no_token_the_expansion_borrows() {
        let a = Ident::new("a", Span::call_site());
        assert!(!mentions(quote!(format!("{a}-x")), &a));
        assert!(mentions(quote!(format!("{}", a)), &a));
    }
}
