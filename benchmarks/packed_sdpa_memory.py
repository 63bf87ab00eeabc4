"""Peak memory of the actor's log-prob pass and of one update, padded rows vs packed sequences, under sdpa on CPU.

Each configuration runs in a fresh subprocess. A small random-weight Qwen2 (2 layers, hidden 128, Qwen2.5's
151,936-token vocabulary, bf16, sdpa, gradient checkpointing in the update as every conf/model group sets it) takes
the micro-batch with the most padded tokens among those verl cuts from one GPU's share of a TIR-like step
(preflight/memory.py `tir_mix`, `micro_batches`), at the 0.5B group's lengths and budget divided by 128
(prompt 8 + response 64 tokens, 256-token micro-batches, 64 rows), through verl's own input and output code
(`FSDPEngineWithLMHead.prepare_model_inputs` / `prepare_model_outputs`; FSDP left out): remove-padding off pads
every row to the longest, on packs the rows into one sequence whose position ids restart per row. The log-prob pass
computes the entropy too (`calculate_entropy=True`, as verl's old-log-prob pass); the update is forward + backward
of the token-mean log-prob. Peak = the process's resident high-water mark over the pass (`/proc/self/status`
VmHWM, reset through `/proc/self/clear_refs` just before; psutil sampling where that is refused) minus its
resident size before; `x logits` divides it by one bf16 `(tokens the model runs, vocab)` tensor.

Then the attention mask alone: the same log-prob pass on a 1,000-token vocabulary at 8,192-token micro-batches,
where sdpa's dense mask (padded `rows x S x S`, packed `N x N`) outweighs the logits; and the estimate for every
conf/model group at its real budgets (preflight.memory.table).

    python -m benchmarks.packed_sdpa_memory                 # 6 subprocesses, about 1-2 minutes on 2 shared cores
    python -m benchmarks.packed_sdpa_memory --json out.json
    python -m benchmarks.packed_sdpa_memory --estimates-only
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The scaled-down step: the 0.5B group's prompt, response and budget divided by 128, a quarter of its 256 rows per
# GPU (about 16 rows per micro-batch either way).
SCALE = {"prompt": 8, "response": 64, "budget": 256, "rows": 64}
MASK_SCALE = {"prompt": 256, "response": 2048, "budget": 8192, "rows": 64, "vocab": 1000}
MODEL = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 64,
    "vocab_size": 151_936,
}
CHILD_LIMIT_GIB = 1.8  # refuse a configuration whose logits alone would not fit a 2 GiB process


# ------------------------------------------------------------------ verl's forward path without FSDP (also the test's)
def tiny_qwen2(dtype=None, seed: int = 0, gradient_checkpointing: bool = False, **overrides):
    """A random-weight Qwen2 under sdpa, built from a config (no download), patched as verl's engine patches it
    (`apply_monkey_patch` with remove-padding: under sdpa it replaces only flash-attn's entry point)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from verl.models.transformers.monkey_patch import apply_monkey_patch

    torch.manual_seed(seed)
    config = Qwen2Config(**{**MODEL, "max_position_embeddings": 32768, "tie_word_embeddings": True, **overrides})
    config._attn_implementation = "sdpa"
    model = Qwen2ForCausalLM(config).to(dtype or torch.float32)
    apply_monkey_patch(model=model, use_remove_padding=True, ulysses_sp_size=1)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def verl_lm_engine():
    """verl's FSDPEngineWithLMHead with only what prepare_model_inputs/outputs read (no FSDP, no process group)."""
    import verl.utils.torch_functional as verl_F
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead

    engine = FSDPEngineWithLMHead.__new__(FSDPEngineWithLMHead)
    engine.pad_to_length = False
    engine.use_ulysses_sp = False
    engine.ulysses_sequence_parallel_size = 1
    engine.engine_config = SimpleNamespace(
        entropy_checkpointing=False, entropy_from_logits_with_chunking=False, entropy_from_logits_chunk_size=2048
    )
    engine.compute_entropy_from_logits = verl_F.entropy_from_logits
    return engine


def micro_batch(rows: list, remove_padding: bool, calculate_entropy: bool, position_ids: list | None = None):
    """A micro-batch as verl's engine receives it: nested (jagged) input and position ids, no padding. The V1
    trainer passes the rollout temperature as one number (trainer_base.py, extra_info): 1.0, which verl's output
    path takes as "no scaling" (no copy of the logits)."""
    import torch
    from verl.utils import tensordict_utils as tu

    positions = position_ids or [torch.arange(len(r)) for r in rows]
    return tu.get_tensordict(
        {
            "input_ids": torch.nested.as_nested_tensor(list(rows), layout=torch.jagged),
            "position_ids": torch.nested.as_nested_tensor(list(positions), layout=torch.jagged),
        },
        non_tensor_dict={
            "use_remove_padding": remove_padding,
            "calculate_entropy": calculate_entropy,
            "temperature": 1.0,
            "pad_token_id": 0,
        },
    )


def forward(engine, model, batch) -> dict:
    """`FSDPEngineWithLMHead.forward_step` less the device move, autocast and loss: nested log-probs (and entropy)
    of every token, the label being the next token of the packed stream."""
    inputs, args = engine.prepare_model_inputs(micro_batch=batch)
    output = model(**inputs, use_cache=False)
    return engine.prepare_model_outputs(output=output, output_args=args, micro_batch=batch, logits_processor_func=None)


# ------------------------------------------------------------------------------------------------ measurement
def _status(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


class Peak:
    """Resident high-water mark over a block: VmHWM reset by clear_refs (Linux), else psutil sampled every ms."""

    def __enter__(self):
        gc.collect()
        self.before = _status("VmRSS")
        self.sampler = None
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            import psutil

            self.top, self.stop, proc = self.before, threading.Event(), psutil.Process()

            def sample():
                while not self.stop.is_set():
                    self.top = max(self.top, proc.memory_info().rss)
                    time.sleep(0.001)

            self.sampler = threading.Thread(target=sample, daemon=True)
            self.sampler.start()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        if self.sampler is None:
            self.peak = _status("VmHWM")
        else:
            self.stop.set()
            self.sampler.join()
            self.peak = self.top
        self.delta = self.peak - self.before
        return False


def worst_micro_batch(scale: dict) -> list[int]:
    """The micro-batch with the most padded tokens among those verl cuts from the scaled step."""
    from preflight import memory

    lengths = memory.tir_mix(scale["rows"], scale["prompt"], scale["response"])
    parts = memory.micro_batches(lengths, scale["budget"])
    return max(parts, key=lambda p: len(p) * max(p))


def child(which: str, layout: str, scale: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    vocab = scale.get("vocab", MODEL["vocab_size"])
    lengths = worst_micro_batch(scale)
    gen = torch.Generator().manual_seed(1)
    rows = [torch.randint(0, vocab, (n,), generator=gen) for n in lengths]
    model = tiny_qwen2(torch.bfloat16, gradient_checkpointing=which == "update", vocab_size=vocab)
    engine = verl_lm_engine()
    packed = layout == "packed"
    entropy = which == "logprob"
    with torch.no_grad():  # first-call allocations (kernels, thread pools) outside the measurement
        forward(engine, model, micro_batch(rows[:2], packed, entropy))
    batch = micro_batch(rows, packed, entropy)
    if which == "logprob":
        with Peak() as peak, torch.no_grad():
            lp = forward(engine, model, batch)["log_probs"].values()
    else:
        model.train()
        with Peak() as peak:
            lp = forward(engine, model, batch)["log_probs"].values()
            (-lp.float().mean()).backward()
    padded = len(lengths) * max(lengths)
    tokens = sum(lengths) if packed else padded
    mask_elements = sum(lengths) ** 2 if packed else len(lengths) * max(lengths) ** 2
    return {
        "pass": which,
        "layout": layout,
        "vocab": vocab,
        "rows": len(lengths),
        "longest": max(lengths),
        "real_tokens": sum(lengths),
        "model_tokens": tokens,
        "mask_elements": mask_elements,
        "peak_gib": peak.delta / 2**30,
        "logits_copies": peak.delta / (vocab * 2 * tokens),
        "seconds": peak.seconds,
        "finite": bool(torch.isfinite(lp).all()),
    }


def run_child(which: str, layout: str, scale: dict) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "benchmarks.packed_sdpa_memory", "--child", which, layout, json.dumps(scale)]
    proc = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{which}/{layout} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _describe(scale: dict) -> str:
    lengths = worst_micro_batch(scale)
    return (
        f"{scale['rows']} rows of prompt <= {scale['prompt']} + response <= {scale['response']} tokens, "
        f"{scale['budget']}-token micro-batches; the one with the most padding: {len(lengths)} rows, longest "
        f"{max(lengths)}, {sum(lengths)} real tokens, {len(lengths) * max(lengths)} padded"
    )


def measure(scale: dict) -> list[dict]:
    lengths = worst_micro_batch(scale)
    expected = 4 * MODEL["vocab_size"] * 2 * len(lengths) * max(lengths) / 2**30
    if expected > CHILD_LIMIT_GIB:
        raise SystemExit(f"the padded micro-batch would take ~{expected:.1f} GiB (> {CHILD_LIMIT_GIB}): lower --budget")
    print(f"step: {_describe(scale)}")
    print(
        f"model: Qwen2 {MODEL['num_hidden_layers']} layers, hidden {MODEL['hidden_size']}, vocab "
        f"{MODEL['vocab_size']:,}, bf16, sdpa; peak = resident high-water mark over the pass, a fresh process each"
    )
    print(f"{'pass':<8} {'layout':<7} {'tokens':>7} {'peak GiB':>9} {'x logits':>9} {'seconds':>8}")
    results = []
    for which in ("logprob", "update"):
        row = {}
        for layout in ("padded", "packed"):
            r = row[layout] = run_child(which, layout, scale)
            results.append(r)
            print(
                f"{which:<8} {layout:<7} {r['model_tokens']:>7} {r['peak_gib']:>9.3f} {r['logits_copies']:>9.2f} "
                f"{r['seconds']:>8.1f}",
                flush=True,
            )
        print(f"{'':<8} padded/packed peak: {row['padded']['peak_gib'] / row['packed']['peak_gib']:.2f}x")
    return results


def measure_mask(scale: dict) -> list[dict]:
    print(f"\nattention mask: vocab {scale['vocab']:,}, log-prob pass; {_describe(scale)}")
    print(f"{'layout':<7} {'tokens':>7} {'mask elem':>10} {'peak MiB':>9} {'bytes/elem':>10} {'seconds':>8}")
    results = []
    for layout in ("padded", "packed"):
        r = run_child("logprob", layout, scale)
        logits = 3 * scale["vocab"] * 2 * r["model_tokens"]  # memory.LOGPROB_COPIES bf16 copies
        r["mask_bytes_per_element"] = (r["peak_gib"] * 2**30 - logits) / r["mask_elements"]
        results.append(r)
        print(
            f"{layout:<7} {r['model_tokens']:>7} {r['mask_elements']:>10,} {r['peak_gib'] * 1024:>9.1f} "
            f"{r['mask_bytes_per_element']:>10.2f} {r['seconds']:>8.1f}",
            flush=True,
        )
    return results


def print_estimates(estimates: list[dict]) -> None:
    from preflight import memory

    print(
        f"\nestimate per GPU at the real budgets (GiB; vocab {memory.VOCAB:,}, bf16; log-prob pass "
        f"{memory.LOGPROB_COPIES} x (tokens, vocab), update {memory.UPDATE_PACKED} x packed / "
        f"{memory.UPDATE_PADDED[0]} x padded + {memory.UPDATE_PADDED[1]} x real; mask {memory.MASK_BYTES} bytes per "
        "element; FSDP state 16 bytes/parameter over the GPUs; the TIR mix of preflight/memory.py)"
    )
    print(
        f"{'group':<9} {'budget':>6} {'rows/GPU':>8} {'padded tok':>10} {'packed tok':>10} {'logprob pad':>11} "
        f"{'logprob pack':>12} {'update pad':>10} {'update pack':>11} {'mask pad':>8} {'mask pack':>9} {'FSDP':>5}"
    )
    for e in estimates:
        print(
            f"{e['group']:<9} {e['budget']:>6} {e['rows_per_gpu']:>8} {e['padded_tokens']:>10,} "
            f"{e['packed_tokens']:>10,} {e['logprob_padded_gib']:>11.1f} {e['logprob_packed_gib']:>12.1f} "
            f"{e['update_padded_gib']:>10.1f} {e['update_packed_gib']:>11.1f} {e['padded_mask_gib']:>8.1f} "
            f"{e['packed_mask_gib']:>9.1f} {e['state_gib']:>5.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("PASS", "LAYOUT", "SCALE"), help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, default=SCALE["budget"], help="tokens per micro-batch (256)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--estimates-only", action="store_true", help="only the per-group estimate table")
    args = parser.parse_args()
    if args.child:
        which, layout, scale = args.child
        print(json.dumps(child(which, layout, json.loads(scale))))
        return 0
    from preflight import memory

    measured, mask = [], []
    if not args.estimates_only:
        measured = measure({**SCALE, "budget": args.budget})
        mask = measure_mask(MASK_SCALE)
    estimates = memory.table()
    print_estimates(estimates)
    if args.json:
        Path(args.json).write_text(json.dumps({"measured": measured, "mask": mask, "estimates": estimates}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
