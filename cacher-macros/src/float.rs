//! Float arguments: `f32`/`f64` (or a reference to one) are keyed by a `cacher::Float`, equal by
//! bits with every NaN one key; floats inside other types are refused with what to write.

use proc_macro2::Ident;
use syn::{GenericArgument, PathArguments, Type};

use crate::error::Errors;
use crate::func::{Role, ungroup};

/// The role of an argument that is a float or a reference to one.
pub(crate) fn float_role(ty: &Type) -> Option<Role> {
    match ungroup(ty) {
        Type::Reference(r) if r.mutability.is_none() => {
            bare_float(&r.elem).map(|float| Role::Float {
                float,
                by_ref: true,
            })
        }
        ty => bare_float(ty).map(|float| Role::Float {
            float,
            by_ref: false,
        }),
    }
}

/// `f32` or `f64`, written so.
fn bare_float(ty: &Type) -> Option<Ident> {
    match ungroup(ty) {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .get_ident()
            .filter(|i| *i == "f32" || *i == "f64")
            .cloned(),
        _ => None,
    }
}

/// A float inside another type: the cache cannot key it (floats have neither `Eq` nor `Hash`), so
/// say what to write rather than "derive the missing traits for `f64`", which no one can.
pub(crate) fn check_no_nested_float(ty: &Type, errors: &mut Errors) {
    if let Some(float) = float_in(ty) {
        errors.at(
            float,
            format!(
                "`{float}` inside another type cannot be part of a cache key: #[cached] keys a float argument (`x: {float}`) by its bits, but floats have neither `Eq` nor `Hash`; write `cacher::Float<{float}>` in its place (equal by bits, every NaN one key), or key the call with `key = …`, or mark the parameter `#[cached(skip)]`"
            ),
        );
    }
}

/// An `f32` or `f64` that `ty` holds through references, tuples, arrays, slices and the standard
/// containers (not through other types, which may well be keys: `OrderedFloat<f64>`).
fn float_in(ty: &Type) -> Option<&Ident> {
    const CONTAINERS: &[&str] = &[
        "Option", "Vec", "Box", "Rc", "Arc", "VecDeque", "BTreeSet", "HashSet", "BTreeMap",
        "HashMap",
    ];
    match ungroup(ty) {
        Type::Reference(r) => float_in(&r.elem),
        Type::Slice(s) => float_in(&s.elem),
        Type::Array(a) => float_in(&a.elem),
        Type::Tuple(t) => t.elems.iter().find_map(float_in),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if last.ident == "f32" || last.ident == "f64" {
                return Some(&last.ident);
            }
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            if !CONTAINERS.iter().any(|c| last.ident == c) {
                return None;
            }
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(t) => float_in(t),
                _ => None,
            })
        }
        _ => None,
    }
}
