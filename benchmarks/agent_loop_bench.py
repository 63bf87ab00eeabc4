"""Per-turn overhead of the ZeroTIR agent loop (tokenisation, stop detection, bookkeeping) on CPU.

The fake server answers at once with pre-cut token segments and the executor returns at once, so all
measured time is the loop's own. It is compared with the generation time the same tokens would take at
2,000 tokens/s per trajectory (target: overhead <= 1 %), and with the naive baseline of the paper-era
reference, which re-tokenises the whole text before every turn. Run: python -m benchmarks.agent_loop_bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass

from omegaconf import OmegaConf

from benchmarks.run_info import run_info
from tests.fakes import SegmentServer, build_agent_loop, load_qwen2_tokenizer

GEN_TOKENS_PER_S = 2000.0
PROMPT = "A conversation between User and Assistant. ... This is the problem: find x.\nAssistant: <think>"
PROSE = " Let us consider the expression and simplify it step by step, checking each term carefully."
CODE = "\nimport sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - 5*x + 6, x))\n```"


@dataclass(frozen=True)
class _Result:
    status: str = "ok"
    stdout: str = "[2, 3]\n"
    stderr: str = ""
    duration_s: float = 0.0
    truncated: bool = False
    isolation: str = "none"


class InstantExecutor:
    async def run_async(self, code: str, timeout: float | None = None) -> _Result:
        return _Result()


def instant_executor(cfg=None) -> InstantExecutor:
    return InstantExecutor()


def segments(tokenizer, response_tokens: int, calls: int) -> list[list[int]]:
    """Token segments of one trajectory: (prose + opener, code + closer) x calls, then prose + </answer>."""
    prose_ids = tokenizer.encode(PROSE, add_special_tokens=False)
    n_prose = calls + 1
    per_prose = max(1, (response_tokens - 60 * calls) // n_prose)
    prose = (prose_ids * (per_prose // len(prose_ids) + 1))[:per_prose]

    def enc(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    out = []
    for _ in range(calls):
        out += [prose + enc("\n```python"), enc(CODE)]
    return [*out, prose + enc(" <answer>\\boxed{2}</answer>")]


def make_loop(tokenizer, server, response_length: int, max_tool_calls: int):
    config = OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 1024, "response_length": response_length, "skip_tokenizer_init": False},
                "model": {"path": "unused"},
            },
            "data": {"apply_chat_template_kwargs": {}},
            "tir": {
                "rollout": {
                    "template": "zero_tir",
                    "max_tool_calls": max_tool_calls,
                    "max_output_tokens": 256,
                    "base_stops": ["User:", "Human:", "Assistant:", "</answer>"],
                    "sandbox": {},
                },
                "executor_factory": "benchmarks.agent_loop_bench.instant_executor",
            },
        }
    )
    return build_agent_loop(config, server, tokenizer)


def bench_case(tokenizer, response_tokens: int, calls: int, reps: int) -> dict:
    segs = segments(tokenizer, response_tokens, calls)
    loop = make_loop(tokenizer, SegmentServer(segs), response_tokens + 512, max(calls, 1))
    raw_prompt = [{"role": "user", "content": PROMPT}]
    params = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": False}

    async def run_all():
        outs = []
        for _ in range(reps):
            loop.server_manager = SegmentServer(segs)
            outs.append(await loop.run(dict(params), raw_prompt=raw_prompt))
        return outs

    asyncio.run(run_all())  # warm-up (tokenizer caches, imports)
    t0 = time.perf_counter()
    outs = asyncio.run(run_all())
    loop_s = (time.perf_counter() - t0) / reps
    out = outs[-1]
    assert out.extra_fields["tir_code_calls"] == calls, out.extra_fields
    generated = out.extra_fields["tir_generated_tokens"]
    turns = out.extra_fields["tir_turns"]

    # naive baseline (reference 63b6159): re-tokenise prompt + all text so far before every turn
    n_prompt = len(out.prompt_ids)
    text_so_far = [tokenizer.decode(out.response_ids[: n - n_prompt]) for n in loop.server_manager.prompt_lengths]
    t0 = time.perf_counter()
    for _ in range(reps):
        for text in text_so_far:
            tokenizer.encode(PROMPT + text, add_special_tokens=False)
    naive_s = (time.perf_counter() - t0) / reps

    gen_s = generated / GEN_TOKENS_PER_S
    return {
        "response_tokens": len(out.response_ids),
        "generated_tokens": generated,
        "calls": calls,
        "turns": turns,
        "loop_ms_per_traj": 1e3 * loop_s,
        "loop_ms_per_turn": 1e3 * loop_s / turns,
        "gen_s_at_2k_tps": gen_s,
        "overhead_pct": 100.0 * loop_s / gen_s,
        "naive_retokenise_ms_per_traj": 1e3 * naive_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    tokenizer = load_qwen2_tokenizer()
    cases = [(1024, 0), (2048, 2), (8192, 2), (8192, 8), (16000, 2)]
    rows = [bench_case(tokenizer, n, calls, args.reps) for n, calls in cases]

    print(
        f"{'resp tok':>8} {'calls':>5} {'turns':>5} {'loop ms/traj':>12} {'ms/turn':>8} {'gen s @2k/s':>11} "
        f"{'overhead %':>10} {'naive retok ms':>14}"
    )
    for r in rows:
        print(
            f"{r['response_tokens']:>8} {r['calls']:>5} {r['turns']:>5} {r['loop_ms_per_traj']:>12.2f} "
            f"{r['loop_ms_per_turn']:>8.3f} {r['gen_s_at_2k_tps']:>11.2f} {r['overhead_pct']:>10.3f} "
            f"{r['naive_retokenise_ms_per_traj']:>14.2f}"
        )
    summary = {
        "bench": "agent_loop",
        "target_overhead_pct": 1.0,
        "max_overhead_pct": max(r["overhead_pct"] for r in rows),
        "cases": rows,
        "reps": args.reps,
        **run_info("verl", "transformers", "tokenizers"),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
