"""The experiments in Docker: docker/docker-compose.yml plus the experiment's overlay from
docker/compose/, driven with docker-compose (1.x or the `docker compose` plugin)."""
import os
import shutil
import subprocess

ADDRS = ["172.24.2.1:9001", "172.24.2.2:9002", "172.24.2.3:9003"]


def compose_command():
    """`docker-compose` when installed, else the `docker compose` plugin."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def build_image(image):
    """Static binaries (docker/build-static.sh), then the FROM-scratch image."""
    subprocess.run(["docker/build-static.sh"], check=True)
    subprocess.run(["docker", "build", "-q", "-t", image, "-f", "docker/Dockerfile", "docker"], check=True)


class DockerCluster:
    """One compose project for one experiment run."""

    def __init__(self, exp, opts, work, image="dqlite-rs:latest", project="dqlite-exp"):
        self.exp, self.opts, self.work = exp, opts, work
        self.output = os.path.join(work, "output")
        os.makedirs(self.output, exist_ok=True)
        files = ["docker/docker-compose.yml"]
        if exp.driver == 3:
            files.append("docker/compose/driver-on-raft3.yml")
        if exp.name != "baseline":
            files.append(f"docker/compose/{exp.name}.yml")
        self._driver_cid = None
        self.base = compose_command() + ["-p", project] + [a for f in files for a in ("-f", f)]
        self.env = dict(
            os.environ,
            IMAGE=image,
            OUTPUT=os.path.abspath(self.output),
            WORKLOAD=opts.workload,
            WORKERS=str(opts.workers),
            DURATION=str(opts.duration),
            MEMORY=f"{opts.memory_mb}m",
        )

    def compose(self, *args, check=True, timeout=180):
        r = subprocess.run(self.base + list(args), env=self.env, check=False, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(self.base + list(args))} failed ({r.returncode}):\n{r.stderr}")
        return r.stdout

    def start(self):
        self.compose("down", "-v", "--remove-orphans", check=False)
        self.compose("up", "-d")

    def driver_name(self):
        return f"raft{self.exp.driver}"

    def _driver(self):
        """The driver's container id (looked up once)."""
        if not self._driver_cid:
            self._driver_cid = self._container(self.driver_name())
        return self._driver_cid

    def driver_output(self):
        # `docker logs` answers in milliseconds where `docker-compose logs` takes a second,
        # which would delay the fault.
        r = subprocess.run(["docker", "logs", self._driver()], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, check=False)
        return r.stdout

    def _container(self, service):
        cid = self.compose("ps", "-q", service).strip()
        if not cid:
            raise RuntimeError(f"no container for {service}")
        return cid

    def driver_exited(self):
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", self._driver()],
                               stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
        return state == "false"

    def wait_driver(self, timeout):
        """The driver container's exit status; raises subprocess.TimeoutExpired."""
        out = subprocess.run(["docker", "wait", self._driver()], stdout=subprocess.PIPE, text=True,
                             check=True, timeout=timeout).stdout
        return int(out.strip() or "255")

    def results_root(self):
        return os.path.join(self.output, ADDRS[self.exp.driver - 1])

    # Faults go straight to the engine: `docker-compose` itself takes about a second to start.
    def _engine(self, i, *command):
        subprocess.run(["docker", *command, self._container(f"raft{i}")], check=True,
                       stdout=subprocess.DEVNULL)

    def crash(self, i):
        self._engine(i, "kill", "-s", "KILL")

    def pause(self, i):
        self._engine(i, "pause")

    def resume(self, i):
        self._engine(i, "unpause")

    def save_logs(self, dest):
        os.makedirs(dest, exist_ok=True)
        services = ["raft1", "raft2", "raft3"] + (["burn1", "burn2", "burn3"] if self.exp.fault == "burn" else [])
        for s in services:
            with open(os.path.join(dest, f"{s}.log"), "w") as f:
                f.write(self.compose("logs", "--no-color", s, check=False))
        # How each container ended (an OOM kill shows here).
        with open(os.path.join(dest, "containers.txt"), "w") as f:
            for s in services:
                cid = self.compose("ps", "-q", s, check=False).strip()
                if cid:
                    state = subprocess.run(
                        ["docker", "inspect", "-f", "{{.State.Status}} exit={{.State.ExitCode}} "
                         "oom={{.State.OOMKilled}}", cid],
                        stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
                    f.write(f"{s}: {state}\n")

    def stop(self):
        self.compose("down", "-v", "--remove-orphans", "-t", "15", check=False)
