#!/usr/bin/env python3
"""Plots latency against throughput from bench-sweep.sh runs, as an SVG (standard library only).

Usage: scripts/plot-sweep.py OUT WORKLOAD WORK FIGURE.svg [--table TABLE.md]
  OUT       the directory given to bench-sweep.sh (holds <stack>/<workload>/wNN/...)
  WORK      query (GET) or exec (PUT): which operations to plot
One line per stack (ours, c), one point per worker count, labelled with it; like the
original study's baseline figure (mean latency in ms against operations per second).
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svgplot import line_chart  # noqa: E402

COLOURS = {"ours": "#1f77b4", "c": "#d62728"}
NAMES = {"ours": "dqlite-rs (Rust server + client)", "c": "C dqlite 1.11 + Rust client"}


def load(out, workload, work):
    """{stack: [(workers, ops_per_sec, mean_ms, p99_ms, errors)]}, sorted by workers."""
    series = {}
    for path in sorted(glob.glob(os.path.join(out, "*", workload, "w*", "*", "summary.json"))):
        stack = path.split(os.sep)[-5]
        with open(path) as f:
            s = json.load(f)
        w = s["works"].get(work)
        if not w or not w.get("latency_ms"):
            continue
        lat = w["latency_ms"]
        row = (s["config"]["workers"], w["ops_per_sec"], lat["mean"], lat["p99"], w["errors"]["total"])
        series.setdefault(stack, []).append(row)
    for rows in series.values():
        rows.sort()
    return series


def svg(series, title, work):
    lines = [(NAMES.get(stack, stack), COLOURS.get(stack, "#555"), [(r[1], r[2], r[0]) for r in rows])
             for stack, rows in sorted(series.items())]
    return line_chart(lines, title, f"{work} operations per second", "mean latency (ms)",
                      legend_note="labels: workers")


def table(series, work):
    stacks = sorted(series)
    lines = ["| workers | " + " | ".join(f"{NAMES.get(s, s)} {work}/s | mean / p99 ms" for s in stacks) + " |",
             "|---|" + "---|---|" * len(stacks)]
    by_w = {}
    for s in stacks:
        for r in series[s]:
            by_w.setdefault(r[0], {})[s] = r
    for w in sorted(by_w):
        cells = []
        for s in stacks:
            r = by_w[w].get(s)
            cells += [f"{r[1]:,.0f}", f"{r[2]:.3f} / {r[3]:.3f}"] if r else ["–", "–"]
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    out, workload, work, figure = argv[1:5]
    series = load(out, workload, work)
    if not series:
        print(f"no {workload} runs with {work} results under {out}", file=sys.stderr)
        return 2
    with open(figure, "w") as f:
        f.write(svg(series, f"{workload}: {work} latency against throughput (3 nodes, loopback)", work))
    if "--table" in argv:
        with open(argv[argv.index("--table") + 1], "w") as f:
            f.write(table(series, work))
    print(table(series, work), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
