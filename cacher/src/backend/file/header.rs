//! Whose entry is a file? Read from its first [`HEADER_LEN`] bytes (more only for a file that
//! starts as an entry whose namespace or version is that long: `sweep::header_at`), so that
//! `clear` and the `max_entries` listing never read a file whole.
//!
//! An entry records its layout, namespace and version before its key and value (see
//! [`crate::entry`]), so the header fits in the first bytes whatever the value's size. The binary
//! formats read a struct's fields in order and stop, so their `decode_prefix` reads the header
//! from a prefix; a JSON document cut short is not valid JSON, so JSON headers are read here,
//! one member at a time.

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::entry::meta::{next, punct};
use crate::format::Formatter;

/// The bytes read to find an entry's header: one page.
pub(super) const HEADER_LEN: usize = 4096;

/// The identity an entry records, as far as the file backend needs it.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(super) struct Header {
    cacher: u32,
    /// The namespace of the cache that wrote it.
    pub(super) namespace: String,
    /// Its version salt.
    pub(super) version: Option<String>,
}

/// The header at the start of `prefix` (a whole entry, or its first bytes), or `None` when the
/// bytes do not start with one: not an entry, or not this formatter's.
pub(super) fn header_of<F: Formatter>(formatter: &F, prefix: &[u8]) -> Option<Header> {
    if prefix.first() == Some(&b'{') {
        json_header(prefix)
    } else {
        formatter.decode_prefix::<Header>(prefix).ok()
    }
}

/// Reads `{"cacher":…,"namespace":…,"version":…` member by member, skipping members it does not
/// need, until it has the three; `None` when the bytes end first or are not such an object.
fn json_header(bytes: &[u8]) -> Option<Header> {
    let mut rest = punct(bytes, b'{')?;
    let (mut cacher, mut namespace, mut version) = (None, None, None);
    loop {
        let name: String = next(&mut rest)?;
        rest = punct(rest, b':')?;
        match name.as_str() {
            "cacher" => cacher = Some(next::<u32>(&mut rest)?),
            "namespace" => namespace = Some(next::<String>(&mut rest)?),
            "version" => version = Some(next::<Option<String>>(&mut rest)?),
            _ => {
                next::<IgnoredAny>(&mut rest)?;
            }
        }
        if cacher.is_some() && namespace.is_some() && version.is_some() {
            return Some(Header {
                cacher: cacher?,
                namespace: namespace?,
                version: version?,
            });
        }
        rest = punct(rest, b',')?;
    }
}

#[cfg(test)]
mod tests {
    use super::{HEADER_LEN, Header, header_of};
    use crate::entry::{self, Entry, EntryKey};
    use crate::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};

    fn header(namespace: &str, version: Option<&str>) -> Header {
        Header {
            cacher: 1,
            namespace: namespace.to_owned(),
            version: version.map(str::to_owned),
        }
    }

    /// The entries `entry::encode` writes, cut to the bytes `clear` reads: the header is there
    /// whatever the value's size. (Fails if the entry's layout moves the header back.)
    fn reads_headers_of_real_entries<F: Formatter>(formatter: F) {
        for version in [None, Some("2"), Some("a \"quoted\" \\ version")] {
            for len in [0, 10, 100_000] {
                let key = EntryKey {
                    namespace: "app::api::fetch<\"x\">",
                    version,
                    key: "k",
                    args: None,
                    type_name: "alloc::string::String",
                    code: None,
                };
                let value = Entry::new("v".repeat(len), 7);
                let bytes = entry::encode(&formatter, &key, &value).unwrap();
                let prefix = &bytes[..bytes.len().min(HEADER_LEN)];
                let got = header_of(&formatter, prefix).map(|h| (h.namespace, h.version));
                let want = (key.namespace.to_owned(), version.map(str::to_owned));
                assert_eq!(got, Some(want), "{formatter:?} {version:?} {len}");
            }
        }
    }

    #[test]
    fn every_formatter_has_its_header_in_the_first_bytes() {
        reads_headers_of_real_entries(JsonFormatter);
        reads_headers_of_real_entries(PostcardFormatter);
        reads_headers_of_real_entries(BincodeFormatter);
    }

    #[test]
    fn json_headers_are_read_member_by_member() {
        let cases: [(&[u8], Option<Header>); 8] = [
            (
                br#"{"cacher":1,"namespace":"a","version":null,"key":"#,
                Some(header("a", None)),
            ),
            (
                br#"{ "cacher" : 1 , "namespace":"a\"b","version":"2""#,
                Some(header("a\"b", Some("2"))),
            ),
            (
                br#"{"extra":[1,{"x":2}],"cacher":1,"namespace":"a","version":null}"#,
                Some(header("a", None)),
            ),
            (br#"{"cacher":1,"namespace":"a""#, None),
            (br#"{"cacher":1,"namespace":"a"#, None),
            (br#"{"namespace":"a","version":null}"#, None),
            (br#"{"mine": true}"#, None),
            (b"{", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                header_of(&JsonFormatter, bytes),
                want,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn other_files_have_no_header() {
        for bytes in [&b""[..], b"notes", b"[1,2]", b"\x01", b"\x01\x05ab"] {
            assert_eq!(header_of(&JsonFormatter, bytes), None);
            assert_eq!(header_of(&PostcardFormatter, bytes), None);
            assert_eq!(header_of(&BincodeFormatter, bytes), None);
        }
    }
}
