"""Evaluation throughput: synchronous batches (`vllm_offline`) vs the async engine (`vllm`), on one fake workload.

`python -m benchmarks.eval_engine_bench` runs the same trajectories (the real stop machine, store and grading)
through both backends over fake engines with one cost model (tests/evaluation/fake_engine.py: a decode step costs
--step-ms for every running sequence; prefill free), with lognormal segment lengths and a sandbox that sleeps.
It prints trajectories/s of each and the speed-up, then a JSON line. What it shows is the scheduling gain alone;
a real GPU's step time grows with the batch, so the GPU number is unmeasured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

from benchmarks.run_info import run_info
from evaluation.backends.vllm_async import AsyncVLLMBackend
from evaluation.backends.vllm_engine import VLLMBackend
from tests.evaluation.fake_engine import FakeAsyncEngine, FakeOfflineLLM, SegmentWriter, Workload, drive, fake_sandbox
from tests.fakes import load_qwen2_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--in-flight", type=int, default=64, help="trajectories in flight, the same for both")
    parser.add_argument("--step-ms", type=float, default=0.5, help="fake decode step, ms")
    parser.add_argument("--median-tokens", type=float, default=200.0)
    parser.add_argument("--sigma", type=float, default=1.0)
    args = parser.parse_args()

    tokenizer = load_qwen2_tokenizer()
    work = Workload(median_tokens=args.median_tokens, sigma=args.sigma)
    writer, step_s = SegmentWriter(tokenizer, work), args.step_ms / 1000
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        offline = VLLMBackend("fake", max_batch=args.in_flight, llm=FakeOfflineLLM(writer, step_s))
        engine = FakeAsyncEngine(writer, step_s, max_num_seqs=args.in_flight)
        engines = {
            "sync batches (vllm_offline)": offline,
            "async engine (vllm)": AsyncVLLMBackend("fake", engine=engine, tokenizer=tokenizer),
        }
        for i, (name, backend) in enumerate(engines.items()):
            wall, records = drive(
                backend, fake_sandbox(work), args.problems, args.samples, args.in_flight, f"{tmp}/{i}"
            )
            tokens = [r.tool_use.generated_tokens for r in records]
            results[name] = {
                "trajectories": len(records),
                "wall_s": round(wall, 2),
                "trajectories_per_s": round(len(records) / wall, 2),
                "code_calls": sum(r.tool_use.code_calls for r in records),
                "generated_tokens_median": statistics.median(tokens),
                "generated_tokens_max": max(tokens),
            }
            print(f"{name:<28} {len(records)} trajectories in {wall:6.1f} s: {len(records) / wall:7.2f} traj/s")
    sync, fast = (results[k]["trajectories_per_s"] for k in engines)
    batches = offline.batcher.batch_sizes
    print(f"speed-up of the async engine: {fast / sync:.1f}x  (sync: {len(batches)} batches, "
          f"mean size {statistics.mean(batches):.1f}; async: peak {engine.peak_running} running)")  # fmt: skip
    summary = {"bench": "eval_engine", "args": vars(args), "results": results, "speedup": round(fast / sync, 2)}
    print(json.dumps({**summary, **run_info("transformers")}))


if __name__ == "__main__":
    main()
