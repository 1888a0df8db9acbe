#!/usr/bin/env python3
"""Runs one experiment of the fault-injection study end to end and checks what it produced.

Usage: scripts/experiment.py [options] EXPERIMENT
  EXPERIMENT  baseline | slow-cpu-leader | slow-cpu-follower | crash-leader | crash-follower |
              memory-leader | memory-follower | pause-leader | pause-follower
  --backend docker   the compose files in docker/ (build static binaries + image, up, wait,
                     collect, down); needs a Docker engine, no registry
  --backend local    no Docker: three processes on 127.0.24.1-3, faults by signals, CPU
                     affinity and cgroups (root for the cgroup faults); --stack c runs C
                     dqlite (dqlite-demo) nodes with our benchmark as the client
  --workers N --duration S --workload W   as dqlite-benchmark (defaults 9, 60, readheavy)
  --memory MB        memory limit of the memory experiments (default 50)
  --fault-at S       when a crash or pause hits, in seconds after the workload starts (1)
  --pause S          how long a pause lasts (5)
  --limits-at S      local backend: start the burners / apply the CPU or memory limit S seconds
                     into the workload (default: from the start, as the compose files do)
  --out DIR          where runs go (default output/experiments): DIR/<backend>-<stack>/
                     <experiment>[-<MB>m]/wNN/{results/,summary.json,experiment.json,logs/}
  --no-build         use the existing image / release binaries
  --bin-dir DIR      local backend: where dqlite-benchmark and dqlite-burn are (target/release)
  --expect-recovery  also fail unless reads succeed again after the crash or pause

Exits non-zero when the run fails: the driver exits badly or times out, or no results file or
summary.json appears, or the workload's main operation never succeeded.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiments.plan import EXPERIMENTS, Options, run_label  # noqa: E402

STARTED = "workload started:"


def wait_until(pred, timeout, what):
    """Polls `pred` every 0.1 s for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def sleep_until(t):
    time.sleep(max(0.0, t - time.monotonic()))


def inject(cluster, exp, opts):
    """Waits for the workload to start, then crashes or pauses the victim on schedule.
    Returns the fault events as (what, unix ns)."""
    wait_until(lambda: STARTED in cluster.driver_output() or cluster.driver_exited(),
               opts.cluster_timeout + 60, "the driver to start the workload")
    if STARTED not in cluster.driver_output():
        raise RuntimeError("the driver exited before the workload started")
    events = [("workload started (seen)", time.time_ns())]
    t0 = time.monotonic()
    if opts.limits_at is not None and exp.fault in ("burn", "cpu", "memory"):
        sleep_until(t0 + opts.limits_at)
        cluster.apply_limits()
        events.append((f"{exp.fault} limit on node {exp.victim}", time.time_ns()))
    if exp.fault == "crash":
        sleep_until(t0 + opts.fault_at)
        cluster.crash(exp.victim)
        events.append((f"node {exp.victim} killed", time.time_ns()))
    elif exp.fault == "pause":
        sleep_until(t0 + opts.fault_at)
        cluster.pause(exp.victim)
        events.append((f"node {exp.victim} paused", time.time_ns()))
        sleep_until(t0 + opts.fault_at + opts.pause_s)
        cluster.resume(exp.victim)
        events.append((f"node {exp.victim} resumed", time.time_ns()))
    return events


def check(root, workload):
    """The run's summary.json, after checking the results files; raises on anything missing."""
    summary_path = os.path.join(root, "summary.json")
    if not os.path.isfile(summary_path):
        raise RuntimeError(f"no summary.json in {root}")
    with open(summary_path) as f:
        summary = json.load(f)
    results = os.path.join(root, "results")
    files = sorted(os.listdir(results)) if os.path.isdir(results) else []
    work = "exec" if workload == "kvwrite" else "query"
    if not any(f"-{work}-" in name for name in files):
        raise RuntimeError(f"no {work} results file in {results} (files: {files})")
    if summary["works"].get(work, {}).get("ops", 0) == 0:
        raise RuntimeError(f"no successful {work} operation in {summary_path}")
    return summary


def check_recovery(summary, rec):
    """Raises unless some read succeeded in a second that began after the fault's last event."""
    faults = [e["at_s"] for e in rec["events"][1:]]
    if not faults:
        raise RuntimeError("--expect-recovery needs a crash or pause experiment")
    after = [s for s in summary["timeline"]["seconds"] if s["t"] > max(faults) and s["query"] > 0]
    if not after:
        raise RuntimeError(f"no read succeeded after the fault at {max(faults):.1f} s "
                           f"(run of {summary['elapsed_s']:.1f} s)")


def describe(exp, opts, backend, stack):
    """What every experiment.json starts with, whether the run worked or not."""
    return {"experiment": exp.name, "about": exp.about, "backend": backend, "stack": stack,
            "options": vars(opts)}


def record(exp, opts, backend, stack, summary, events, exit_code):
    start = summary["start_unix_ns"]
    q = summary["works"].get("query") or summary["works"].get("exec") or {}
    return {
        **describe(exp, opts, backend, stack),
        "driver_node": exp.driver,
        "victim_node": exp.victim,
        "leader_at_start": summary["server"].get("leader"),
        "events": [{"what": w, "at_s": round((ns - start) / 1e9, 3)} for w, ns in events],
        "driver_exit": exit_code,
        "ops_per_sec": q.get("ops_per_sec"),
        "latency_ms": q.get("latency_ms"),
        "errors": q.get("errors"),
        "longest_gap": summary.get("timeline", {}).get("longest_gap"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment", choices=sorted(EXPERIMENTS))
    ap.add_argument("--backend", choices=["docker", "local"], default="docker")
    ap.add_argument("--stack", choices=["ours", "c"], default="ours")
    ap.add_argument("--workers", type=int, default=9)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--workload", default="readheavy")
    ap.add_argument("--memory", type=int, default=50)
    ap.add_argument("--fault-at", type=float, default=1.0)
    ap.add_argument("--pause", type=float, default=5.0)
    ap.add_argument("--limits-at", type=float, default=None)
    ap.add_argument("--out", default="output/experiments")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--image", default="dqlite-rs:latest")
    ap.add_argument("--bin-dir", default="target/release")
    ap.add_argument("--expect-recovery", action="store_true")
    a = ap.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    if a.backend == "docker" and a.stack != "ours":
        ap.error("the Docker image carries our server only; use --backend local for --stack c")
    if a.backend == "docker" and a.limits_at is not None:
        ap.error("--limits-at is for --backend local; the compose files set limits from the start")
    exp = EXPERIMENTS[a.experiment]
    opts = Options(workload=a.workload, workers=a.workers, duration=a.duration, memory_mb=a.memory,
                   fault_at=a.fault_at, pause_s=a.pause, limits_at=a.limits_at)
    dest = os.path.join(a.out, f"{a.backend}-{a.stack}", run_label(exp, opts))

    if a.backend == "docker":
        from experiments.docker import DockerCluster, build_image
        if not a.no_build:
            build_image(a.image)
    else:
        from experiments.local import LocalCluster
        if not a.no_build:
            subprocess.run(["cargo", "build", "--release", "-q", "-p", "dqlite-benchmark", "--bins"], check=True)

    work = tempfile.mkdtemp(prefix=f"dqlite-exp-{exp.name}-")
    cluster = (DockerCluster(exp, opts, work, image=a.image) if a.backend == "docker"
               else LocalCluster(exp, opts, work, stack=a.stack, bin_dir=a.bin_dir))
    print(f"experiment: {exp.name} ({exp.about}), {a.backend}/{a.stack}, {opts.workers} workers, "
          f"{opts.duration} s -> {dest}", flush=True)
    failure, exit_code, events = None, None, []
    try:
        cluster.start()
        events = inject(cluster, exp, opts)
        exit_code = cluster.wait_driver(timeout=opts.duration + 120)
        if exit_code != 0:
            failure = f"the driver exited with status {exit_code}"
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        failure = str(e)
    finally:
        try:
            cluster.save_logs(os.path.join(work, "logs"))
        finally:
            cluster.stop()
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    shutil.copytree(os.path.join(work, "logs"), os.path.join(dest, "logs"))
    root = cluster.results_root()
    for name in ("results", "summary.json"):
        src = os.path.join(root, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name))
        elif os.path.isfile(src):
            shutil.copy(src, dest)
    shutil.rmtree(work, ignore_errors=True)
    if failure is None:
        try:
            summary = check(dest, opts.workload)
            rec = record(exp, opts, a.backend, a.stack, summary, events, exit_code)
            if a.expect_recovery:
                check_recovery(summary, rec)
            with open(os.path.join(dest, "experiment.json"), "w") as f:
                json.dump(rec, f, indent=2)
            lat = rec["latency_ms"] or {}
            print(f"experiment: {exp.name}: {rec['ops_per_sec']:.0f} ops/s, mean {lat.get('mean', 0):.3f} ms, "
                  f"longest gap {rec['longest_gap']}; {dest}", flush=True)
            return 0
        except (RuntimeError, KeyError, ValueError) as e:
            failure = str(e)
    # A failed run is a result too (a memory limit can kill a node): say what happened.
    oom = []
    states = os.path.join(dest, "logs", "containers.txt")
    if os.path.isfile(states):
        oom = [line.split(":")[0] for line in open(states) if "oom=true" in line]
    with open(os.path.join(dest, "experiment.json"), "w") as f:
        json.dump({**describe(exp, opts, a.backend, a.stack), "failure": failure, "oom_killed": oom,
                   "events": [{"what": w, "unix_ns": ns} for w, ns in events]}, f, indent=2)
    print(f"experiment: {exp.name} FAILED: {failure}{' (OOM-killed: ' + ', '.join(oom) + ')' if oom else ''} "
          f"(logs in {dest}/logs)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
