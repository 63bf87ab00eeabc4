"""How long the analysis takes on 60 runs of 150-240 steps: `python -m benchmarks.analysis_time`.

Writes 60 SYNTHETIC runs in our launcher's layout (verl's file logger, `metrics/<launch>.jsonl`, and the recorded
config `hydra/.hydra/config.yaml`): 10 experiments (model x algorithm x tool budget, one of them no-tool) x 6 seeds,
150-240 steps each, every series a known law plus noise (code execution saturating, response length a power law,
training accuracy log-linear, validation avg@16 every 20 steps), written by examples/logs/make_synthetic.py's own
`launch` with each run's laws drawn at random, then given the messy lines real logs have: a restart that repeats
20 steps (every 4th run), a null value (every 3rd), a line without a key (every 5th) and a cut last line (every
6th). Then it times one run of

    python -m recipes.zerotir.analyze root=<tmp>/outputs out_dir=<tmp>/analysis

at the default settings (conf/analyze.yaml), in a subprocess, and prints its output (one progress line per run and
the time of each phase), the wall time, the subprocess's CPU time and the load average before and after. The last
line is one JSON object.

    python -m benchmarks.analysis_time                      # the whole measurement
    python -m benchmarks.analysis_time --profile 1          # cProfile of one run's analysis, in-process, instead
    python -m benchmarks.analysis_time --runs 6 fit.n_boot=50   # fewer runs; extra arguments go to the analysis
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.run_info import run_info
from runs.layout import RunFolder

SEED = 25  # issue 25
EXPERIMENTS = [  # (model, algorithm, max_tool_calls); 0 calls is the no-tool template
    (model, algorithm, calls)
    for model, algorithm, calls in [
        ("qwen7b", "grpo", 2), ("qwen7b", "grpo", 0), ("qwen7b", "ppo", 2), ("qwen7b", "reinforce_pp", 2),
        ("qwen1.5b", "grpo", 2), ("qwen1.5b", "ppo", 2), ("qwen7b", "grpo", 1), ("qwen7b", "grpo", 4),
        ("qwen3b", "grpo", 2), ("qwen14b", "grpo", 2),
    ]
]  # fmt: skip
SEEDS_PER_EXPERIMENT = 6


def _make_synthetic():
    """examples/logs/make_synthetic.py, a script rather than a package: its laws and its file-logger writer."""
    spec = importlib.util.spec_from_file_location("make_synthetic", REPO / "examples" / "logs" / "make_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic = _make_synthetic()


def laws(rng: np.random.Generator, calls: int) -> dict:
    """One run's true laws, drawn around the example runs' parameters, as a make_synthetic run spec (law, params)."""
    return {
        "calls": calls,
        "code": (synthetic.saturating, rng.uniform(0.6, 0.95), rng.uniform(0.03, 0.1), rng.uniform(30, 90))
        if calls
        else None,
        "length": (synthetic.power, rng.uniform(25, 55), rng.uniform(0.4, 0.55), rng.uniform(500, 650)),
        "acc": (synthetic.log_linear, rng.uniform(0.08, 0.16), rng.uniform(0.04, 0.065)),
        "val": (synthetic.power, rng.uniform(0.006, 0.013), 0.5, rng.uniform(0.04, 0.12)),
    }


def config(experiment: str, run: str, model: str, algorithm: str, calls: int, seed: int) -> str:
    """The recorded config, as the launcher writes it (the tir keys the analysis reads)."""
    return (
        "# SYNTHETIC run written by benchmarks/analysis_time.py; not a real training run.\n"
        f"synthetic: true\ntir:\n  experiment: {experiment}\n  run_name: {run}\n  seed: {seed}\n"
        f"  model_name: {model}\n  algorithm_name: {algorithm}\n"
        f"  rollout:\n    template: {'zero_tir' if calls else 'zero_v2'}\n    max_tool_calls: {calls}\n"
    )


def write_runs(root: Path, n_runs: int = 60, seed: int = SEED) -> list[Path]:
    """n_runs run folders under root/<experiment>/tir.seed=<k>/ (see the module's docstring); returns them."""
    rng = np.random.default_rng(seed)
    folders = []
    for i in range(n_runs):
        model, algorithm, calls = EXPERIMENTS[i // SEEDS_PER_EXPERIMENT % len(EXPERIMENTS)]
        experiment = f"synthetic_{model}_{algorithm}_calls{calls}"
        run_seed = i % SEEDS_PER_EXPERIMENT + 1 + i // (SEEDS_PER_EXPERIMENT * len(EXPERIMENTS)) * SEEDS_PER_EXPERIMENT
        name = f"tir.seed={run_seed}"
        run = RunFolder(root / experiment / name)
        run.metrics.mkdir(parents=True)
        run.hydra_records.mkdir(parents=True)
        (run.hydra_records / "config.yaml").write_text(config(experiment, name, model, algorithm, calls, run_seed))
        n = int(rng.integers(150, 241))
        truth = laws(rng, calls)
        steps = np.arange(1, n + 1)
        launches = [steps]
        if i % 4 == 0:  # crash after step `crash`, resumed from the checkpoint 20 steps earlier
            crash = int(0.6 * n)
            launches = [steps[steps <= crash], steps[steps > crash - 20]]
        tokens = 0.0
        texts = []
        for k, part in enumerate(launches):
            rows = synthetic.launch(truth, part, rng, tokens)
            if k == 0:  # validation before training starts at the law's constant
                rows.insert(0, {"step": 0, "data": {"val-core/aime24/acc/mean@16": synthetic._r(truth["val"][-1])}})
            if k + 1 < len(launches):
                resume = int(launches[k + 1][0]) - 1
                tokens = next(r["data"]["tir/cum_generated_tokens"] for r in rows if r["step"] == resume)
            texts.append([json.dumps(r, separators=(",", ":")) for r in rows])
        first = texts[0]
        if i % 3 == 0:  # verl writes NaN as null
            first[10] = first[10].replace(re.search(r'"tir/acc":[^,}]+', first[10]).group(), '"tir/acc":null')
        if i % 5 == 0:  # a step that did not log one key
            first[20] = re.sub(r'"tir/response_length/all":[^,}]+,', "", first[20])
        if i % 6 == 0:  # a run killed mid-write
            texts[-1][-1] = texts[-1][-1][: len(texts[-1][-1]) // 2]
        for k, lines in enumerate(texts):
            (run.metrics / f"2026010{k + 1}-000000.jsonl").write_text("\n".join(lines) + "\n")
        folders.append(run.path)
    return folders


def profile_runs(root: Path, n: int, extra: list[str]) -> None:
    """cProfile of `analysis.analyse` on the first n runs at the command's settings (conf/analyze.yaml + extra)."""
    from omegaconf import OmegaConf

    from recipes.zerotir import analyze
    from scaling import analysis, discover

    cfg = OmegaConf.merge(OmegaConf.load(REPO / "conf" / "analyze.yaml"), OmegaConf.from_dotlist(extra))
    runs = discover.load(sorted({p.parent.parent for p in root.glob("*/*/metrics/*.jsonl")})[:n], [])
    settings = analyze.settings(cfg)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    result = analysis.analyse(runs, settings)
    profiler.disable()
    wall = time.perf_counter() - start
    fits = sum(len(ra.step_fits) + len(ra.token_fits) for ra in result.runs)
    print(f"{len(runs)} run(s), {fits} fits, n_boot={settings.n_boot}: {wall:.1f} s wall")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
    print(text.getvalue())
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    print(text.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="how many runs to write and analyse")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile the analysis of N runs instead")
    parser.add_argument("--keep", type=Path, help="write the runs and the analysis here (kept) instead of a tmp dir")
    parser.add_argument("extra", nargs="*", help="more key=value settings for the analysis (default: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="analysis_time_") as tmp:
        base = args.keep or Path(tmp)
        outputs = base / "outputs"
        write_runs(outputs, args.runs)
        if args.profile:
            profile_runs(outputs, args.profile, args.extra)
            return
        command = [sys.executable, "-m", "recipes.zerotir.analyze", f"root={outputs}", f"out_dir={base / 'analysis'}"]
        command += args.extra
        load_before = os.getloadavg()
        print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}", flush=True)
        start = time.monotonic()
        proc = subprocess.run(command, cwd=REPO, check=False)
        wall = time.monotonic() - start
        load_after = os.getloadavg()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in load_after)}")
        print(f"exit code {proc.returncode}; {args.runs} runs: {wall:.1f} s wall ({wall / 60:.1f} min), "
              f"{usage.ru_utime + usage.ru_stime:.1f} s CPU")  # fmt: skip
        tail = {
            "runs": args.runs,
            "extra": args.extra,
            "exit_code": proc.returncode,
            "wall_s": round(wall, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "load_before": [round(v, 2) for v in load_before],
            "load_after": [round(v, 2) for v in load_after],
            **run_info("numpy", "matplotlib"),
        }
        print(json.dumps(tail))
        if proc.returncode:
            sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
