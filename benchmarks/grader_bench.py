"""Grader throughput and latency on typical answers, next to plain math-verify measured in the same run.

Run: `python -m benchmarks.grader_bench [--repeat N]`. Each pair is graded once per pass with every cache
cleared first ("cold", what a new prompt costs), then again with caches warm (what the 15 other samples of a
GRPO group cost). Per-core rates use process CPU time. Then both graders are scored on the labelled
regression set, and on math-verify's own public test suite (270 whole responses, `tests/reward/math_verify_cases.json`)
through `grade_answer` against plain math-verify (`verify(parse(gold), parse(pred))`, its defaults). The last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sympy
from math_verify import LatexExtractionConfig, parse, verify

from benchmarks.run_info import run_info
from reward import grader, symbolic
from tests.reward.cases import CASES

TYPICAL: list[tuple[str, str]] = []
for i in range(1, 41):
    TYPICAL += [
        (str(i * 37), str(i * 37)),  # integers
        (str(i * 37 + 1), str(i * 37)),
        (f"\\frac{{{i}}}{{{i + 7}}}", f"\\dfrac{{{2 * i}}}{{{2 * i + 14}}}"),  # fractions
        (f"{i}\\sqrt{{{i + 1}}}", f"\\sqrt{{{i * i * (i + 1)}}}"),  # radicals
        (f"[{i}, \\infty)", f"x \\ge {i}"),  # intervals
        (f"({i}, {i + 1})", f"({i + 1}, {i})"),  # tuples
        (f"{i}, {i + 2}", f"{i + 2}, {i}"),  # solution lists
        ("\\text{Evelyn}" if i % 2 else "\\text{yes}", "\\text{Evelyn}"),  # text
    ]

# Not in the typical mix: answers only sympy can decide (polynomials, symbolic fractions), timed on their own.
SYMBOLIC: list[tuple[str, str]] = []
for i in range(1, 21):
    SYMBOLIC += [
        (f"(x-{i})(x+{i})", f"x^2-{i * i}"),
        (f"\\frac{{n(n+{i})}}{{2}}", f"\\frac{{n^2+{i}n}}{{2}}"),
        (f"{i}\\pi r^2", f"\\pi r^2 \\cdot {i + 1}"),
    ]

KINDS = ["integer", "integer_wrong", "fraction", "radical", "interval", "tuple", "list", "text"]  # order above

_MV_CONFIG = [LatexExtractionConfig(boxed_match_priority=0)]


def plain_math_verify(pred: str, gold: str) -> bool:
    """The baseline: math-verify with its own (signal) timeouts, main thread, gold wrapped like verl does."""
    g = parse("\\boxed{" + gold + "}", extraction_config=_MV_CONFIG)
    p = parse("\\boxed{" + pred + "}", extraction_config=_MV_CONFIG)
    return verify(g, p)


def _mv_safe(pred: str, gold: object) -> bool:
    try:
        return plain_math_verify(pred, grader.coerce_gold(gold))
    except Exception:  # noqa: BLE001 - count a crash of the baseline as a rejection
        return False


SUITE = json.loads((Path(__file__).parents[1] / "tests/reward/math_verify_cases.json").read_text(encoding="utf-8"))


def plain_math_verify_response(pred: str, gold: str) -> bool:
    """Plain math-verify on a whole response, as its own README shows: its default targets, its own timeouts."""
    try:
        return verify(parse(gold), parse(pred))
    except Exception:  # noqa: BLE001 - count a crash of the baseline as a rejection
        return False


def _suite(fn) -> dict:
    cases = SUITE["cases"]
    _clear_caches()
    r = _measure(fn, [(c["pred"], c["gold"]) for c in cases], cold=False)
    agree = sum(v is c["expected"] for v, c in zip(r["verdicts"], cases))
    default = [(v, c) for v, c in zip(r["verdicts"], cases) if c["default_options"]]
    return {
        "agree": agree,
        "cases": len(cases),
        "default_agree": sum(v is c["expected"] for v, c in default),
        "default_cases": len(default),
        **{k: r[k] for k in ("per_s_per_core", "p50_ms", "p99_ms", "max_ms")},
    }


def _agreement(fn) -> dict:
    fa = fr = 0
    for _, pred, gold, expected in CASES:
        got = bool(fn(pred, gold))
        fa += got and not expected
        fr += expected and not got
    return {"agree_pct": round(100 * (1 - (fa + fr) / len(CASES)), 2), "false_accepts": fa, "false_rejects": fr}


def _clear_caches() -> None:
    symbolic.parse_latex.cache_clear()
    grader._item_equal.cache_clear()
    from math_verify import parser

    parser.parse_latex_cached.cache_clear()
    parser.parse_expr_cached.cache_clear()
    sympy.core.cache.clear_cache()  # sympy's own memo would otherwise favour whichever grader runs second


def _measure(fn, pairs, cold: bool) -> dict:
    if cold:
        _clear_caches()
    latencies, verdicts = [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for pred, gold in pairs:
        t = time.perf_counter()
        verdicts.append(fn(pred, gold))
        latencies.append(time.perf_counter() - t)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    q = statistics.quantiles(latencies, n=100)
    return {
        "per_s_per_core": round(len(pairs) / cpu, 1),
        "per_s_wall": round(len(pairs) / wall, 1),
        "p50_ms": round(q[49] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "verdicts": verdicts,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="passes per mode (the best pass is reported)")
    args = ap.parse_args()

    pairs = TYPICAL
    for fn in (grader.grade_prediction, plain_math_verify):  # sympy imports modules lazily on first use
        for pred, gold in pairs + SYMBOLIC:
            fn(pred, gold)
    results = {}
    for name, fn in (("zerotir", grader.grade_prediction), ("math_verify", plain_math_verify)):
        for mode in ("cold", "warm"):
            runs = [_measure(fn, pairs, cold=mode == "cold") for _ in range(args.repeat)]
            results[f"{name}_{mode}"] = max(runs, key=lambda r: r["per_s_per_core"])
    ours, theirs = results["zerotir_cold"]["verdicts"], results["math_verify_cold"]["verdicts"]
    disagree = sum(a != b for a, b in zip(ours, theirs))

    print(f"{len(pairs)} typical answer pairs (integers, fractions, radicals, intervals, tuples, lists, text)")
    print(f"{'grader':22s} {'per s/core':>11s} {'per s wall':>11s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for key, r in results.items():
        print(
            f"{key:22s} {r['per_s_per_core']:11.1f} {r['per_s_wall']:11.1f} {r['p50_ms']:8.2f} "
            f"{r['p99_ms']:8.2f} {r['max_ms']:8.2f}"
        )
    print(f"accepted: zerotir {sum(ours)}, math_verify {sum(theirs)}; verdicts differ on {disagree} pairs")

    print("\nper kind, cold caches (ms): zerotir p50/p99 | math_verify p50/p99")
    by_kind = {}
    for k, kind in enumerate(KINDS):
        row = {}
        for name, fn in (("zerotir", grader.grade_prediction), ("math_verify", plain_math_verify)):
            r = _measure(fn, pairs[k :: len(KINDS)], cold=True)
            row[name] = (r["p50_ms"], r["p99_ms"])
        by_kind[kind] = row
        z, m = row["zerotir"], row["math_verify"]
        print(f"{kind:14s} {z[0]:7.2f} {z[1]:7.2f} | {m[0]:7.2f} {m[1]:7.2f}")

    symbolic_runs = {
        name: _measure(fn, SYMBOLIC, cold=True)
        for name, fn in (("zerotir", grader.grade_prediction), ("math_verify", plain_math_verify))
    }
    z, m = symbolic_runs["zerotir"], symbolic_runs["math_verify"]
    print(
        f"{'symbolic (sympy)':14s} {z['p50_ms']:7.2f} {z['p99_ms']:7.2f} | {m['p50_ms']:7.2f} {m['p99_ms']:7.2f}"
        f"   ({len(SYMBOLIC)} pairs outside the mix; per s/core {z['per_s_per_core']} vs {m['per_s_per_core']})"
    )

    labelled = {name: _agreement(fn) for name, fn in (("zerotir", grader.grade_prediction), ("math_verify", _mv_safe))}
    print(f"\nlabelled regression set ({len(CASES)} cases, tests/reward/cases.py)")
    print(f"{'grader':22s} {'agree':>7s} {'false acc':>10s} {'false rej':>10s}")
    for name, r in labelled.items():
        print(f"{name:22s} {r['agree_pct']:6.1f}% {r['false_accepts']:10d} {r['false_rejects']:10d}")

    suite = {"zerotir": _suite(grader.grade_answer), "math_verify": _suite(plain_math_verify_response)}
    print(f"\nmath-verify public suite ({SUITE['commit'][:7]}, whole responses): agreement with its expectations")
    print(f"{'grader':22s} {'agree':>9s} {'default':>9s} {'per s/core':>11s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, r in suite.items():
        print(
            f"{name:22s} {r['agree']:4d}/{r['cases']:<4d} {r['default_agree']:4d}/{r['default_cases']:<4d}"
            f" {r['per_s_per_core']:11.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}"
        )

    summary = {
        "bench": "grader",
        "pairs": len(pairs),
        **{f"{k}_{m}": v[m] for k, v in results.items() for m in ("per_s_per_core", "p50_ms", "p99_ms")},
        "verdicts_differ": disagree,
        "zerotir_cold_p99_ms_by_kind": {k: v["zerotir"][1] for k, v in by_kind.items()},
        "symbolic_per_s_per_core": {k: v["per_s_per_core"] for k, v in symbolic_runs.items()},
        "symbolic_p99_ms": {k: v["p99_ms"] for k, v in symbolic_runs.items()},
        **{
            f"{k}_labelled_{m}": v[m]
            for k, v in labelled.items()
            for m in ("agree_pct", "false_accepts", "false_rejects")
        },
        **{f"{k}_suite_{m}": v[m] for k, v in suite.items() for m in ("agree", "default_agree", "p99_ms")},
        **run_info("math-verify", "sympy", "latex2sympy2_extended", "antlr4-python3-runtime"),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
