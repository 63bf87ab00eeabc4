"""What the end-to-end runs (test_cpu_smoke.py, test_distributed.py) need around verl's trainer, apart from the trainer.

A memory guard (the run shares the machine: below a floor of MemAvailable it ends the run and its cluster instead of
letting the kernel or Ray's memory monitor pick victims), a peak-memory meter over several process trees (in a
cluster the Ray workers are the raylets' children, not the launch's), one launch with its wall time and peak, and
the checks of what the run left, each returning the problems it found (empty: none) so that a failing assertion
says what is wrong. Pure apart from `/proc` and the launch; the fast tests are tests/e2e/test_harness.py.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks.run_meter import tree_pss_by_process
from tir_rollout.metrics import CollapseAlarm, CumulativeCounters, ResponseRecord, step_metrics
from tir_rollout.tool_use import ToolUse

MEMINFO = Path("/proc/meminfo")
GIB = 2**30
CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ray_local_cluster.py"


def load_cluster_script():
    """scripts/ray_local_cluster.py as a module (by path: `scripts` is also a package of verl's wheel)."""
    name = "ray_local_cluster"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CLUSTER_SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


# ---------------------------------------------------------------------------------------------- memory
def mem_available_bytes(meminfo: str) -> int:
    """MemAvailable from the text of /proc/meminfo (the kernel's estimate of what can be had without swapping)."""
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"/proc/meminfo: MemAvailable in {unit!r}, expected kB")
            return int(value) * 1024
    raise ValueError("/proc/meminfo: no MemAvailable line")


@dataclass
class MemoryGuard:
    """`with MemoryGuard(floor, on_low):` polls MemAvailable every `interval_s` on a thread; the first time it is
    below `floor_bytes` it calls `on_low()` once and records the value in `fired`. `lowest` is the least seen."""

    floor_bytes: int
    on_low: Callable[[], None]
    interval_s: float = 1.0
    read: Callable[[], str] = field(default=MEMINFO.read_text, repr=False)
    fired: int | None = None
    lowest: int | None = None

    def check(self) -> bool:
        """One poll; True when it fired now."""
        available = mem_available_bytes(self.read())
        self.lowest = available if self.lowest is None else min(self.lowest, available)
        if self.fired is None and available < self.floor_bytes:
            self.fired = available
            self.on_low()
            return True
        return False

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(self.interval_s):
            self.check()

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def role(cmdline: list[str]) -> str:
    """What a process is, for the peak's breakdown: Ray and vLLM name theirs (`ray::WorkerDict`, `VLLM::Worker`); a
    Python process is named by its script or module (`-m recipes.zerotir`, `.../dashboard/agent.py`), anything else
    by its program (`raylet`, `gcs_server`, `bwrap`)."""
    if not cmdline:
        return "?"
    first = cmdline[0].split()[0] if cmdline[0].strip() else "?"
    if first.startswith(("ray::", "VLLM::")):  # Ray's title while a task runs: ray::WorkerDict.<method>
        return first.split(".")[0]
    if not Path(first).name.startswith("python"):
        return Path(first).name
    args = iter(cmdline[1:])
    for arg in args:
        if arg == "-m":
            return next(args, "python")
        if arg == "-c":
            return "python -c"
        if not arg.startswith("-"):
            return "/".join(Path(arg).parts[-2:])
    return "python"


class TreesMeter:
    """`with TreesMeter(pids) as meter:` the largest sum of PSS over the processes of the trees of `pids` (read
    again at every sample, so a tree may start later; each process once), sampled every `interval_s`; `meter.peak`
    in bytes, and at that sample `meter.peak_roles` ({role: (processes, bytes)}, largest first) and
    `meter.peak_at_s` (seconds since the start): where the memory went, so a run over its budget says what to cut."""

    def __init__(self, pids: Callable[[], Iterable[int]], interval_s: float = 2.0):
        self.pids, self.interval_s, self.peak = pids, interval_s, 0
        self.peak_roles: dict[str, tuple[int, int]] = {}
        self.peak_at_s = 0.0
        self._start = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def sample(self) -> int:
        roles: dict[str, tuple[int, int]] = {}
        seen: set[int] = set()  # a process in two of the trees counts once
        for pid in set(self.pids()):
            try:
                processes = tree_pss_by_process(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue
            for proc, pss in processes:
                if proc.pid in seen:
                    continue
                seen.add(proc.pid)
                try:
                    name = role(proc.cmdline())
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    name = "?"
                count, total = roles.get(name, (0, 0))
                roles[name] = (count + 1, total + pss)
        total = sum(b for _, b in roles.values())
        if total > self.peak:
            self.peak, self.peak_at_s = total, time.monotonic() - self._start
            self.peak_roles = dict(sorted(roles.items(), key=lambda kv: -kv[1][1]))
        return total

    def _sample(self) -> None:
        while not self._done.wait(self.interval_s):
            self.sample()

    def __enter__(self):  # -> Self
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def roles_line(roles: Mapping[str, tuple[int, int]], top: int = 12) -> str:
    """`meter.peak_roles` in one line: 'ray::WorkerDict 2 x = 3.1 GiB, ...', the `top` largest, then the rest."""
    items = list(roles.items())
    parts = [f"{name} {n} x = {b / GIB:.2f} GiB" for name, (n, b) in items[:top]]
    if rest := items[top:]:
        parts.append(f"{sum(n for _, (n, _) in rest)} others = {sum(b for _, (_, b) in rest) / GIB:.2f} GiB")
    return ", ".join(parts)


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant (children first read, then all killed)."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


# ---------------------------------------------------------------------------------------------- one launch
@dataclass
class Launch:
    returncode: int
    output: str
    seconds: float
    peak_gib: float
    peak_at_s: float = 0.0  # when the peak was sampled, seconds after the launch started
    peak_roles: dict[str, tuple[int, int]] = field(default_factory=dict)  # TreesMeter.peak_roles


def launch(
    cmd: list[str], cwd: Path, env: Mapping[str, str], timeout_s: float, extra_pids=lambda: (), running=None
) -> Launch:
    """Run one launcher command to its end (killed past `timeout_s`); peak memory over its process tree and the
    trees of `extra_pids()` (the cluster's raylets). Its pid goes into `running` (a list) while it runs, for a
    memory guard to end it."""
    log = cwd / f"launch-{len(list(cwd.glob('launch-*.log')))}.log"
    start = time.monotonic()
    running = [] if running is None else running
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        running.append(proc.pid)
        with TreesMeter(lambda: [proc.pid, *extra_pids()]) as meter:
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.terminate()  # SIGTERM: the launcher disconnects from Ray
                try:
                    returncode = proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    kill_tree(proc.pid)
                    returncode = proc.wait()
        running.remove(proc.pid)
    seconds = time.monotonic() - start
    return Launch(returncode, log.read_text(errors="replace"), seconds, meter.peak / GIB, meter.peak_at_s,
                  meter.peak_roles)  # fmt: skip


def logged_steps(run_dir: Path) -> list[list[dict]]:
    """Per launch (oldest first), the step records verl's file logger wrote."""
    files = sorted((run_dir / "metrics").glob("*.jsonl"))
    return [[json.loads(line) for line in f.read_text().splitlines() if line.strip()] for f in files]


# ---------------------------------------------------------------------------------------------- checks
# Present only when the step has a correct (resp. wrong) response: tir_rollout.metrics.step_metrics.
OPTIONAL_TIR_KEYS = frozenset({"tir/response_length/correct", "tir/response_length/wrong"})


def trainer_tir_keys() -> frozenset[str]:
    """Every `tir/` key the recipe trainer logs for a step, whatever the layout: what `ZeroTIRTrainer.tir_metrics`
    returns, from the same functions, for a step with a correct and a wrong response."""
    records = [ResponseRecord(ToolUse(code_calls=1, finish_reason="stop"), True), ResponseRecord(ToolUse(), False)]
    alarm = CollapseAlarm().update(0.5)
    return frozenset({*step_metrics(records), *CumulativeCounters().update(records), *alarm})


def tir_form_problems(data: Mapping[str, object], expected: frozenset[str]) -> list[str]:
    """A logged step's `tir/` keys against the trainer's: none missing (the optional pair aside), none unknown, every
    value a finite number."""
    keys = {k for k in data if k.startswith("tir/")}
    problems = [f"missing {k}" for k in sorted(expected - OPTIONAL_TIR_KEYS - keys)]
    problems += [f"unknown {k}" for k in sorted(keys - expected)]
    problems += [
        f"{k} = {data[k]!r} is not a finite number"
        for k in sorted(keys)
        if not isinstance(data[k], int | float) or not math.isfinite(data[k])
    ]
    return problems


def sandbox_problems(records: list[Mapping], node_ids: Iterable[str]) -> list[str]:
    """The sandbox probe's records (tests/e2e/sandbox_probe.py, one per agent-loop worker and launch) against the
    cluster's nodes: in every launch (its Ray job) every node started a sandbox that ran the snippet, and an unset
    concurrency became the node's CPUs shared among that launch's workers on the node
    (tir_rollout.agent_loop.get_executor). Both launches append to one file, so workers are counted per launch."""
    nodes = set(node_ids)
    workers: dict[tuple[str, str], set[int]] = {}  # (job, node) -> pids
    for r in records:
        workers.setdefault((r.get("job_id"), r["node_id"]), set()).add(r["pid"])
    jobs = sorted({job for job, _ in workers}, key=str)
    launch = {job: f"launch {i + 1} " if len(jobs) > 1 else "" for i, job in enumerate(jobs)}
    problems = []
    for job in jobs:
        seen = {node for j, node in workers if j == job}
        problems += [
            f"{launch[job]}node {n[:12]}: no agent-loop worker started a sandbox" for n in sorted(nodes - seen)
        ]
        problems += [
            f"{launch[job]}node {str(n)[:12]}: not a node of the cluster" for n in sorted(seen - nodes, key=str)
        ]
    for r in records:
        job, node = r.get("job_id"), r["node_id"]
        where = f"{launch[job]}node {str(node)[:12]} pid {r['pid']}"
        if r["status"] != "ok" or r["stdout"].strip() != "42":
            problems.append(f"{where}: the snippet gave {r['status']} {r['stdout']!r}, expected ok '42'")
        share = r["configured"] or max(1, r["cpu_count"] // len(workers[job, node]))
        if r["concurrency"] != share:
            problems.append(
                f"{where}: sandbox concurrency {r['concurrency']}, expected {share} "
                f"({r['cpu_count']} CPUs / {len(workers[job, node])} workers of the launch on the node)"
            )
    return problems


def checkpoint_shards(step_dir: Path, world_size: int) -> dict[str, list[Path]]:
    """{kind: per-rank files} of one FSDP checkpoint (verl's `<kind>_world_size_<n>_rank_<r>.pt`)."""
    return {
        kind: [step_dir / "actor" / f"{kind}_world_size_{world_size}_rank_{rank}.pt" for rank in range(world_size)]
        for kind in ("model", "optim", "extra_state")
    }


def full_tensor(shards: list[Mapping], key: str):
    """One parameter from the ranks' saved FSDP2 state dicts: the local shards of a DTensor sharded on one dim,
    concatenated in rank order; a plain tensor (one rank) as it is."""
    import torch

    parts = [s[key] for s in shards]
    if not hasattr(parts[0], "to_local"):
        return parts[0]
    (placement,) = parts[0].placements
    return torch.cat([p.to_local() for p in parts], dim=placement.dim)
