//! The fingerprint of a type's serde shape: what an entry records so that a reader whose type has
//! another layout misses instead of misreading.
//!
//! postcard and bincode write values by position: a variant inserted before `Active` makes a
//! stored `Active` read back as the new one, two swapped `String` fields swap their values, and
//! the type's name is the same throughout. The shape is traced once per type and process from the
//! type's `Deserialize` by `serde-reflection` (every container's name, every field's name and
//! format in order, every variant's index, name and content), serialised and hashed with blake3.
//!
//! Some types cannot be traced: their `Deserialize` asks the format what comes next
//! (`deserialize_any`: `serde_json::Value`, `#[serde(untagged)]`, internally tagged and flattened
//! types), or refuses the placeholder values a tracer offers (a `DateTime` parsed from a string,
//! a type that validates). Their entries record no shape and are checked by type name only:
//! safe with JSON, which names fields and variants in the bytes (and those types are all JSON
//! can hold anyway: postcard and bincode cannot decode `deserialize_any` types at all); with
//! postcard or bincode a layout change of such a type is not detected — bump the cache's
//! `version` when you change one. A warning says so once per type.

use std::any::TypeId;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use hashbrown::HashMap;
use serde::de::{DeserializeOwned, DeserializeSeed};
use serde_reflection::{Format, FormatHolder, Samples, Tracer, TracerConfig};

use crate::format::guard::{Guard, Seed};

/// Passes of one trace: each visits at least one enum variant not seen before.
const MAX_PASSES: usize = 4096;
/// Restarts of a trace that found nested enums it had not tracked yet.
const MAX_RESTARTS: usize = 16;

/// What is known of one type's shape.
#[derive(Debug)]
pub(crate) struct Shape {
    /// The hex fingerprint, or `None` for a type that cannot be traced.
    pub(crate) fingerprint: Option<String>,
    /// Why it could not be traced.
    untraced: Option<String>,
    warned: AtomicBool,
}

impl Shape {
    /// Warns, once per type, that a layout change of this untraceable type goes unnoticed with
    /// a formatter that is not self-describing.
    pub(crate) fn warn_untraced(&self, type_name: &str, formatter: &'static str) {
        if let Some(why) = &self.untraced
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                type_name,
                formatter,
                reason = %why,
                "cacher cannot trace this type's serde shape: a change to its layout will not be \
                 detected in stored entries; change the cache's version when you change the type"
            );
        }
    }
}

type Shapes = HashMap<TypeId, &'static Shape>;

static SHAPES: Mutex<Option<Shapes>> = Mutex::new(None);

thread_local! {
    static LOCAL: RefCell<Shapes> = RefCell::new(HashMap::new());
}

/// The shape of `V`: traced on a type's first use in the process, then a thread-local lookup.
pub(crate) fn of<V: DeserializeOwned>() -> &'static Shape {
    let id = typeid::of::<V>();
    if let Some(shape) = LOCAL.with(|local| local.borrow().get(&id).copied()) {
        return shape;
    }
    let shape = shared::<V>(id);
    LOCAL.with(|local| local.borrow_mut().insert(id, shape));
    shape
}

/// The process-wide record of `V`'s shape, traced if no thread has yet.
fn shared<V: DeserializeOwned>(id: TypeId) -> &'static Shape {
    let known = |shapes: &Option<Shapes>| shapes.as_ref().and_then(|s| s.get(&id).copied());
    if let Some(shape) = known(&SHAPES.lock().unwrap_or_else(PoisonError::into_inner)) {
        return shape;
    }
    // Traced outside the lock: two threads may both trace a new type; the first one stored wins.
    let traced = trace::<V>();
    let mut shapes = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
    *shapes
        .get_or_insert_with(HashMap::new)
        .entry(id)
        .or_insert_with(|| {
            let (fingerprint, untraced) = match traced {
                Ok(fingerprint) => (Some(fingerprint), None),
                Err(why) => (None, Some(why)),
            };
            Box::leak(Box::new(Shape {
                fingerprint,
                untraced,
                warned: AtomicBool::new(false),
            }))
        })
}

/// Traces `V` and hashes its shape: the root format and every container it names.
fn trace<V: DeserializeOwned>() -> Result<String, String> {
    let mut enums = Vec::new();
    for _ in 0..MAX_RESTARTS {
        match trace_with::<V>(&enums)? {
            Traced::Done(shape) => {
                let bytes = serde_json::to_vec(&shape).map_err(|e| e.to_string())?;
                let hash = blake3::hash(&bytes);
                return Ok(hash.to_hex()[..32].to_owned());
            }
            Traced::MoreEnums(more) => enums.extend(more),
        }
    }
    Err("too many nested enums to trace".to_owned())
}

enum Traced {
    Done((Format, serde_reflection::Registry)),
    /// Enums whose variants were not all visited: trace again, tracking them.
    MoreEnums(Vec<String>),
}

/// One trace of `V`, repeating passes until every variant of each enum in `enums` was visited.
fn trace_with<V: DeserializeOwned>(enums: &[String]) -> Result<Traced, String> {
    static SAMPLES: std::sync::LazyLock<Samples> = std::sync::LazyLock::new(Samples::new);
    // Non-zero placeholders, so that `NonZeroU32` and friends trace.
    let config = TracerConfig::default()
        .default_u8_value(1)
        .default_u16_value(1)
        .default_u32_value(1)
        .default_u64_value(1)
        .default_u128_value(1)
        .default_i8_value(1)
        .default_i16_value(1)
        .default_i32_value(1)
        .default_i64_value(1)
        .default_i128_value(1);
    let mut tracer = Tracer::new(config);
    let mut root = Format::unknown();
    for _ in 0..MAX_PASSES {
        let mut format = Format::unknown();
        // The depth guard stops a recursive type the tracer would follow forever.
        let guard = Guard::tracing();
        let de = serde_reflection::Deserializer::new(&mut tracer, &SAMPLES, &mut format);
        Seed::<V>::new(&guard)
            .deserialize(de)
            .map_err(|e| guard.refusal().map_or_else(|| e.to_string(), str::to_owned))?;
        root = format;
        let mut incomplete = false;
        for name in enums {
            incomplete |= tracer.check_incomplete_enum(name).is_some();
        }
        if !incomplete {
            break;
        }
    }
    root.normalize().map_err(|e| e.to_string())?;
    match tracer.registry() {
        Ok(registry) => Ok(Traced::Done((root, registry))),
        Err(serde_reflection::Error::MissingVariants(names)) => {
            let new: Vec<String> = names.into_iter().filter(|n| !enums.contains(n)).collect();
            if new.is_empty() {
                return Err("an enum's variants could not all be traced".to_owned());
            }
            Ok(Traced::MoreEnums(new))
        }
        Err(e) => Err(e.to_string()),
    }
}
