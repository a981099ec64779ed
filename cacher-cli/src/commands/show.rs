//! `show`: a namespace's entries, or one entry's record and value.

use cacher::backend::Listed;
use cacher::entry::EntryMeta;
use serde_json::json;

use super::emit;
use crate::names::{self, Reading, typed};
use crate::source::{Source, age_ms};
use crate::{exit, print};

fn state(source: &Source, item: &Listed, meta: &EntryMeta) -> String {
    let left = source
        .ttl_of(meta)
        .map(|ttl| (meta.created_ms.saturating_add(ttl)).saturating_sub(crate::source::now_ms()));
    match (item.expires_in_ms, left) {
        (Some(ms), _) => format!("expires in {}", print::age(ms)),
        (None, Some(_)) if source.expired(meta) => "expired".into(),
        (None, Some(ms)) => format!("fresh for {}", print::age(ms)),
        (None, None) => "-".into(),
    }
}

pub(super) fn of_namespace<'a>(
    listed: &'a [Listed],
    namespace: &'a str,
) -> impl Iterator<Item = &'a Listed> {
    listed
        .iter()
        .filter(move |l| l.meta().is_some_and(|m| m.namespace == namespace))
}

pub(super) fn not_found(source: &Source, what: &str) -> u8 {
    print::errln!(
        "cacher: no {what} in {}: run `cacher ls` to see what is there",
        print::clean(&source.name)
    );
    exit::NOT_FOUND
}

/// `show NAMESPACE` (`arg`, read as `how` says).
pub(super) fn show_namespace(
    source: &Source,
    listed: &[Listed],
    arg: &str,
    how: Reading,
    json: bool,
) -> Result<u8, String> {
    let namespace = names::namespace(listed, arg, how)?;
    let mut entries: Vec<&Listed> = of_namespace(listed, &namespace).collect();
    if entries.is_empty() {
        if json {
            // A JSON reader gets a document too: the namespace, without entries.
            emit(&json!({ "namespace": namespace, "entries": [] }));
        }
        let near = names::near_namespace(listed, arg);
        let what = format!("entries of namespace {}{near}", typed(arg));
        return Ok(not_found(source, &what));
    }
    entries.sort_by_key(|l| std::cmp::Reverse(l.meta().map(|m| m.created_ms)));
    if json {
        emit(&json!({ "namespace": namespace, "entries": entries }));
        return Ok(exit::OK);
    }
    let mut rows = vec![
        ["KEY", "ARGS", "AGE", "SIZE", "STATE"]
            .map(String::from)
            .to_vec(),
    ];
    for item in entries {
        let Some(meta) = item.meta() else { continue };
        rows.push(vec![
            cut(&meta.key).unwrap_or_else(|| meta.key.clone()),
            meta.args.clone().unwrap_or_else(|| "-".into()),
            print::age(age_ms(meta.created_ms)),
            print::bytes(item.size),
            state(source, item, meta),
        ]);
    }
    print::out(format_args!("{}", print::table(&rows)));
    Ok(exit::OK)
}

/// `key` as `show NAMESPACE` prints it when it is longer than a column: its first characters,
/// then `…`; `None` when it is printed whole.
fn cut(key: &str) -> Option<String> {
    (key.chars().count() > 24).then(|| format!("{}…", key.chars().take(23).collect::<String>()))
}

/// Whether `reading` is `item`'s key, its arguments' text, its location, its key as `show`
/// cuts it (when `cut_too`): in that order, the ways a reading names an entry.
fn ways(item: &Listed, reading: &str, cut_too: bool) -> [bool; 4] {
    let meta = item.meta();
    [
        meta.is_some_and(|m| m.key == reading),
        meta.is_some_and(|m| m.args.as_deref() == Some(reading)),
        item.location == reading,
        cut_too && meta.is_some_and(|m| cut(&m.key).as_deref() == Some(reading)),
    ]
}

/// The entry of `entries` that `reading` names whole: the first whose key it is, else whose
/// arguments' text, else location; `Err` when it also names another entry in another way (a
/// key planted as another entry's arguments or location, a key that `show` cuts to another's
/// whole key), which is not guessed between.
fn named<'a>(
    entries: &[&'a Listed],
    reading: &str,
    cut_too: bool,
) -> Option<Result<&'a Listed, ()>> {
    let named: Vec<(&Listed, [bool; 4])> = entries
        .iter()
        .map(|item| (*item, ways(item, reading, cut_too)))
        .filter(|(_, ways)| ways.contains(&true))
        .collect();
    // Keys that only `show`'s cut names are not told apart here, but as keys cut short are.
    let way = (0..3).find(|&way| named.iter().any(|(_, ways)| ways[way]))?;
    let first = named.iter().find(|(_, ways)| ways[way])?.0;
    Some(if named.iter().all(|(_, ways)| ways[way]) {
        Ok(first)
    } else {
        Err(())
    })
}

/// The entry of `namespace` that `key` names (each reading of it, as `how` says): its key, its
/// arguments' text, its location, or its key as `show NAMESPACE` printed it; else a key cut
/// short by the user (its first characters, then `…`), when one entry's key starts so. Refused
/// when it names two.
fn find_entry<'a>(
    listed: &'a [Listed],
    namespace: &'a str,
    key: &str,
    how: Reading,
) -> Result<Option<&'a Listed>, String> {
    let readings = how.of(key)?;
    let entries: Vec<&Listed> = of_namespace(listed, namespace).collect();
    let whole = |reading: &str| named(&entries, reading, !how.exact());
    match names::pick("entries", key, &readings, whole)? {
        Some((_, Ok(entry))) => return Ok(Some(entry)),
        Some((_, Err(()))) => {
            return Err(format!(
                "{} names two entries of namespace {}: the key of one, and the arguments' \
                 text, location or key as `show` cuts it of another: nothing was shown. Give \
                 the entry's location with --exact (`cacher show NAMESPACE --json` prints them)",
                typed(key),
                print::quoted(namespace),
            ));
        }
        None if how.exact() => return Ok(None),
        None => {}
    }
    let starts = readings.iter().filter_map(|r| r.strip_suffix('…'));
    let starts: Vec<&str> = starts.collect();
    let mut cut = entries.into_iter().filter(|l| {
        l.meta()
            .is_some_and(|m| starts.iter().any(|s| m.key.starts_with(s)))
    });
    match (cut.next(), cut.count()) {
        (one, 0) => Ok(one),
        (_, more) => Err(format!(
            "{} starts the keys of {} entries of namespace {}: give a whole key \
             (`cacher show NAMESPACE --json` prints them), or the arguments' text",
            typed(key),
            more + 1,
            print::quoted(namespace),
        )),
    }
}

/// `show NAMESPACE KEY` (`args`: both read as `how` says).
pub(super) fn show_entry(
    source: &Source,
    listed: &[Listed],
    args: (&str, &str),
    how: Reading,
    json: bool,
) -> Result<u8, String> {
    let (arg, key) = args;
    let namespace = names::namespace(listed, arg, how)?;
    let Some(item) = find_entry(listed, &namespace, key, how)? else {
        if json {
            emit(&serde_json::Value::Null);
        }
        // A key written as the arguments' text without what starts it (`word=cache` for
        // `(v2)word=cache`), or a key as `show` cuts it without its `…` (helper-106 pasted a
        // hashed key so): the one it ends or starts, named.
        let ends = |k: &&str| k.len() > key.len() && (k.ends_with(key) || k.starts_with(key));
        let mut near: Vec<&str> = (of_namespace(listed, &namespace).filter_map(Listed::meta))
            .flat_map(|m| [Some(m.key.as_str()), m.args.as_deref()])
            .flatten()
            .filter(ends)
            .collect();
        near.dedup();
        let hint = match near.as_slice() {
            [one] => format!(" (did you mean {}?)", print::quoted(one)),
            _ => String::new(),
        };
        let (key, namespace) = (typed(key), typed(arg));
        return Ok(not_found(
            source,
            &format!("entry {key} of namespace {namespace}{hint}"),
        ));
    };
    let meta = item.meta().ok_or("not an entry")?;
    let bytes = source
        .listing
        .read_at(&item.location)
        .map_err(|e| format!("cannot read {}: {e}", print::escape(&item.location)))?;
    let Some(bytes) = bytes else {
        if json {
            emit(&serde_json::Value::Null);
        }
        return Ok(not_found(
            source,
            &format!("entry {} (removed meanwhile)", typed(key)),
        ));
    };
    let value = (meta.format == "json")
        .then(|| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .flatten()
        .and_then(|mut entry| entry.get_mut("value").map(serde_json::Value::take));
    if json {
        emit(
            &json!({ "location": item.location, "size": item.size, "meta": meta, "value": value }),
        );
    } else {
        print_entry(source, item, meta, value, bytes.len());
    }
    Ok(exit::OK)
}

/// `show NAMESPACE KEY` for people: the entry's record, then its value (JSON) or a summary.
fn print_entry(
    source: &Source,
    item: &Listed,
    meta: &EntryMeta,
    value: Option<serde_json::Value>,
    len: usize,
) {
    let field = |name: &str, text: &str| print::outln!("{name:<9} {}", print::escape(text));
    field("location", &item.location);
    field("namespace", &meta.namespace);
    field("key", &meta.key);
    field("args", meta.args.as_deref().unwrap_or("-"));
    field("type", &meta.type_name);
    field("version", meta.version.as_deref().unwrap_or("-"));
    field("code", meta.code.as_deref().unwrap_or("-"));
    let state = state(source, item, meta);
    let age = print::age(age_ms(meta.created_ms));
    match state.as_str() {
        "-" => print::outln!("age       {age}"),
        _ => print::outln!("age       {age} ({state})"),
    }
    print::outln!("size      {}", print::bytes(item.size));
    match value {
        Some(value) => {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            print::outln!("value");
            pretty
                .lines()
                .for_each(|line| print::outln!("{}", print::clean(line)));
        }
        None => print::outln!(
            "value     {len} bytes of {}: a binary format records no field names; read it with \
             its type (Cache::get) to see it, or store it with JsonFormatter",
            meta.format
        ),
    }
}
