"""verl's own TaskRunnerV1 in a real (local, 1-CPU) Ray actor: its process must know the "zerotir" trainer.

verl's trainer registry is per process and run_ppo looks the trainer up inside the TaskRunner actor, so
this is the one check that the registration actually travels: through the worker env the launcher builds
(`launch.verl_plugin_env`, merged by `launch.add_worker_env`) and verl's `VERL_USE_EXTERNAL_MODULES` hook.
Starting Ray costs ~20 s on a small box.
"""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from tests.fakes import REPO_ROOT


def _probe(runner) -> tuple[str, str, bool]:
    import sys

    from verl.trainer.ppo.v1 import get_trainer_cls

    cls = get_trainer_cls("zerotir")
    return cls.__qualname__, cls.__module__, "recipes.zerotir.verl_plugin" in sys.modules


def test_trainer_registry_in_verls_task_runner_process():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    from verl.trainer.main_ppo import TaskRunnerV1

    from recipes.zerotir import launch

    cfg = OmegaConf.create({"ray_kwargs": {"ray_init": {"runtime_env": {"env_vars": {"PYTHONPATH": str(REPO_ROOT)}}}}})
    launch.add_worker_env(cfg, launch.verl_plugin_env(cfg))
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env=OmegaConf.to_container(cfg.ray_kwargs.ray_init.runtime_env),
    )
    try:
        runner = TaskRunnerV1.remote()
        assert ray.get(runner.__ray_call__.remote(_probe), timeout=240) == (
            "ZeroTIRTrainer",
            "recipes.zerotir.trainer",
            True,
        )
    finally:
        ray.shutdown()
