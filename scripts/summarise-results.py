#!/usr/bin/env python3
"""Summarise a directory of dqlite-benchmark results files (standard library only).

Usage: scripts/summarise-results.py [--json] [--duration S] PATH [PATH ...]

Each PATH is a results file, a results directory, or any directory with results files somewhere
below it. The files are go-dqlite's format, which dqlite-benchmark writes too
(docs/go-dqlite.md §3.3): one file per worker and kind of work, named <worker>-<exec|query>-<ts>.

Per kind of work it reports the operation count (from the measurement lines and from the
headers), the error count, throughput, and mean / min / max / p50 / p99 latency in ms
(percentiles by nearest rank). Throughput is operations divided by --duration when given, else
by the span from the first start to the last completion. A header whose count disagrees with its
measurement lines adds a "warning" to that kind of work. Exits 2 when no file is found.
"""
import json
import math
import os
import re
import sys

FILE_NAME = re.compile(r"^(\d+)-(exec|query)-(\d+)$")


def duration_ns(text):
    """'<ms>.<ns, six digits>' as integer nanoseconds, without going through a float."""
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


def read_file(path):
    """(header counts, [(start_ns, duration_ns)], [error messages]) of one results file."""
    header, measurements, errors = {}, [], []
    section = "header"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if section == "header":
                if line.startswith("measurements"):
                    section = "measurements"
                else:
                    key, _, value = line.rpartition(" ")
                    if key in ("n", "n_err"):
                        header[key] = int(value)
            elif section == "measurements":
                if line == "errors":
                    section = "errors"
                elif line.strip():
                    start, value = line.split()[:2]
                    measurements.append((int(start), duration_ns(value)))
            elif line.strip():
                start, _, message = line.partition(" ")
                if start.isdigit():
                    errors.append(message)
                elif errors:  # a message that spans lines
                    errors[-1] += " " + line.strip()
    return header, measurements, errors


def find(paths):
    """Every results file at or below the given paths, sorted."""
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
            continue
        for root, _, names in os.walk(path):
            found += [os.path.join(root, n) for n in names if FILE_NAME.match(n)]
    return sorted(set(found))


def nearest_rank(sorted_values, percent):
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(files, duration=None):
    per_work = {}
    first_start, last_end = None, None
    for path in files:
        match = FILE_NAME.match(os.path.basename(path))
        work = match.group(2) if match else "unknown"
        header, measurements, errors = read_file(path)
        w = per_work.setdefault(work, {"files": 0, "workers": set(), "n_header": 0, "n_err": 0,
                                       "durations": [], "error_kinds": {}})
        w["files"] += 1
        if match:
            w["workers"].add(int(match.group(1)))
        w["n_header"] += header.get("n", 0)
        w["n_err"] += header.get("n_err", len(errors))
        w["durations"] += [d for _, d in measurements]
        w["lines_mismatch"] = w.get("lines_mismatch", False) or (
            "n" in header and header["n"] != len(measurements))
        for message in errors:
            w["error_kinds"][message] = w["error_kinds"].get(message, 0) + 1
        for start, d in measurements:
            first_start = start if first_start is None else min(first_start, start)
            last_end = start + d if last_end is None else max(last_end, start + d)

    span_s = (last_end - first_start) / 1e9 if first_start is not None else None
    window_s = duration or span_s
    works = {}
    for work, w in sorted(per_work.items()):
        durations = sorted(w["durations"])
        n = len(durations)
        out = {
            "files": w["files"],
            "workers": len(w["workers"]),
            "n": n,
            "n_header": w["n_header"],
            "n_err": w["n_err"],
            "ops_s": n / window_s if window_s else None,
            "avg_ms": sum(durations) / n / 1e6 if n else None,
            "min_ms": durations[0] / 1e6 if n else None,
            "p50_ms": nearest_rank(durations, 50) / 1e6 if n else None,
            "p99_ms": nearest_rank(durations, 99) / 1e6 if n else None,
            "max_ms": durations[-1] / 1e6 if n else None,
            "error_kinds": sorted(w["error_kinds"].items(), key=lambda kv: -kv[1])[:10],
        }
        if w["lines_mismatch"]:
            out["warning"] = f"headers count {w['n_header']} operations, measurement lines {n}"
        works[work] = out
    return {
        "files": len(files),
        "span_s": span_s,
        "window_s": window_s,
        "works": works,
        "errors": sum(w["n_err"] for w in works.values()),
    }


def text(summary):
    lines = [f"{summary['files']} files, window {summary['window_s'] or 0:.2f} s"]
    for work, w in summary["works"].items():
        if w["n"]:
            lines.append(f"{work:5s}  n={w['n']} errors={w['n_err']} ops/s={w['ops_s'] or 0:.1f} "
                         f"mean={w['avg_ms']:.3f} p50={w['p50_ms']:.3f} p99={w['p99_ms']:.3f} "
                         f"max={w['max_ms']:.3f} ms")
        else:
            lines.append(f"{work:5s}  n=0 errors={w['n_err']}")
        if "warning" in w:
            lines.append(f"       warning: {w['warning']}")
        for message, count in w["error_kinds"]:
            lines.append(f"       {count:8d}  {message}")
    return "\n".join(lines)


def main(args):
    as_json, duration, paths = False, None, []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg == "--json":
            as_json = True
        elif arg == "--duration":
            duration = float(args.pop(0))
        elif arg in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            paths.append(arg)
    files = find(paths)
    if not files:
        print(f"summarise-results: no results files under {' '.join(paths)}", file=sys.stderr)
        return 2
    summary = summarise(files, duration)
    print(json.dumps(summary, indent=1) if as_json else text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
