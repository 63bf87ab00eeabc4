"""A sweep (`python -m recipes.zerotir -m ...`) checks every job before the first one starts (issue 25).

Hydra's sweeper composes every job up front but runs our checks only inside each job, so job 2's bad value used to
surface after job 1 had trained. `CheckEveryJob` is a Hydra callback (conf/zerotir.yaml `hydra.callbacks`) that, when
the multirun starts, expands the sweep as Hydra's basic sweeper does (its `params` and the command line), composes
each job's config as its launcher does, and runs `launch.check` on it: every check a launch runs before Ray
(settings, verl's validate_config, run folder, data folder, datasets, overlap). Any problem: every problem of every
job is printed, `zerotir train: <key or file>: <reason> [job i/n: <overrides>]`, and the sweep exits 1 before
anything is written (Hydra has not yet written the sweep's multirun.yaml). A dry sweep (`tir.dry_run=true`) prints
each job's summary here and exits 0, so it too writes nothing. Not checked up front: the pre-flight (the machine
each job lands on), which runs at the start of each job as in a single launch.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def job_overrides(config: DictConfig, loader: Any) -> list[list[str]]:
    """Each job's overrides, as Hydra's basic sweeper expands them (sweeper params first, then the command line)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    arguments = [*params, *OmegaConf.to_container(config.hydra.overrides.task, resolve=False)]
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return [list(job) for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def check_jobs(config: DictConfig, loader: Any) -> tuple[list[str], list[str], bool]:
    """(problem lines, job summaries, whether every job is a dry run) for the sweep `config` (with its hydra node)."""
    from recipes.zerotir import launch

    jobs = job_overrides(config, loader)
    problems, summaries, all_dry = [], [], True
    saved = HydraConfig.instance().cfg
    try:
        for number, overrides in enumerate(jobs, start=1):
            job = loader.load_sweep_config(config, list(overrides))
            HydraConfig.instance().set_config(job)  # the run name and experiment resolve from it, as in the job
            task = copy.deepcopy(job)
            with read_write(task), open_dict(task):
                del task["hydra"]
            label = f"[job {number}/{len(jobs)}: {' '.join(overrides) or 'no overrides'}]"
            try:
                cfg = launch.check(task, OmegaConf.to_container(job.hydra.overrides.task, resolve=False))
            except launch.ConfigError as err:
                problems += [f"{problem} {label}" for problem in err.problems]
                continue
            all_dry = all_dry and bool(cfg.tir.dry_run)
            summaries.append(launch.summary(cfg))
    finally:
        HydraConfig.instance().cfg = saved
    return problems, summaries, all_dry


class CheckEveryJob(Callback):
    """Hydra callback: refuse a sweep any of whose jobs would be refused, before the first job starts."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra.core.global_hydra import GlobalHydra

        from recipes.zerotir import errors

        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:  # another sweeper expands jobs its own way
            print("zerotir train: note: not Hydra's basic sweeper, so each job is checked when it starts")
            return
        problems, summaries, all_dry = check_jobs(config, GlobalHydra.instance().config_loader())
        if problems:
            errors.refuse("train", *problems)
            print(f"zerotir train: sweep refused before any job started ({len(problems)} problem(s))", file=sys.stderr)
            sys.exit(1)
        if all_dry:
            print("\n".join(summaries))
            print(f"dry run: {len(summaries)} job(s), every check passed; nothing started")
            sys.exit(0)
        print(f"zerotir train: every check passed for all {len(summaries)} job(s) of the sweep")
