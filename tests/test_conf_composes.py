"""conf/ composes with Hydra's own compose API on its own, the way a third party (a notebook, a test harness, another
recipe) composes it: a fresh interpreter that imports nothing of ours gets the launcher's config, schema included
(issue #27: it failed with "Could not load 'rollout/schema'" unless `tir_rollout.rollout_config.register()` ran
first; hydra_plugins/zerotir/ now registers it through Hydra's own plugin discovery)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import recipes.zerotir  # noqa: F401  (the launcher's resolvers; composing does not need them)
from recipes.zerotir import launch

CONF = launch.REPO_ROOT / "conf"
TRAIN, EVAL = ["+experiment=cpu_learn"], ["eval=demo"]

# Everything the fresh interpreter runs: Hydra's compose API on the conf directory, nothing of ours imported.
THIRD_PARTY = f"""
import json, sys
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

out = {{}}
with initialize_config_dir(config_dir=sys.argv[1], version_base=None):
    out["train"] = OmegaConf.to_yaml(compose("zerotir", overrides={TRAIN!r}))
    out["eval"] = OmegaConf.to_yaml(compose("eval", overrides={EVAL!r}))
    try:
        compose("zerotir", overrides=["tir.rollout.max_tool_calls=two"])
    except Exception as err:
        out["refused"] = f"{{type(err).__name__}}: {{err}}"
print(json.dumps(out))
"""


def third_party(tmp_path) -> dict[str, str]:
    """Run THIRD_PARTY in a clean interpreter outside the checkout, which is importable as an install makes it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HYDRA"))}
    env["PYTHONPATH"] = str(launch.REPO_ROOT)
    done = subprocess.run(
        [sys.executable, "-c", THIRD_PARTY, str(CONF)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fresh_interpreter_composes_what_the_launcher_composes(tmp_path):
    found = third_party(tmp_path)
    assert found["train"] == OmegaConf.to_yaml(launch.compose_base(TRAIN))
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        assert found["eval"] == OmegaConf.to_yaml(compose("eval", overrides=EVAL))
    # the schema is there, not only the YAML: a value of the wrong type fails when Hydra composes
    assert "tir.rollout.max_tool_calls" in found["refused"] and "two" in found["refused"]
