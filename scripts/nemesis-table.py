#!/usr/bin/env python3
"""Prints the Markdown table of experiment_result/nemesis/: one row per run directory that
holds a results.json (written by dqlite-nemesis), our server beside C dqlite.

    scripts/nemesis-table.py [experiment_result/nemesis]
"""
import collections
import json
import pathlib
import sys


def row(path):
    r = json.loads(path.read_text())
    ops = r.get("operations", {})
    ok = sum(c["ok"] for c in ops.values())
    fail = sum(c["fail"] for c in ops.values())
    info = sum(c["info"] for c in ops.values())
    faults = ", ".join(f"{f} {n}" for f, n in sorted(r.get("faults", {}).items())) or "none"
    check = r["check"]
    kinds = collections.Counter(a["kind"] for a in check["anomalies"])
    anomalies = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"
    if r.get("problems"):
        anomalies += "; problems: " + "; ".join(r["problems"])
    return (r["target"], r["workload"], "+".join(r["nemesis"]) or "none", int(r["time_s"]),
            ok, fail, info, faults, check["validity"], anomalies)


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "experiment_result/nemesis")
    rows = sorted(row(p) for p in root.glob("*/*/results.json"))
    print("| target | workload | nemesis | s | ok | fail | unknown | faults injected | verdict | anomalies |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


if __name__ == "__main__":
    main()
