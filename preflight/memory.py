"""GPU memory of the actor's log-prob pass at a model group's token budgets: padded rows vs packed sequences.

Without flash-attn the attention choice is sdpa. verl's actor then either pads every row of a micro-batch to its
longest row (`use_remove_padding=false`) or packs the rows into one sequence whose position ids restart at each
row (`use_remove_padding=true`; transformers finds the row boundaries from the position ids under sdpa, proved on
CPU by tests/recipes/test_packed_sdpa.py). Either way the micro-batches are cut by *real* tokens
(`use_dynamic_bsz`, `*_max_token_len_per_gpu`; verl's `rearrange_micro_batches`, which this module calls), so the
padded layout turns a 32,768-token budget into whatever `rows x longest row` comes to, and the lm head's logits,
`(tokens, 151,936)` in bf16, grow with it.

What is counted (docs/gpu.md "Memory under sdpa"; the factors measured on CPU by
`python -m benchmarks.packed_sdpa_memory`):

- logits: `LOGPROB_COPIES` (3) full `(tokens, vocab)` bf16 tensors in the old-log-prob pass, which verl runs with
  `calculate_entropy=True`: the logits, and `entropy_from_logits`'s softmax and softmax*logits
  (verl/utils/torch_functional.py). The padded pass counts `rows x longest` tokens, the packed pass its real tokens.
- the attention mask: sdpa gets a dense boolean mask, `(rows, 1, S, S)` padded or `(1, 1, N, N)` packed (the
  packed one is block-diagonal but still N x N), and torch turns it into an additive bias of the query's dtype for
  each layer's call: `MASK_BYTES` (3) bytes per element. flash-attn needs none.
- the FSDP state on each GPU: fp32 weights, gradients and Adam's two moments, 16 bytes per parameter over the
  GPUs, nothing when `param_offload`/`optimizer_offload` move it to the host.

Not counted: the layers' activations (small next to the logits at these vocabularies; gradient checkpointing is on
in every group), the CUDA context and allocator slack, vLLM (asleep during the actor's passes). The TIR mix of
lengths is an assumption (`tir_mix`), not a measurement: the estimate moves with it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

from omegaconf import DictConfig, OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[1]
VOCAB = 151_936  # Qwen2.5's vocabulary (every conf/model group)
LOGIT_BYTES = 2  # bf16 (FSDP mixed precision, param_dtype bf16)
# (tokens, vocab) bf16 tensors alive at the peak, measured on CPU by benchmarks/packed_sdpa_memory.py:
LOGPROB_COPIES = 3  # old-log-prob pass: logits + softmax + softmax*logits (entropy on); measured 3.00 both layouts
UPDATE_PACKED = 3.6  # update (entropy off): logits, log_softmax rows kept for backward, their grads, the logits' grad
UPDATE_PADDED = (2.0, 2.2)  # padded update: 2 per padded token (logits, their grad) + 2.2 per real token (the rest)
MASK_BYTES = 3  # bool mask (1) + its bf16 additive bias in each sdpa call (2)
STATE_BYTES_PER_PARAM = 16  # fp32 weights + gradients + Adam m, v
GIB = 2**30
# [ours] the TIR mix of lengths, an assumption (no GPU run has measured one yet): prompts spread over 10-30 % of
# data.max_prompt_length; responses log-normal with median 15 % of data.max_response_length (about 1,230 of 8,192
# tokens) and sigma 0.9, clipped at the cap, so 4 of 256 rows (1.6 %) end at the cap. Mean response 22 % of the
# cap (1,777 tokens): many short rows, a few near the budget.
PROMPT_SPAN = (0.10, 0.30)
RESPONSE_MEDIAN = 0.15
RESPONSE_SIGMA = 0.9
MIN_RESPONSE = 0.005  # of the cap: 41 of 8,192 tokens


def tir_rows(rows: int, max_prompt: int, max_response: int) -> list[tuple[int, int]]:
    """`rows` (prompt, response) lengths, deterministic: evenly spaced quantiles of the mix above, so one GPU's share
    of a step (verl balances rows over the GPUs by length) has the whole spread of lengths."""
    out = []
    normal = NormalDist()
    lo, hi = PROMPT_SPAN
    for i in range(rows):
        frac = RESPONSE_MEDIAN * math.exp(RESPONSE_SIGMA * normal.inv_cdf((i + 0.5) / rows))
        response = min(max_response, max(1, round(max(MIN_RESPONSE, frac) * max_response)))
        spread = ((i * 7919) % rows) / max(rows - 1, 1)  # prompts spread over the rows, not sorted with them
        out.append((max(1, round(max_prompt * (lo + (hi - lo) * spread))), response))
    return out


def tir_mix(rows: int, max_prompt: int, max_response: int) -> list[int]:
    """The sequence lengths (prompt + response) of `tir_rows`: what verl's micro-batching sees."""
    return [p + r for p, r in tir_rows(rows, max_prompt, max_response)]


def micro_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """The micro-batches verl cuts from one GPU's rows (`rearrange_micro_batches`, use_dynamic_bsz, one rank):
    each holds at most `budget` real tokens, balanced by attention workload. Lists of row lengths."""
    import torch
    from verl.utils import tensordict_utils as tu
    from verl.utils.seqlen_balancing import rearrange_micro_batches

    ids = torch.nested.as_nested_tensor([torch.zeros(n, dtype=torch.int32) for n in lengths], layout=torch.jagged)
    batch = tu.get_tensordict({"input_ids": ids, "row": torch.arange(len(lengths))})
    _, partitions = rearrange_micro_batches(batch, max_token_len=budget)
    return [[lengths[i] for i in part] for part in partitions]


@dataclass(frozen=True)
class PassEstimate:
    """The worst micro-batches of one pass on one GPU: the one with the most padded tokens, the one with the most
    real tokens. Memory in GiB for the old-log-prob pass (`logprob_*`) and the update (`update_*`)."""

    budget: int  # the *_max_token_len_per_gpu of the pass
    rows_per_gpu: int
    padded_tokens: int  # rows x longest row of the micro-batch with the most padded tokens
    padded_real: int  # its real tokens
    padded_rows: int
    padded_longest: int
    packed_tokens: int  # real tokens of the fullest micro-batch (<= budget)
    vocab: int = VOCAB

    def _gib(self, tokens: float) -> float:
        return LOGIT_BYTES * self.vocab * tokens / GIB

    @property
    def logprob_padded_gib(self) -> float:
        return self._gib(LOGPROB_COPIES * self.padded_tokens)

    @property
    def logprob_packed_gib(self) -> float:
        return self._gib(LOGPROB_COPIES * self.packed_tokens)

    @property
    def update_padded_gib(self) -> float:
        padded, real = UPDATE_PADDED
        return self._gib(padded * self.padded_tokens + real * self.padded_real)

    @property
    def update_packed_gib(self) -> float:
        return self._gib(UPDATE_PACKED * self.packed_tokens)

    @property
    def padded_mask_gib(self) -> float:
        return MASK_BYTES * self.padded_rows * self.padded_longest**2 / GIB

    @property
    def packed_mask_gib(self) -> float:
        return MASK_BYTES * self.packed_tokens**2 / GIB


def estimate_pass(budget: int, rows_per_gpu: int, max_prompt: int, max_response: int,
                  vocab: int = VOCAB) -> PassEstimate:  # fmt: skip
    lengths = tir_mix(rows_per_gpu, max_prompt, max_response)
    if max(lengths) > budget:
        raise ValueError(f"a {max(lengths)}-token row does not fit the {budget}-token budget")
    parts = micro_batches(lengths, budget)
    worst = max(parts, key=lambda p: len(p) * max(p))
    return PassEstimate(
        budget=budget,
        rows_per_gpu=rows_per_gpu,
        padded_tokens=len(worst) * max(worst),
        padded_real=sum(worst),
        padded_rows=len(worst),
        padded_longest=max(worst),
        packed_tokens=max(sum(p) for p in parts),
        vocab=vocab,
    )


def group_config(group: str) -> DictConfig:
    """conf/zerotir.yaml's shared settings with conf/model/<group>.yaml on top (no Hydra: only the keys read here)."""
    base = OmegaConf.load(REPO_ROOT / "conf" / "zerotir.yaml")
    path = REPO_ROOT / "conf" / "model" / f"{group}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (REPO_ROOT / "conf" / "model").glob("*.yaml"))
        raise ValueError(f"unknown model group {group!r}; one of {', '.join(known)}")
    keep = {k: base[k] for k in ("data", "actor_rollout_ref", "trainer") if k in base}
    return OmegaConf.merge(keep, OmegaConf.load(path))


def _settings(cfg: DictConfig | dict) -> dict[str, Any]:
    def get(key: str, default=None):
        value = OmegaConf.select(cfg, key, default=default)
        return default if value is None else value

    gpus = int(get("trainer.nnodes", 1)) * int(get("trainer.n_gpus_per_node", 1))
    n = int(get("actor_rollout_ref.rollout.n", 16))
    step_rows = int(get("data.train_batch_size", 128)) * n
    mini_rows = int(get("actor_rollout_ref.actor.ppo_mini_batch_size", get("data.train_batch_size", 128))) * n
    return {
        "logprob_budget": int(get("actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu")),
        "update_budget": int(get("actor_rollout_ref.actor.ppo_max_token_len_per_gpu")),
        "rows_per_gpu": max(1, math.ceil(step_rows / gpus)),
        "update_rows_per_gpu": max(1, math.ceil(mini_rows / gpus)),
        "gpus": gpus,
        "max_prompt": int(get("data.max_prompt_length")),
        "max_response": int(get("data.max_response_length")),
        "params_b": get("tir.params_b"),
        "param_offload": bool(get("actor_rollout_ref.actor.fsdp_config.param_offload", False)),
        "optimizer_offload": bool(get("actor_rollout_ref.actor.fsdp_config.optimizer_offload", False)),
        "remove_padding": bool(get("actor_rollout_ref.model.use_remove_padding", True)),
        "impl": str(get("actor_rollout_ref.model.override_config.attn_implementation", "flash_attention_2")),
    }


def _cfg(group: str | DictConfig) -> DictConfig:
    return group_config(group) if isinstance(group, str) else group


def estimate_logprob(group: str | DictConfig, vocab: int = VOCAB) -> PassEstimate:
    """The old-log-prob pass (entropy on) at `actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu`, one GPU's
    share of a step (`data.train_batch_size x rollout.n` rows over the GPUs) of the TIR mix."""
    s = _settings(_cfg(group))
    return estimate_pass(s["logprob_budget"], s["rows_per_gpu"], s["max_prompt"], s["max_response"], vocab)


def estimate_update(group: str | DictConfig, vocab: int = VOCAB) -> PassEstimate:
    """The update's micro-batches at `actor_rollout_ref.actor.ppo_max_token_len_per_gpu`, one GPU's share of a
    mini-batch (`ppo_mini_batch_size x rollout.n` rows over the GPUs)."""
    s = _settings(_cfg(group))
    return estimate_pass(s["update_budget"], s["update_rows_per_gpu"], s["max_prompt"], s["max_response"], vocab)


def estimate_logprob_memory(group: str | DictConfig, vocab: int = VOCAB) -> tuple[float, float]:
    """(padded_gib, packed_gib): the logits memory of the old-log-prob pass's worst micro-batch on one GPU, rows
    padded to the longest (`use_remove_padding=false`) vs packed (`true`). `group` is a conf/model name
    ('qwen0.5b') or a composed run config (its experiment's overrides apply)."""
    est = estimate_logprob(group, vocab)
    return est.logprob_padded_gib, est.logprob_packed_gib


def state_gib(group: str | DictConfig) -> float:
    """FSDP state per GPU: fp32 weights and gradients (8 bytes/parameter) unless param_offload, Adam's moments
    (8) unless optimizer_offload; 0 when tir.params_b is unknown."""
    s = _settings(_cfg(group))
    if s["params_b"] is None:
        return 0.0
    per_param = (0 if s["param_offload"] else 8) + (0 if s["optimizer_offload"] else 8)
    return per_param * float(s["params_b"]) * 1e9 / s["gpus"] / GIB


@dataclass(frozen=True)
class Need:
    """The peak of one pass on one GPU, in GiB."""

    name: str  # "log-prob" | "update"
    layout: str  # "padded" | "packed"
    tokens: int  # what the model runs: rows x longest padded, real tokens packed
    logits: float
    mask: float
    state: float

    @property
    def total(self) -> float:
        return self.logits + self.mask + self.state

    def line(self) -> str:
        return (f"{self.name} ~{self.total:.0f} GiB ({self.layout}, {self.tokens:,} tokens: logits {self.logits:.1f} + "
                f"mask {self.mask:.1f} + FSDP state {self.state:.1f})")  # fmt: skip


def needs(cfg: DictConfig, packed: bool | None = None) -> list[Need]:
    """The log-prob pass and the update for the layout the config runs (or `packed`), largest first."""
    s = _settings(cfg)
    packed = s["remove_padding"] if packed is None else packed
    flash = s["impl"] == "flash_attention_2"
    state = state_gib(cfg)
    layout = "packed" if packed else "padded"
    out = []
    for name, est in (("log-prob", estimate_logprob(cfg)), ("update", estimate_update(cfg))):
        if packed:
            logits = est.logprob_packed_gib if name == "log-prob" else est.update_packed_gib
            tokens, mask = est.packed_tokens, est.packed_mask_gib
        else:
            logits = est.logprob_padded_gib if name == "log-prob" else est.update_padded_gib
            tokens, mask = est.padded_tokens, est.padded_mask_gib
        out.append(Need(name, layout, tokens, logits, 0.0 if flash else mask, state))
    return sorted(out, key=lambda n: -n.total)


def gpu_memory_gib() -> float | None:
    """The smallest visible GPU's memory from `nvidia-smi` (which creates no CUDA context in the launching process,
    unlike torch's device queries); None without it: the pre-flight's probe."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    cmd = ["nvidia-smi", "--query-gpu=index,memory.total", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return smallest_gpu_gib(out, visible)


def smallest_gpu_gib(nvidia_smi_csv: str, visible: str | None = None) -> float | None:
    """`index, MiB` lines of nvidia-smi -> the smallest GPU among CUDA_VISIBLE_DEVICES (indices; all when unset)."""
    sizes = {}
    for line in nvidia_smi_csv.strip().splitlines():
        index, _, mib = line.partition(",")
        if index.strip().isdigit() and mib.strip().replace(".", "", 1).isdigit():
            sizes[index.strip()] = float(mib) / 1024
    if visible is not None and visible.strip():
        wanted = [v.strip() for v in visible.split(",")]
        sizes = {i: g for i, g in sizes.items() if i in wanted} if all(v.isdigit() for v in wanted) else sizes
    return min(sizes.values()) if sizes else None


def largest_budget(cfg: DictConfig, gpu_gib: float, step: int = 1024) -> int | None:
    """The largest multiple of `step`, at least prompt + response and at most the configured budget, at which
    both packed passes fit `gpu_gib` (None: not even prompt + response does)."""
    s = _settings(cfg)
    floor = s["max_prompt"] + s["max_response"]
    best = None
    budget = math.ceil(floor / step) * step
    top = max(s["logprob_budget"], s["update_budget"])
    while budget <= top:
        trial = OmegaConf.merge(
            cfg,
            {
                "actor_rollout_ref": {
                    "rollout": {"log_prob_max_token_len_per_gpu": budget},
                    "actor": {"ppo_max_token_len_per_gpu": budget},
                }
            },
        )
        if needs(trial, packed=True)[0].total > gpu_gib:
            break
        best = budget
        budget += step
    return best


BUDGET_KEYS = ("actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu",
               "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu",
               "actor_rollout_ref.actor.ppo_max_token_len_per_gpu")  # fmt: skip
REMOVE_PADDING_KEYS = ("actor_rollout_ref.model.use_remove_padding", "critic.model.use_remove_padding")
HEADROOM = 0.9  # fail above the GPU's memory, warn above 90 % of it (activations, CUDA context, allocator slack)


def memory_check(cfg: DictConfig, gpu_gib: float | None) -> tuple[str, str, str]:
    """(value, verdict, fix) for the pre-flight's `memory` row: the larger of the log-prob pass and the update, for
    the layout the config runs (packed when use_remove_padding, else padded), against one GPU's memory. fail above
    it, with the keys to change; warn above 90 %; skip on CPU runs and where the GPU's memory is unknown."""
    if OmegaConf.select(cfg, "trainer.device", default="cuda") == "cpu":
        return "trainer.device=cpu", "skip", ""
    worst = needs(cfg)[0]
    if gpu_gib is None:
        return f"{worst.line()}; GPU memory unknown", "skip", "checked on the GPU workers when they start"
    value = f"{worst.line()} of {gpu_gib:.0f} GiB"
    if worst.total <= HEADROOM * gpu_gib:
        return value, "ok", ""
    if worst.total <= gpu_gib:
        return value, "warn", "under 10 % headroom: activations, the CUDA context and allocator slack are not counted"
    packed_worst = needs(cfg, packed=True)[0]
    remove_padding = " ".join(f"{k}=true" for k in REMOVE_PADDING_KEYS)
    if worst.layout == "padded" and packed_worst.total <= HEADROOM * gpu_gib:
        return value, "fail", f"{remove_padding} (packed sequences: ~{packed_worst.total:.0f} GiB; docs/gpu.md)"
    budget = largest_budget(cfg, HEADROOM * gpu_gib)
    if budget is None:
        fix = (
            "not even one prompt + response fits: more GPUs (trainer.n_gpus_per_node) or "
            "actor_rollout_ref.actor.fsdp_config.param_offload=true optimizer_offload=true"
        )
    else:
        fix = " ".join(f"{k}={budget}" for k in BUDGET_KEYS)
    if worst.layout == "padded":
        fix = f"{remove_padding} and {fix}"
    return value, "fail", fix


def table(groups: list[str] | None = None, vocab: int = VOCAB) -> list[dict[str, Any]]:
    """One row per conf/model group at its own budgets: the worst micro-batches and the estimates (GiB)."""
    groups = groups or sorted((p.stem for p in (REPO_ROOT / "conf" / "model").glob("*.yaml")),
                              key=lambda g: float(re.sub(r"[^0-9.]", "", g)))  # fmt: skip
    rows = []
    for group in groups:
        cfg = group_config(group)
        s = _settings(cfg)
        lp, up = estimate_logprob(cfg, vocab), estimate_update(cfg, vocab)
        rows.append({
            "group": group, "budget": lp.budget, "max_len": s["max_prompt"] + s["max_response"],
            "rows_per_gpu": lp.rows_per_gpu, "padded_rows": lp.padded_rows, "padded_tokens": lp.padded_tokens,
            "packed_tokens": lp.packed_tokens,
            "logprob_padded_gib": lp.logprob_padded_gib, "logprob_packed_gib": lp.logprob_packed_gib,
            "update_padded_gib": up.update_padded_gib, "update_packed_gib": up.update_packed_gib,
            "padded_mask_gib": lp.padded_mask_gib, "packed_mask_gib": lp.packed_mask_gib,
            "state_gib": state_gib(cfg),
        })  # fmt: skip
    return rows
