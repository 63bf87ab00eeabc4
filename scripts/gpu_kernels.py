"""The actor's forward and backward on one device, as the configs set attention, without FSDP, vLLM or network.

For each attention setting of the composed experiment (attention=flash and attention=sdpa: the
`attn_implementation` and `use_remove_padding` of actor_rollout_ref.model), a small random-weight Qwen2 (built
from a config, the vendored tokenizer) computes the response log-probs of a padded batch of mixed lengths the way
verl's actor does: padded with an attention mask, or packed (verl's unpad_input + position ids) with remove-padding.
Then a backward of the token-mean loss; gradients must be finite. Where both settings ran, their log-probs are
compared. flash needs CUDA and flash-attn; on CPU only sdpa runs (and eager, as the comparison). Exit 1 on a failure.
The `kernels` stage of scripts/gpu_check.py; `python scripts/gpu_kernels.py --device cpu` exercises it without a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch

# [ours] bf16 log-prob agreement between kernels; a loose bound, not calibrated on a GPU yet.
TOLERANCE = {torch.bfloat16: 0.1, torch.float32: 1e-3}


def settings(experiment: str) -> dict[str, tuple[str, bool]]:
    """{attention: (attn_implementation, use_remove_padding)} as the composed experiment sets them."""
    from hydra import compose, initialize_config_dir

    import recipes.zerotir  # noqa: F401  (resolvers)

    out = {}
    for attention in ("flash", "sdpa"):
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
            cfg = compose(config_name="zerotir", overrides=[f"+experiment={experiment}", f"attention={attention}"])
        model = cfg.actor_rollout_ref.model
        out[attention] = (model.override_config.attn_implementation, bool(model.use_remove_padding))
    return out


def batch(vocab: int, device: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids of mixed lengths (48..512 tokens) and their attention mask."""
    gen = torch.Generator().manual_seed(seed)
    lengths = [512, 48, 300, 129]
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(0, vocab, (n,), generator=gen)
        mask[row, :n] = 1
    return ids.to(device), mask.to(device)


def log_probs(model, ids: torch.Tensor, mask: torch.Tensor, remove_padding: bool) -> torch.Tensor:
    """Log-prob of each next token (B, S-1), padded positions 0; packed like verl when remove_padding."""
    from verl.utils.attention_utils import index_first_axis, pad_input, unpad_input

    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    if remove_padding:
        ids_rmpad, indices, *_ = unpad_input(ids.unsqueeze(-1), mask)
        pos_rmpad = index_first_axis(positions.unsqueeze(-1).flatten(0, 1), indices)  # (total, 1)
        logits = model(input_ids=ids_rmpad.transpose(0, 1), position_ids=pos_rmpad.transpose(0, 1), use_cache=False)
        logits = logits.logits.float()[0]  # (total, vocab)
        full = pad_input(logits, indices, ids.shape[0], ids.shape[1])  # (B, S, vocab)
    else:
        full = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits.float()
    lp = torch.log_softmax(full[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return lp * mask[:, 1:]


def run_one(model_dir: str, impl: str, remove_padding: bool, device: str, dtype: torch.dtype) -> dict:
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)  # the same random weights for every setting
    config = AutoConfig.from_pretrained(model_dir)  # the configs' vocabulary; a few layers of head_dim 64
    config.update({"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "num_key_value_heads": 2, "head_dim": 64, "layer_types": ["full_attention"] * 2})  # fmt: skip
    model = AutoModelForCausalLM.from_config(config, attn_implementation=impl, dtype=dtype).to(device)
    ids, mask = batch(model.config.vocab_size, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    lp = log_probs(model, ids, mask, remove_padding)
    loss = -lp.sum() / mask[:, 1:].sum()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    finite = bool(grads) and all(torch.isfinite(g).all() for g in grads)
    if device == "cuda":
        torch.cuda.synchronize()
    return {
        "impl": impl,
        "remove_padding": remove_padding,
        "loss": round(loss.item(), 5),
        "grads_finite": finite,
        "seconds": round(time.perf_counter() - start, 3),
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if device == "cuda" else None,
        "log_probs": lp.detach().cpu(),
        "mask": mask[:, 1:].cpu(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a small Qwen2 folder (built there when missing)")
    parser.add_argument("--experiment", default="qwen7b_grpo")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if not (Path(args.model_dir) / "config.json").is_file():
        from tests.fakes import write_tiny_qwen2_folder

        write_tiny_qwen2_folder(Path(args.model_dir))
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    runs, failures = {}, []
    wanted = settings(args.experiment)
    skipped = None
    if args.device != "cuda":
        skipped = "flash: CUDA-only"
    else:
        from preflight.attention import flash_importable

        ok, detail = flash_importable()
        skipped = None if ok else f"flash: flash-attn not importable ({detail})"
    if skipped:  # compare sdpa with eager instead
        wanted = {"sdpa": wanted["sdpa"], "eager": ("eager", False)}
    for name, (impl, remove_padding) in wanted.items():
        try:
            runs[name] = run_one(args.model_dir, impl, remove_padding, args.device, dtype)
        except Exception as err:  # noqa: BLE001 - reported per setting
            failures.append(f"{name} ({impl}, remove_padding={remove_padding}): {type(err).__name__}: {err}")
            continue
        if not runs[name]["grads_finite"]:
            failures.append(f"{name}: non-finite gradients")
    report = {name: {k: v for k, v in r.items() if k not in ("log_probs", "mask")} for name, r in runs.items()}
    if len(runs) == 2:
        (a, ra), (b, rb) = runs.items()
        diff = (ra["log_probs"] - rb["log_probs"]).abs()[ra["mask"].bool()]
        report["agreement"] = {"pair": f"{a} vs {b}", "max_abs": diff.max().item(), "mean_abs": diff.mean().item()}
        if diff.max().item() > TOLERANCE[dtype]:
            failures.append(f"log-probs of {a} and {b} differ by up to {diff.max().item():.4g} (> {TOLERANCE[dtype]})")
    header = {"device": args.device, "dtype": str(dtype), "experiment": args.experiment, "skipped": skipped}
    print(json.dumps({**header, **report}, indent=1))
    for failure in failures:
        print(f"gpu_kernels: FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
