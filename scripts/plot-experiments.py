#!/usr/bin/env python3
"""Figures and tables of the fault-injection experiments (standard library only).

Usage: scripts/plot-experiments.py OUT FIGDIR [--loopback DIR]
  OUT         what scripts/experiment-matrix.sh wrote: OUT/<backend>-<stack>/<run>/wNN/...
  FIGDIR      where to write baseline.svg, faults-throughput.svg, faults-latency.svg,
              crash-leader-timeline.svg, pause-leader-timeline.svg and tables.md
  --loopback  the loopback sweeps of experiment_result/baseline/data (<stack>/readheavy/wNN.json)
Every figure puts our runs beside the original study's published numbers (C dqlite 1.x +
go-dqlite in Docker on the study's machine) and C dqlite run here without Docker.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svgplot import PALETTE, bar_chart, line_chart  # noqa: E402

# The original study (docs/reliability-study.md): GET/s and mean GET latency (ms).
PUBLISHED_BASELINE = list(zip(
    range(1, 17),
    [2570, 4493, 6224, 7424, 8604, 9157, 9332, 9246, 9381, 9088, 9176, 8965, 8739, 8782, 8660, 8425],
    [0.370, 0.415, 0.456, 0.504, 0.539, 0.589, 0.686, 0.780, 0.866, 0.976, 1.050, 1.164, 1.264,
     1.350, 1.434, 1.544]))
PUBLISHED = {
    "baseline": (9381, 0.866), "slow-cpu-leader": (1096, 6.67), "slow-cpu-follower": (8880, 0.915),
    "crash-follower": (8674, 0.931), "memory-leader-30m": (6366, None),
    "memory-leader-50m": (8296, 0.968), "memory-leader-100m": (9339, None),
    "memory-follower-50m": (9122, 0.882),
}
RUNS = ["baseline", "slow-cpu-leader", "slow-cpu-follower", "crash-leader", "crash-follower",
        "memory-leader-30m", "memory-leader-50m", "memory-leader-100m", "memory-follower-30m",
        "memory-follower-50m", "memory-follower-100m", "pause-leader", "pause-follower"]
SOURCES = [("docker-ours", "dqlite-rs, Docker"), ("local-ours", "dqlite-rs, processes"),
           ("local-c", "C dqlite 1.11, processes")]
COLOURS = {"published": "#7f7f7f", "docker-ours": PALETTE[0], "local-ours": PALETTE[2],
           "local-c": PALETTE[1], "loop-ours": "#17becf", "loop-c": "#e377c2"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run(out, source, name, workers=9):
    """(summary, experiment) of one run, or (None, None)."""
    d = os.path.join(out, source, name, f"w{workers:02d}")
    return load(os.path.join(d, "summary.json")), load(os.path.join(d, "experiment.json"))


def reads(summary):
    """(GET/s, mean ms, p99 ms) of a summary."""
    q = (summary or {}).get("works", {}).get("query")
    if not q or not q.get("latency_ms"):
        return None
    return q["ops_per_sec"], q["latency_ms"]["mean"], q["latency_ms"]["p99"]


def stall(exp, work="any"):
    """The longest stretch without a successful operation, in s (reads and writes together,
    which in the read-heavy workload means the workload's longest outage)."""
    gaps = (exp or {}).get("longest_gap") or {}
    gap = gaps.get(work) or gaps.get("query")
    return gap["ms"] / 1000 if gap else None


def baseline_figure(out, loopback):
    series = [("published: C dqlite + go-dqlite, Docker", COLOURS["published"],
               [(g, l, w) for w, g, l in PUBLISHED_BASELINE])]
    pts = []
    for w in range(1, 17):
        r = reads(run(out, "docker-ours", "baseline", w)[0])
        if r:
            pts.append((r[0], r[1], w))
    series.append(("dqlite-rs, Docker (here)", COLOURS["docker-ours"], pts))
    if loopback:
        for stack, name in (("ours", "dqlite-rs, loopback (here)"), ("c", "C dqlite 1.11, loopback (here)")):
            pts = []
            for w in range(1, 17):
                r = reads(load(os.path.join(loopback, stack, "readheavy", f"w{w:02d}.json")))
                if r:
                    pts.append((r[0], r[1], w))
            series.append((name, COLOURS[f"loop-{stack}"], pts))
    return line_chart(series, "Baseline, read-heavy: mean GET latency against GET/s, workers 1-16",
                      "GET operations per second", "mean GET latency (ms)", right=290,
                      legend_note="labels: workers")


def fault_rows(out):
    rows = []
    for name in RUNS:
        pub = PUBLISHED.get(name)
        cells = {"published": pub}
        for source, _ in SOURCES:
            summary, exp = run(out, source, name)
            r = reads(summary)
            if r:
                cells[source] = (r[0], r[1], r[2], stall(exp))
            elif exp and exp.get("failure"):
                cells[source] = "OOM-killed" if exp.get("oom_killed") or "-9" in exp["failure"] or "137" in exp["failure"] else "failed"
            else:
                cells[source] = None
        rows.append((name, cells))
    return rows


def fault_figures(rows):
    bars = [("published (study)", COLOURS["published"])] + [(n, COLOURS[s]) for s, n in SOURCES]
    keys = ["published"] + [s for s, _ in SOURCES]
    ok = lambda c, k: isinstance(c.get(k), tuple)
    tput = [(n, [c[k][0] if ok(c, k) else None for k in keys]) for n, c in rows]
    lat = [(n, [c[k][1] if ok(c, k) and c[k][1] is not None else None for k in keys]) for n, c in rows]
    return (bar_chart(tput, bars, "GET/s per experiment (9 workers)", "GET per second"),
            bar_chart(lat, bars, "Mean GET latency per experiment (9 workers)", "mean GET latency (ms)",
                      fmt="{:.2f}"))


def timeline_figure(out, name, title, work="query"):
    series = []
    for source, label in SOURCES:
        summary, exp = run(out, source, name)
        if not summary or not exp:
            continue
        fault = next((e["at_s"] for e in exp["events"] if "killed" in e["what"] or "paused" in e["what"]), None)
        if fault is None:
            continue
        pts = [(s["t"] + 0.5 - fault, s[work]) for s in summary["timeline"]["seconds"][:-1]]
        series.append((label, COLOURS[source], pts))
    if not series:
        return None
    ylabel = "GET per second" if work == "query" else "PUT per second"
    return line_chart(series, title, "seconds since the fault (bucket centres)", ylabel,
                      point_labels=False, vlines=[(0, "fault")], right=230)


def table(rows):
    def cell(c):
        if not c:
            return "–"
        if isinstance(c, str):
            return f"**{c}**"
        gps, mean = c[0], c[1]
        return f"{gps:,.0f} ({mean:.3f} ms)" if mean is not None else f"{gps:,.0f}"

    lines = ["| experiment | published (study) | " + " | ".join(n for _, n in SOURCES)
             + " | longest stall, s (Docker / processes / C) |",
             "|---|---|" + "---|" * len(SOURCES) + "---|"]
    for name, c in rows:
        stalls = " / ".join(f"{c[s][3]:.2f}" if isinstance(c.get(s), tuple) and c[s][3] is not None else "–"
                            for s, _ in SOURCES)
        lines.append(f"| {name} | {cell(c['published'])} | "
                     + " | ".join(cell(c.get(s)) for s, _ in SOURCES) + f" | {stalls} |")
    return "\n".join(lines) + "\n"


def write_table(out, name="crash-leader-kvreadwrite"):
    """kvreadwrite with the leader killed: throughput and how long each kind of operation
    stopped."""
    lines = ["| source | PUT/s | GET/s | errors | longest PUT stall, s | longest GET stall, s |",
             "|---|---|---|---|---|---|"]
    for source, label in SOURCES:
        summary, exp = run(out, source, name)
        if not summary or not exp:
            continue
        w = summary["works"]
        put, get = w.get("exec", {}), w.get("query", {})
        errors = sum(x.get("errors", {}).get("total", 0) for x in (put, get))
        lines.append(f"| {label} | {put.get('ops_per_sec', 0):,.0f} | {get.get('ops_per_sec', 0):,.0f} | "
                     f"{errors:,} | {stall(exp, 'exec') or 0:.2f} | {stall(exp, 'query') or 0:.2f} |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, figdir = argv[1], argv[2]
    loopback = argv[argv.index("--loopback") + 1] if "--loopback" in argv else None
    if not glob.glob(os.path.join(out, "*", "*", "w*", "summary.json")):
        print(f"no runs under {out}", file=sys.stderr)
        return 2
    os.makedirs(figdir, exist_ok=True)
    rows = fault_rows(out)
    figures = {"baseline.svg": baseline_figure(out, loopback)}
    figures["faults-throughput.svg"], figures["faults-latency.svg"] = fault_figures(rows)
    for name in ("crash-leader", "pause-leader", "crash-follower"):
        fig = timeline_figure(out, name, f"{name}: GET/s second by second around the fault")
        if fig:
            figures[f"{name}-timeline.svg"] = fig
    for fname, svg in figures.items():
        with open(os.path.join(figdir, fname), "w") as f:
            f.write(svg)
    fig = timeline_figure(out, "crash-leader-kvreadwrite",
                          "crash-leader, kvreadwrite: PUT/s second by second around the fault", work="exec")
    if fig:
        with open(os.path.join(figdir, "crash-leader-kvreadwrite-timeline.svg"), "w") as f:
            f.write(fig)
    text = table(rows) + "\n" + write_table(out)
    with open(os.path.join(figdir, "tables.md"), "w") as f:
        f.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
