"""Write the SYNTHETIC example logs that `python -m recipes.zerotir.analyze` analyses by default.

Every number is a known law plus seeded Gaussian noise, in our launcher's layout with `"synthetic": true` on
every line. Runs: tool vs no-tool, two model sizes, GRPO vs PPO, max tool calls 1 vs 4, a restart repeating
steps 101-120, and an eval summary. Regenerate: `python examples/logs/make_synthetic.py` (deterministic).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20250512  # arXiv v1 date of the paper
BATCH = 128 * 16  # responses per step: 128 prompts x 16 samples, as conf/zerotir.yaml
VAL_EVERY = 20


def saturating(s, y_inf, y0, tau):
    return y_inf - (y_inf - y0) * np.exp(-s / tau)


def power(s, a, b, c):
    return c + a * np.maximum(s, 1) ** b


def log_linear(s, a, b):
    return a + b * np.log(np.maximum(s, 1))


# The true laws per run (these are what the tests and the docs compare the fits against).
RUNS = {
    ("synthetic_qwen7b_grpo", "default"): {
        "steps": 240,
        "model": "qwen7b",
        "algorithm": "grpo",
        "template": "zero_tir",
        "calls": 2,
        "restart": (120, 100),
        "code": (saturating, 0.90, 0.05, 60.0),
        "length": (power, 40.0, 0.5, 600.0),
        "acc": (log_linear, 0.15, 0.06),
        "val": (power, 0.012, 0.5, 0.12),
    },
    ("synthetic_qwen7b_zerorl_grpo", "default"): {
        "steps": 240,
        "model": "qwen7b",
        "algorithm": "grpo",
        "template": "zero_v2",
        "calls": 0,
        "code": None,
        "length": (power, 30.0, 0.45, 550.0),
        "acc": (log_linear, 0.14, 0.045),
        "val": (power, 0.008, 0.5, 0.10),
    },
    ("synthetic_qwen1.5b_grpo", "default"): {
        "steps": 160,
        "model": "qwen1.5b",
        "algorithm": "grpo",
        "template": "zero_tir",
        "calls": 2,
        "code": (saturating, 0.70, 0.03, 50.0),
        "length": (power, 30.0, 0.45, 500.0),
        "acc": (log_linear, 0.08, 0.04),
        "val": (power, 0.006, 0.5, 0.04),
    },
    ("synthetic_qwen7b_ppo", "default"): {
        "steps": 160,
        "model": "qwen7b",
        "algorithm": "ppo",
        "template": "zero_tir",
        "calls": 2,
        "code": (saturating, 0.85, 0.05, 70.0),
        "length": (power, 35.0, 0.5, 600.0),
        "acc": (log_linear, 0.14, 0.055),
        "val": (power, 0.011, 0.5, 0.12),
    },
    ("synthetic_max_calls_sweep", "tir.max_tool_calls=1"): {
        "steps": 120,
        "model": "qwen7b",
        "algorithm": "grpo",
        "template": "zero_tir",
        "calls": 1,
        "code": (saturating, 0.80, 0.05, 50.0),
        "length": (power, 30.0, 0.5, 600.0),
        "acc": (log_linear, 0.15, 0.05),
        "val": (power, 0.011, 0.5, 0.12),
    },
    ("synthetic_max_calls_sweep", "tir.max_tool_calls=4"): {
        "steps": 120,
        "model": "qwen7b",
        "algorithm": "grpo",
        "template": "zero_tir",
        "calls": 4,
        "code": (saturating, 0.95, 0.05, 50.0),
        "length": (power, 55.0, 0.5, 600.0),
        "acc": (log_linear, 0.15, 0.065),
        "val": (power, 0.013, 0.5, 0.12),
    },
}
NOISE = {"code": 0.03, "length": 25.0, "acc": 0.02, "val": 0.015}


def _law(spec, s):
    return spec[0](s, *spec[1:]) if spec else np.zeros_like(s, dtype=float)


def _r(x: float) -> float:
    return float(f"{x:.4g}")


def launch(spec: dict, steps: np.ndarray, rng: np.random.Generator, tokens_before: float) -> list[dict]:
    """File-logger records for `steps` of one launch, fresh noise for every step."""
    s = steps.astype(float)
    code = np.clip(_law(spec["code"], s) + (rng.normal(0, NOISE["code"], s.size) if spec["code"] else 0), 0, 1)
    length = _law(spec["length"], s) + rng.normal(0, NOISE["length"], s.size)
    acc = np.clip(_law(spec["acc"], s) + rng.normal(0, NOISE["acc"], s.size), 0, 1)
    generated = length * (0.85 if spec["calls"] else 1.0)  # tool output is not generated
    cum = tokens_before + np.cumsum(generated * BATCH)
    rows = []
    for i, step in enumerate(steps):
        data = {
            "tir/code_exec_ratio": _r(code[i]),
            "tir/code_calls_mean": _r(code[i] * min(spec["calls"], 1.6)),
            "tir/code_error_rate": _r(0.3 * math.exp(-step / 100) + 0.05) if spec["calls"] else 0.0,
            "tir/acc": _r(acc[i]),
            "tir/response_length/all": _r(length[i]),
            "tir/cum_generated_tokens": float(round(cum[i])),
            "critic/score/mean": _r(acc[i]),
            "response_length/mean": _r(length[i]),
        }
        if step % VAL_EVERY == 0:
            data["val-core/aime24/acc/mean@16"] = _r(max(0.0, _law(spec["val"], s[i]) + rng.normal(0, NOISE["val"])))
        rows.append({"step": int(step), "data": data, "synthetic": True})
    return rows


def hydra_config(exp: str, run: str, spec: dict) -> str:
    """The recorded config the analysis reads a run's identity and attributes from (scaling/discover.py)."""
    return (
        "# SYNTHETIC example run written by examples/logs/make_synthetic.py; not a real training run.\n"
        f"synthetic: true\ntir:\n  experiment: {exp}\n  run_name: {run}\n  template: {spec['template']}\n"
        f"  max_tool_calls: {spec['calls']}\n  model_name: {spec['model']}\n  algorithm_name: {spec['algorithm']}\n"
    )


def write_run(root: Path, exp: str, run: str, spec: dict, rng: np.random.Generator) -> None:
    folder = root / exp / run
    (folder / "metrics").mkdir(parents=True)
    (folder / "hydra" / ".hydra").mkdir(parents=True)
    (folder / "hydra" / ".hydra" / "config.yaml").write_text(hydra_config(exp, run, spec))
    steps = np.arange(1, spec["steps"] + 1)
    launches = [steps]
    if "restart" in spec:  # crash after step 120, resume from the step-100 checkpoint: 101-120 run twice
        crash, ckpt = spec["restart"]
        launches = [steps[steps <= crash], steps[steps > ckpt]]
    tokens = 0.0
    for n, part in enumerate(launches):
        rows = launch(spec, part, rng, tokens)
        if n == 0:  # validation before training (verl's val_before_train logs it at step 0)
            val0 = _r(_law(spec["val"], np.array([1.0]))[0] - 0.01)
            rows.insert(0, {"step": 0, "data": {"val-core/aime24/acc/mean@16": val0}, "synthetic": True})
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
        (folder / "metrics" / f"2026010{n + 1}-000000.jsonl").write_text(lines)
        last = [r for r in rows if r["step"] == (launches[n + 1][0] - 1 if n + 1 < len(launches) else -1)]
        tokens = last[0]["data"]["tir/cum_generated_tokens"] if last else tokens


def write_eval(root: Path, rng: np.random.Generator) -> None:
    """Avg@32 over checkpoints and tool budgets, shaped like the eval harness's accuracy_vs_step.json."""
    folder = root / "eval" / "synthetic_qwen7b_grpo"
    folder.mkdir(parents=True)
    rows = []
    for step in range(0, 241, 40):
        for dataset, base, gain in (("aime24", 0.10, 0.014), ("aime25", 0.06, 0.010)):
            for calls, factor in ((2, 0.85), (4, 0.95), (8, 1.0), (16, 0.9)):
                value = (base + gain * math.sqrt(step)) * factor + rng.normal(0, 0.01)
                code = 0.9 - 0.85 * math.exp(-step / 60) + rng.normal(0, 0.02)
                rows.append(
                    {
                        "step": step,
                        "checkpoint": f"SYNTHETIC/global_step_{step}",
                        "dataset": dataset,
                        "max_tool_calls": calls,
                        "k": 32,
                        "problems": 30,
                        "avg_at_k": _r(max(0.0, value)),
                        "code_exec_ratio": _r(min(1.0, max(0.0, code))),
                        "complete": True,
                        "synthetic": True,
                    }
                )
    (folder / "accuracy_vs_step.json").write_text(json.dumps({"synthetic": True, "rows": rows}, indent=1) + "\n")


def main(root: Path = HERE) -> None:
    """Rewrite the example runs under `root` (this folder by default); the same bytes every time."""
    rng = np.random.default_rng(SEED)
    for exp, _ in RUNS:
        shutil.rmtree(root / exp, ignore_errors=True)
    shutil.rmtree(root / "eval", ignore_errors=True)
    for (exp, run), spec in RUNS.items():
        write_run(root, exp, run, spec, rng)
    write_eval(root, rng)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json", ".yaml"))
    print(f"wrote {len(RUNS)} SYNTHETIC runs + 1 eval summary under {root} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
