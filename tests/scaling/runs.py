"""Write run folders in our launcher's layout (metrics/<timestamp>.jsonl, hydra/.hydra/config.yaml) for tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_launch(run_dir: Path, stamp: str, rows: list[tuple[int, dict]]) -> Path:
    path = run_dir / "metrics" / f"{stamp}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"step": s, "data": d}) + "\n" for s, d in rows))
    return path


def law_run(run_dir: Path, steps, seed: int = 0, noise: float = 0.02, tool: bool = True) -> Path:
    """A run whose tir/* series follow known laws: code saturating, length power b=0.5, acc log-linear."""
    rng = np.random.default_rng(seed)
    s = np.asarray(steps, float)
    code = 0.9 - 0.85 * np.exp(-s / 40) if tool else np.zeros_like(s)
    length = 600 + 40 * s**0.5
    acc = 0.15 + 0.06 * np.log(s)
    rows = []
    cum = 0.0
    for i, step in enumerate(steps):
        cum += float(length[i]) * 2048
        rows.append(
            (
                int(step),
                {
                    "tir/code_exec_ratio": float(code[i] + (rng.normal(0, noise) if tool else 0.0)),
                    "tir/response_length/all": float(length[i] + rng.normal(0, 20)),
                    "tir/acc": float(acc[i] + rng.normal(0, noise)),
                    "tir/cum_generated_tokens": cum,
                },
            )
        )
    write_launch(run_dir, "20260101-000000", rows)
    cfg = run_dir / "hydra" / ".hydra" / "config.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        f"tir:\n  template: {'zero_tir' if tool else 'zero_v2'}\n  max_tool_calls: {2 if tool else 0}\n"
        "  model_name: qwen7b\n  algorithm_name: grpo\n"
    )
    return run_dir
