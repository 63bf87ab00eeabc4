"""ZeroTIRTaskRunner in a real (local, 1-CPU) Ray actor: its process must know the "zerotir" trainer.

verl's trainer registry is per process and run_ppo looks the trainer up inside the TaskRunner actor, so
this is the one check that the registration actually travels. Starting Ray costs ~20 s on a small box.
"""

from __future__ import annotations

import pytest

from tests.fakes import REPO_ROOT


def _probe(runner) -> tuple[str, str]:
    from verl.trainer.ppo.v1 import get_trainer_cls

    return get_trainer_cls("zerotir").__qualname__, type(runner).__mro__[1].__module__


def test_trainer_registry_in_the_task_runner_process():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}},
    )
    try:
        from recipes.zerotir.trainer import ZeroTIRTaskRunner

        runner = ZeroTIRTaskRunner.remote()
        assert ray.get(runner.__ray_call__.remote(_probe), timeout=240) == (
            "ZeroTIRTrainer",
            "recipes.zerotir.trainer",
        )
    finally:
        ray.shutdown()
