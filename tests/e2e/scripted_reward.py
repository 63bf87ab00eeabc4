"""SCRIPTED TEST REWARD, not a correctness signal: the end-to-end CPU test's stand-in for reward.zerotir.

A tiny random model never answers a GSM8K problem, so the real reward is all zeros and the GRPO update a no-op.
This wraps the real `compute_score` (its extra fields, `acc` included, are kept) and replaces `score` by the
share of ASCII letters in the response: it differs between the samples of a group, so advantages are non-zero
and the step's update really moves the weights. Used only by tests/e2e/test_cpu_smoke.py, via
`reward.custom_reward_function.path`."""

from __future__ import annotations

from typing import Any

from reward.zerotir import compute_score as real_compute_score


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None, **kwargs: Any
) -> dict[str, Any]:
    out = real_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    text = solution_str if isinstance(solution_str, str) else ""
    out["score"] = sum(c.isascii() and c.isalpha() for c in text) / max(len(text), 1)
    return out
