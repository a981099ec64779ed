//! The fingerprint of a function's code, which its persistent entries record so that an edited
//! function's old entries are misses (`CacheBuilder::code_hash`).
//!
//! It hashes the function's tokens, not its text: formatting and comments (doc comments among
//! them, which are tokens to the compiler) change nothing; the outer attributes (`#[cached]`'s
//! options, `#[inline]`, docs) and the visibility are left out too, as they do not change what
//! the function returns — but for `#[cached]`'s `key = …`, which says what an entry's key means. The tokens are written in a canonical text of cacher's own — never a
//! `Debug` form, which may change between compilers — so the fingerprint is the same on every
//! platform and compiler version, and hashed with BLAKE3.
//!
//! What it cannot see: the functions, constants and types the body uses (an edited helper is
//! not an edited function), and what macros called in the body expand to (their invocation's
//! tokens are hashed, not their expansion).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The canonical text's layout, hashed first: changed if the text ever is.
const CANONICAL: &str = "cacher-code-1";

/// The fingerprint of `item` (a function as written) and of its `key = …` expression, if any:
/// 32 hex digits. The expression is the one option hashed, since it says what an entry's key
/// means: after `key = doc.id` became `key = doc.revision`, an entry stored for id 7 is not the
/// value for revision 7.
pub(crate) fn fingerprint(item: TokenStream, key: Option<TokenStream>) -> String {
    let mut text = String::from(CANONICAL);
    text.push('\n');
    let mut tokens = item.into_iter().peekable();
    // The outer attributes, then the visibility: left out.
    loop {
        match tokens.peek() {
            Some(TokenTree::Punct(p)) if p.as_char() == '#' => {
                tokens.next();
                tokens.next();
            }
            Some(TokenTree::Ident(i)) if i == "pub" => {
                tokens.next();
                if let Some(TokenTree::Group(g)) = tokens.peek()
                    && g.delimiter() == Delimiter::Parenthesis
                {
                    tokens.next();
                }
            }
            _ => break,
        }
    }
    write(tokens.collect(), &mut text);
    if let Some(key) = key {
        // After a newline, which the function's canonical text never holds outside a literal.
        text.push_str("\nkey = ");
        write(key, &mut text);
    }
    let hash = blake3::hash(text.as_bytes()).to_hex();
    hash[..32].to_owned()
}

/// Appends the canonical text of `tokens`: each token's own text, a space after each (none
/// between punctuation that the source joins, as in `&&` or `::`), groups in their delimiters,
/// doc attributes left out.
fn write(tokens: TokenStream, text: &mut String) {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '#' && is_doc(&mut tokens) => {}
            TokenTree::Punct(p) => {
                text.push(p.as_char());
                let joined = p.spacing() == Spacing::Joint
                    && matches!(tokens.peek(), Some(TokenTree::Punct(_)));
                if !joined {
                    text.push(' ');
                }
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("( ", ") "),
                    Delimiter::Brace => ("{ ", "} "),
                    Delimiter::Bracket => ("[ ", "] "),
                    // A group a `macro_rules!` made (`$e:expr`): its tokens alone.
                    Delimiter::None => ("", ""),
                };
                text.push_str(open);
                write(group.stream(), text);
                text.push_str(close);
            }
            TokenTree::Ident(ident) => {
                text.push_str(&ident.to_string());
                text.push(' ');
            }
            TokenTree::Literal(literal) => {
                text.push_str(&literal.to_string());
                text.push(' ');
            }
        }
    }
}

/// After a `#`: whether a doc attribute follows (`[doc = "…"]`, or `![doc = "…"]` inside), which
/// is then skipped. A doc comment is a comment, whatever the compiler makes of it.
fn is_doc(tokens: &mut std::iter::Peekable<proc_macro2::token_stream::IntoIter>) -> bool {
    let mut ahead = tokens.clone();
    if matches!(ahead.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
        ahead.next();
    }
    let Some(TokenTree::Group(group)) = ahead.next() else {
        return false;
    };
    let mut inside = group.stream().into_iter();
    let doc = group.delimiter() == Delimiter::Bracket
        && matches!(inside.next(), Some(TokenTree::Ident(i)) if i == "doc")
        && matches!(inside.next(), Some(TokenTree::Punct(p)) if p.as_char() == '=');
    if doc {
        *tokens = ahead;
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    fn of(source: &str) -> String {
        fingerprint(source.parse().unwrap(), None)
    }

    #[test]
    fn the_key_expression_changes_it_and_no_other_option_does() {
        let item = || "fn f(a: u32, b: u32) -> u32 { a + b }".parse().unwrap();
        let key = |expr: &str| fingerprint(item(), Some(expr.parse().unwrap()));
        assert_ne!(key("a"), key("b"), "the same type, another meaning");
        assert_ne!(key("a"), of("fn f(a: u32, b: u32) -> u32 { a + b }"));
        assert_eq!(key("a"), key(" a "));
    }

    #[test]
    fn formatting_comments_attributes_and_visibility_change_nothing() {
        let plain = of("fn double(x: u32) -> u32 { x * 2 }");
        let same = [
            "fn double(x: u32) -> u32 {\n    // twice\n    x * 2\n}",
            "/// Doubles.\n#[inline]\npub fn double(x : u32)->u32{x*2}",
            "pub(crate) fn double(x: u32) -> u32 { /** twice */ x /* ! */ * 2 }",
            "fn double(x: u32) -> u32 {\n    /// A doc comment is a comment.\n    x * 2\n}",
        ];
        for source in same {
            assert_eq!(of(source), plain, "{source}");
        }
        assert_eq!(plain.len(), 32);
    }

    #[test]
    fn the_signature_and_the_body_change_it() {
        let plain = of("fn double(x: u32) -> u32 { x * 2 }");
        let edited = [
            "fn double(x: u32) -> u32 { x * 3 }",
            "fn double(x: u32) -> u64 { x * 2 }",
            "fn twice(x: u32) -> u32 { x * 2 }",
            "async fn double(x: u32) -> u32 { x * 2 }",
            "fn double(x: u32) -> u32 { x * 2_u32 }",
            "fn double(x: u32) -> u32 { (x * 2) }",
        ];
        for source in edited {
            assert_ne!(of(source), plain, "{source}");
        }
        // Punctuation the source joins is not the same as apart: `a && b` is not `a & &b`.
        assert_ne!(of("fn f() { a && b }"), of("fn f() { a & &b }"));
        assert_ne!(of("fn f() { a::b }"), of("fn f() { a: :b }"));
    }

    #[test]
    fn the_canonical_text_is_pinned() {
        // The same tokens give the same fingerprint on every compiler and platform: a change here
        // turns every user's entries into misses, and needs a new `CANONICAL`.
        assert_eq!(
            of("fn double(x: u32) -> u32 { x * 2 }"),
            &blake3::hash(b"cacher-code-1\nfn double ( x : u32 ) -> u32 { x * 2 } ").to_hex()[..32]
        );
    }
}
