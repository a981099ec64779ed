#!/usr/bin/env python3
"""Compile time of 50 `#[cached]` functions: cacher's attribute beside `cached`'s.

    python3 benches/compile_time.py [--runs N] [--ir [--parts]] [--instructions] [--phases]
                                    [--expand] [--timed] [--async] [--distinct] [--units N]

Writes two throwaway library crates under target/compile-time/ — the same 50 functions of varied
signatures and the same bodies, one with `#[cacher::cached]` (the workspace's path dependency),
one with `cached`'s `#[cached]` (the version in the workspace's Cargo.lock, which is copied so
that both build offline with the workspace's versions) — builds their dependencies once, then
builds each crate N times (alternating, after touching its source) with `cargo build`, the dev
profile and CARGO_INCREMENTAL=0, and prints the user+sys CPU time of each build (cargo and
rustc, as `getrusage` of the children counts them), the medians and their ratio.

--ir     also emits each crate's LLVM IR (`--emit=llvm-ir`, the dev profile) and prints its size:
         lines, functions defined, the debug information's types, functions and variables
         (about half of the build: what IR lines miss), and the generic functions with the most
         lines summed over their copies (what `cargo llvm-lines` reports; legacy symbol names, grouped without
         their hash, so copies of one generic function are counted together).
--timed  gives every function a time to live: `ttl = "1h"` for cacher, `ttl_secs = 3600` for
         `cached` (its `TimedCache`), so that the code of expiry is compiled (without it,
         cacher's untimed functions compile none: `KeyRef::TIMED`).
--async  makes every function an `async fn` (cacher with its `tokio` feature, `cached` with its
         `async` one), so that the async driver is compiled.
--distinct gives each function a value type of its own (the value paired with a `[u8; N]`), so
         that no two of the 50 signatures are alike and neither crate shares code between
         functions of one signature.
--parts  also prints how cacher's IR lines divide among its parts (the memory tier, the flights,
         the miss path's typed shell and drivers, the cache's API and build, the key's encoding),
         each function attributed by its debug name, generic arguments included — so that
         `Arc<Slot<…>>::new` counts as the memory tier's, not `std`'s.
--instructions
         also counts the instructions of the rustc run that builds each crate itself (callgrind,
         through this script as RUSTC_WRAPPER): the build's CPU time without the machine's noise,
         repeatable to 0.1 %, where the CPU time of one build moves by 20 % on a shared VM. Needs
         valgrind; about a minute per crate.
--phases also splits each crate's rustc instructions by where they are spent (implies
         --instructions): by object (LLVM, the C library, the attribute's proc macro, rustc the
         rest) and by a few of rustc's queries (macro expansion, type and borrow checking, the
         monomorphisation collector, the metadata, code generation to LLVM IR; what LLVM then
         does is in its object's count), inclusive counts from `callgrind_annotate` (a query
         that recurses is counted where it is outermost). The two columns side by side say
         which phase the gap is in; the queries overlap (the metadata's list of exported
         symbols asks for the collector's result), so they do not sum to the total.
--units N sets the dev profile's codegen units (CARGO_PROFILE_DEV_CODEGEN_UNITS, for the
         dependencies too, in a target directory of their own). Unset, as in the goal's
         non-incremental build, rustc chooses: a crate this small is split by the modules its
         code comes from, then its small units are merged up to a minimum size, and each unit
         costs some 15-23 M instructions (docs/BENCHMARKS.md). With `--units 1` the two crates
         compare without the partitioning; N > 1 is a maximum, with no merging of small units:
         not what the default build does. --instructions prints the units each crate had.
--expand also prints the size of each crate's macro expansion (rustc's `-Zunpretty=expanded`,
         enabled on a stable toolchain with RUSTC_BOOTSTRAP=1, for this measurement only):
         bytes and tokens.

docs/BENCHMARKS.md ("Compile time") has the results and what they led to.
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "compile-time"
FUNCTIONS = 50

# (arguments, return type, body, `cached`'s extra options). The same signature and body for
# both crates; `cached` needs an owned key and a conversion for borrowed arguments, and
# `result = true` to cache only `Ok` values, as cacher does for a `Result`.
SHAPES = [
    ("n: u64", "u64", "n.wrapping_mul({i} + 3)", ""),
    ("s: &str", "usize", "s.len() + {i}", 'key = "String", convert = r#"{{ s.to_owned() }}"#'),
    ("s: String", "String", "format!(\"{{s}}-{i}\")", ""),
    ("a: u32, b: u32", "u64", "u64::from(a) * u64::from(b) + {i}", ""),
    (
        "a: &str, b: u32, c: &str",
        "u64",
        "(a.len() + c.len()) as u64 + u64::from(b) + {i}",
        'key = "(String, u32, String)", convert = r#"{{ (a.to_owned(), b, c.to_owned()) }}"#',
    ),
    ("v: Vec<u8>", "usize", "v.iter().map(|&b| usize::from(b)).sum::<usize>() + {i}", ""),
    ("n: i64", "Option<i64>", "n.checked_mul({i} + 2)", ""),
    ("flag: bool, n: u16", "Vec<u64>", "(0..u64::from(n)).map(|x| x + u64::from(flag) + {i}).collect()", ""),
    (
        "n: u64",
        "Result<u64, String>",
        "if n % 7 == {i} % 7 {{ Err(\"seven\".to_owned()) }} else {{ Ok(n + {i}) }}",
        "",
    ),
    ("a: String, b: (u8, u8)", "String", "format!(\"{{a}}{{}}{{}}-{i}\", b.0, b.1)", ""),
]


def distinct(i, ret, body):
    """The signature made one of its own: the value paired with a `[u8; N]`, N from 1 to 5."""
    n = i // len(SHAPES) + 1
    if ret.startswith("Result<"):
        ok, err = ret[len("Result<") : -1].split(", ")
        return f"Result<([u8; {n}], {ok}), {err}>", f"({{ {body} }}).map(|v| ([0; {n}], v))"
    return f"([u8; {n}], {ret})", f"([0; {n}], {{ {body} }})"


def source(peer, distinct_types=False, timed=False, asynchronous=False):
    lines = ["//! Generated by benches/compile_time.py: do not edit.", ""]
    if peer == "cached":
        lines.append("use cached::proc_macro::cached;")
    else:
        lines.append("use cacher::cached;")
    lines.append("")
    for i in range(FUNCTIONS):
        args, ret, body, extra = SHAPES[i % len(SHAPES)]
        body = body.format(i=i)
        if distinct_types:
            ret, body = distinct(i, ret, body)
        extra = extra if peer == "cached" else ""
        if timed:
            ttl = "ttl_secs = 3600" if peer == "cached" else 'ttl = "1h"'
            extra = f"{ttl}, {extra}" if extra else ttl
        options = f"({extra})" if extra else ""
        fn = "async fn" if asynchronous else "fn"
        lines += [f"#[cached{options}]", f"pub {fn} f{i}({args}) -> {ret} {{", f"    {body}", "}", ""]
    return "\n".join(lines)


def manifest(peer, asynchronous=False):
    if peer == "cached":
        # `time_stores` for `--timed` (its `ttl_secs`); unused by the untimed functions.
        features = '"proc_macro", "time_stores"' + (', "async"' if asynchronous else "")
        dep = f'cached = {{ version = "4", default-features = false, features = [{features}] }}'
    else:
        features = ', features = ["tokio"]' if asynchronous else ""
        dep = f'cacher = {{ path = "{ROOT / "cacher"}"{features} }}'
    # An empty [workspace]: the crate is below the workspace's directory but not a member.
    return f"""[package]
name = "ct-{peer}"
version = "0.0.0"
edition = "2024"
publish = false

[lib]
path = "lib.rs"

[dependencies]
{dep}

[workspace]
"""


def write_crate(peer, distinct_types, timed=False, asynchronous=False):
    crate = OUT / peer
    crate.mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(manifest(peer, asynchronous))
    (crate / "lib.rs").write_text(source(peer, distinct_types, timed, asynchronous))
    shutil.copy(ROOT / "Cargo.lock", crate / "Cargo.lock")
    return crate


# `--units N`: the dev profile's codegen units set (None: rustc chooses, as in the goal's build).
UNITS = None


def target_dir():
    # A directory per unit count: the dependencies are built with the same profile.
    return OUT / ("target" if UNITS is None else f"target-units-{UNITS}")


def env():
    e = dict(os.environ)
    e["CARGO_INCREMENTAL"] = "0"
    e["CARGO_TARGET_DIR"] = str(target_dir())
    if UNITS is not None:
        e["CARGO_PROFILE_DEV_CODEGEN_UNITS"] = str(UNITS)
    return e


def units(peer):
    """The codegen units the bench's crate was split into: its rlib's objects (None without
    `ar` or an rlib)."""
    if not shutil.which("ar"):
        return None
    rlibs = sorted((target_dir() / "debug" / "deps").glob(f"libct_{peer}-*.rlib"), key=os.path.getmtime)
    if not rlibs:
        return None
    listed = subprocess.run(["ar", "t", str(rlibs[-1])], capture_output=True, text=True)
    if listed.returncode != 0:
        return None
    return sum(1 for m in listed.stdout.split() if m.endswith(".rcgu.o"))


def cargo(crate, *args, extra_env=None, capture=False):
    e = env()
    if extra_env:
        e.update(extra_env)
    return subprocess.run(
        ["cargo", args[0], "--offline", "--quiet", "--manifest-path", str(crate / "Cargo.toml"), *args[1:]],
        env=e,
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )


def timed_build(crate):
    (crate / "lib.rs").touch()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cargo(crate, "build")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


SYMBOL = re.compile(r"^define [^@]*@\"?([^\"(]+)\"?\(")


def demangle(symbol):
    """A legacy Rust symbol's path without its hash; other symbols as they are."""
    if not symbol.startswith("_ZN"):
        return symbol
    rest, parts = symbol[3:], []
    while rest and rest[0].isdigit():
        digits = re.match(r"\d+", rest).group(0)
        n = int(digits)
        parts.append(rest[len(digits) : len(digits) + n])
        rest = rest[len(digits) + n :]
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    path = "::".join(parts)
    for escaped, plain in [
        ("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","),
        ("$u20$", " "), ("$u27$", "'"), ("$u5b$", "["), ("$u5d$", "]"), ("$u7b$", "{"),
        ("$u7d$", "}"), ("$u3b$", ";"), ("$u2b$", "+"), ("$u22$", '"'), ("..", "::"),
    ]:
        path = path.replace(escaped, plain)
    return path.lstrip("_$")


def ir_size(crate, peer):
    ir_dir = OUT / "ir" / peer
    shutil.rmtree(ir_dir, ignore_errors=True)
    ir_dir.mkdir(parents=True)
    (crate / "lib.rs").touch()
    cargo(crate, "rustc", "--lib", "--", "--emit=llvm-ir", "-o", str(ir_dir / "lib.ll"))
    lines, functions = 0, 0
    per = defaultdict(lambda: [0, 0])
    debug = defaultdict(int)
    current = None
    for path in ir_dir.glob("*.ll"):
        for line in path.read_text().splitlines():
            if line.startswith("!"):
                for kind in DEBUG_KINDS:
                    if kind in line:
                        debug[kind] += 1
                continue
            m = SYMBOL.match(line)
            if m:
                current = demangle(m.group(1))
                functions += 1
                per[current][1] += 1
            if current is not None:
                per[current][0] += 1
                lines += 1
            if line == "}":
                current = None
    return lines, functions, debug, sorted(per.items(), key=lambda kv: -kv[1][0])


# The debug information the dev profile emits beside the code (`debug = true`): about half of the
# build's time for cacher, and not counted in the IR's lines. Types (`DICompositeType`: each
# instance of a generic struct or enum, each closure) and functions (`DISubprogram`) are what
# generic code adds per cache type.
DEBUG_KINDS = ["DICompositeType", "DISubprogram", "DILocalVariable"]


# cacher's parts, matched in order against a function's debug name (its path and generic
# arguments): the first that matches takes the function's lines.
PARTS = [
    ("memory tier", r"backend::memory"),
    ("flights", r"cache::flight"),
    ("miss path: typed shell, drivers", r"miss::shell|cache::drive|Miss<|Shell<"),
    ("cache API and build", r"cache::Cache<|CacheBuilder|cache::control|inner::Inner<|__private::build"),
    ("key encoding", r"key::canonical|serde_core::ser|key_args"),
    ("statics of #[cached]", r"once_lock|OnceLock|Once::|identity"),
]
DEFINE = re.compile(r"define .*?@(\"?[^\"( ]+\"?)\(.*!dbg !(\d+)")
SUBPROGRAM = re.compile(r'!(\d+) = distinct !DISubprogram\(name: "([^"]*)".*?, scope: !(\d+)')
SCOPE = re.compile(r'!(\d+) = !(?:DICompositeType|DINamespace)\(.*?name: "([^"]*)"(?:, scope: !(\d+))?')


def parts(peer):
    """IR lines per part of cacher ([`PARTS`]), by each function's debug name."""
    totals = defaultdict(int)
    for path in (OUT / "ir" / peer).glob("*.ll"):
        text = path.read_text().splitlines()
        subprograms = {m[1]: (m[2], m[3]) for m in map(SUBPROGRAM.match, text) if m}
        scopes = {m[1]: (m[2], m[3]) for m in map(SCOPE.match, text) if m}

        def name(dbg):
            base, scope = subprograms.get(dbg, ("?", None))
            path = []
            while scope in scopes:
                part, scope = scopes[scope]
                path.append(part)
            return "::".join(reversed(path)) + "::" + base

        current = None
        for line in text:
            m = DEFINE.match(line)
            if m:
                full = name(m.group(2))
                current = next((p for p, pat in PARTS if re.search(pat, full)), "other")
            if current is not None:
                totals[current] += 1
            if line == "}":
                current = None
    return totals


TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|\"(?:[^\"\\]|\\.)*\"|::|->|=>|&&|\|\||\S")


def expansion_size(crate):
    out = cargo(
        crate,
        "rustc", "--lib", "--profile=check", "--", "-Zunpretty=expanded",
        extra_env={"RUSTC_BOOTSTRAP": "1"},
        capture=True,
    ).stdout
    body = out[out.find("pub fn f0") :]  # the functions, without the prelude's `use`s
    return len(body), len(TOKEN.findall(body))


def instructions(crate, peer, keep_profile=False):
    """The instructions of the rustc run that builds `crate` itself, under callgrind (its
    profile kept for `phases` if `keep_profile`)."""
    counted = OUT / f"instructions-{peer}.txt"
    counted.unlink(missing_ok=True)
    (crate / "lib.rs").touch()
    wrapper = {"RUSTC_WRAPPER": str(Path(__file__).resolve()), "CT_COUNT_TO": str(counted)}
    if keep_profile:
        wrapper["CT_CALLGRIND_TO"] = str(OUT / f"callgrind-{peer}.out")
    cargo(crate, "build", extra_env=wrapper)
    return int(counted.read_text())


# Where rustc's instructions go (`--phases`): objects by the file they are in, queries by the
# name of the function that runs them.
OBJECTS = [
    ("LLVM (all of it)", "libLLVM"),
    ("C library", "libc.so"),
    ("the attribute's proc macro", "macro"),
]
# What is in none of the objects: rustc itself, and the loader, libm, zlib and the like.
REST = "rustc and everything else"
QUERIES = [
    ("macro expansion", "<rustc_expand::expand::MacroExpander>::expand_crate"),
    ("type check", "rustc_hir_typeck::typeck_with_inspect::{closure#0}"),
    ("borrow check", "rustc_borrowck::mir_borrowck"),
    (
        "monomorphisation collector",
        "rustc_monomorphize::partitioning::collect_and_partition_mono_items",
    ),
    ("metadata", "rustc_metadata::rmeta::encoder::encode_metadata"),
    (
        "code generation to LLVM IR",
        "rustc_codegen_llvm::base::compile_codegen_unit::module_codegen",
    ),
]
LABELS = [label for label, _ in OBJECTS] + [REST] + [label for label, _ in QUERIES]
ANNOTATED = re.compile(r"\s*([\d,]+) \([^)]*\)\s+(?:[^:\s]*:)?(.*?)(?: \[(.*)\])?$")


def phases(peer):
    """Millions of instructions of `peer`'s rustc run by object and by query ([`OBJECTS`],
    [`QUERIES`]), from the callgrind profile `instructions` kept."""
    profile = str(OUT / f"callgrind-{peer}.out")
    split, total = {}, 0
    for inclusive, names in ((False, OBJECTS), (True, QUERIES)):
        flag = f"--inclusive={'yes' if inclusive else 'no'}"
        args = ["callgrind_annotate", flag, "--threshold=100", "--auto=no", profile]
        text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            m = ANNOTATED.match(line)
            if m and "PROGRAM TOTALS" in line:
                total = int(m.group(1).replace(",", ""))
            if not m or "PROGRAM TOTALS" in line:
                continue
            count, function, obj = int(m.group(1).replace(",", "")), m.group(2), m.group(3) or ""
            for label, pattern in names:
                if inclusive and function == pattern:
                    # A query that recurses appears again as `name'2`: the outermost counts.
                    split[label] = max(split.get(label, 0), count)
                elif not inclusive and pattern in Path(obj).name:
                    split[label] = split.get(label, 0) + count
                    break
    split[REST] = total - sum(split.get(label, 0) for label, _ in OBJECTS)
    return {label: split.get(label, 0) / 1e6 for label in LABELS}


def wrap(rustc, args):
    """As RUSTC_WRAPPER: the bench's crate under callgrind, its count to CT_COUNT_TO; any other
    crate as it is."""
    if "--crate-name" not in args or not args[args.index("--crate-name") + 1].startswith("ct_"):
        os.execv(rustc, [rustc, *args])
    out = os.environ.get("CT_CALLGRIND_TO", "/dev/null")
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", rustc, *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    collected = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not collected:
        sys.stderr.write(run.stderr)
        sys.exit(run.returncode or 1)
    Path(os.environ["CT_COUNT_TO"]).write_text(collected.group(1))


def positive(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not a number of codegen units")
    return n


def main():
    global FUNCTIONS, UNITS
    if os.environ.get("CT_COUNT_TO") and len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        return wrap(sys.argv[1], sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="builds of each crate (5)")
    parser.add_argument("--ir", action="store_true", help="LLVM IR size per crate")
    parser.add_argument("--expand", action="store_true", help="expansion size per crate")
    parser.add_argument(
        "--instructions", action="store_true", help="rustc's instructions per crate (valgrind)"
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="rustc's instructions by phase (implies --instructions)",
    )
    parser.add_argument("--top", type=int, default=15, help="generic functions listed with --ir")
    parser.add_argument("--parts", action="store_true", help="cacher's IR lines by part (with --ir)")
    parser.add_argument(
        "--distinct", action="store_true", help="50 different value types (no two signatures alike)"
    )
    parser.add_argument("--timed", action="store_true", help="every function with a time to live")
    parser.add_argument("--async", dest="asynchronous", action="store_true", help="async fns")
    parser.add_argument(
        "--functions",
        type=int,
        default=50,
        help="the first N functions only (50; 10 is one per signature: what each cache type costs)",
    )
    parser.add_argument(
        "--units",
        type=positive,
        help="the dev profile's codegen units set to N (unset: rustc chooses, as in the goal's build)",
    )
    opts = parser.parse_args()
    FUNCTIONS = opts.functions
    UNITS = opts.units
    peers = ["cacher", "cached"]
    crates = {
        peer: write_crate(peer, opts.distinct, opts.timed, opts.asynchronous) for peer in peers
    }
    for peer in peers:  # dependencies, untimed
        cargo(crates[peer], "build")
    if opts.expand:
        for peer in peers:
            size, tokens = expansion_size(crates[peer])
            print(f"expansion {peer}: {size} bytes, {tokens} tokens ({tokens / FUNCTIONS:.0f} per function)")
    if opts.ir:
        for peer in peers:
            lines, functions, debug, per = ir_size(crates[peer], peer)
            print(f"LLVM IR {peer}: {lines} lines, {functions} functions")
            kinds = ", ".join(f"{debug[kind]} {kind}" for kind in DEBUG_KINDS)
            print(f"  debug information: {kinds}")
            for name, (n, copies) in per[: opts.top]:
                print(f"  {n:7} lines {copies:4} copies  {name}")
            if opts.parts and peer == "cacher":
                totals = parts(peer)
                for part, n in sorted(totals.items(), key=lambda kv: -kv[1]):
                    print(f"  part {n:7} lines {100 * n / lines:5.1f} %  {part}")
    if opts.instructions or opts.phases:
        counts = {peer: instructions(crates[peer], peer, opts.phases) for peer in peers}
        for peer in peers:
            print(f"instructions {peer}: {counts[peer]} ({units(peer)} codegen units)")
        print(f"ratio of instructions cacher / cached: {counts['cacher'] / counts['cached']:.2f}")
        if opts.phases:
            split = {peer: phases(peer) for peer in peers}
            print(f"  {'where (M instructions)':44} {'cacher':>8} {'cached':>8} {'difference':>11}")
            for label in LABELS:
                a, b = split["cacher"][label], split["cached"][label]
                print(f"  {label:44} {a:8.1f} {b:8.1f} {a - b:+11.1f}")
    times = {peer: [] for peer in peers}
    for run in range(opts.runs):
        for peer in peers:
            t = timed_build(crates[peer])
            times[peer].append(t)
            print(f"run {run + 1}: {peer} {t:.2f} s CPU", file=sys.stderr)
    if opts.runs == 0:
        return None
    medians = {peer: statistics.median(times[peer]) for peer in peers}
    for peer in peers:
        runs = " ".join(f"{t:.2f}" for t in times[peer])
        print(f"build {peer}: median {medians[peer]:.2f} s CPU (user+sys; runs: {runs})")
    print(f"ratio cacher / cached: {medians['cacher'] / medians['cached']:.2f}")


if __name__ == "__main__":
    main()
