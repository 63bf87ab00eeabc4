"""The `eval` config node (conf/eval/*.yaml) as a checked dataclass; every error names its `eval.<key>`.

Unknown keys fail (a typo must not silently fall back to a default), so does anything the run could only
discover hours later: an unknown dataset, template or backend, an empty sweep, a top_p outside (0, 1].
The rollout (template, stops, output cap, sandbox) is `eval.rollout`, the node training reads as `tir.rollout`
(conf/rollout/*.yaml): it is parsed once, by the stop machine's and the sandbox's own parsers
(tir_rollout.rollout_config.parse), and `EvalConfig.rollout` holds the result the runner and the sandbox build from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from data_prep import EVAL, TRAIN
from evaluation.backends import BACKENDS
from runs.layout import RunFolder
from runs.record import RunRecord
from tir_rollout import rollout_config
from tir_rollout.stop_machine import StopMachineConfig

CONF_MODEL = Path(__file__).resolve().parents[1] / "conf" / "model"
PROMPT_TOKENS = 1024  # [ref] --prompt_max_len 1024 (docs/reference.md §6); data.max_prompt_length in conf/zerotir.yaml
# [ours] trajectories in flight for the async engine: above vLLM's max_num_seqs, so that the trajectories
# waiting on the sandbox leave no engine slot idle. Not tuned on a GPU.
ASYNC_IN_FLIGHT = 512
BATCH_IN_FLIGHT = 64  # hf and vllm_offline: the batch their segments are generated in
# eval on GPUs (vllm_engine_kwargs): conf/model/*.yaml size every group for 80 GB GPUs; nvidia-smi's figure wins
GPU_MEMORY_GB = 80.0
BF16_BYTES = 2  # Qwen2.5's torch_dtype: the weights vLLM loads with dtype=auto
VLLM_MEMORY_UTILIZATION = 0.9  # vLLM's own gpu_memory_utilization default, when eval.vllm sets none
# [ours] the weight shard may take up to half of a GPU's vLLM memory, the rest is KV cache for the trajectories in
# flight (512 by default): 32B gets TP 2 on 80 GB GPUs, 7B and 14B TP 1. Not measured on a GPU.
WEIGHT_SHARE = 0.5
# Keys this node had before it shared the rollout node with training: a clear error instead of "unknown key".
RENAMED = {
    "max_new_tokens": "eval.response_length",
    "batch_size": "eval.concurrency",
    "template": "eval.rollout.template",
    "base_stops": "eval.rollout.base_stops",
    "max_output_tokens": "eval.rollout.max_output_tokens",
    "sandbox": "eval.rollout.sandbox",
    "apply_chat_template": "nothing: it follows eval.rollout.template (only `chat` uses the chat template)",
}


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
    run = RunFolder.of_checkpoint(model)
    if run is None:
        return None
    try:
        return RunRecord.read(run.path).model_group
    except (OSError, ValueError):  # a run without a readable record: the size is guessed as for any model
        return None


def _cuda_gpus() -> int:
    """CUDA devices this process sees (CUDA_VISIBLE_DEVICES applies); 0 without CUDA. Creates no CUDA context."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _gpu_memory_gb() -> float:
    """The smallest GPU's memory from nvidia-smi; GPU_MEMORY_GB when it does not answer (no CUDA context is made,
    which vLLM's workers would otherwise have to work around)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
        return min(float(line) for line in out.split()) / 1024  # MiB
    except (OSError, subprocess.SubprocessError, ValueError):
        return GPU_MEMORY_GB


def _vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


@dataclass(frozen=True)
class Machine:
    """What the eval defaults read from the machine; tests build one (or replace `detect`) instead of a GPU."""

    gpus: int
    vllm: bool
    memory_gb: float = GPU_MEMORY_GB

    @classmethod
    def detect(cls) -> Machine:
        gpus = _cuda_gpus()
        return cls(gpus, _vllm_importable(), _gpu_memory_gb() if gpus else GPU_MEMORY_GB)


def default_backend(machine: Machine | None = None) -> str:
    """eval.backend=auto: vllm when CUDA sees a GPU and vLLM imports (the async engine), else hf. Without a machine
    it asks torch and the import system only (no nvidia-smi: the GPUs' memory does not matter here)."""
    gpus, vllm = (machine.gpus, machine.vllm) if machine else (_cuda_gpus(), _vllm_importable())
    return "vllm" if gpus and vllm else "hf"


def weights_gb(model: str, group: str | None) -> float | None:
    """The model's weights as vLLM loads them: the group's parameters in bf16, else the weight files of a local
    folder (bytes on disk: never less than bf16, so never a TP too small); None when neither is known."""
    from omegaconf import OmegaConf

    if group is not None:
        params_b = OmegaConf.load(CONF_MODEL / f"{group}.yaml").tir.get("params_b")
        if params_b:
            return float(params_b) * BF16_BYTES
    folder = Path(str(model)).expanduser()
    if not folder.is_dir():
        return None
    files = list(folder.glob("*.safetensors")) or list(folder.glob("*.bin"))  # one format: vLLM loads one
    return sum(f.stat().st_size for f in files) / 1e9 if files else None


def tensor_parallel_for(weights: float, gpus: int, memory_gb: float, utilization: float) -> int:
    """The smallest power-of-two TP whose weight shard takes at most WEIGHT_SHARE of each GPU's vLLM memory (the
    rest is KV cache), capped at the visible GPUs: a 7B (15 GB) gets TP 1 on an 80 GB GPU, although training's
    rollout uses TP 2 to share the GPU with FSDP."""
    tp, budget = 1, WEIGHT_SHARE * utilization * memory_gb
    while weights / tp > budget and tp * 2 <= gpus:
        tp *= 2
    return tp


def parallel_defaults(config: EvalConfig, model: str, group: str | None, machine: Machine) -> dict[str, int]:
    """tensor_parallel_size from the visible GPUs and the model's size, and data_parallel_size over the GPUs left
    (the async engine only: vLLM's offline `LLM` refuses data_parallel_size > 1, vllm/entrypoints/llm.py). An
    explicit eval.vllm.tensor_parallel_size is kept and the data parallelism fills the rest around it. Nothing
    without a GPU (vLLM's CPU build) or when the model's size is unknown (vLLM's defaults: TP 1, one engine)."""
    if not machine.gpus:
        return {}
    tp = config.vllm.get("tensor_parallel_size")
    if tp is None:
        weights = weights_gb(model, group)
        if weights is None:
            return {}
        utilization = config.vllm.get("gpu_memory_utilization") or VLLM_MEMORY_UTILIZATION
        tp = tensor_parallel_for(weights, machine.gpus, machine.memory_gb, utilization)
    defaults = {"tensor_parallel_size": int(tp)}
    if config.backend == "vllm" and machine.gpus // int(tp) > 1:
        defaults["data_parallel_size"] = machine.gpus // int(tp)
    return defaults


def vllm_engine_kwargs(config: EvalConfig, model: str, machine: Machine | None = None) -> dict[str, Any]:
    """eval.vllm with its null values filled: tensor and data parallelism from the visible GPUs and the model's
    size (parallel_defaults), and a context of prompt + eval.response_length (at least the model group's
    max_model_len). An explicit value always wins."""
    from omegaconf import OmegaConf

    explicit = {k: v for k, v in config.vllm.items() if v is not None}
    group = model_group_for(model, config.model_group)
    defaults = parallel_defaults(config, model, group, machine or Machine.detect())
    if group is not None:
        rollout = OmegaConf.load(CONF_MODEL / f"{group}.yaml").actor_rollout_ref.rollout
        defaults["max_model_len"] = max(int(rollout.get("max_model_len") or 0), PROMPT_TOKENS + config.response_length)
    return {**defaults, **explicit}


# Each key's type (Hydra types a value by how it looks: `eval.n_samples=abc` composes as a string): checked by
# EvalConfig.from_mapping before anything else, each problem one line naming its key.
INTEGERS = {"n_samples": 1, "response_length": 1, "transcripts": 0, "seed": None}  # key: minimum (None: any)
OPTIONAL_INTEGERS = {"limit": 1, "concurrency": 1}  # null: no limit / the backend's default
NUMBERS = ("temperature", "top_p")  # ranges in EvalConfig.check
STRINGS = ("name", "backend", "data_dir", "out_dir")
OPTIONAL_STRINGS = ("model", "run_name", "model_group")
INTEGER_LISTS = {"max_tool_calls": 0, "pass_k": 1}  # key: minimum of each entry
STRING_LISTS = ("datasets", "checkpoints")
MAPPINGS = ("hf", "vllm", "wandb", "rollout")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def type_problems(raw: Mapping[str, Any]) -> list[str]:
    """`eval.<key>: <what is expected> (got <value>)` for each value of the wrong type or below its minimum."""
    found = []
    for key, value in raw.items():
        expected = None
        if key in INTEGERS or key in OPTIONAL_INTEGERS:
            low = INTEGERS.get(key, OPTIONAL_INTEGERS.get(key))
            null_ok = key in OPTIONAL_INTEGERS and value is None
            if not null_ok and (not _is_int(value) or (low is not None and value < low)):
                expected = f"an integer{f' >= {low}' if low is not None else ''}" + (
                    " or null" if key in OPTIONAL_INTEGERS else ""
                )
        elif key in NUMBERS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                expected = "a number"
        elif key in STRINGS or key in OPTIONAL_STRINGS:
            if not (isinstance(value, str) and value) and not (key in OPTIONAL_STRINGS and value is None):
                expected = "a non-empty string" + (" or null" if key in OPTIONAL_STRINGS else "")
        elif key in INTEGER_LISTS:
            low = INTEGER_LISTS[key]
            if not all(_is_int(v) and v >= low for v in value):
                expected = f"a list of integers >= {low}"
        elif key in STRING_LISTS:
            if not all(isinstance(v, str) and v for v in value):
                expected = "a list of names or paths"
        elif key in MAPPINGS and value is not None and not isinstance(value, Mapping):
            expected = f"a group of keys (eval.{key}.<key>=...)"
        if expected:
            found.append(f"eval.{key}: {expected} is expected (got {_shown(value)})")
    return found


def _shown(value: Any) -> str:
    return repr(list(value)) if isinstance(value, tuple) else repr(value)


@dataclass(frozen=True)
class EvalConfig:
    model: str | None  # local dir, cached model id, DIR/file.gguf or pkg://package/file.gguf
    name: str = "eval"  # the preset; the run name starts with it
    backend: str = "auto"  # auto: vllm where CUDA sees a GPU and vLLM imports, else hf (resolved on construction)
    # the rollout node (conf/rollout/*.yaml, as training's tir.rollout) parsed: template, the stop machine's config
    # (max_output_tokens, base_stops, ...; its max_tool_calls is replaced by each sweep point), sandbox; keys left
    # out take the parsers' defaults
    rollout: rollout_config.Rollout = field(default_factory=lambda: rollout_config.parse({}, where="eval.rollout"))
    datasets: tuple[str, ...] = ("aime24",)
    data_dir: str = "data/processed"
    limit: int | None = None  # first N problems of each dataset (demo, smoke runs)
    n_samples: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    response_length: int = 8192  # budget of one trajectory, output blocks included (training's response_length)
    max_tool_calls: tuple[int, ...] = (2,)  # the sweep: one stop machine per value (rollout.max_tool_calls replaced)
    seed: int = 42
    concurrency: int | None = None  # trajectories in flight; None: 64 (hf, vllm_offline) or 512 (vllm)
    pass_k: tuple[int, ...] = (1, 4, 8, 16, 32)
    checkpoints: tuple[str, ...] = ()
    run_name: str | None = None
    out_dir: str = "outputs/eval"
    transcripts: int = 1  # trajectories with executed code to print at the end
    hf: dict = field(default_factory=lambda: {"device": "auto", "dtype": "auto"})
    vllm: dict = field(default_factory=dict)  # extra vLLM engine arguments; nulls: from the GPUs and the model
    model_group: str | None = None  # conf/model/<group>.yaml: the model's size and max_model_len; None: guessed
    wandb: dict = field(default_factory=lambda: {"enabled": False, "project": "zerotir", "entity": None})

    def __post_init__(self) -> None:
        """eval.backend=auto becomes the backend this machine runs (default_backend): every reader sees a real one."""
        if self.backend == "auto":
            object.__setattr__(self, "backend", default_backend())

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> EvalConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = [k for k in raw if k not in known]
        if unknown:
            if unknown[0] in RENAMED:
                raise ValueError(f"eval.{unknown[0]}: no longer a key; use {RENAMED[unknown[0]]}")
            raise ValueError(f"eval.{unknown[0]}: unknown key; known keys: {', '.join(sorted(known))}")
        lists = {}
        for key, value in raw.items():  # a bare value where a list belongs is that one value, never its characters
            if key in (*INTEGER_LISTS, *STRING_LISTS):
                is_list = isinstance(value, Sequence) and not isinstance(value, str)
                value = () if value is None else tuple(value) if is_list else (value,)
            lists[key] = value
        problems = type_problems(lists)
        if problems:
            raise ValueError("\n".join(problems))
        kwargs = {}
        for key, value in lists.items():
            if key in ("hf", "vllm", "wandb"):
                value = {**cls.__dataclass_fields__[key].default_factory(), **dict(value or {})}
            if key == "rollout":  # the one parse: template, stops, output cap, sandbox, each error naming its key
                value = rollout_config.parse(dict(value or {}), where="eval.rollout")
            kwargs[key] = value
        config = cls(**kwargs)
        config.check()
        return config

    def check(self) -> None:
        if not self.model and not self.checkpoints:
            raise ValueError("eval.model: required (a local directory or cached model id), or give eval.checkpoints")
        if self.backend not in BACKENDS:
            raise ValueError(f"eval.backend must be one of {BACKENDS} or auto (got {self.backend!r})")
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
        for name in ("n_samples", "response_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval.{name} must be >= 1 (got {getattr(self, name)})")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"eval.concurrency must be >= 1 or null (got {self.concurrency})")
        if not self.max_tool_calls:
            raise ValueError(f"eval.max_tool_calls must be a non-empty list of counts >= 0 (got {self.max_tool_calls})")
        for calls in self.max_tool_calls:
            StopMachineConfig.check({"max_tool_calls": calls}, where="eval")

    @property
    def template(self) -> str:
        return self.rollout.template

    def machine_config(self, max_tool_calls: int, eos_token_ids: Sequence[int]) -> StopMachineConfig:
        """The stop machine of one sweep point: the parsed rollout's, with its max_tool_calls and the model's EOS."""
        return dataclasses.replace(
            self.rollout.machine, max_tool_calls=max_tool_calls, eos_token_ids=tuple(int(t) for t in eos_token_ids)
        )

    def in_flight(self) -> int:
        """Trajectories in flight: eval.concurrency, else 512 for the async vllm engine and 64 for the batch ones."""
        return self.concurrency or (ASYNC_IN_FLIGHT if self.backend == "vllm" else BATCH_IN_FLIGHT)

    @property
    def dtype(self) -> str:
        """The dtype the weights are loaded in: eval.hf.dtype, or eval.vllm.dtype (vLLM's `auto` when unset); a sample
        depends on it (evaluation/fingerprint.py)."""
        if self.backend == "hf":
            return str(self.hf.get("dtype") or "auto")
        return str(self.vllm.get("dtype") or "auto")

    def resolved_run_name(self) -> str:
        """eval.run_name, else `<preset>__<model>` (or `<preset>__<experiment>__<run>` for checkpoints)."""
        if self.run_name:
            return self.run_name
        if self.checkpoints:  # the run folder's last two parts, outputs/<experiment>/<run>; else the path's parent's
            path = Path(self.checkpoints[0]).resolve()
            run = RunFolder.of_checkpoint(path)
            subject = "__".join((run.path if run else path.parent).parts[-2:])
        else:
            subject = Path(str(self.model).rstrip("/")).name.removesuffix(".gguf")
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", f"{self.name}__{subject}")
