//! The tracer's sequence, map and enum accesses.

use serde::de::{self, DeserializeSeed, Visitor};

use super::{Failure, Id, Pass, element, field_names, index_deserializer};

/// The elements of a sequence, tuple, struct (with its field names) or map.
pub(super) struct Elements<'p, 'a, 't> {
    pub(super) pass: &'p mut Pass<'t>,
    pub(super) left: usize,
    pub(super) fields: &'a [&'static str],
    pub(super) first: bool,
}

impl Elements<'_, '_, '_> {
    /// Takes the next element, if any is left, and writes what precedes it.
    fn next(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        if !std::mem::take(&mut self.first) {
            self.pass.write(",");
        }
        let at = self.fields.len().checked_sub(self.left + 1);
        if let Some(field) = at.and_then(|i| self.fields.get(i)) {
            self.pass.write(&format!("{field}:"));
        }
        true
    }
}

impl<'de> de::SeqAccess<'de> for Elements<'_, '_, '_> {
    type Error = Failure;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Failure> {
        if !self.next() {
            return Ok(None);
        }
        element(self.pass, seed).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Elements<'_, '_, '_> {
    type Error = Failure;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Failure> {
        if !self.next() {
            return Ok(None);
        }
        let key = element(self.pass, seed)?;
        self.pass.write("=>");
        Ok(Some(key))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Failure> {
        element(self.pass, seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// One variant of an enum, chosen by the pass.
pub(super) struct Variant<'p, 't> {
    pass: &'p mut Pass<'t>,
    id: Id,
    index: u32,
    /// Outside a recursion: the variant's content is written down.
    describing: bool,
}

impl<'p, 't> Variant<'p, 't> {
    pub(super) fn new(pass: &'p mut Pass<'t>, id: Id, index: u32, describing: bool) -> Self {
        Self {
            pass,
            id,
            index,
            describing,
        }
    }

    /// Visits the variant's content, recording it when describing.
    fn content<T>(
        self,
        visit: impl FnOnce(&mut Pass<'t>) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let Self {
            pass,
            id,
            index,
            describing,
        } = self;
        if describing {
            pass.open.push((id, index));
            pass.bufs.push(String::new());
        } else {
            pass.settled.push((id, index));
        }
        let result = visit(pass);
        if describing {
            pass.open.pop();
            let content = pass.bufs.pop().unwrap_or_default();
            if result.is_ok() {
                pass.trace.enum_mut(id).visited.insert(index, content);
            }
        } else {
            pass.settled.pop();
        }
        result
    }
}

impl<'de> de::EnumAccess<'de> for Variant<'_, '_> {
    type Error = Failure;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Failure> {
        // Refused: no variant of that index (the enum's names include aliases).
        let value = (seed.deserialize(index_deserializer(self.index)))
            .map_err(|_| Failure::NoVariant(self.id, self.index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, '_> {
    type Error = Failure;

    fn unit_variant(self) -> Result<(), Failure> {
        self.content(|pass| {
            pass.write("unit");
            Ok(())
        })
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Failure> {
        self.content(|pass| element(pass, seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Failure> {
        self.content(|pass| visitor.visit_seq(pass.elements(len, &[])))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        self.content(|pass| {
            pass.write(&field_names(fields));
            visitor.visit_seq(pass.elements(fields.len(), fields))
        })
    }
}
