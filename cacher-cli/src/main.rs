//! `cacher`: see into the caches of cacher — list them, show entries, draw their ages, prune,
//! verify and clear them, in file directories and on Redis servers.
//!
//! The cache logic (what an entry is, what it records, what is corrupt) is the library's
//! [`cacher::Listing`]; this crate parses arguments and prints.

mod commands;
mod names;
mod parse;
mod print;
mod source;
mod waits;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

/// Exit codes scripts can rely on.
mod exit {
    /// Done; `verify` found nothing wrong (or repaired everything).
    pub const OK: u8 = 0;
    /// A failure: the cache could not be read or changed (the message says what to do); or a
    /// NAMESPACE or KEY refused, nothing done (it names two things; not a printed name).
    pub const FAILURE: u8 = 1;
    /// Wrong arguments (clap's own code, for the record).
    #[allow(dead_code)]
    pub const USAGE: u8 = 2;
    /// `verify` found problems and did not repair them all.
    pub const PROBLEMS: u8 = 3;
    /// `show`, `clear`: no such namespace or entry.
    pub const NOT_FOUND: u8 = 4;
    /// `clear` was not confirmed (answered no, or no terminal to ask and no `--yes`).
    pub const NOT_CONFIRMED: u8 = 5;
}

const AFTER_HELP: &str = "\
Where: file caches below ROOT (default: $CACHER_DIR, else the platform's cache directory, where \
#[cached] functions keep their files), an embedded store with --store DIR, or a Redis server \
with --redis URL.

Names: `ls` and `show` print a namespace, key or argument with each character a terminal acts \
on, or that shows as nothing, written as \\u{1b}, a backslash as \\\\, and a space at either end \
or a leading - escaped too (\\u{2d}-all), so that each printed name is one name. NAMESPACE \
and KEY are taken as printed or as typed, whichever names something; one that names two is \
refused (`a\\u{1b}`, when there is a namespace of that text and one of `a` and an ESC): \
--exact takes it as typed, --escaped as printed.

Exit codes: 0 done; 1 failure (cannot read or change the cache), or a NAMESPACE or KEY refused \
(it names two, or is not as `ls` prints names with --escaped: nothing done); 2 wrong arguments; \
3 verify found problems it did not repair; 4 show or clear found no such namespace or entry; \
5 clear not confirmed.";

/// See into the caches of cacher: list, show, stats, prune, verify, clear.
#[derive(Debug, Parser)]
#[command(name = "cacher", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
struct Global {
    /// The directory of file caches [default: $CACHER_DIR, else the platform's cache directory]
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Look into a Redis server instead of files (redis://[:password@]host:port/db)
    #[arg(long, global = true, value_name = "URL", conflicts_with = "root")]
    redis: Option<String>,
    /// Look into an embedded store (the directory of a `backend = "store"` cache) instead
    #[arg(long, global = true, value_name = "DIR", conflicts_with_all = ["root", "redis"])]
    store: Option<PathBuf>,
    /// The cache's ttl, for entries without one of their own (entries record a `ttl_fn` ttl,
    /// not the cache's): older ones count as expired (e.g. 90s, 30m, 12h, 7d). Redis drops
    /// expired entries itself
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse::duration)]
    ttl: Option<std::time::Duration>,
    /// Print JSON for scripts instead of tables (one document on stdout)
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The caches under ROOT: namespace, entries, bytes, oldest and newest, how many expired
    /// (`?` for entries that record no ttl, without --ttl)
    Ls {
        /// The directory to list [default: --root, else where caches go by default]
        root: Option<PathBuf>,
    },
    /// A namespace's entries (arguments, age, size, state), or one entry's value
    Show {
        /// The cache's namespace, as `ls` prints it (or as typed)
        namespace: String,
        /// One entry: its key (whole, or cut with … as `show NAMESPACE` prints it), its arguments' text, or its location (`show NAMESPACE --json`), as printed or as typed
        key: Option<String>,
        #[command(flatten)]
        reading: names::Reading,
    },
    /// Totals, and how old the entries are, as a histogram
    Stats,
    /// Remove expired entries, entries older than a duration, or the oldest down to a size
    Prune(commands::PruneArgs),
    /// Find corrupt, foreign (an older layout), orphaned temporary and unreadable files
    Verify {
        /// Remove what was found (a user's own files in the directory are never touched)
        #[arg(long)]
        repair: bool,
    },
    /// Remove every entry of a namespace (every version), or of every namespace with --all
    Clear {
        /// The namespace to clear, as `ls` prints it (or as typed)
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        namespace: Option<String>,
        /// Clear every namespace. Takes no --exact nor --escaped, which read a name: a namespace
        /// named `--all` given with --exact is refused, not every namespace cleared
        #[arg(long, conflicts_with_all = ["exact", "escaped"])]
        all: bool,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        reading: names::Reading,
    },
    /// Print a shell completion script (e.g. `cacher completions bash > /etc/bash_completion.d/cacher`)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        let mut command = Cli::command();
        // Into memory first: clap_complete panics on a write that fails (`| head -1`).
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "cacher", &mut script);
        print::out(format_args!("{}", String::from_utf8_lossy(&script)));
        return ended(exit::OK);
    }
    match commands::run(&cli) {
        Ok(code) => ended(code),
        Err(error) => {
            print::errln!("cacher: {}", print::clean(&error));
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// `code`, unless the output could not be written: a failure, which says so. (Its reader going
/// away, as `| head -1` does, is no failure.)
fn ended(code: u8) -> ExitCode {
    match print::output_failed() {
        Some(why) => {
            print::errln!("cacher: {why}");
            ExitCode::from(exit::FAILURE)
        }
        None => ExitCode::from(code),
    }
}
