"""Compose conf/zerotir.yaml as the launcher does (Hydra compose + launch.finalize), for the recipe tests."""

from hydra import compose, initialize_config_dir

import recipes.zerotir  # noqa: F401  (resolvers)
from recipes.zerotir import launch

CONF = launch.REPO_ROOT / "conf"


def compose_raw(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name="zerotir", overrides=list(overrides))


def make_cfg(*overrides: str, override_dirname: str | None = None):
    return launch.finalize(compose_raw(*overrides), override_dirname)
