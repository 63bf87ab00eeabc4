"""A two-node Ray cluster on one machine: a head raylet and a worker raylet, as `ray start` builds a real cluster.

For rehearsing the multi-node path without a cluster (`make test-distributed`, docs/cpu_trainer.md 'Two ranks, two
nodes'): `start` runs `ray start --head --block` and `ray start --address=HEAD --block`, each with its own temp dir,
free ports and resources (`--head` / `--worker`, e.g. `CPU=8,GPU=1`: the CPU platform keeps Ray's GPU resource),
waits until both nodes are alive, writes `<temp dir>/cluster.json` and prints `RAY_ADDRESS=...`; a launch joins it
through RAY_ADDRESS as on a cluster. `stop` ends only this cluster: the two `ray start` processes (SIGTERM, on which
Ray ends what each started), then whatever still names the temp dir on its command line, and their descendants
(vLLM's engine processes). Never `ray stop`, which ends every Ray cluster on the machine.
Not a cluster: one host, one IP (127.0.0.1), one filesystem; it shows placement and process layout, not networking.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"
NODES = ("head", "worker")
# [ours] ports a node's Ray workers may use: verl's workers, vLLM's server, the agent-loop and reward workers and
# TransferQueue run about 15 processes per node here; a free port each, taken from the OS, so two nodes on one
# host never race for Ray's default range.
WORKER_PORTS_PER_NODE = 48
START_TIMEOUT_S = 120
# Ray 2.60 turns token authentication on for `ray start --head` when a token file exists (~/.ray/auth_token, which
# any local `ray.init()` writes) but leaves it off for `ray start --address` unless told: on one host, or a shared
# home, the worker then fails with "InvalidAuthToken". Said explicitly for both nodes and the launch.
AUTH_ENV = {"RAY_AUTH_MODE": "token"}
LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the forked child before exec only calls into it


@dataclass(frozen=True)
class NodeSpec:
    """One raylet: its resources (Ray's CPU and GPU counts) and object store size."""

    cpus: int
    gpus: int
    object_store_bytes: int


@dataclass
class Cluster:
    """What `start` wrote to <temp dir>/cluster.json and `stop` reads back."""

    address: str
    temp_dir: str
    pids: dict[str, int] = field(default_factory=dict)  # node -> pid of its `ray start --block`
    nodes: list[dict] = field(default_factory=list)  # ray.nodes() entries: NodeID, Resources


def parse_resources(text: str, flag: str) -> tuple[int, int]:
    """'CPU=8,GPU=1' -> (8, 1); a missing GPU is 0. The error names the flag and the part to change."""
    values = {"CPU": None, "GPU": 0}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or name.strip().upper() not in values or not value.strip().isdigit():
            raise ValueError(f"{flag}: {part!r} is not CPU=<n> or GPU=<n> (e.g. {flag} CPU=8,GPU=1)")
        values[name.strip().upper()] = int(value)
    if not values["CPU"]:
        raise ValueError(f"{flag}: needs CPU=<n> with n >= 1 (got {text!r}); verl's actors each ask Ray for a CPU")
    return values["CPU"], values["GPU"]


def free_ports(count: int, bind: Callable[[], int] | None = None) -> list[int]:
    """`count` distinct ports free now (the OS picks them; all sockets are held until every port is chosen)."""
    sockets, ports = [], []
    try:
        while len(ports) < count:
            if bind is not None:
                port = bind()
            else:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind((HOST, 0))
                sockets.append(sock)
                port = sock.getsockname()[1]
            if port not in ports:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def node_command(ray: str, node: str, spec: NodeSpec, temp_dir: Path, ports: list[int], head: list[int]) -> list[str]:
    """The `ray start --block` command of one node. `ports`: 6 of the node's own, then its worker ports; `head`:
    the head's GCS and Ray-client ports (Ray-client moved out of the default 10001's way)."""
    own, workers = ports[:6], ports[6:]
    cmd = [
        ray, "start", "--block", f"--temp-dir={temp_dir / node}",
        f"--num-cpus={spec.cpus}", f"--num-gpus={spec.gpus}", f"--object-store-memory={spec.object_store_bytes}",
        f"--node-manager-port={own[0]}", f"--object-manager-port={own[1]}",
        f"--runtime-env-agent-port={own[2]}", f"--dashboard-agent-grpc-port={own[3]}",
        f"--dashboard-agent-listen-port={own[4]}", f"--metrics-export-port={own[5]}",
        f"--worker-port-list={','.join(map(str, workers))}", "--disable-usage-stats",
    ]  # fmt: skip
    if node == "head":  # no dashboard, as in the CPU configs (memory)
        return [*cmd, "--head", f"--port={head[0]}", f"--ray-client-server-port={head[1]}", "--include-dashboard=false"]
    return [*cmd, f"--address={HOST}:{head[0]}"]  # Ray turns 127.0.0.1 into this host's address


PORTS_PER_NODE = 6 + WORKER_PORTS_PER_NODE
PORTS_NEEDED = 2 + len(NODES) * PORTS_PER_NODE


def node_commands(ray: str, specs: dict[str, NodeSpec], temp_dir: Path, ports: list[int]) -> list[list[str]]:
    """Both nodes' commands (head first) from one list of PORTS_NEEDED distinct ports: the head's GCS port first,
    then its Ray-client port, then each node's own."""
    if len(set(ports)) < PORTS_NEEDED:
        raise ValueError(f"need {PORTS_NEEDED} distinct ports, got {len(set(ports))}")
    head, rest = ports[:2], ports[2:]
    return [
        node_command(ray, node, specs[node], temp_dir, rest[i * PORTS_PER_NODE : (i + 1) * PORTS_PER_NODE], head)
        for i, node in enumerate(NODES)
    ]


def _alive_nodes(address: str) -> list[dict]:
    os.environ.update(AUTH_ENV)  # before importing ray, which reads it once
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        return [{"NodeID": n["NodeID"], "Resources": n["Resources"]} for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()  # a driver's disconnect; the cluster stays


def start(temp_dir: Path, specs: dict[str, NodeSpec], timeout_s: float = START_TIMEOUT_S) -> Cluster:
    """Start both nodes (head first), wait until the cluster has them both, record them in cluster.json."""
    if (temp_dir / STATE_FILE).exists():
        raise RuntimeError(f"{temp_dir / STATE_FILE}: a cluster is recorded there; `stop --temp-dir {temp_dir}` first")
    temp_dir.mkdir(parents=True, exist_ok=True)
    ray = str(Path(sys.executable).with_name("ray"))
    ports = free_ports(PORTS_NEEDED)
    commands = node_commands(ray, specs, temp_dir, ports)
    cluster = Cluster(address="", temp_dir=str(temp_dir))
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, **AUTH_ENV}
    try:
        for node, cmd in zip(NODES, commands, strict=True):
            with open(temp_dir / f"{node}.log", "w") as log:  # preexec_fn: no threads yet, ray is imported later
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                        preexec_fn=_adopt_orphans)  # noqa: PLW1509  # fmt: skip
            cluster.pids[node] = proc.pid
            _write_state(cluster)  # recorded at once: `stop` finds it even if the wait below fails
            # `ray start` writes the node's address file once its raylet runs (ray/scripts/scripts.py)
            _wait(lambda n=node: (temp_dir / n / "ray_current_cluster").is_file(), timeout_s, f"the {node} raylet",
                  temp_dir / f"{node}.log", proc)  # fmt: skip
        # the GCS address as Ray resolved it (this host's IP: a driver must find its raylet at that IP)
        cluster.address = (temp_dir / "head" / "ray_current_cluster").read_text().strip()
        deadline = time.monotonic() + timeout_s
        while len(cluster.nodes) < len(NODES) and time.monotonic() < deadline:
            cluster.nodes = _alive_nodes(cluster.address)
            time.sleep(0 if len(cluster.nodes) == len(NODES) else 1)
        if len(cluster.nodes) < len(NODES):
            raise RuntimeError(f"{len(cluster.nodes)} of {len(NODES)} nodes alive after {timeout_s:.0f} s; see "
                               f"{temp_dir}/*.log")  # fmt: skip
    except BaseException:
        stop(temp_dir)
        raise
    _write_state(cluster)
    return cluster


def _adopt_orphans() -> None:
    """In the `ray start` process, before it execs: make it the child subreaper of its node (prctl
    PR_SET_CHILD_SUBREAPER, kept across exec), so a process whose parent dies (a vLLM engine whose Ray worker was
    killed) stays in the node's process tree, where `stop` and a memory meter find it, instead of going to init."""
    LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER = 36 (linux/prctl.h)


def export_line(cluster: Cluster) -> str:
    """What a launch on this machine needs to join the cluster: `eval "$(... start ...)"` sets it."""
    return " ".join(["export", f"RAY_ADDRESS={cluster.address}", *(f"{k}={v}" for k, v in AUTH_ENV.items())])


def _wait(ready: Callable[[], bool], timeout_s: float, what: str, log: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; its log: {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not up after {timeout_s:.0f} s; its log: {log}")
        time.sleep(0.5)


def _write_state(cluster: Cluster) -> None:
    path = Path(cluster.temp_dir) / STATE_FILE
    path.with_suffix(".tmp").write_text(json.dumps(asdict(cluster), indent=1))
    path.with_suffix(".tmp").replace(path)


# ---------------------------------------------------------------------------------------------- stop
def read_processes(proc_root: Path = Path("/proc")) -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, command line)} of every live process readable now (zombies have ended: left out)."""
    out = {}
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            out[int(entry.name)] = (int(ppid), cmdline)
    return out


def cluster_pids(processes: dict[int, tuple[int, str]], temp_dir: Path, roots: Iterable[int] = ()) -> set[int]:
    """The processes of the cluster living in `temp_dir`: those naming a node's folder in it on their command line
    (Ray passes `<temp dir>/<node>/session_...` to each of its processes), the `roots`, and every descendant of
    either (vLLM's engine processes name no folder). Never this process or one of its ancestors (the command that
    called `stop` may name the temp dir), nothing else on the machine."""
    markers = [f"{temp_dir / node}{os.sep}" for node in NODES] + [f"--temp-dir={temp_dir / node}" for node in NODES]
    found = {pid for pid, (_, cmd) in processes.items() if any(m in cmd for m in markers)}
    found |= set(roots) & processes.keys()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    pid, ancestors = os.getpid(), set()
    while pid in processes and pid not in ancestors:
        ancestors.add(pid)
        pid = processes[pid][0]
    return found - ancestors


def stop(temp_dir: Path, grace_s: float = 20.0) -> list[int]:
    """End this cluster only; returns the pids that were still there and got signalled."""
    state = temp_dir / STATE_FILE
    roots = list(json.loads(state.read_text())["pids"].values()) if state.is_file() else []
    for pid in roots:  # Ray's own shutdown: `ray start --block` ends its processes on SIGTERM (ray/_private/node.py)
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and cluster_pids(read_processes(), temp_dir, roots):
        time.sleep(0.5)
    left = sorted(cluster_pids(read_processes(), temp_dir, roots))
    for pid in left:
        _signal(pid, signal.SIGKILL)
    state.unlink(missing_ok=True)
    return left


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument(
        "--temp-dir",
        type=Path,
        required=True,
        help="this cluster's own folder (short: Ray's socket paths must stay under 108 characters)",
    )
    parser.add_argument("--head", default="CPU=8,GPU=1", help="the head node's resources (default %(default)s)")
    parser.add_argument("--worker", default="CPU=8,GPU=1", help="the worker node's resources (default %(default)s)")
    parser.add_argument("--object-store-mb", type=int, default=1024, help="each node's object store (default 1024)")
    args = parser.parse_args(argv)  # fmt: skip
    temp_dir = args.temp_dir.resolve()
    if args.action == "stop":
        left = stop(temp_dir)
        print(f"stopped the cluster in {temp_dir}" + (f" (killed {len(left)} lingering processes)" if left else ""))
        return 0
    try:
        specs = {}
        for node, text in (("head", args.head), ("worker", args.worker)):
            cpus, gpus = parse_resources(text, f"--{node}")
            specs[node] = NodeSpec(cpus, gpus, args.object_store_mb * 2**20)
        cluster = start(temp_dir, specs)
    except (ValueError, RuntimeError, ConnectionError) as err:
        print(f"ray_local_cluster: {err}", file=sys.stderr)
        return 1
    for node in cluster.nodes:
        res = node["Resources"]
        print(f"node {node['NodeID'][:12]}  CPU {res.get('CPU', 0):g}  GPU {res.get('GPU', 0):g}", file=sys.stderr)
    print(export_line(cluster))
    return 0


if __name__ == "__main__":
    sys.exit(main())
