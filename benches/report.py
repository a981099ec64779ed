#!/usr/bin/env python3
"""Turns criterion's results into the tables of docs/BENCHMARKS.md and the chart
docs/bench-hit-latency.svg.

    python3 benches/report.py [CRITERION_DIR] [--section tmpfs]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion. Each benchmark's
median (criterion's `new/estimates.json`) is read; the tables replace what stands between the
`<!-- results:begin -->` and `<!-- results:end -->` markers of docs/BENCHMARKS.md, and the chart
(hit latency against value size and against entry count) is written as plain SVG, so that no
plotting library is needed.

With `--section tmpfs`, only the file-tier table is written, between the `<!-- tmpfs:begin -->`
and `<!-- tmpfs:end -->` markers, and the chart is left alone: for a second run of the file
benches with CACHER_BENCH_DIR on a tmpfs (see docs/BENCHMARKS.md).
"""

import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
SVG = ROOT / "docs" / "bench-hit-latency.svg"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


ARGS = [a for a in sys.argv[1:] if not a.startswith("--") and a != "tmpfs"]
SECTION = "tmpfs" if "--section" in sys.argv else None


def criterion_dir():
    if ARGS:
        return Path(ARGS[0])
    target = os.environ.get("CARGO_TARGET_DIR")
    return Path(target) / "criterion" if target else ROOT / "target" / "criterion"


def load(base):
    """{(group, function, value): median in ns}"""
    results = {}
    for bench in base.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        key = (meta["group_id"], meta.get("function_id"), meta.get("value_str"))
        results[key] = estimates["median"]["point_estimate"]
    return results


def fmt(ns):
    if ns is None:
        return "–"
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def ratio(a, b):
    if a is None or b is None:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tables(r, files_only=False):
    out = []
    get = lambda g, f, v: r.get((g, f, v))
    goals = []

    # Memory.
    if not files_only:
        peers = ["cacher", "cacher_attr", "cached", "cached_unsync_reads", "moka", "quick_cache",
                 "rwlock_hashmap"]
        kinds = ["u64", "String", "3 args"]
        for group, title, goal in [
            # Issue 15's goals.
            ("memory_hit_1t", "Memory hit, one thread", 0.7),
            ("memory_hit_2t", "Memory hit, two threads at once (time per lookup on each thread)", 0.3),
        ]:
            rows = []
            for kind in kinds:
                cells = [get(group, p, kind) for p in peers]
                if all(c is None for c in cells):
                    continue
                base = get(group, "cached", kind)
                hand, attr = ratio(cells[0], base), ratio(cells[1], base)
                rows.append([kind] + [fmt(c) for c in cells] + [fmt_ratio(hand), fmt_ratio(attr)])
                for name, value in [("get_or_compute", hand), ("#[cached]", attr)]:
                    if value is not None:
                        goals.append((f"{title.split(' (')[0]}, {kind}, {name}: ≤ {goal}× `cached`",
                                      value, goal))
            if rows:
                out.append(f"### {title}")
                out.append(table(["key"] + [f"`{p}`" for p in peers]
                                 + ["cacher ÷ cached", "cacher `#[cached]` ÷ cached"], rows))
        cells = [get("memory_miss_insert", p, "u64") for p in peers]
        row = [fmt(c) for c in cells]
        base = get("memory_miss_insert", "cached", "u64")
        for name, value in [("get_or_compute", cells[0]), ("#[cached]", cells[1])]:
            if value is not None and base:
                goals.append((f"Memory miss + insert, u64, {name}: ≤ 2.0× `cached`",
                              value / base, 2.0))
        if any(c != "–" for c in row):
            out.append("### Memory miss + insert (`u64`, from an empty cache)")
            out.append(table([f"`{p}`" for p in peers], [row]))
        # Async hits (async_hit.rs): no goal of their own; the ratios to `cached`'s async
        # attribute.
        apeers = ["cacher", "cacher_attr", "cached", "moka"]
        rows = []
        for kind in ["u64", "String"]:
            cells = [get("async_hit_1t", p, kind) for p in apeers]
            if all(c is None for c in cells):
                continue
            base = get("async_hit_1t", "cached", kind)
            rows.append([kind] + [fmt(c) for c in cells]
                        + [fmt_ratio(ratio(cells[0], base)), fmt_ratio(ratio(cells[1], base))])
        if rows:
            out.append("### Async memory hit, one thread (an `async fn`'s future, polled in place)")
            out.append(table(["key"] + [f"`{p}`" for p in apeers]
                             + ["cacher ÷ cached", "cacher `#[cached]` ÷ cached"], rows))

    # File, per format.
    sizes = ["200B", "4KiB", "256KiB"]
    # Misses write new files: on the disk their time is the filesystem's (journal, discard) and
    # swings from run to run, so they are shown for the tmpfs run only.
    ops = ["hit", "miss", "store"] if files_only else ["hit", "store"]
    rows = []
    for fmt_name in ["json", "bincode", "postcard"]:
        for size in sizes:
            cells = []
            for op in ops:
                c = get(f"file_{op}_{fmt_name}", "cacher", size)
                w = get(f"file_{op}_{fmt_name}", "raw", size)
                cells += [fmt(c), fmt(w), fmt_ratio(ratio(c, w))]
                if c is not None and w is not None and op != "miss":
                    goals.append((f"file {op}, {fmt_name} {size}: ≤ 1.3× raw", c / w, 1.3))
            if any(x != "–" for x in cells):
                rows.append([fmt_name, size] + cells)
    if rows:
        out.append("### File tier against the raw floor")
        out.append(("Raw hit: `std::fs::read` + decode of the same bytes. Raw store: encode + "
                    "temp file + rename. "
                    + ("Raw miss: a failed read, then a raw store." if files_only else "")).rstrip())
        header = ["format", "value"]
        for op in ops:
            header += [f"cacher {op}", f"raw {op}", "ratio"]
        out.append(table(header, rows))

    if files_only:
        return "\n\n".join([goals_table(goals)] + out)

    # Peers.
    rows = []
    for size in sizes:
        ours = get("file_hit_json", "cacher", size)
        ours_store = get("file_store_json", "cacher", size)
        redb = get("file_peers_hit", "cached_redb", size)
        redb_store = get("file_peers_store", "cached_redb", size)
        cacache = get("file_peers_hit", "cacache", size)
        cacache_store = get("file_peers_store", "cacache", size)
        if all(x is None for x in [redb, cacache]):
            continue
        rows.append([size, fmt(ours), fmt(redb), fmt(cacache), fmt_ratio(ratio(ours, redb)),
                     fmt(ours_store), fmt(redb_store), fmt(cacache_store),
                     fmt_ratio(ratio(ours_store, redb_store))])
    if rows:
        out.append("### Beside `cached`'s redb store and cacache (JSON for cacher)")
        out.append(table(["value", "cacher hit", "redb hit", "cacache hit", "cacher ÷ redb",
                          "cacher store", "redb store", "cacache store", "cacher ÷ redb"], rows))

    # Populations.
    rows = []
    base_c = get("file_hit_population", "cacher", "1k")
    base_r = get("file_hit_population", "raw", "1k")
    for label in ["1k", "100k", "1M"]:
        c = get("file_hit_population", "cacher", label)
        w = get("file_hit_population", "raw", label)
        if c is None and w is None:
            continue
        rows.append([label, fmt(c), fmt_ratio(ratio(c, base_c)), fmt(w),
                     fmt_ratio(ratio(w, base_r)), fmt_ratio(ratio(c, w))])
        if label == "1M" and c is not None and base_c is not None:
            goals.append(("file hit at 1 000 000 entries: ≤ 1.5× the hit at 1 000", c / base_c,
                          1.5))
    if rows:
        out.append("### File hit among many entries (sharded `filename_fn`, hashed keys, JSON, "
                   "200 B)")
        out.append(table(["entries", "cacher hit", "÷ 1k", "raw hit", "÷ 1k", "cacher ÷ raw"],
                         rows))

    # Single flight.
    calls_file = criterion_dir() / "single_flight" / "calls.json"
    calls = json.loads(calls_file.read_text()) if calls_file.exists() else {}
    rows = []
    for peer in ["cacher", "moka", "quick_cache", "cached", "cached_sync_writes_by_key"]:
        t = get("single_flight", peer, "8")
        if t is None:
            continue
        c = calls.get(peer)
        rows.append([f"`{peer}`", fmt(t), "–" if c is None else f"{c:.2f}"])
    if rows:
        out.append("### Single flight: 8 callers of one missing key, function takes 1 ms")
        out.append(table(["peer", "time until all 8 answered", "calls per burst"], rows))

    # Rate limiter.
    a, b = get("rate_limit_hit", "with", "u64"), get("rate_limit_hit", "without", "u64")
    if a is not None and b is not None:
        out.append("### What a rate limiter adds to a hit")
        out.append(table(["without", "with `rate_limit`", "ratio"],
                         [[fmt(b), fmt(a), fmt_ratio(a / b)]]))

    if goals:
        out.insert(0, goals_table(goals))
    return "\n\n".join(out)


def goals_table(goals):
    rows = [[g, f"{v:.2f}×", "met" if v <= limit else "**missed**"] for g, v, limit in goals]
    return "### Goals\n\n" + table(["goal", "measured", ""], rows)


def svg(r):
    """Two log-log panels: hit latency against value size, and against entry count."""
    w, h, pad_l, pad_b, pad_t, gap = 980, 420, 90, 60, 40, 90
    panel_w = (w - pad_l - gap - 200) / 2
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>']
    panels = [
        ("Hit latency against value size", ["200B", "4KiB", "256KiB"], [200, 4096, 262144], [
            ("cacher json", "file_hit_json", "cacher"),
            ("raw json", "file_hit_json", "raw"),
            ("cacher bincode", "file_hit_bincode", "cacher"),
            ("cacher postcard", "file_hit_postcard", "cacher"),
            ("cached redb", "file_peers_hit", "cached_redb"),
            ("cacache", "file_peers_hit", "cacache"),
        ]),
        ("Hit latency against entry count (JSON, 200 B)", ["1k", "100k", "1M"], [1e3, 1e5, 1e6], [
            ("cacher json", "file_hit_population", "cacher"),
            ("raw json", "file_hit_population", "raw"),
        ]),
    ]
    legend = {}
    for index, (title, labels, xs, series) in enumerate(panels):
        x0 = pad_l + index * (panel_w + gap)
        y0, y1 = pad_t, h - pad_b
        values = [r.get((g, f, v)) for _, g, f in series for v in labels]
        values = [v for v in values if v]
        if not values:
            continue
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        if hi / lo < 100:
            hi = lo * 100
        lx0, lx1 = math.log10(xs[0]), math.log10(xs[-1])
        px = lambda x: x0 + (math.log10(x) - lx0) / (lx1 - lx0) * panel_w
        py = lambda y: y1 - (math.log10(y) - math.log10(lo)) / \
            (math.log10(hi) - math.log10(lo)) * (y1 - y0)
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{pad_t - 15}" text-anchor="middle" '
                     f'font-size="14">{title}</text>')
        parts.append(f'<rect x="{x0}" y="{y0}" width="{panel_w}" height="{y1 - y0}" fill="none" '
                     f'stroke="#999"/>')
        decade = lo
        while decade <= hi * 1.0001:
            y = py(decade)
            parts.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#eee"/>')
            parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">'
                         f'{fmt(decade)}</text>')
            decade *= 10
        for x, label in zip(xs, labels):
            parts.append(f'<text x="{px(x):.1f}" y="{y1 + 18}" text-anchor="middle">{label}'
                         f'</text>')
        for name, group, function in series:
            color = legend.setdefault(name, colors[len(legend) % len(colors)])
            points = [(px(x), py(r[(group, function, v)])) for x, v in zip(xs, labels)
                      if r.get((group, function, v))]
            if not points:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dash = ' stroke-dasharray="5,4"' if name.startswith("raw") else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                         f'stroke-width="2"{dash}/>')
            for x, y in points:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{h - 15}" text-anchor="middle">'
                     f'{"value size" if index == 0 else "entries in the directory"}</text>')
    lx = w - 190
    for i, (name, color) in enumerate(legend.items()):
        y = pad_t + 10 + i * 20
        dash = ' stroke-dasharray="5,4"' if name.startswith("raw") else ""
        parts.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{y}" y2="{y}" stroke="{color}" '
                     f'stroke-width="2"{dash}/>')
        parts.append(f'<text x="{lx + 30}" y="{y + 4}">{name}</text>')
    parts.append(f'<text transform="translate(14 {(pad_t + h - pad_b) / 2}) rotate(-90)" '
                 f'text-anchor="middle">median hit latency (log scale)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    base = criterion_dir()
    results = load(base)
    if not results:
        sys.exit(f"no criterion results under {base}")
    text = DOC.read_text()
    if SECTION:
        begin, end = f"<!-- {SECTION}:begin -->", f"<!-- {SECTION}:end -->"
        body, written = tables(results, files_only=True), DOC.relative_to(ROOT)
    else:
        begin, end = BEGIN, END
        body, written = tables(results), f"{DOC.relative_to(ROOT)} and {SVG.relative_to(ROOT)}"
        SVG.write_text(svg(results))
    start, stop = text.index(begin) + len(begin), text.index(end)
    DOC.write_text(text[:start] + "\n\n" + body + "\n\n" + text[stop:])
    print(f"updated {written} from {len(results)} results under {base}")


if __name__ == "__main__":
    main()
