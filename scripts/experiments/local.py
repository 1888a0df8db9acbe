"""The experiments without Docker: three processes on loopback addresses, faults by signals,
CPU affinity and cgroups.

stack "ours": three `dqlite-benchmark` node-mode processes (the study's topology: the driver
runs inside one node's process). stack "c": three C dqlite nodes (Debian's `dqlite-demo`) and
our benchmark in client-only mode as a fourth process (pinned with node 1 when the leader's CPU
is the fault, since in the study the driver shares the leader's container).
Every process is stopped by its PID.
"""
import os
import signal
import socket
import subprocess
import time

from .cgroup import Cgroup

PORTS = (9001, 9002, 9003)


def wait_port(addr, deadline, what):
    """Waits (bounded) until `addr` accepts TCP connections."""
    host, port = addr.rsplit(":", 1)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {addr} in time")


class LocalCluster:
    """A 3-node cluster of processes for one experiment run."""

    def __init__(self, exp, opts, work, stack="ours", ip_prefix="127.0.24.", bin_dir="target/release"):
        self.exp, self.opts, self.work, self.stack = exp, opts, work, stack
        self.addrs = [f"{ip_prefix}{i}:{PORTS[i - 1]}" for i in (1, 2, 3)]
        self.bench = os.path.join(bin_dir, "dqlite-benchmark")
        self.burn = os.path.join(bin_dir, "dqlite-burn")
        self.procs = {}  # name -> Popen
        self.cgroups = []
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    # -- starting ---------------------------------------------------------------------------

    def _spawn(self, name, argv, pin=False):
        log = open(os.path.join(self.logs, f"{name}.log"), "wb")
        pre = (lambda: os.sched_setaffinity(0, {0})) if pin else None
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn,openraft=off"))
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pre, env=env)
        log.close()
        self.procs[name] = p
        return p

    @staticmethod
    def _pin(pid):
        """Pins every thread of `pid` to CPU 0 (threads made later inherit it)."""
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(tid), {0})
            except ProcessLookupError:
                pass

    def apply_limits(self):
        """The experiment's resource fault on its victim: burners beside it on CPU 0 (with
        the driver, where that is a separate process), or a cgroup CPU or memory limit."""
        i, fault = self.exp.victim, self.exp.fault
        if fault == "burn":
            for k in (1, 2, 3):
                self._spawn(f"burn{k}", [self.burn, "--threads=1"], pin=True)
            self._pin(self._pid(i))
            if "driver" in self.procs:
                self._pin(self.procs["driver"].pid)
        elif fault in ("cpu", "memory"):
            cg = Cgroup(f"dqlite-exp-{os.getpid()}-node{i}")
            self.cgroups.append(cg)
            if fault == "cpu":
                cg.limit_cpu(0.25)
            else:
                cg.limit_memory(self.opts.memory_mb * 1024 * 1024)
            cg.add(self._pid(i))

    def _workload_flags(self):
        o = self.opts
        return [f"--workload={o.workload}", f"--workers={o.workers}", f"--duration={o.duration}",
                f"--cluster-timeout={o.cluster_timeout}"]

    def start(self):
        deadline = time.monotonic() + 60
        # Limits from the start (as the compose files set them) go on as soon as the victim
        # listens; with --limits-at the caller applies them later.
        early = self.opts.limits_at is None and self.exp.fault in ("burn", "cpu", "memory")
        for i, addr in enumerate(self.addrs, start=1):
            if self.stack == "c":
                d = os.path.join(self.work, f"node{i}")
                os.makedirs(d, exist_ok=True)
                host = addr.rsplit(":", 1)[0]
                argv = ["dqlite-demo", "--api", f"{host}:{PORTS[i - 1] + 100}", "--db", addr, "-D", d]
                if i > 1:
                    argv += ["--join", self.addrs[0]]
            else:
                argv = [self.bench, f"--db={addr}", f"--dir={os.path.join(self.work, f'node{i}')}"]
                if i > 1:
                    argv.append(f"--join={self.addrs[0]}")
                if i == self.exp.driver:
                    argv += ["--driver", "--cluster=" + ",".join(self.addrs)] + self._workload_flags()
            self._spawn(f"node{i}", argv)
            wait_port(addr, deadline, f"node {i}")
            # C dqlite joins clash when they overlap: give each join time to land.
            if self.stack == "c" and i > 1:
                time.sleep(1.0)
        if self.stack == "c":
            d = os.path.join(self.work, "driver")
            argv = [self.bench, "--cluster=" + ",".join(self.addrs), f"--dir={d}"] + self._workload_flags()
            self._spawn("driver", argv)
        if early:
            self.apply_limits()

    # -- the driver -------------------------------------------------------------------------

    def driver_name(self):
        return "driver" if self.stack == "c" else f"node{self.exp.driver}"

    def driver_output(self):
        with open(os.path.join(self.logs, f"{self.driver_name()}.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def driver_exited(self):
        return self.procs[self.driver_name()].poll() is not None

    def wait_driver(self, timeout):
        """The driver's exit status; raises subprocess.TimeoutExpired after `timeout` s."""
        return self.procs[self.driver_name()].wait(timeout=timeout)

    def results_root(self):
        """The directory holding results/ and summary.json."""
        if self.stack == "c":
            return os.path.join(self.work, "driver", self.addrs[0])
        d = self.exp.driver
        return os.path.join(self.work, f"node{d}", self.addrs[d - 1])

    # -- faults -----------------------------------------------------------------------------

    def _pid(self, i):
        return self.procs[f"node{i}"].pid

    def crash(self, i):
        os.kill(self._pid(i), signal.SIGKILL)

    def pause(self, i):
        os.kill(self._pid(i), signal.SIGSTOP)

    def resume(self, i):
        os.kill(self._pid(i), signal.SIGCONT)

    # -- stopping ---------------------------------------------------------------------------

    def save_logs(self, dest):
        """Logs are written in place (work/logs), which the caller copies."""

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for cg in self.cgroups:
            cg.remove()
