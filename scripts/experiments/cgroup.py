"""CPU and memory limits for one process without Docker: a cgroup of its own (v1 or v2).

Needs write access to /sys/fs/cgroup (root). Every limit names the cgroup it made, and
`remove()` deletes it once its processes are gone.
"""
import os
import time

ROOT = "/sys/fs/cgroup"


class CgroupError(RuntimeError):
    """A cgroup could not be made or configured; the message says what and where."""


def _write(path, value):
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as e:
        raise CgroupError(f"cannot write {value!r} to {path}: {e} (root is needed)") from e


class Cgroup:
    """A cgroup named `name` holding one process, with CPU and/or memory limits."""

    def __init__(self, name):
        self.name = name
        self.v2 = os.path.exists(os.path.join(ROOT, "cgroup.controllers"))
        self.dirs = []

    def _dir(self, controller):
        path = os.path.join(ROOT, self.name) if self.v2 else os.path.join(ROOT, controller, self.name)
        if path not in self.dirs:
            if not os.path.isdir(os.path.dirname(path)):
                raise CgroupError(f"no cgroup hierarchy at {os.path.dirname(path)}")
            if self.v2:
                _write(os.path.join(ROOT, "cgroup.subtree_control"), f"+{controller}")
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as e:
                raise CgroupError(f"cannot create {path}: {e} (root is needed)") from e
            self.dirs.append(path)
        return path

    def limit_cpu(self, fraction, period_us=100_000):
        """At most `fraction` of one CPU (CFS quota)."""
        quota = max(1000, int(fraction * period_us))
        d = self._dir("cpu")
        if self.v2:
            _write(os.path.join(d, "cpu.max"), f"{quota} {period_us}")
        else:
            _write(os.path.join(d, "cpu.cfs_period_us"), period_us)
            _write(os.path.join(d, "cpu.cfs_quota_us"), quota)

    def limit_memory(self, limit_bytes):
        """At most `limit_bytes` of memory (page cache included); swap is not allowed
        beyond it where the kernel accounts swap."""
        d = self._dir("memory")
        if self.v2:
            _write(os.path.join(d, "memory.max"), limit_bytes)
            swap = os.path.join(d, "memory.swap.max")
            if os.path.exists(swap):
                _write(swap, 0)
        else:
            _write(os.path.join(d, "memory.limit_in_bytes"), limit_bytes)

    def add(self, pid):
        """Moves process `pid` (all its threads) into every directory of this cgroup."""
        for d in self.dirs:
            _write(os.path.join(d, "cgroup.procs"), pid)

    def remove(self, timeout=10.0):
        """Deletes the cgroup; waits (bounded) for its processes to be gone."""
        deadline = time.monotonic() + timeout
        for d in self.dirs:
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        print(f"experiment: could not remove cgroup {d}; remove it by hand")
                        break
                    time.sleep(0.1)
        self.dirs = []
