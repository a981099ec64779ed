//! `verify`: what is wrong in the place, and `--repair`.

use cacher::backend::{Found, Listed};
use serde_json::json;

use super::emit;
use crate::source::{Source, is_problem};
use crate::{exit, print};

fn problem_kind(found: &Found) -> String {
    match found {
        Found::Temporary { .. } => "orphaned temporary".into(),
        Found::Foreign { layout } => format!("foreign (layout {layout})"),
        Found::Corrupt => "corrupt".into(),
        Found::Unreadable { reason } => format!("unreadable ({reason})"),
        Found::Entry(_) | Found::Other => "ok".into(),
    }
}

/// Whether the entry `item`, listed from its header, is cut short or damaged after it: read
/// whole, a JSON entry must be one JSON document, as the cache's read requires (what a power
/// loss without `durable` leaves is most often an entry cut short, its header whole). A binary
/// entry's value cannot be read without its type: only its header is checked.
fn damaged(source: &Source, item: &Listed) -> bool {
    if item.meta().is_none_or(|meta| meta.format != "json") {
        return false;
    }
    match source.listing.read_at(&item.location) {
        Ok(Some(bytes)) => serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err(),
        // Gone since the listing, or unreadable now: as listed.
        _ => false,
    }
}

/// Removes the `problems` (`--repair`): what could not be removed, and why.
fn removed(source: &Source, problems: &[&Listed]) -> Vec<String> {
    let mut failures = Vec::new();
    source.removing(|remove| {
        for item in problems {
            if let Found::Unreadable { .. } = item.found {
                // Unread, it is not known to be cacher's: another user's, perhaps.
                failures.push(format!(
                    "{}: unreadable, so not known to be a cache's: left as it is",
                    item.location
                ));
                continue;
            }
            match remove(item) {
                Ok(true) => {}
                Ok(false) => failures.push(format!(
                    "{}: written over since it was read: left as it is",
                    item.location
                )),
                Err(e) => failures.push(format!("{}: {e}", item.location)),
            }
        }
    });
    failures
}

pub(super) fn verify(
    source: &Source,
    listed: &[Listed],
    seen: usize,
    repair: bool,
    json: bool,
) -> u8 {
    let checked: Vec<Listed> = listed
        .iter()
        .filter_map(|item| match item.found {
            Found::Entry(_) if damaged(source, item) => Some(Listed {
                found: Found::Corrupt,
                ..item.clone()
            }),
            _ => is_problem(&item.found).then(|| item.clone()),
        })
        .collect();
    let problems: Vec<&Listed> = checked.iter().collect();
    let failures = match repair {
        true => removed(source, &problems),
        false => Vec::new(),
    };
    let unrepaired = if repair {
        failures.len()
    } else {
        problems.len()
    };
    if json {
        emit(&json!({
            "checked": seen, "problems": problems, "repaired": repair.then(|| problems.len() - failures.len()),
            "failures": failures,
        }));
    } else {
        for item in &problems {
            let kind = problem_kind(&item.found);
            print::outln!(
                "{:<28} {}",
                print::clean(&kind),
                print::escape(&item.location)
            );
        }
        for failure in &failures {
            print::errln!("cacher: cannot remove {}", print::clean(failure));
        }
        match (problems.len(), repair) {
            (0, _) => print::outln!("{seen} files checked, no problems"),
            (n, false) => {
                print::outln!(
                    "{n} problem(s) in {seen} files: `cacher verify --repair` removes them"
                );
            }
            (n, true) => print::outln!("removed {} of {n} problem file(s)", n - failures.len()),
        }
    }
    if unrepaired == 0 {
        exit::OK
    } else {
        exit::PROBLEMS
    }
}
