"""Sandbox throughput and overhead on math-TIR snippet mixes, next to the naive `python -c` per call.

Run `python -m benchmarks.sandbox_bench [--n 256] [--mix-n 128] [--rounds 4] [--overhead-n 64] [--arms ...]`:
the bench's own mix in detail, then, for each sandbox arm (`default`, and `full only`: `light_worker: false`, one
full worker per slot), one row per mix side by side (benchmarks/sandbox_mixes.py: the own mix, 0 %, 10 % and
30 % heavy imports, typical model snippets), then one JSON line (numbers, commit, versions, hardware, load).
Throughput comes from interleaved rounds (for each mix, each arm over the whole mix, the arms in a rotated order
so each goes first in turn, then naive over the next quarter of it), so a burst of outside load hits every side
and every mix. Every sandbox output is checked
against the naive run's (stdout, and ok vs error). The load is /proc/loadavg, read before and after the rounds.
Per mix, besides the throughput ratio: CPU per call on both sides (the sandbox's split into the workers
themselves, the snippets' processes and the host), and the snippets' own CPU in a warm fork, from which the
`ceiling`: naive's CPU over that own CPU, the ratio a sandbox without any overhead would reach on that mix.
For the own mix, two overheads over the snippet's warm compute (its run time in a fork of this process warmed
like a worker): per call at full concurrency (median), and at concurrency 1 (best of 3, interleaved).
Asserts nothing: timings move with whatever else runs on the machine, so the load is printed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import sandbox_mixes
from benchmarks.run_info import run_info

STATUSES = ("ok", "error", "timeout", "killed", "sandbox_error")
# Sandbox configurations run side by side (their calls interleaved in every round), by name: the config delta.
ARMS = {"default": {}, "full only": {"light_worker": False}}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def timed_map(fn, items, concurrency: int) -> tuple[float, list[float], list]:
    lat = [0.0] * len(items)

    def one(i):
        t0 = time.perf_counter()
        r = fn(items[i])
        lat[i] = time.perf_counter() - t0
        return r

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(len(items))))
    return time.perf_counter() - t0, lat, results


def naive(code: str) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    return ("ok" if proc.returncode == 0 else "error"), proc.stdout


def tree_cpu_s(roots: list[int]) -> tuple[float, float]:
    """CPU seconds of these processes and their live descendants (the workers themselves), and of everything
    they reaped (the snippets' processes, which a fork server's design moves cost into or out of)."""
    from tir_rollout.sandbox.guest import procfs

    parent = {pid: fields for pid in procfs.pids() if (fields := procfs.stat(pid)) is not None}
    own = reaped = 0.0
    todo = list(roots)
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in parent:
            utime, stime, cutime, cstime = (int(x) for x in parent[pid][11:15])
            own, reaped = own + (utime + stime) / tick, reaped + (cutime + cstime) / tick
            todo += [p for p, fields in parent.items() if int(fields[1]) == pid]
    return own, reaped


def children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (the naive `python -c` runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu(code: str) -> float:
    """The snippet's CPU time in a warm fork (load inflates wall time far more than CPU time)."""
    return own_time(code, clock=time.process_time)


def own_time(code: str, clock=time.perf_counter) -> float:
    """The snippet's run time in a fork of this process (warmed like a sandbox worker), fork excluded."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        sink = io.StringIO()
        t0 = clock()
        with contextlib.redirect_stdout(sink), contextlib.suppress(Exception):  # the mix has snippets that raise
            exec(compile(code, "<snippet>", "exec"), {"__name__": "__main__"})  # noqa: S102 - trusted benchmark snippets
        os.write(w, repr(clock() - t0).encode())
        os._exit(0)
    os.close(w)
    took = float(os.read(r, 64))
    os.close(r)
    os.waitpid(pid, 0)
    return took


def loadavg() -> str:
    """/proc/loadavg as it reads: 1, 5 and 15-minute load, running/total tasks."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:4])


class Side:
    """One sandbox configuration's calls on one mix over every round."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.lat: list[float] = []
        self.res: list = []
        self.cpu = {"workers": 0.0, "snippets": 0.0, "host": 0.0}
        self.round_rates: list[float] = []


class Tally:
    """One mix over every round: each sandbox arm's calls (the whole mix each round) and naive's (one block a
    round, shared by the arms)."""

    def __init__(self, codes: list[str], arms: list[str]) -> None:
        self.codes = codes
        self.sides = {arm: Side() for arm in arms}
        self.nv_wall = self.nv_cpu = 0.0
        self.nv_lat: list[float] = []
        self.nv_res: list = [None] * len(codes)
        self.nv_round_rates: list[float] = []

    def round(self, exs: dict, k: int, rounds: int, cores: int) -> None:
        codes = self.codes
        names = list(exs)
        for arm in names[k % len(names) :] + names[: k % len(names)]:  # each arm first in turn: the first after
            ex, side = exs[arm], self.sides[arm]  # naive's phase ran ~6 % slower in a run without the rotation
            (w0, s0), host0 = tree_cpu_s(ex.worker_pids()), time.process_time()
            wall, lat, res = timed_map(lambda c, ex=ex: ex.run(c, 30), codes, cores)
            (w1, s1), host1 = tree_cpu_s(ex.worker_pids()), time.process_time()
            side.cpu["workers"] += w1 - w0
            side.cpu["snippets"] += s1 - s0
            side.cpu["host"] += host1 - host0
            side.wall, side.lat, side.res = side.wall + wall, side.lat + lat, side.res + res
            side.round_rates.append(len(codes) / wall)
        per_block = len(codes) // rounds
        lo, hi = k * per_block, (k + 1) * per_block if k < rounds - 1 else len(codes)
        n0 = children_cpu_s()
        nwall, nlat, nres = timed_map(naive, codes[lo:hi], cores)
        self.nv_cpu += children_cpu_s() - n0
        self.nv_wall, self.nv_lat, self.nv_res[lo:hi] = self.nv_wall + nwall, self.nv_lat + nlat, nres
        self.nv_round_rates.append((hi - lo) / nwall)

    def summary(self, arm: str, warm_cpu: float) -> dict:
        side = self.sides[arm]
        n_sb, n_nv = len(side.res), len(self.codes)
        wrong = [i for i, r in enumerate(side.res) if (r.status, r.stdout) != self.nv_res[i % n_nv]]
        sb_rate, nv_rate = n_sb / side.wall, n_nv / self.nv_wall
        sb_cpu = sum(side.cpu.values()) / n_sb
        nv_cpu = self.nv_cpu / n_nv
        return {
            "heavy_share": round(sandbox_mixes.heavy_share(self.codes), 3),
            "n": n_nv,
            "sandbox_exec_per_s": round(sb_rate, 2),
            "naive_exec_per_s": round(nv_rate, 2),
            "speedup": round(sb_rate / nv_rate, 2),
            "round_speedups": [round(a / b, 2) for a, b in zip(side.round_rates, self.nv_round_rates, strict=True)],
            "outputs_equal_to_naive": n_sb - len(wrong),
            "sandbox_calls": n_sb,
            "statuses": {s: sum(r.status == s for r in side.res) for s in STATUSES},
            "naive_ok": sum(st == "ok" for st, _ in self.nv_res),
            "sandbox_p50_ms": ms(pct(side.lat, 50)),
            "sandbox_p99_ms": ms(pct(side.lat, 99)),
            "naive_p50_ms": ms(pct(self.nv_lat, 50)),
            "naive_p99_ms": ms(pct(self.nv_lat, 99)),
            "cpu_per_call_ms": ms(sb_cpu),
            "cpu_workers_ms": ms(side.cpu["workers"] / n_sb),
            "cpu_snippet_processes_ms": ms(side.cpu["snippets"] / n_sb),
            "cpu_host_ms": ms(side.cpu["host"] / n_sb),
            "naive_cpu_per_call_ms": ms(nv_cpu),
            "warm_cpu_per_call_ms": ms(warm_cpu),
            "cpu_speedup": round(nv_cpu / sb_cpu, 2),
            "ceiling": round(nv_cpu / warm_cpu, 2),
        }


def ms(v: float) -> float:
    return round(v * 1000, 2)


def overhead_at_concurrency_1(ex, sub: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Latency of one call minus the snippet's own warm run time, best of 3 each side, interleaved."""
    overhead, inside, own = [], [], []
    for code in sub:
        lat, dur = [], []
        for _ in range(3):
            time.sleep(0.05)  # a call arriving at an idle worker (in a rollout, the model generates between calls)
            t = time.perf_counter()
            res = ex.run(code, 30)
            lat.append(time.perf_counter() - t)
            dur.append(res.duration_s)
        mine = min(own_time(code) for _ in range(3))
        own.append(mine)
        overhead.append(min(lat) - mine)
        inside.append(min(dur) - mine)
    return overhead, inside, own


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="snippets in the bench's own mix")
    ap.add_argument("--mix-n", type=int, default=128, help="snippets in each of the other mixes")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds of sandbox and naive runs")
    ap.add_argument("--overhead-n", type=int, default=64, help="snippets timed one at a time for the overhead")
    ap.add_argument("--only-own", action="store_true", help="the bench's own mix only (the pre-#26 bench)")
    ap.add_argument(
        "--arms",
        default=",".join(ARMS),
        help=f"sandbox configurations, interleaved in every round (of {', '.join(ARMS)}); the first is detailed",
    )
    args = ap.parse_args()
    from tir_rollout.sandbox import make_executor

    cores = os.cpu_count() or 1
    mixes = sandbox_mixes.mixes(args.n, args.mix_n)
    if args.only_own:
        mixes = {"own": mixes["own"]}
    codes = mixes["own"]
    arms = args.arms.split(",")
    exs = {arm: make_executor({"concurrency": cores, **ARMS[arm]}) for arm in arms}
    start_s = {}
    for arm, ex in exs.items():
        t0 = time.perf_counter()
        ex.start()
        start_s[arm] = time.perf_counter() - t0
        ex.run_batch(codes[: 4 * cores])  # let every worker prepare its first child
    ex = exs[arms[0]]

    load_before = loadavg()
    # Rounds: for each mix, the sandbox over the whole mix, then naive over the next 1/rounds of it (each block
    # holds every template alike), so that a burst of outside load hits both sides and every mix, not one.
    tallies = {name: Tally(mix, arms) for name, mix in mixes.items()}
    for k in range(args.rounds):
        for tally in tallies.values():
            tally.round(exs, k, args.rounds, cores)
    load_after = loadavg()

    from tir_rollout.sandbox.guest import preload

    warm_dir = tempfile.mkdtemp(prefix="sandbox-bench-")
    preload.warm(warm_dir)  # the same warm state as a worker
    warm_cpu = {name: statistics.mean(own_cpu(c) for c in dict.fromkeys(t.codes)) for name, t in tallies.items()}
    summaries = {arm: {name: t.summary(arm, warm_cpu[name]) for name, t in tallies.items()} for arm in arms}
    own_mix = tallies["own"].sides[arms[0]]
    warm = {c: own_time(c) for c in dict.fromkeys(codes)}  # each distinct snippet once
    per_call = [lat - warm[c] for lat, c in zip(own_mix.lat, codes * args.rounds, strict=True)]
    overhead, inside, own = overhead_at_concurrency_1(ex, codes[: args.overhead_n])
    isolation = own_mix.res[0].isolation
    for each in exs.values():
        each.close()
    shutil.rmtree(warm_dir, ignore_errors=True)

    mine = summaries[arms[0]]["own"]
    print(
        f"{len(codes)} math-TIR snippets (the bench's own mix), sandbox {arms[0]!r} (arms: {', '.join(arms)}), "
        f"concurrency {cores} ({cores} cores), isolation "
        f"{isolation}, {args.rounds} rounds (sandbox: the whole mix each round; naive: 1/{args.rounds} of it); "
        f"/proc/loadavg before: {load_before}; after: {load_after}"
    )
    print(
        f"sandbox statuses {mine['statuses']}; naive ok {mine['naive_ok']}/{len(codes)}; "
        f"outputs equal to naive: {mine['outputs_equal_to_naive']}/{mine['sandbox_calls']}; pool start "
        + ", ".join(f"{arm} {t:.1f} s" for arm, t in start_s.items())
    )
    print(f"{'backend':<18}{'exec/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'sandbox':<18}{mine['sandbox_exec_per_s']:>10.1f}{mine['sandbox_p50_ms']:>10}{mine['sandbox_p99_ms']:>10}")
    print(
        f"{'naive python -c':<18}{mine['naive_exec_per_s']:>10.1f}{mine['naive_p50_ms']:>10}{mine['naive_p99_ms']:>10}"
    )
    print(
        f"speed-up: {mine['speedup']:.1f}x (sandbox vs naive exec/s, same run, same concurrency); per round "
        + " / ".join(f"{r:.1f}x" for r in mine["round_speedups"])
    )
    print(
        f"per-call overhead over warm compute at concurrency {cores}: median {ms(statistics.median(per_call))} ms "
        f"(warm compute median {ms(statistics.median(warm[c] for c in codes))} ms, mean "
        f"{ms(statistics.mean(warm[c] for c in codes))} ms)"
    )
    print(
        f"CPU per call: {mine['cpu_per_call_ms']} ms (workers themselves {mine['cpu_workers_ms']}, the snippets' "
        f"processes {mine['cpu_snippet_processes_ms']}, host {mine['cpu_host_ms']}), of which the snippets' own warm "
        f"CPU {mine['warm_cpu_per_call_ms']} ms (load inflates CPU far less than wall time)"
    )
    print(
        f"overhead at concurrency 1 over {len(overhead)} snippets (latency minus own warm run time): "
        f"median {ms(statistics.median(overhead))} ms, p99 {ms(pct(overhead, 99))} ms; "
        f"inside the worker: median {ms(statistics.median(inside))} ms; own run time median "
        f"{ms(statistics.median(own))} ms"
    )
    for arm in arms:
        print(f"sandbox {arm!r} ({ARMS[arm] or 'the default config'}):")
        print_mixes(summaries[arm])
    print(
        json.dumps(
            {
                "bench": "sandbox",
                "n": len(codes),
                "concurrency": cores,
                "isolation": isolation,
                **{k: v for k, v in mine.items() if k not in ("heavy_share", "n")},
                "rounds": args.rounds,
                "overhead_full_concurrency_median_ms": ms(statistics.median(per_call)),
                "warm_compute_mean_ms": ms(statistics.mean(warm[c] for c in codes)),
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "overhead_median_ms": ms(statistics.median(overhead)),
                "overhead_p99_ms": ms(pct(overhead, 99)),
                "overhead_inside_worker_median_ms": ms(statistics.median(inside)),
                "own_run_median_ms": ms(statistics.median(own)),
                "pool_start_s": {arm: round(t, 2) for arm, t in start_s.items()},
                "arms": {arm: ARMS[arm] for arm in arms},
                "mixes": summaries[arms[0]],
                "mixes_by_arm": summaries,
                **run_info("numpy", "sympy"),
            }
        )
    )


def print_mixes(summaries: dict[str, dict]) -> None:
    """One row per mix, side by side. `cpu x` is naive's CPU per call over the sandbox's (what the throughput
    ratio tends to on a quiet machine, where both sides keep every core busy; load inflates it far less than
    wall time); `ceiling` is naive's CPU over the snippets' own warm CPU: the ratio of a sandbox with no
    overhead at all, the most any design can reach on that mix."""
    print(
        f"{'mix':<11}{'heavy':>6}{'n':>5}{'sandbox/s':>10}{'naive/s':>9}{'ratio':>7}  {'per round':<24}{'equal':>10}"
        f"{'cpu ms':>8}{'naive':>7}{'own':>6}{'cpu x':>7}{'ceiling':>8}"
    )
    for name, s in summaries.items():
        rounds = " / ".join(f"{r:.1f}" for r in s["round_speedups"])
        print(
            f"{name:<11}{100 * s['heavy_share']:>5.0f}%{s['n']:>5}{s['sandbox_exec_per_s']:>10.1f}"
            f"{s['naive_exec_per_s']:>9.1f}{s['speedup']:>6.1f}x  {rounds:<24}"
            f"{s['outputs_equal_to_naive']:>5}/{s['sandbox_calls']:<4}{s['cpu_per_call_ms']:>8.1f}"
            f"{s['naive_cpu_per_call_ms']:>7.1f}{s['warm_cpu_per_call_ms']:>6.1f}{s['cpu_speedup']:>6.1f}x"
            f"{s['ceiling']:>7.1f}x"
        )


if __name__ == "__main__":
    main()
