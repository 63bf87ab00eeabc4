"""Compose conf/zerotir.yaml as the launcher does (Hydra compose + launch.finalize), for the recipe tests.

As in a real launch, Hydra's own config is set while the job config is resolved: the experiment name is Hydra's
`experiment` choice and the run name its override_dirname (conf/zerotir.yaml `tir.experiment`, `tir.run_name`).
"""

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import recipes.zerotir  # noqa: F401  (resolvers, the rollout schema)
from recipes.zerotir import launch

CONF = launch.REPO_ROOT / "conf"


def compose_raw(*overrides: str):
    """The job config, with Hydra's config set (HydraConfig.get()) as hydra.main leaves it for the job."""
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        cfg = compose(config_name="zerotir", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def make_cfg(*overrides: str):
    return launch.finalize(compose_raw(*overrides))
