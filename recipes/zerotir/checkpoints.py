"""Checkpoint disk policy: keep the newest K full checkpoints (resume) plus the HF weights of every M-th step (eval).

verl's series (`global_step_N/`, its tracker, the HF weights in `global_step_N/actor/huggingface/`) is read through
runs/checkpoints.py. verl's own `max_actor_ckpt_to_keep` can only keep the newest K; `KeepPolicy` (verl's
`trainer.checkpoint_callback_class` hook, run on the driver after each save) keeps the newest K whole and trims older
multiples of `tir.checkpoint.series_every` to their HF folder, so `recipes.zerotir.eval eval.checkpoints=...` still
reads the step series. Everything else is deleted. Sizes: `estimate` (bytes per parameter said there).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from verl.trainer.ppo.checkpoint_callback import CheckpointCallback

from runs.checkpoints import ACTOR, HUGGINGFACE, has_hf_weights, hf_dir, latest_step, saved_steps

logger = logging.getLogger(__name__)

# Bytes per parameter. Full: fp32 weights (4) + Adam's two fp32 moments (8), as the issue measured (~91 GB for
# Qwen2.5-7B's 7.61B parameters). HF: verl saves the FSDP full state dict (fp32 master weights) as-is: 4.
# Not measured on a GPU run here; data.pt, extra state and the tokenizer are small and left out.
FULL_BYTES_PER_PARAM = 12
HF_BYTES_PER_PARAM = 4


@dataclass(frozen=True)
class Plan:
    full: tuple[int, ...]  # steps kept whole
    hf_only: tuple[int, ...]  # steps trimmed to actor/huggingface
    delete: tuple[int, ...]


def plan(steps: list[int], keep_last: int, series_every: int | None, latest: int | None = None) -> Plan:
    """Which saved steps stay whole, which keep only HF weights, which go. `latest` (verl's tracker) stays whole."""
    if keep_last < 1:
        raise ValueError(f"tir.checkpoint.keep_last must be >= 1 (got {keep_last}): resuming needs one")
    ordered = sorted(set(steps))
    full = set(ordered[-keep_last:]) | ({latest} if latest in ordered else set())
    series = {s for s in ordered if series_every and s % series_every == 0} - full
    delete = set(ordered) - full - series
    return Plan(tuple(sorted(full)), tuple(sorted(series)), tuple(sorted(delete)))


def trim_to_hf(step_dir: Path) -> None:
    """Delete everything in global_step_N except actor/huggingface/ (the eval harness's input)."""
    for child in step_dir.iterdir():
        if child.name == ACTOR:
            for part in child.iterdir():
                if part.name != HUGGINGFACE:
                    shutil.rmtree(part) if part.is_dir() else part.unlink()
        else:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def apply(root: str | Path, keep_last: int, series_every: int | None) -> Plan:
    """Apply `plan` to the checkpoints under `root`. A series step without HF weights is kept whole (and said):
    trimming it would leave nothing to evaluate."""
    steps = saved_steps(root)
    result = plan(list(steps), keep_last, series_every, latest_step(root))
    for step in result.hf_only:
        if has_hf_weights(hf_dir(steps[step])):
            trim_to_hf(steps[step])
        else:
            logger.warning("checkpoint %s has no HF weights; kept whole (add hf_model to save_contents)", steps[step])
    for step in result.delete:
        shutil.rmtree(steps[step])
    return result


class KeepPolicy(CheckpointCallback):
    """verl `trainer.checkpoint_callback_class`: applies `tir.checkpoint` after each (synchronous) save."""

    def on_save(self, trainer, global_step: int, checkpoint_dir: str, async_save: bool = False, **kwargs) -> None:
        if async_save:  # the files may still be in flight; the next synchronous save prunes
            return
        policy = self.config.tir.checkpoint
        done = apply(Path(checkpoint_dir).parent, int(policy.keep_last), policy.series_every)
        logger.info("checkpoints after step %d: full %s, HF only %s, deleted %s", global_step, *vars(done).values())


def save_steps(total_steps: int, save_freq: int) -> list[int]:
    """The steps verl saves at: every save_freq, and the last step."""
    if save_freq is None or save_freq <= 0 or total_steps <= 0:
        return []
    return sorted({*range(save_freq, total_steps + 1, save_freq), total_steps})


@dataclass(frozen=True)
class DiskEstimate:
    full_gb: float  # one full checkpoint (actor, plus critic when there is one)
    hf_gb: float  # one HF weights folder
    kept_full: int
    kept_hf: int
    end_gb: float  # on disk at the end of the run
    peak_gb: float  # the most at any time: K full + the one being written + the series so far

    def line(self) -> str:
        return (
            f"~{self.end_gb:.0f} GB at the end ({self.kept_full} full x {self.full_gb:.0f} GB + {self.kept_hf} HF-only "
            f"x {self.hf_gb:.0f} GB), peak ~{self.peak_gb:.0f} GB [estimate: 12 B/param full, 4 B/param HF]"
        )


def estimate(
    params_b: float,
    total_steps: int,
    save_freq: int,
    keep_last: int,
    series_every: int | None,
    critic: bool = False,
    hf_weights: bool = True,
) -> DiskEstimate:
    """Disk the run's checkpoints take under the policy, from the parameter count (no measurement)."""
    hf = params_b * HF_BYTES_PER_PARAM if hf_weights else 0.0
    full = params_b * FULL_BYTES_PER_PARAM * (2 if critic else 1) + hf
    steps = save_steps(total_steps, save_freq)
    kept = plan(steps, keep_last, series_every) if steps else Plan((), (), ())
    hf_kept = hf if hf_weights else full  # without HF weights the series steps stay whole
    end = len(kept.full) * full + len(kept.hf_only) * hf_kept
    peak = end + (full if len(steps) > keep_last else 0.0)  # the new save lands before the oldest is pruned
    return DiskEstimate(full, hf, len(kept.full), len(kept.hf_only), end, peak)


def estimate_for(cfg) -> DiskEstimate | None:
    """`estimate` for a composed run config (None without tir.params_b)."""
    params, trainer, policy = cfg.tir.get("params_b"), cfg.trainer, cfg.tir.checkpoint
    if params is None:
        return None
    return estimate(
        float(params),
        int(trainer.total_training_steps or 0),
        int(trainer.save_freq or 0),
        int(policy.keep_last),
        policy.series_every,
        critic=bool(cfg.critic.get("enable")),
        hf_weights="hf_model" in list(cfg.actor_rollout_ref.actor.checkpoint.save_contents),
    )
