//! The subcommands: each walks the place once, then prints a table or one JSON document.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use cacher::backend::Listed;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::source::{Source, Walked, age_ms, is_problem};

mod show;
mod verify;
use crate::names::{self, Reading};
use crate::{Cli, Command, exit, parse, print};
use show::{not_found, show_entry, show_namespace};

/// What `prune` removes: at least one of the three.
#[derive(Debug, Args)]
#[group(skip)]
#[command(group(
    clap::ArgGroup::new("what")
        .required(true)
        .multiple(true)
        .args(["expired", "older_than", "max_size"])
))]
// --exact and --escaped say how --namespace is read: without one, they are a mistake.
#[command(group(
    clap::ArgGroup::new("reading_of_namespace")
        .multiple(true)
        .args(["exact", "escaped"])
        .requires("namespace")
))]
pub struct PruneArgs {
    /// Entries past their own ttl (ttl_fn), or else past --ttl (which files then need)
    #[arg(long)]
    expired: bool,
    /// Entries created longer ago than this (e.g. 12h, 1h30m, 7d; a unit is needed)
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    older_than: Option<Duration>,
    /// Then the oldest entries until the rest take at most this (e.g. 500MB, 2GiB: KB = 1000 bytes, KiB = 1024, as in `max_size`)
    #[arg(long, value_name = "SIZE", value_parser = parse::size)]
    max_size: Option<u64>,
    /// Only this namespace's entries, as `ls` prints it (or as typed)
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    #[command(flatten)]
    reading: Reading,
    /// Say what would be removed, remove nothing
    #[arg(long)]
    dry_run: bool,
}

/// Runs the command; the exit code, or a message saying what went wrong and what to do.
pub fn run(cli: &Cli) -> Result<u8, String> {
    let root = match &cli.command {
        Command::Ls { root } => root.as_deref(),
        _ => None,
    };
    if root.is_some() && (cli.global.redis.is_some() || cli.global.store.is_some()) {
        return Err(
            "`ls DIR` lists a directory of files, --store and --redis another place: \
                    give the one to list, not both"
                .into(),
        );
    }
    let source = Source::open(&cli.global, root)?;
    let Walked {
        listed,
        seen,
        stores,
    } = source.walk()?;
    let json = cli.global.json;
    match &cli.command {
        Command::Ls { .. } => Ok(ls(&source, &listed, &stores, json)),
        Command::Show {
            namespace,
            key: None,
            reading,
        } => show_namespace(&source, &listed, namespace, *reading, json),
        Command::Show {
            namespace,
            key: Some(key),
            reading,
        } => show_entry(&source, &listed, (namespace, key), *reading, json),
        Command::Stats => Ok(stats(&source, &listed, json)),
        Command::Prune(args) => prune(&source, listed, args, json),
        Command::Verify { repair } => Ok(verify::verify(&source, &listed, seen, *repair, json)),
        Command::Clear {
            namespace,
            yes,
            reading,
            ..
        } => clear(&source, &listed, namespace.as_deref(), *reading, *yes, json),
        Command::Completions { .. } => Ok(exit::OK),
    }
}

/// Prints one JSON document. serde_json escapes only C0 controls; the other characters a
/// terminal acts on (C1, DEL, bidirectional controls) can only be inside strings, and are
/// escaped there too (`\u009b`): the document reads back the same.
fn emit(value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    print::outln!("{}", print::json_escaped(&text));
}

/// One namespace as `ls` shows it.
#[derive(Debug, Default, Serialize)]
struct Summary {
    namespace: String,
    entries: u64,
    bytes: u64,
    oldest_ms: Option<u64>,
    newest_ms: Option<u64>,
    expired: u64,
    /// Entries whose expiry cannot be told: no ttl of their own in their files and no `--ttl`
    /// (a cache's fixed ttl is not recorded), so not in `expired` whatever their age.
    expiry_unknown: u64,
}

fn summaries(source: &Source, listed: &[Listed]) -> Vec<Summary> {
    let mut by_namespace: BTreeMap<&str, Summary> = BTreeMap::new();
    for item in listed {
        let Some(meta) = item.meta() else { continue };
        let summary = by_namespace
            .entry(&meta.namespace)
            .or_insert_with(|| Summary {
                namespace: meta.namespace.clone(),
                ..Summary::default()
            });
        summary.entries += 1;
        summary.bytes = summary.bytes.saturating_add(item.size);
        summary.oldest_ms = Some(
            summary
                .oldest_ms
                .map_or(meta.created_ms, |t| t.min(meta.created_ms)),
        );
        summary.newest_ms = Some(
            summary
                .newest_ms
                .map_or(meta.created_ms, |t| t.max(meta.created_ms)),
        );
        summary.expired += u64::from(source.expired(meta));
        // Redis drops expired entries itself: what it lists is not expired, whatever it records.
        summary.expiry_unknown += u64::from(!source.redis && source.ttl_of(meta).is_none());
    }
    by_namespace.into_values().collect()
}

fn ls(source: &Source, listed: &[Listed], stores: &[String], json: bool) -> u8 {
    let caches = summaries(source, listed);
    let problems = listed.iter().filter(|l| is_problem(&l.found)).count();
    if json {
        emit(
            &json!({ "root": source.name, "caches": caches, "problems": problems, "stores": stores }),
        );
        return exit::OK;
    }
    print::outln!("{}", print::clean(&source.name));
    if caches.is_empty() {
        print::outln!("no caches");
    } else {
        let mut rows = vec![
            [
                "NAMESPACE",
                "ENTRIES",
                "SIZE",
                "OLDEST",
                "NEWEST",
                "EXPIRED",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &caches {
            rows.push(vec![
                c.namespace.clone(),
                c.entries.to_string(),
                print::bytes(c.bytes),
                c.oldest_ms
                    .map_or_else(String::new, |t| print::age(age_ms(t))),
                c.newest_ms
                    .map_or_else(String::new, |t| print::age(age_ms(t))),
                expired_cell(c),
            ]);
        }
        print::out(format_args!("{}", print::table(&rows)));
        if caches.iter().any(|c| c.expiry_unknown > 0) {
            print::outln!("EXPIRED ?: {EXPIRY_UNKNOWN}");
        }
    }
    if problems > 0 {
        need_attention(source, problems);
    }
    for store in stores {
        let (dir, word) = (print::clean(store), print::shell_word(store));
        print::outln!("a store (one database of entries) is in {dir}: cacher --store {word} ls");
    }
    exit::OK
}

/// Why `ls` and `stats` cannot tell some entries' expiry (an entry records its own ttl, from a
/// `ttl_fn`, but not its cache's), and what to pass: short enough for an 80-column terminal.
const EXPIRY_UNKNOWN: &str = "no ttl recorded; if their cache has one, pass --ttl DURATION";

/// A namespace's EXPIRED cell: the count, and `?` for the entries whose expiry cannot be told
/// (`?` alone when none can be): a `0` there would say that nothing expired. A cache with no
/// ttl at all looks the same in its files: its entries never expire, and are `?` too.
fn expired_cell(summary: &Summary) -> String {
    match (
        summary.expiry_unknown,
        summary.expiry_unknown == summary.entries,
    ) {
        (0, _) => summary.expired.to_string(),
        (_, true) => "?".to_owned(),
        (unknown, false) => format!("{} + {unknown} ?", summary.expired),
    }
}

fn stats(source: &Source, listed: &[Listed], json: bool) -> u8 {
    let caches = summaries(source, listed);
    let entries: Vec<_> = listed.iter().filter_map(Listed::meta).collect();
    let bytes: u64 = listed
        .iter()
        .filter(|l| l.meta().is_some())
        .map(|l| l.size)
        .fold(0, u64::saturating_add);
    let expired: u64 = caches.iter().map(|c| c.expired).sum();
    let unknown: u64 = caches.iter().map(|c| c.expiry_unknown).sum();
    let problems = listed.iter().filter(|l| is_problem(&l.found)).count();
    let mut counts = vec![0u64; print::AGE_BUCKETS.len()];
    for meta in &entries {
        counts[print::bucket(age_ms(meta.created_ms))] += 1;
    }
    if json {
        let ages: Vec<_> = print::AGE_BUCKETS
            .iter()
            .zip(&counts)
            .map(|((_, label), count)| json!({ "age": label, "entries": count }))
            .collect();
        emit(&json!({
            "root": source.name, "namespaces": caches.len(), "entries": entries.len(),
            "bytes": bytes, "expired": expired, "expiry_unknown": unknown, "problems": problems,
            "ages": ages,
        }));
        return exit::OK;
    }
    print::outln!("{}", print::clean(&source.name));
    print::outln!(
        "{}, {}, {}",
        print::counted(caches.len(), "namespace", "namespaces"),
        print::entries(entries.len()),
        print::bytes(bytes)
    );
    print::outln!("{expired} expired (by their own ttl, or --ttl)");
    if unknown > 0 {
        print::outln!("{unknown} of unknown expiry ({EXPIRY_UNKNOWN})");
    }
    if problems > 0 {
        need_attention(source, problems);
    }
    print::outln!("entries by age:");
    print::out(format_args!("{}", print::histogram(&counts, 40)));
    exit::OK
}

fn prune(source: &Source, listed: Vec<Listed>, args: &PruneArgs, json: bool) -> Result<u8, String> {
    if args.expired && source.ttl.is_none() && !source.redis {
        return Err(
            "--expired needs --ttl DURATION: entries record their own ttl (ttl_fn) but not the cache's".into(),
        );
    }
    let namespace = args.namespace.as_deref();
    let namespace = namespace.map(|ns| names::namespace(&listed, ns, args.reading));
    let namespace = namespace.transpose()?;
    let near = (args.namespace.as_deref()).map(|ns| names::near_namespace(&listed, ns));
    let mut entries: Vec<Listed> = listed
        .into_iter()
        .filter(|l| {
            l.meta()
                .is_some_and(|m| namespace.as_ref().is_none_or(|ns| &m.namespace == ns))
        })
        .collect();
    // A namespace with no entry here (a typo, helper-105) is said as `clear` says it: exit 4,
    // after the (empty) result.
    let unknown = args.namespace.as_deref().filter(|_| entries.is_empty());
    entries.sort_by_key(|l| l.meta().map(|m| m.created_ms));
    let too_old = |l: &Listed| {
        let Some(meta) = l.meta() else { return false };
        let created = meta.created_ms;
        (args.expired && source.expired(meta))
            || args
                .older_than
                .is_some_and(|d| u128::from(age_ms(created)) > d.as_millis())
    };
    let (mut remove, keep): (Vec<Listed>, Vec<Listed>) = entries.into_iter().partition(too_old);
    if let Some(max) = args.max_size {
        // In u128: sizes (sparse files, as `fstat` gives them) may add up past u64::MAX.
        let mut total: u128 = keep.iter().map(|l| u128::from(l.size)).sum();
        for item in keep {
            if total <= u128::from(max) {
                break;
            }
            total -= u128::from(item.size);
            remove.push(item);
        }
    }
    let bytes = remove.iter().map(|l| l.size).fold(0, u64::saturating_add);
    let removed = match args.dry_run {
        true => remove.len(),
        false => remove_all(source, &remove)?,
    };
    if json {
        let locations: Vec<_> = remove.iter().map(|l| &l.location).collect();
        emit(
            &json!({ "removed": removed, "bytes": bytes, "dry_run": args.dry_run, "locations": locations }),
        );
    } else {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        print::outln!(
            "{verb} {} ({})",
            print::entries(removed),
            print::bytes(bytes)
        );
        left_over(remove.len() - removed);
    }
    if let Some(arg) = unknown {
        let (typed, near) = (names::typed(arg), near.unwrap_or_default());
        return Ok(not_found(
            source,
            &format!("entries of namespace {typed}{near}"),
        ));
    }
    Ok(exit::OK)
}

/// Says that `problems` things here need `verify`'s attention (`ls`, `stats`).
fn need_attention(source: &Source, problems: usize) {
    let verb = if problems == 1 { "needs" } else { "need" };
    let what = source.problems(problems);
    print::outln!("{what} {verb} attention: run `cacher verify`");
}

/// Removes every one of `items` it can, going on past failures: how many went (one written
/// over since it was listed stays, `Listing::remove_listed`); if some could not be removed, says
/// how many and why the first could not.
fn remove_all<'a>(
    source: &Source,
    items: impl IntoIterator<Item = &'a Listed>,
) -> Result<usize, String> {
    let (mut removed, mut failed, mut first) = (0, 0, None);
    source.removing(|remove| {
        for item in items {
            match remove(item) {
                Ok(went) => removed += usize::from(went),
                Err(e) => {
                    failed += 1;
                    first.get_or_insert_with(|| format!("{}: {e}", print::escape(&item.location)));
                }
            }
        }
    });
    match first {
        None => Ok(removed),
        Some(first) => Err(format!(
            "removed {}, but cannot remove {} (the first, {first})",
            print::entries(removed),
            print::entries(failed)
        )),
    }
}

/// Says how many listed entries were written over before their removal, and left.
fn left_over(left: usize) {
    if left > 0 {
        print::outln!(
            "left {} written over since they were listed (another's, or fresh values)",
            print::entries(left)
        );
    }
}

fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    print::err(format_args!("{question} [y/N] "));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// `clear NAMESPACE` (`arg`, read as `how` says), or `clear --all` (`None`).
fn clear(
    source: &Source,
    listed: &[Listed],
    arg: Option<&str>,
    how: Reading,
    yes: bool,
    json: bool,
) -> Result<u8, String> {
    let namespace = arg.map(|arg| names::namespace(listed, arg, how));
    let namespace = namespace.transpose()?;
    let namespace = namespace.as_deref();
    let doomed: Vec<&Listed> = listed
        .iter()
        .filter(|l| {
            l.meta()
                .is_some_and(|m| namespace.is_none_or(|ns| m.namespace == ns))
        })
        .collect();
    if let (Some(ns), true) = (namespace, doomed.is_empty()) {
        // Nothing to remove, but perhaps a first value under way: cleared all the same — under
        // each name the argument reads as, since no entry tells which one is meant.
        for reading in how.of(arg.unwrap_or(ns))? {
            source.invalidate_unlisted(&reading)?;
        }
        if json {
            emit(&json!({ "removed": 0 }));
        }
        let typed = names::typed(arg.unwrap_or(ns));
        let near = names::near_namespace(listed, arg.unwrap_or(ns));
        return Ok(not_found(
            source,
            &format!("entries of namespace {typed}{near}"),
        ));
    }
    let what = namespace.map_or_else(
        || "every namespace".to_owned(),
        |ns| format!("namespace {}", print::quoted(ns)),
    );
    if !doomed.is_empty()
        && !yes
        && !confirm(&format!(
            "Remove {} of {what} in {}?",
            print::entries(doomed.len()),
            print::clean(&source.name)
        ))
    {
        print::errln!(
            "cacher: not confirmed, nothing removed (pass --yes to clear without being asked)"
        );
        if json {
            emit(&json!({ "removed": 0 }));
        }
        return Ok(exit::NOT_CONFIRMED);
    }
    // Moved first, as a cache's `clear` does; the entries go even when that failed.
    let moved = source.invalidate_namespaces(&doomed);
    let removed = remove_all(source, doomed.iter().copied())?;
    if json {
        emit(&json!({ "removed": removed }));
    } else {
        print::outln!("removed {} of {what}", print::entries(removed));
        left_over(doomed.len() - removed);
    }
    // What was removed is said first (helper-105: on a full disk the move failed, and the
    // command said only that it could not clear, having removed every entry); the failure
    // then: a value computed before may still land.
    moved.map_err(|e| {
        format!("{e} (the entries were removed; a value computed before the clear may be stored after it)")
    })?;
    Ok(exit::OK)
}
