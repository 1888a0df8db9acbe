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


def nice_max(v):
    for mag in range(-3, 7):
        for step in (1, 2, 2.5, 5):
            m = step * 10 ** mag
            if m >= v:
                return m
    return v


def svg(series, title, work):
    width, height, left, bottom, top, right = 720, 460, 70, 60, 40, 230
    pw, ph = width - left - right, height - top - bottom
    xs = [r[1] for rows in series.values() for r in rows] or [1]
    ys = [r[2] for rows in series.values() for r in rows] or [1]
    xmax, ymax = nice_max(max(xs) * 1.05), nice_max(max(ys) * 1.1)
    px = lambda x: left + pw * x / xmax
    py = lambda y: top + ph - ph * y / ymax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15">{title}</text>']
    for i in range(6):
        gx, gy = xmax * i / 5, ymax * i / 5
        out.append(f'<line x1="{px(gx):.1f}" y1="{top}" x2="{px(gx):.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<line x1="{left}" y1="{py(gy):.1f}" x2="{left + pw}" y2="{py(gy):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{px(gx):.1f}" y="{top + ph + 18}" text-anchor="middle">{gx:g}</text>')
        out.append(f'<text x="{left - 8}" y="{py(gy) + 4:.1f}" text-anchor="end">{gy:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 15}" text-anchor="middle">{work} operations per second</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" text-anchor="middle">mean latency (ms)</text>')
    for n, (stack, rows) in enumerate(sorted(series.items())):
        colour = COLOURS.get(stack, "#555")
        pts = " ".join(f"{px(r[1]):.1f},{py(r[2]):.1f}" for r in rows)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rows:
            out.append(f'<circle cx="{px(r[1]):.1f}" cy="{py(r[2]):.1f}" r="3.5" fill="{colour}"/>')
            out.append(f'<text x="{px(r[1]) + 5:.1f}" y="{py(r[2]) - 5:.1f}" font-size="10" fill="{colour}">{r[0]}</text>')
        ly = top + 20 + 22 * n
        out.append(f'<line x1="{left + pw + 15}" y1="{ly}" x2="{left + pw + 40}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 46}" y="{ly + 4}">{NAMES.get(stack, stack)}</text>')
    out.append(f'<text x="{left + pw + 15}" y="{top + 20 + 22 * len(series) + 10}" font-size="10" fill="#555">labels: workers</text>')
    out.append("</svg>")
    return "\n".join(out)


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
