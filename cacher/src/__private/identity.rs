//! Which cache a `#[cached]` function uses, and under which name.
//!
//! The attribute cannot see where the function is: at the top of a module, nested in another
//! function, in an inherent impl (generic or not) or in a trait impl. So it does not name the
//! cache's place; the function holds a small static that finds the cache here at first use,
//! and a plain function's companion finds it at each call ([`companion_cache`]), by what the
//! compiler knows:
//!
//! - the name: the path of a marker type declared in the function's body
//!   (`my::api::usd::lookup::__CacherSite` — the enclosing function included, which
//!   `module_path!` leaves out), and for a method, `type_name::<Self>()` (one cache per type
//!   a generic impl is used with: a `static` in a generic function is shared by all of them);
//! - for a method or a generic function's instance, which one it is: the [`TypeId`] of `Self`
//!   and of the type arguments ([`type_key`]), never their `type_name`, which the compiler
//!   writes alike for different types (two closures of one function, two types of one name in
//!   two blocks of one function, a type of two versions of one crate);
//! - the attribute's place in the source (`file:line:column`, and `#n`, the number of the
//!   attribute's expansion in its crate: two functions one `macro_rules!` invocation writes have
//!   the invocation's place), which tells apart, in this process only, two functions whose names
//!   are equal: the function and its companion share it.
//!
//! Two functions that the compiler names alike (two `fn lookup` in two blocks of one function)
//! and that store entries outside the process are refused with a panic at first use: they would
//! read each other's entries.
//!
//! `namespace = "…"` (the site's `pinned`) replaces the compiler's path with the user's, below
//! the package's name, and goes through the same claim: a second function storing entries under
//! a namespace already claimed in the process is refused. Across processes nothing sees both;
//! there the entries' code fingerprint (`CacheBuilder::code_hash`) keeps two different functions
//! from reading each other's values, unless both pin one `version`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use super::Opt;
use crate::Cache;
use crate::callback::Callback;
use building::Building;

/// Where a `#[cached]` function is, as its expansion knows it, and what its build reads: its
/// key's names and the options that are data. A constant of the function's body (and of its
/// companion's), promoted: no `static` and no function per `#[cached]` function.
#[derive(Clone, Copy)]
pub struct Site {
    /// `type_name` of a marker type declared in the body of the function (or of its companion),
    /// as a function: `type_name` is not `const`, and a `Site` is a constant.
    pub marker: fn() -> &'static str,
    /// `module_path!()` at the function.
    pub module: &'static str,
    /// The function's name, without `r#`.
    pub function: &'static str,
    /// `file:line:column#n` of the attribute: its place, and the number of its expansion in the
    /// crate (which tells apart the functions one `macro_rules!` invocation writes).
    pub location: &'static str,
    /// Whether entries are stored outside the process (a file, store or redis tier).
    pub persistent: bool,
    /// `CARGO_PKG_NAME` of the crate the function is in.
    pub package: &'static str,
    /// The attribute's `namespace = "…"`, which replaces the function's path.
    pub pinned: Option<&'static str>,
    /// The names of the key's arguments, without `r#`.
    pub names: &'static [&'static str],
    /// The options given that are data or a function, in order ([`NO_OPTIONS`](super::NO_OPTIONS)
    /// when none): what every build sets ([`with_options`](super::with_options)), and all a
    /// memory-only function's build reads ([`memory_build`](super::memory_build)).
    pub options: &'static [Opt],
}

/// The cache of the function at `site` (of the instance `which`, if any), found in this process
/// or built by `init`: [`find`] with its types, the cache as `find` keeps it ([`Found`]).
fn found_erased<K, V>(site: &Site, which: Option<Which>, init: Init<K, V>) -> Found
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    find(site, which, (Found::of::<K, V>(), &init))
}

/// How a `#[cached]` function's cache is built at its first use, given its namespace and its
/// [`Site`]'s names and options: by the function the expansion wrote, or, for a memory-only
/// function whose options are all [`Opt`]s, by [`memory_build`](super::memory_build) of its
/// cache type (no build per `#[cached]` function). Passed by value, a function pointer: no
/// constant for the compiler to evaluate per function (compile time). A callback of its own for
/// `find` (one function per cache type, where a closure made by a function was three).
pub struct Init<K: 'static, V: 'static>(pub BuildFn<K, V>);

/// A build of a `#[cached]` function's cache ([`Init`]): given the namespace, the key's names
/// and the options.
pub type BuildFn<K, V> = fn(&str, &'static [&'static str], &[Opt]) -> Cache<K, V>;

impl<K, V> Clone for Init<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Init<K, V> {}

impl<'n, K, V> Callback<(&'n str, &'n Site), Found> for Init<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn run(&self, (namespace, site): (&'n str, &'n Site)) -> Found {
        Found::built(self, namespace, site)
    }
}

/// What tells one type from another in a [`PerType`]: `T`'s [`TypeId`], lifetimes erased (`T`
/// need not be `'static`; one instance of a function serves every lifetime).
#[inline]
pub fn type_key<T: ?Sized>() -> TypeId {
    typeid::of::<T>()
}

/// The cache of a method, for one `Self` type (`id` its [`type_key`], `self_type` its
/// `type_name`, which names the cache), kept in the method's `slot`; as [`function_cache`].
///
/// # Panics
/// As [`function_cache`].
pub fn method_cache<K, V>(
    slot: &'static PerType<K, V>,
    id: TypeId,
    self_type: &'static str,
    site: &'static Site,
    init: Init<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    per_type_cache(slot, (id, Some(self_type), None), site, init)
}

/// The cache kept in `slot` for the type `which` names (its [`type_key`], the `Self` type's
/// name for a method, the arguments' for a generic function's instance); found, or built by
/// `init`, at its first use, where [`Site`] says.
fn per_type_cache<K, V>(
    slot: &'static PerType<K, V>,
    which: Which,
    site: &'static Site,
    init: Init<K, V>,
) -> &'static Cache<K, V>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    slot.get(which.0, || found_erased(site, Some(which), init))
}

/// What identifies one cache in this process: its namespace, the attribute's place, its types,
/// and for a method or a generic function's instance, its [`type_key`] (two instances may be
/// named alike).
type CacheId = (String, &'static str, TypeId, Option<TypeId>);

/// Which instance of a method or generic function: its [`type_key`], `type_name::<Self>()` for a
/// method, and the `type_name` of a generic function's arguments (see [`instance_cache`]).
type Which = (TypeId, Option<&'static str>, Option<&'static str>);

/// Every `#[cached]` cache made in this process, each in a cell of its own: one thread builds
/// it, and the others that want it meanwhile wait for that build rather than make their own (a
/// directory made twice, a store opened and closed). Each lives as long as the process, as a
/// `static` would.
static CACHES: LazyLock<Mutex<HashMap<CacheId, &'static OnceLock<Found>>>> =
    LazyLock::new(Default::default);

/// The namespaces of persistent caches, and the attribute that claimed each (and whether its
/// `namespace` was pinned, and which instance of it).
type Claim = (&'static str, bool, Option<TypeId>);
static PERSISTENT: LazyLock<Mutex<HashMap<String, Claim>>> = LazyLock::new(Default::default);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held left the maps whole: each change is one insert.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cache of the type `type_id` ([`Found::of`]), built by `build`.
type Build<'a> = (TypeId, &'a dyn for<'n> Callback<(&'n str, &'n Site), Found>);

/// Finds, or builds and records, the cache of the function at `site` (a method's for
/// `self_type`; of a generic function, for the `type_name` of its `arguments`, see
/// [`instance_cache`]): not generic, so that its code is compiled once, in cacher.
fn find(site: &Site, which: Option<Which>, (type_id, build): Build<'_>) -> Found {
    let (instance, self_type, arguments) =
        which.map_or((None, None, None), |(id, ty, args)| (Some(id), ty, args));
    let mut namespace = site
        .namespace(self_type)
        .unwrap_or_else(|refusal| panic!("{refusal}"));
    if let Some(arguments) = arguments {
        namespace.push_str(&instance::label(arguments));
    }
    let id: CacheId = (namespace, site.location, type_id, instance);
    // The map's lock let go of before the build (a statement of its own).
    let known = lock(&CACHES).get(&id).copied();
    let cell = match known {
        Some(cell) => match cell.get() {
            Some(found) => return *found,
            None => cell,
        },
        None => *lock(&CACHES)
            .entry(id.clone())
            .or_insert_with(|| Box::leak(Box::new(OnceLock::new()))),
    };
    if site.persistent {
        claim(&id.0, site, instance);
    }
    // Built outside the map's lock (a cache may create its directory), once: a build that
    // panics leaves the cell empty for the next call to try again. Marked: a build that asks
    // for its own cache (through the companion) would wait on this cell.
    let _building = Building::enter_instance(std::ptr::from_ref(cell).addr(), site, which);
    *cell.get_or_init(|| build.run((&id.0, site)))
}

/// The cache `found` is ([`found_erased`]).
fn downcast<K: 'static, V: 'static>(found: Found) -> &'static Cache<K, V> {
    match found.cache::<K, V>() {
        Some(cache) => cache,
        None => panic!("the TypeId in a cache's id is that of its type"),
    }
}

/// Records that the attribute at `site` (its `instance`) stores entries under `namespace`,
/// refusing a second.
fn claim(namespace: &str, site: &Site, instance: Option<TypeId>) {
    let mut claimed = lock(&PERSISTENT);
    let this = (site.location, site.pinned.is_some(), instance);
    let (first, first_pinned, first_instance) =
        *claimed.entry(namespace.to_owned()).or_insert(this);
    if first == site.location && first_instance == instance {
        return;
    }
    if first == site.location {
        panic!(
            "two instances of the #[cached] fn at {first} are both named `{namespace}` and would read each other's entries: the compiler writes their types alike (two closures of one function, two types of one name in two blocks of one function, or a type of two versions of one crate); give each type a name of its own"
        );
    }
    if first_pinned || site.pinned.is_some() {
        panic!(
            "#[cached] functions at {first} and at {} both store entries under the namespace `{namespace}` (pinned by `namespace = \"…\"`) and would read each other's entries: give each its own `namespace`",
            site.location
        );
    }
    panic!(
        "#[cached] functions at {first} and at {} are both named `{namespace}` and would read each other's entries: rename one (the compiler names alike two functions of one name in two blocks of one function, or a function `f` nested in a function `g` and one in a module `g`)",
        site.location
    );
}

impl Site {
    /// The path the function is declared in: the marker's, less `::<function>::__CacherSite`
    /// (and less the `{{closure}}` that the body of an `async fn` is).
    fn enclosing(&self) -> &'static str {
        let marker = (self.marker)();
        let body = marker.rsplit_once("::").map_or(marker, |(body, _)| body);
        let function = match body.rsplit_once("::") {
            Some((function, last)) if last.starts_with("{{") => function,
            _ => body,
        };
        function
            .rsplit_once("::")
            .map_or(self.module, |(path, _)| path)
    }

    /// The cache's namespace: `my::api::fetch`, `my::api::usd::lookup` for a function nested in
    /// `usd`, `my::api::Client::get` for a method (`my::api::Api<my::Usd>::get` for a generic
    /// type, `<my::Usd as my::Convert>::convert` in a trait impl). `Err` with the reason when
    /// the function cannot have a cache of its own.
    ///
    /// A pinned namespace replaces the function's path, below the package's name (`-` written
    /// `_`, as the crate's name is): `namespace = "users::fetch"` in the package `my-app` names
    /// the cache `my_app::users::fetch` — the name of a function `fetch` in the module `users`
    /// of that library, so pinning a function's present path keeps its present entries. A
    /// method of a generic type keeps the type's arguments (`my_app::prices::get<my_app::Usd>`):
    /// one cache per type.
    fn namespace(&self, self_type: Option<&'static str>) -> Result<String, String> {
        let path = self.path(self_type)?;
        let Some(pinned) = self.pinned else {
            return Ok(path);
        };
        let package = self.package.replace('-', "_");
        let arguments = self_type.map_or("", |ty| {
            let label = type_label(ty);
            label.find('<').map_or("", |at| &label[at..])
        });
        Ok(format!("{package}::{pinned}{arguments}"))
    }

    /// The name the compiler gives the function, as [`namespace`](Self::namespace) describes.
    fn path(&self, self_type: Option<&'static str>) -> Result<String, String> {
        let path = self.enclosing();
        let function = self.function;
        let trait_impl = trait_of(path);
        match (self_type, trait_impl) {
            (_, Some(of)) if has_placeholder(of) => Err(format!(
                "#[cached] fn `{function}` is in an impl of `{of}` for every type argument, and its cache cannot tell them apart: cache a free function or an inherent method, and call it from the trait impl"
            )),
            (None, _) if has_placeholder(path) => Err(format!(
                "#[cached] fn `{function}` is an associated function of the generic `{path}` without `self`, and one cache would serve every type: take `&self` (a method has one cache per type), or move it out of the impl"
            )),
            (Some(ty), Some(of)) => Ok(format!("<{} as {of}>::{function}", type_label(ty))),
            (Some(ty), None) => Ok(format!("{}::{function}", type_label(ty))),
            (None, _) if path == self.module || path.starts_with('<') => {
                Ok(format!("{path}::{function}"))
            }
            // Nested in a function, or a path the compiler prints otherwise than it used to:
            // kept when it is below the module's.
            (None, _) => match path.strip_prefix(self.module) {
                Some(rest) if rest.starts_with("::") => Ok(format!("{path}::{function}")),
                _ => Ok(format!("{}::{function}", self.module)),
            },
        }
    }
}

/// The trait of a trait impl's path: `Tr` in `<X as Tr>`, or in `…::<impl Tr for X>` (as the
/// compiler prints an impl in an anonymous `const _`); `None` for any other path.
fn trait_of(path: &str) -> Option<&str> {
    if let Some(inner) = path.strip_prefix('<').and_then(|p| p.strip_suffix('>')) {
        return at_top_level(inner, " as ").map(|at| &inner[at + " as ".len()..]);
    }
    let last = top_level_parts(path).last()?;
    let inner = last.strip_prefix("<impl ")?.strip_suffix('>')?;
    at_top_level(inner, " for ").map(|at| &inner[..at])
}

/// Where `needle` is in `text` outside of `<…>`.
fn at_top_level(text: &str, needle: &str) -> Option<usize> {
    let mut depth = 0_usize;
    let mut previous = ' ';
    for (at, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if previous != '-' => depth = depth.saturating_sub(1),
            _ if depth == 0 && text[at..].starts_with(needle) => return Some(at),
            _ => {}
        }
        previous = c;
    }
    None
}

/// Whether a path the compiler printed has `_` for a generic argument it does not know
/// (`my::Api<_>`): the path of an item of a generic impl. A `_` outside of `<…>` is the name of
/// an anonymous `const _`, which is no placeholder.
fn has_placeholder(path: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\'');
    let mut depth = 0_usize;
    let mut previous = ' ';
    for (at, c) in path.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if previous != '-' => depth = depth.saturating_sub(1),
            '_' if depth > 0
                && !word(path[..at].chars().next_back())
                && !word(path[at + 1..].chars().next()) =>
            {
                return true;
            }
            _ => {}
        }
        previous = c;
    }
    false
}

/// A type's name as its caches are named: `type_name`, less generic arguments that are all
/// lifetimes (`my::Client` for `my::Client<'_>`, so that it names the same cache as before the
/// type had one).
fn type_label(ty: &'static str) -> &'static str {
    match ty.split_once('<') {
        Some((path, args))
            if args
                .split(['<', '>', ',', ' '])
                .all(|a| a.is_empty() || a == "'_") =>
        {
            path
        }
        _ => ty,
    }
}

mod building;
mod companion;
mod dirs;
mod instance;
mod slots;
pub use companion::companion_cache;
pub use dirs::default_dir;
#[cfg(test)]
use dirs::portable_part;
use dirs::top_level_parts;
pub use instance::{Instance, instance_cache, konst};
use slots::Found;
pub use slots::{FunctionSlot, PerType, function_cache};

#[cfg(test)]
mod tests;
