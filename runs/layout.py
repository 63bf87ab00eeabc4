"""What a training run's folder holds, and where: `outputs/<experiment>/<run>/` and the names inside it.

The folder's own path is computed once, by the config (`tir.run_dir` in conf/zerotir.yaml, from Hydra's experiment
choice and override_dirname); this module names what lies inside it, so that the launcher that writes it, the
evaluation that reads a checkpoint's run.json and the analysis that reads its logs agree on one set of names.
verl's checkpoint series inside `checkpoints/` is runs/checkpoints.py. Nothing here creates a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHECKPOINTS = "checkpoints"  # verl's trainer.default_local_dir = ${tir.run_dir}/checkpoints (conf/zerotir.yaml)
HYDRA = "hydra"  # Hydra's job folder (hydra.sweep.subdir, conf/zerotir.yaml)
HYDRA_RECORDS_DIR = (
    f"{HYDRA}/.hydra"  # Hydra's own record of the launch, written by the launcher (recipes/zerotir/runs)
)
HYDRA_RECORDS = ("config.yaml", "hydra.yaml", "overrides.yaml")  # the composed config, Hydra's settings, the command
METRICS = "metrics"  # verl's file logger, one <launch time>.jsonl per launch (VERL_FILE_LOGGER_PATH)
ROLLOUTS = "rollouts"  # trainer.rollout_data_dir where an experiment keeps them (cpu_learn): <step>.jsonl
WANDB = "wandb"  # W&B's offline-run-* folders
RUN_JSON = "run.json"  # the run's record (runs/record.py)


class _Inside:
    """A RunFolder attribute naming one entry of the folder: `RunFolder(p).checkpoints` is `p / "checkpoints"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, folder: RunFolder | None, owner: type) -> Path:
        return folder.path / self.name


@dataclass(frozen=True)
class RunFolder:
    """One run's folder; each entry is a path inside it, whether or not it exists yet."""

    path: Path
    checkpoints = _Inside(CHECKPOINTS)
    hydra_records = _Inside(HYDRA_RECORDS_DIR)
    metrics = _Inside(METRICS)
    rollouts = _Inside(ROLLOUTS)
    wandb = _Inside(WANDB)
    run_json = _Inside(RUN_JSON)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def metric_files(self) -> list[Path]:
        """metrics/*.jsonl in launch order (their names are the launch times)."""
        return sorted(self.metrics.glob("*.jsonl"))

    @classmethod
    def of_checkpoint(cls, path: str | Path) -> RunFolder | None:
        """The run folder a checkpoint path lies in (`.../<run>/checkpoints/global_step_N/...`); None for a path
        outside any run's checkpoints/ (a model folder given directly)."""
        parts = Path(path).parts
        if CHECKPOINTS not in parts:
            return None
        return cls(Path(*parts[: parts.index(CHECKPOINTS)]))
