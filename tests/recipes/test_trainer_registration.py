"""The one way into verl's processes: `launch.train` hands verl's own TaskRunnerV1 to run_ppo, and every process of
the run imports recipes/zerotir/verl_plugin.py through verl's `VERL_USE_EXTERNAL_MODULES` hook (docs/verl.md §2.4).

The fresh-process tests start a Python that has imported nothing, as a Ray worker is, and let `import verl` do the
rest (~10 s each). The Ray actor check is tests/tir_rollout/test_task_runner_ray.py; the whole run is tests/e2e.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from recipes.zerotir import launch
from tests.fakes import REPO_ROOT
from tests.recipes.compose import make_cfg

PLUGIN = "recipes.zerotir.verl_plugin"
EXTERNAL = "VERL_USE_EXTERNAL_MODULES"


def _runtime_env(env_vars: dict | None = None):
    return OmegaConf.create({"ray_kwargs": {"ray_init": {"runtime_env": {"env_vars": env_vars or {}}}}})


def test_plugin_env_names_the_plugin_after_modules_already_named(monkeypatch):
    monkeypatch.delenv(EXTERNAL, raising=False)
    assert launch.verl_plugin_env(_runtime_env()) == {EXTERNAL: PLUGIN}
    assert launch.verl_plugin_env(_runtime_env({EXTERNAL: "a.b, c"})) == {EXTERNAL: f"a.b,c,{PLUGIN}"}
    assert launch.verl_plugin_env(_runtime_env({EXTERNAL: f"{PLUGIN},a.b"})) == {EXTERNAL: f"{PLUGIN},a.b"}
    monkeypatch.setenv(EXTERNAL, "mine")  # a module named in the launching shell is kept too
    assert launch.verl_plugin_env(_runtime_env()) == {EXTERNAL: f"mine,{PLUGIN}"}


def test_train_hands_verls_task_runner_over_with_the_plugin_in_every_workers_env(monkeypatch, tmp_path):
    from verl.trainer import main_ppo

    for key in (EXTERNAL, "VERL_FILE_LOGGER_PATH", "WANDB_MODE", "WANDB_DIR", "WANDB_API_KEY"):
        monkeypatch.setenv(key, "")  # train() writes os.environ: restored after the test
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # logging_env makes outputs/<experiment>/<run>/metrics
    calls = []
    monkeypatch.setattr(main_ppo, "run_ppo", lambda cfg, task_runner_class: calls.append((cfg, task_runner_class)))
    cfg = make_cfg("+experiment=qwen7b_grpo", "+ray_kwargs.ray_init.runtime_env.env_vars.KEEP=yes")

    launch.train(cfg)

    ((passed, runner),) = calls
    assert runner is main_ppo.TaskRunnerV1  # verl's own, unchanged
    env_vars = passed.ray_kwargs.ray_init.runtime_env.env_vars
    assert env_vars[EXTERNAL] == os.environ[EXTERNAL] == PLUGIN
    assert env_vars.KEEP == "yes" and env_vars.VERL_FILE_LOGGER_PATH.endswith(".jsonl")
    metrics = Path(env_vars.VERL_FILE_LOGGER_PATH).parent  # the run folder's metrics/, made before verl writes there
    assert metrics.is_dir() and metrics == Path(passed.tir.run_dir).resolve() / "metrics"


def _fresh_python(code: str, **env: str) -> str:
    """Run `code` in a new interpreter with this environment plus `env`; its last line of output."""
    base = {k: v for k, v in os.environ.items() if k not in ("VERL_PLATFORM", EXTERNAL)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=REPO_ROOT,
        env={**base, **launch.verl_plugin_env(_runtime_env()), **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def test_import_verl_registers_the_trainer_mode_and_not_the_cpu_platform():
    """What a Ray worker of a GPU run does: `import verl` (verl/__init__.py) imports the plugin, which registers the
    "zerotir" trainer mode for verl's unchanged `get_trainer_cls` and the critic loader; the CPU platform stays out."""
    code = (
        "import sys, verl\n"
        "from verl.trainer.ppo.v1 import get_trainer_cls\n"
        "from verl.utils import model\n"
        "print(get_trainer_cls('zerotir').__module__, 'recipes.zerotir.cpu_platform' in sys.modules,\n"
        "      getattr(model.load_valuehead_model, 'zerotir_configured_attention', False))"
    )
    assert _fresh_python(code) == "recipes.zerotir.trainer False True"  # and PPO's critic loader (value_model.py)


@pytest.mark.parametrize(
    "first_import",
    ["import verl", "import recipes.zerotir.cpu_platform"],  # a Ray worker's order; vLLM's plugin entry point's
)
def test_on_a_cpu_run_the_platform_comes_with_the_trainer_mode(first_import):
    code = (
        f"{first_import}\n"
        "import torch.distributed\n"
        "from verl.plugin.platform.platform_manager import get_platform\n"
        "from verl.trainer.ppo.v1 import get_trainer_cls\n"
        "print(get_trainer_cls('zerotir').__module__, get_platform().device_name,\n"
        "      getattr(torch.distributed.init_process_group, '_zerotir_cpu', False))"
    )
    assert _fresh_python(code, VERL_PLATFORM="cpu") == "recipes.zerotir.trainer cpu True"
