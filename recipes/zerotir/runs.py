"""Runs and resuming: which overrides name a run, whether a launch resumes it, and what a new run is not.

The run folder is `tir.run_dir` = `outputs/<experiment>/<run>` (conf/zerotir.yaml; `run_dir` reads it, Hydra's
`hydra/` and verl's `trainer.default_local_dir` = `<run_dir>/checkpoints` derive from it; what lies inside it is
runs/layout.py, its run.json runs/record.py). verl resumes from its
checkpoints (`resume_mode: auto`); the experiment is Hydra's `experiment` choice and the run is named by Hydra's
override_dirname. Keys that do not change what is trained are left out of the
name (conf/zerotir.yaml `exclude_keys` = `RUN_NAME_IGNORES`), so a relaunch with more steps or another logger
resumes; any other override names a new run, and the launch says which existing runs it differs from.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from runs.atomic import write_atomic
from runs.checkpoints import latest_step
from runs.layout import HYDRA_RECORDS, RunFolder
from runs.record import RunRecord

# Overrides that do not change what is trained: a relaunch that differs only in these resumes the same run.
# The same list is hydra.job.config.override_dirname.exclude_keys in conf/zerotir.yaml (a test keeps them equal).
RUN_NAME_IGNORES = (
    "experiment", "attention", "tir.dry_run", "tir.preflight_only", "tir.preflight",
    "tir.checkpoint.keep_last", "tir.checkpoint.series_every", "actor_rollout_ref.actor.checkpoint.save_contents",
    "trainer.total_training_steps", "trainer.total_epochs", "trainer.logger", "trainer.save_freq", "trainer.test_freq",
    "trainer.val_before_train", "trainer.log_val_generations", "trainer.resume_mode", "trainer.resume_from_path",
    "trainer.rollout_data_dir",
)  # fmt: skip


def run_dir(cfg: DictConfig) -> Path:
    """outputs/<experiment>/<run>: the one run folder (`tir.run_dir`); everything the run writes goes under it."""
    return Path(cfg.tir.run_dir)


def override_key(override: str) -> str:
    """`+a.b=1` -> `a.b` (Hydra's override syntax: optional +, ++ or ~ prefix)."""
    return override.lstrip("+~").split("=", 1)[0]


def run_overrides(overrides: list[str]) -> list[str]:
    """The command-line overrides that define the run (those not in RUN_NAME_IGNORES), sorted as Hydra names it."""
    return sorted(o for o in overrides if override_key(o) not in RUN_NAME_IGNORES)


def resume_note(cfg: DictConfig, overrides: list[str] | None = None) -> str:
    """Say whether this launch resumes, and, for a new run, which runs of the experiment it is not (and why).
    `overrides`: this launch's command-line overrides (default: what the run folder recorded)."""
    ckpt = Path(cfg.trainer.default_local_dir)
    step = latest_step(ckpt)
    name = f"{cfg.tir.experiment}/{cfg.tir.run_name}"
    if cfg.trainer.resume_mode == "disable":
        return f"run {name}: starting at step 0 (trainer.resume_mode=disable)"
    if cfg.trainer.resume_mode == "resume_path":
        return f"run {name}: resuming from {cfg.trainer.resume_from_path} (trainer.resume_mode=resume_path)"
    if step:
        return f"run {name}: resuming from step {step} ({ckpt}), up to step {cfg.trainer.total_training_steps}"
    lines = [f"run {name}: new run, starting at step 0 (no checkpoint in {ckpt})"]
    folder = run_dir(cfg)
    mine = set(run_overrides(overrides) if overrides is not None else _recorded_overrides(folder))
    experiment_dir = folder.parent
    siblings = sorted(p for p in experiment_dir.iterdir() if p.is_dir()) if experiment_dir.is_dir() else []
    for other in (p for p in siblings if p.name != folder.name):
        other_step = latest_step(RunFolder(other).checkpoints)
        if other_step:
            theirs = set(_recorded_overrides(other))
            diff = ", ".join([*(f"+{o}" for o in sorted(mine - theirs)), *(f"-{o}" for o in sorted(theirs - mine))])
            lines.append(
                f"  not resuming {cfg.tir.experiment}/{other.name} (step {other_step}): overrides differ: {diff}"
            )
    if len(lines) > 1:
        lines.append("  these overrides change the experiment; relaunch with that run's overrides to continue it")
    return "\n".join(lines)


def _recorded_overrides(run_folder: Path) -> list[str]:
    """The overrides run.json recorded; for a run that recorded none, its folder's name (Hydra's override_dirname)."""
    try:
        overrides = RunRecord.read(run_folder).overrides
    except (OSError, ValueError):
        overrides = None
    if overrides is None:
        return [] if run_folder.name == "default" else [run_folder.name]
    return list(overrides)


def record_run(cfg: DictConfig, overrides: list[str]) -> None:
    """outputs/<experiment>/<run>/run.json: the experiment and run name as resolved (the analysis names the run by
    them, never by its folder: scaling/discover.py), the overrides that define the run (read by later launches'
    notes), the model group (eval reads it) and the model path as given (the run name escapes its `/`:
    launch.run_name)."""
    RunRecord(
        experiment=str(cfg.tir.experiment),
        run_name=str(cfg.tir.run_name),
        overrides=tuple(run_overrides(overrides)),
        model_group=cfg.tir.get("model_name"),
        model_path=str(cfg.actor_rollout_ref.model.path),
    ).write(run_dir(cfg))


def record_hydra(cfg: DictConfig, records: dict[str, str]) -> None:
    """<run>/hydra/.hydra/{config,hydra,overrides}.yaml, Hydra's own record of the launch (the analysis reads the
    config). Hydra writes nothing itself (conf/zerotir.yaml `hydra.output_subdir: null`): it wrote these before the
    launcher ran, so a refused or dry launch rewrote an existing run's records. Now the launch writes them once every
    check has passed, each atomically (HYDRA_RECORDS: what Hydra itself used to write at start-up)."""
    folder = RunFolder(run_dir(cfg)).hydra_records
    for name in HYDRA_RECORDS:
        if name in records:
            write_atomic(folder / name, records[name])
