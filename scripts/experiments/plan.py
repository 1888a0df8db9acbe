"""The experiments: which node is hurt, how, and which node drives the benchmark.

Nodes are numbered 1..3 as in the original study (raft1 bootstraps the cluster, so it is the
leader when the workload starts; raft2 is "a follower").
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Experiment:
    """One experiment of the study (or one we added)."""

    name: str
    #: none | burn (CPU burners beside the node) | cpu (CPU quota) | crash | memory | pause
    fault: str
    #: the node the fault hits (None for the baseline)
    victim: Optional[int]
    #: the node whose process runs the benchmark (driver); not the victim of a crash/pause
    driver: int
    #: what it reproduces
    about: str


EXPERIMENTS = {
    e.name: e
    for e in [
        Experiment("baseline", "none", None, 1, "no fault"),
        Experiment("slow-cpu-leader", "burn", 1, 1,
                   "three CPU burners share CPU 0 with the leader (and driver), pinned there"),
        Experiment("slow-cpu-follower", "cpu", 2, 1, "a follower limited to 0.25 CPU"),
        Experiment("crash-leader", "crash", 1, 3,
                   "the leader is killed (SIGKILL) FAULT_AT s into the workload; node 3 drives"),
        Experiment("crash-follower", "crash", 2, 1,
                   "a follower is killed (SIGKILL) FAULT_AT s into the workload"),
        Experiment("memory-leader", "memory", 1, 1, "the leader's memory limited to MEMORY MB"),
        Experiment("memory-follower", "memory", 2, 1, "a follower's memory limited to MEMORY MB"),
        Experiment("pause-leader", "pause", 1, 3,
                   "the leader is frozen for PAUSE s from FAULT_AT s (not in the study); node 3 drives"),
        Experiment("pause-follower", "pause", 2, 1,
                   "a follower is frozen for PAUSE s from FAULT_AT s (not in the study)"),
    ]
}


@dataclass
class Options:
    """Parameters shared by every backend."""

    workload: str = "readheavy"
    workers: int = 9
    duration: int = 60
    memory_mb: int = 50
    fault_at: float = 1.0
    pause_s: float = 5.0
    #: local backend only: apply CPU/memory limits and burners this many seconds into the
    #: workload instead of from the start
    limits_at: Optional[float] = None
    cluster_timeout: int = 120


def run_label(exp: Experiment, opts: Options) -> str:
    """The directory name of one run: experiment, memory limit if any, the workload unless
    it is the study's read-heavy one, worker count."""
    mem = f"-{opts.memory_mb}m" if exp.fault == "memory" else ""
    workload = "" if opts.workload == "readheavy" else f"-{opts.workload}"
    return f"{exp.name}{mem}{workload}/w{opts.workers:02d}"
