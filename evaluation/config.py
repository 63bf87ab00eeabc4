"""The `eval` config node (conf/eval/*.yaml) as a checked dataclass; every error names its `eval.<key>`.

Unknown keys fail (a typo must not silently fall back to a default), so does anything the run could only
discover hours later: an unknown dataset, template or backend, an empty sweep, a top_p outside (0, 1].
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from data_prep import EVAL, TRAIN
from evaluation.backends import BACKENDS
from evaluation.problems import template_names
from evaluation.runner import DEFAULT_BASE_STOPS, SweepSettings

CONF_MODEL = Path(__file__).resolve().parents[1] / "conf" / "model"
PROMPT_TOKENS = 1024  # [ref] --prompt_max_len 1024 (docs/reference.md §6); data.max_prompt_length in conf/zerotir.yaml
# [ours] trajectories in flight for the async engine: above vLLM's max_num_seqs, so that the trajectories
# waiting on the sandbox leave no engine slot idle. Not tuned on a GPU.
ASYNC_IN_FLIGHT = 512


def model_group_for(model: str, explicit: str | None = None) -> str | None:
    """The conf/model group of `model`: explicit, else the group whose model path ends like `model`, else the one
    a training run recorded in its run.json (for a checkpoint under .../<run>/checkpoints/global_step_N)."""
    if explicit:
        if not (CONF_MODEL / f"{explicit}.yaml").is_file():
            names = sorted(p.stem for p in CONF_MODEL.glob("*.yaml"))
            raise ValueError(f"eval.model_group: unknown group {explicit!r}; one of {', '.join(names)}")
        return explicit
    from omegaconf import OmegaConf

    name = Path(str(model).rstrip("/")).name
    for path in sorted(CONF_MODEL.glob("*.yaml")):
        if Path(str(OmegaConf.load(path).actor_rollout_ref.model.path)).name == name:
            return path.stem
    parts = Path(model).parts
    if "checkpoints" in parts:
        run_json = Path(*parts[: parts.index("checkpoints")]) / "run.json"
        try:
            return json.loads(run_json.read_text()).get("model_group")
        except (OSError, ValueError):
            return None
    return None


def vllm_engine_kwargs(config: EvalConfig, model: str) -> dict[str, Any]:
    """eval.vllm with its null values filled from the model group: the tensor parallel size the group's rollout
    uses and a context of prompt + eval.max_new_tokens (at least the group's max_model_len)."""
    from omegaconf import OmegaConf

    explicit = {k: v for k, v in config.vllm.items() if v is not None}
    group = model_group_for(model, config.model_group)
    if group is None:
        return explicit
    rollout = OmegaConf.load(CONF_MODEL / f"{group}.yaml").actor_rollout_ref.rollout
    defaults = {"tensor_parallel_size": int(rollout.tensor_model_parallel_size)}
    defaults["max_model_len"] = max(int(rollout.get("max_model_len") or 0), PROMPT_TOKENS + config.max_new_tokens)
    return {**defaults, **explicit}


@dataclass(frozen=True)
class EvalConfig:
    model: str | None  # local dir, cached model id, DIR/file.gguf or pkg://package/file.gguf
    name: str = "eval"  # the preset; the run name starts with it
    backend: str = "hf"
    template: str = "zero_tir"
    apply_chat_template: bool | None = None  # None: only for the chat template
    datasets: tuple[str, ...] = ("aime24",)
    data_dir: str = "data/processed"
    limit: int | None = None  # first N problems of each dataset (demo, smoke runs)
    n_samples: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 8192
    max_output_tokens: int = 256
    base_stops: tuple[str, ...] = DEFAULT_BASE_STOPS
    max_tool_calls: tuple[int, ...] = (2,)
    seed: int = 42
    batch_size: int | None = None  # trajectories in flight; None: 64 (hf, vllm_offline) or 512 (vllm)
    pass_k: tuple[int, ...] = (1, 4, 8, 16, 32)
    checkpoints: tuple[str, ...] = ()
    run_name: str | None = None
    out_dir: str = "outputs/eval"
    transcripts: int = 1  # trajectories with executed code to print at the end
    sandbox: dict = field(default_factory=dict)  # as tir.sandbox in conf/zerotir.yaml
    hf: dict = field(default_factory=lambda: {"device": "auto", "dtype": "auto"})
    vllm: dict = field(default_factory=dict)  # extra vLLM engine arguments; null values come from the model group
    model_group: str | None = None  # conf/model/<group>.yaml for vLLM's TP and max_model_len; None: guessed
    wandb: dict = field(default_factory=lambda: {"enabled": False, "project": "zerotir", "entity": None})

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> EvalConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = [k for k in raw if k not in known]
        if unknown:
            raise ValueError(f"eval.{unknown[0]}: unknown key; known keys: {', '.join(sorted(known))}")
        kwargs = {}
        for key, value in raw.items():
            if key in ("datasets", "base_stops", "max_tool_calls", "pass_k", "checkpoints") and value is not None:
                value = (value,) if isinstance(value, (str, int)) else tuple(value)
            if key in ("sandbox", "hf", "vllm", "wandb"):
                value = {**cls.__dataclass_fields__[key].default_factory(), **dict(value or {})}
            kwargs[key] = value
        config = cls(**kwargs)
        config.check()
        return config

    def check(self) -> None:
        if not self.model and not self.checkpoints:
            raise ValueError("eval.model: required (a local directory or cached model id), or give eval.checkpoints")
        if self.backend not in BACKENDS:
            raise ValueError(f"eval.backend must be one of {BACKENDS} (got {self.backend!r})")
        if self.template not in template_names():
            raise ValueError(f"eval.template must be one of {template_names()} (got {self.template!r})")
        for dataset in self.datasets:
            if dataset not in EVAL + TRAIN:
                raise ValueError(f"eval.datasets: unknown dataset {dataset!r}; valid: {', '.join(EVAL)}")
        if not self.datasets:
            raise ValueError("eval.datasets: empty; give at least one, e.g. [aime24]")
        if not 0 < self.top_p <= 1 or self.temperature < 0:
            raise ValueError(
                f"eval.top_p must be in (0, 1] and eval.temperature >= 0 (got {self.top_p}, {self.temperature})"
            )
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"eval.limit must be >= 1 or null (got {self.limit})")
        if self.model_group:
            model_group_for("", self.model_group)
        self.settings()  # range checks of the sweep settings

    def settings(self) -> SweepSettings:
        return SweepSettings(
            n_samples=self.n_samples,
            max_tool_calls=tuple(int(t) for t in self.max_tool_calls),
            max_new_tokens=self.max_new_tokens,
            max_output_tokens=self.max_output_tokens,
            base_stops=tuple(self.base_stops),
            seed=self.seed,
            concurrency=self.batch_size or (ASYNC_IN_FLIGHT if self.backend == "vllm" else 64),
            apply_chat_template=self.apply_chat_template,
        )

    def sampling_fingerprint(self, model: str) -> dict[str, Any]:
        """What a sample depends on; a resumed run must match it (n_samples, datasets and the sweep may grow)."""
        return {
            "model": model,
            "template": self.template,
            "apply_chat_template": self.apply_chat_template,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "max_output_tokens": self.max_output_tokens,
            "base_stops": list(self.base_stops),
        }

    def resolved_run_name(self) -> str:
        """eval.run_name, else `<preset>__<model>` (or `<preset>__<experiment>__<run>` for checkpoints)."""
        if self.run_name:
            return self.run_name
        if self.checkpoints:
            parts = Path(self.checkpoints[0]).resolve().parts
            anchor = parts.index("checkpoints") if "checkpoints" in parts else len(parts) - 1
            subject = "__".join(parts[max(0, anchor - 2) : anchor])
        else:
            subject = Path(str(self.model).rstrip("/")).name.removesuffix(".gguf")
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", f"{self.name}__{subject}")
