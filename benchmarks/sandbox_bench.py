"""Sandbox throughput and overhead on a math-TIR snippet mix, next to the naive `python -c` per call.

Run `python -m benchmarks.sandbox_bench [--n 256] [--rounds 4] [--overhead-n 64]`: a table, then one JSON line
(numbers, commit, versions, hardware, load average). Throughput comes from interleaved rounds (the sandbox over
the whole mix, then naive over the next quarter of it), so a burst of outside load hits both sides. The mix is
what a model writes: arithmetic with print, loops over ranges, sympy solve/simplify/factor, numpy, fractions,
itertools/math combinatorics, and a few that raise.
Every sandbox output is checked against the naive run's (stdout, and ok vs error). Two overheads, both over
the snippet's warm compute (its run time in a fork of this process warmed like a worker): per call at full
concurrency (each latency minus that snippet's warm time; median), and at concurrency 1 (best of 3,
interleaved). Asserts nothing: timings move with whatever else runs on the machine, so the load is printed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.run_info import run_info

STATUSES = ("ok", "error", "timeout", "killed", "sandbox_error")

TEMPLATES = [
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - {a}*x + {b}, x))",
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.factor(x**{n} - 1))",
    "import sympy as sp\nx, y = sp.symbols('x y')\nprint(sp.solve([x + {a}*y - {b}, {a}*x - y - 1], [x, y]))",
    "import sympy as sp\nn = sp.symbols('n', integer=True)\nprint(sp.summation(n**2, (n, 1, {n})), sp.isprime({big}))",
    (
        "import numpy as np\nA = np.random.default_rng({a}).random((60, 60)) + 60 * np.eye(60)\n"
        "print(round(float(np.linalg.solve(A, np.ones(60)).sum()), 6), round(float(np.linalg.det(A[:4, :4])), 6))"
    ),
    "import numpy as np\nM = np.array([[{a}, 1], [1, {b}]], dtype=float)\nprint(np.linalg.eigvalsh(M))",
    (
        "from fractions import Fraction\nfrom itertools import combinations\n"
        "print(sum(Fraction(1, p * q) for p, q in combinations(range(1, {m}), 2)))"
    ),
    "from itertools import permutations\nprint(sum(1 for p in permutations(range({k})) if p[0] < p[-1]))",
    "s = 0\nfor i in range(1, {loop}):\n    s += (i * i) % 7\nprint(s)",
    (
        "n = {t}\n"
        "print([(a, b, c) for a in range(1, n) for b in range(a, n) for c in range(b, n) if a*a + b*b == c*c][:4])"
    ),
    "import math\nprint(math.comb({n2}, {k2}), math.gcd({a}*12, {b}*18), math.isqrt({big}))",
    "from collections import Counter\nprint(Counter(d for i in range(1, {loop2}) for d in str(i * i)).most_common(3))",
    "a, b = {a} * {big}, {b} ** 5\nprint(a + b, a * b, a // b, a % b, round(a / b, 6))",
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.simplify((x**2 - {a}**2) / (x - {a})), sp.expand((x + {b})**3))",
    "vals = [{a}, {b}, 0]\nprint(sum(v / vals[-1] for v in vals))",  # raises ZeroDivisionError, as models' code does
    "import math\nprint(math.sqrt(-{a}))",  # raises ValueError
]


def snippets(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = TEMPLATES[i % len(TEMPLATES)]
        out.append(
            t.format(
                a=rng.randint(2, 9),
                b=rng.randint(1, 20),
                n=rng.randint(4, 12),
                m=rng.randint(20, 40),
                k=rng.randint(6, 8),
                loop=rng.randint(20_000, 80_000),
                t=rng.randint(25, 45),
                n2=rng.randint(20, 60),
                k2=rng.randint(2, 10),
                big=rng.randint(10**9, 10**12),
                loop2=rng.randint(2_000, 8_000),
            )
        )
    return out


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


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds of these processes, their live descendants and everything they reaped (the snippets)."""
    from tir_rollout.sandbox.guest import procfs

    parent = {pid: fields for pid in procfs.pids() if (fields := procfs.stat(pid)) is not None}
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        if pid in parent:
            total += sum(int(x) for x in parent[pid][11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
            todo += [p for p, fields in parent.items() if int(fields[1]) == pid]
    return total


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="snippets in the throughput mix")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds of sandbox and naive runs")
    ap.add_argument("--overhead-n", type=int, default=64, help="snippets timed one at a time for the overhead")
    args = ap.parse_args()
    from tir_rollout.sandbox import make_executor

    cores = os.cpu_count() or 1
    codes = snippets(args.n)
    ex = make_executor({"concurrency": cores})
    t0 = time.perf_counter()
    ex.start()
    start_s = time.perf_counter() - t0
    ex.run_batch(codes[: 2 * cores])  # let every worker prepare its first child

    load_before = os.getloadavg()
    # Rounds: the sandbox over the whole mix, then naive over the next 1/rounds of it (each block holds every
    # template alike), so that a burst of outside load hits both sides, not one.
    per_block = len(codes) // args.rounds
    sb_wall = nv_wall = sb_cpu_s = 0.0
    sb_lat, nv_lat, sb_res, nv_res, round_ratios = [], [], [], [None] * len(codes), []
    for k in range(args.rounds):
        cpu0, host0 = tree_cpu_s(ex.worker_pids()), time.process_time()
        wall, lat, res = timed_map(lambda c: ex.run(c, 30), codes, cores)
        sb_cpu_s += tree_cpu_s(ex.worker_pids()) - cpu0 + time.process_time() - host0
        lo, hi = k * per_block, (k + 1) * per_block if k < args.rounds - 1 else len(codes)
        nwall, nlat, nres = timed_map(naive, codes[lo:hi], cores)
        sb_wall, sb_lat, sb_res = sb_wall + wall, sb_lat + lat, sb_res + res
        nv_wall, nv_lat, nv_res[lo:hi] = nv_wall + nwall, nv_lat + nlat, nres
        round_ratios.append((len(codes) / wall) / ((hi - lo) / nwall))
    load_after = os.getloadavg()
    sb_cpu = sb_cpu_s / len(sb_res)
    statuses = {s: sum(r.status == s for r in sb_res) for s in STATUSES}
    wrong = [i for i, r in enumerate(sb_res) if (r.status, r.stdout) != nv_res[i % len(codes)]]

    from tir_rollout.sandbox.guest import preload

    warm_dir = tempfile.mkdtemp(prefix="sandbox-bench-")
    preload.warm(warm_dir)  # the same warm state as a worker
    warm = {c: own_time(c) for c in dict.fromkeys(codes)}  # each distinct snippet once
    per_call = [lat - warm[c] for lat, c in zip(sb_lat, codes * args.rounds, strict=True)]  # at full concurrency
    warm_cpu = statistics.mean(own_cpu(c) for c in codes)
    sub = codes[: args.overhead_n]
    overhead, inside, own = [], [], []
    for code in sub:  # best of 3 for both sides, interleaved, so load from other processes hits both alike
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
    isolation = sb_res[0].isolation
    ex.close()
    shutil.rmtree(warm_dir, ignore_errors=True)

    sb_rate, nv_rate = len(sb_res) / sb_wall, len(codes) / nv_wall
    ms = lambda v: round(v * 1000, 2)
    rows = [
        ("sandbox", sb_rate, pct(sb_lat, 50), pct(sb_lat, 99)),
        ("naive python -c", nv_rate, pct(nv_lat, 50), pct(nv_lat, 99)),
    ]
    load = "load average {:.1f} / {:.1f} / {:.1f} before, {:.1f} / {:.1f} / {:.1f} after".format(
        *load_before, *load_after
    )
    print(
        f"{len(codes)} math-TIR snippets, concurrency {cores} ({cores} cores), isolation {isolation}, "
        f"{args.rounds} rounds (sandbox: the whole mix each round; naive: 1/{args.rounds} of it); {load}"
    )
    print(
        f"sandbox statuses {statuses}; naive ok {sum(st == 'ok' for st, _ in nv_res)}/{len(nv_res)}; "
        f"outputs equal to naive: {len(sb_res) - len(wrong)}/{len(sb_res)}; pool start {start_s:.1f} s"
    )
    print(f"{'backend':<18}{'exec/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, rate, p50, p99 in rows:
        print(f"{name:<18}{rate:>10.1f}{ms(p50):>10}{ms(p99):>10}")
    print(
        f"speed-up: {sb_rate / nv_rate:.1f}x (sandbox vs naive exec/s, same run, same concurrency); per round "
        + " / ".join(f"{r:.1f}x" for r in round_ratios)
    )
    print(
        f"per-call overhead over warm compute at concurrency {cores}: median {ms(statistics.median(per_call))} ms "
        f"(warm compute median {ms(statistics.median(warm[c] for c in codes))} ms, mean "
        f"{ms(statistics.mean(warm[c] for c in codes))} ms)"
    )
    print(
        f"CPU per call (workers, snippets, host): {ms(sb_cpu)} ms, of which the snippets' own warm CPU "
        f"{ms(warm_cpu)} ms: overhead {ms(sb_cpu - warm_cpu)} ms (load inflates this far less than wall time)"
    )
    print(
        f"overhead at concurrency 1 over {len(sub)} snippets (latency minus own warm run time): "
        f"median {ms(statistics.median(overhead))} ms, p99 {ms(pct(overhead, 99))} ms; "
        f"inside the worker: median {ms(statistics.median(inside))} ms; own run time median "
        f"{ms(statistics.median(own))} ms"
    )
    print(
        json.dumps(
            {
                "bench": "sandbox",
                "n": len(codes),
                "concurrency": cores,
                "isolation": isolation,
                "sandbox_exec_per_s": round(sb_rate, 2),
                "sandbox_p50_ms": ms(pct(sb_lat, 50)),
                "sandbox_p99_ms": ms(pct(sb_lat, 99)),
                "naive_exec_per_s": round(nv_rate, 2),
                "naive_p50_ms": ms(pct(nv_lat, 50)),
                "naive_p99_ms": ms(pct(nv_lat, 99)),
                "speedup": round(sb_rate / nv_rate, 2),
                "outputs_equal_to_naive": len(sb_res) - len(wrong),
                "sandbox_calls": len(sb_res),
                "rounds": args.rounds,
                "round_speedups": [round(r, 2) for r in round_ratios],
                "overhead_full_concurrency_median_ms": ms(statistics.median(per_call)),
                "warm_compute_mean_ms": ms(statistics.mean(warm[c] for c in codes)),
                "cpu_per_call_ms": ms(sb_cpu),
                "warm_cpu_per_call_ms": ms(warm_cpu),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in load_after],
                "overhead_median_ms": ms(statistics.median(overhead)),
                "overhead_p99_ms": ms(pct(overhead, 99)),
                "overhead_inside_worker_median_ms": ms(statistics.median(inside)),
                "own_run_median_ms": ms(statistics.median(own)),
                "statuses": statuses,
                "pool_start_s": round(start_s, 2),
                **run_info("numpy", "sympy"),
            }
        )
    )


if __name__ == "__main__":
    main()
