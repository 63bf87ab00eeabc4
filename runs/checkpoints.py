"""verl's checkpoint series in a run's `checkpoints/`: the step folders, the newest step, and their HF weights.

verl writes `global_step_<N>/` at each `trainer.save_freq`, names the newest in `latest_checkpointed_iteration.txt`
(what a relaunch resumes from), and, with `hf_model` in the actor's `checkpoint.save_contents`, writes Hugging Face
weights to `global_step_<N>/actor/huggingface/`. Without it that folder still holds the config and tokenizer, so
whether a folder holds weights is asked of its files (`has_hf_weights`, the one rule the keep policy and the
evaluation share). What to keep of the series is the recipe's policy (recipes/zerotir/checkpoints.py); merging
FSDP shards into HF weights is verl's model_merger, never done here.
"""

from __future__ import annotations

import re
from pathlib import Path

STEP_PREFIX = "global_step_"
_STEP = re.compile(rf"{STEP_PREFIX}(\d+)")
TRACKER = "latest_checkpointed_iteration.txt"  # verl's record of the newest complete save
ACTOR = "actor"
HUGGINGFACE = "huggingface"
# Weight files transformers and vLLM load; config.json beside them makes a loadable model folder.
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model*.bin")


def step_dir(root: str | Path, step: int) -> Path:
    """<checkpoints>/global_step_<step>."""
    return Path(root) / f"{STEP_PREFIX}{step}"


def hf_dir(step_folder: str | Path) -> Path:
    """Where verl puts a step's Hugging Face weights: global_step_<N>/actor/huggingface."""
    return Path(step_folder) / ACTOR / HUGGINGFACE


def step_in_path(path: str | Path) -> int | None:
    """N of the last `global_step_<N>` anywhere in the path (None without one)."""
    found = _STEP.findall(str(path))
    return int(found[-1]) if found else None


def saved_steps(root: str | Path) -> dict[int, Path]:
    """{step: folder} for every `global_step_<N>` folder directly under `root` ({} when there is none)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    return {int(m.group(1)): p for p in root.iterdir() if p.is_dir() and (m := _STEP.fullmatch(p.name))}


def latest_step(root: str | Path) -> int | None:
    """verl's `latest_checkpointed_iteration.txt`: the step a relaunch resumes from (None without one)."""
    try:
        return int((Path(root) / TRACKER).read_text().strip())
    except (OSError, ValueError):
        return None


def has_hf_weights(folder: str | Path) -> bool:
    """A loadable Hugging Face model folder: config.json and at least one weight file."""
    folder = Path(folder)
    return (folder / "config.json").is_file() and any(any(folder.glob(p)) for p in WEIGHT_FILES)


def find_hf_weights(path: str | Path) -> Path | None:
    """The folder with HF weights for a model or checkpoint path: the path itself, its huggingface/, or its
    actor/huggingface/ (a step folder); None when none of them has any."""
    path = Path(path)
    for candidate in (path, path / HUGGINGFACE, hf_dir(path)):
        if has_hf_weights(candidate):
            return candidate
    return None
