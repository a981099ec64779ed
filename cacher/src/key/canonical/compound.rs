//! The compound values of the canonical text: sequences `[a,b]`, tuples `(a,b)`, the bodies of
//! structs and variants (`[a,b]`, `{f:v}`), the argument list, and maps `{k:v}`, written sorted.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

use super::scalar::write_label;
use super::{Level, RawWriter, Written, nested_raw};
use crate::key::KeyError;

/// A sequence, tuple, or body of a struct or variant being written: elements separated by `,`.
pub(super) struct Compound<'a> {
    out: &'a mut String,
    close: char,
    count: usize,
}

impl<'a> Compound<'a> {
    /// Writes `open`; the elements follow, then `close`.
    pub(super) fn open(out: &'a mut String, open: char, close: char) -> Self {
        out.push(open);
        Self {
            out,
            close,
            count: 0,
        }
    }

    fn element<T: Serialize + ?Sized>(
        &mut self,
        field: Option<&str>,
        value: &T,
    ) -> Result<(), KeyError> {
        if self.count > 0 {
            self.out.push(',');
        }
        self.count += 1;
        if let Some(field) = field {
            write_label(field, self.out);
            self.out.push(':');
        }
        value.serialize(RawWriter::new(self.out, Level::Nested))?;
        Ok(())
    }

    fn close(self) -> Result<Written, KeyError> {
        // A tuple always holds a `,`, as in Rust: `(a,)`, and `(,)` for none — `()` is unit.
        if self.close == ')' && self.count < 2 {
            self.out.push(',');
        }
        self.out.push(self.close);
        Ok(Written::Value)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        self.element(None, value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyError> {
        self.element(Some(key), value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyError> {
        self.element(Some(key), value)
    }
    fn end(self) -> Result<Written, KeyError> {
        self.close()
    }
}

/// A tuple: the argument list at the root, an ordinary `(a,b)` anywhere else.
pub(super) enum Tuple<'a> {
    Args(Vec<String>),
    Value(Compound<'a>),
}

impl ser::SerializeTuple for Tuple<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        match self {
            Tuple::Args(args) => {
                let mut raw = String::new();
                value.serialize(RawWriter::new(&mut raw, Level::Arg))?;
                args.push(raw);
                Ok(())
            }
            Tuple::Value(compound) => compound.element(None, value),
        }
    }
    fn end(self) -> Result<Written, KeyError> {
        match self {
            Tuple::Args(args) => Ok(Written::Args(args)),
            Tuple::Value(compound) => compound.close(),
        }
    }
}

/// A map: entries are collected, then written sorted, so a `HashMap`'s order never shows.
pub(super) struct Map<'a> {
    out: &'a mut String,
    entries: Vec<(String, String)>,
    pending_key: Option<String>,
}

impl<'a> Map<'a> {
    pub(super) fn new(out: &'a mut String) -> Self {
        Self {
            out,
            entries: Vec::new(),
            pending_key: None,
        }
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = Written;
    type Error = KeyError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), KeyError> {
        self.pending_key = Some(nested_raw(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| KeyError("map value serialized before its key".to_owned()))?;
        self.entries.push((key, nested_raw(value)?));
        Ok(())
    }
    fn end(mut self) -> Result<Written, KeyError> {
        // Sorting by value as well makes even a (malformed) map with duplicate keys deterministic.
        self.entries.sort_unstable();
        self.out.push('{');
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{key}:{value}");
        }
        self.out.push('}');
        Ok(Written::Value)
    }
}
