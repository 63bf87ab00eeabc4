"""Train: `python -m recipes.zerotir +experiment=qwen7b_grpo` (add `-m` and `model=a,b` to sweep).

Composes conf/zerotir.yaml on top of verl's ppo_trainer, checks it, and hands it to verl's run_ppo with verl's
own TaskRunner. `--cfg job` prints the composed config; `tir.dry_run=true` runs every check the launch runs before
Ray and prints what each job would do, starting and writing nothing; `tir.preflight_only=true` prints the pre-flight
table. A refused launch prints `zerotir train: <key or file>: <reason>` lines and exits 1 (docs/bad_input.md).
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

import recipes.zerotir  # noqa: F401  (registers the config resolvers)
from recipes.zerotir import errors, launch


def hydra_records(cfg, hydra_cfg) -> dict[str, str]:
    """The three files Hydra wrote to .hydra/ at start-up (conf/zerotir.yaml now has it write none), as text, taken
    before the launcher resolves the config; the launch writes them once every check has passed."""
    return {
        "config.yaml": OmegaConf.to_yaml(cfg),
        "hydra.yaml": OmegaConf.to_yaml(HydraConfig.instance().cfg),
        "overrides.yaml": OmegaConf.to_yaml(hydra_cfg.overrides.task),
    }


@hydra.main(config_path="../../conf", config_name="zerotir", version_base=None)
def main(cfg) -> None:
    hydra_cfg = HydraConfig.get()
    records = hydra_records(cfg, hydra_cfg)
    overrides = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)  # a value may look like ${...}
    try:
        code = launch.main(cfg, sys.argv[1:], overrides, records)
    except launch.ConfigError as err:
        code = errors.refuse("train", *err.problems)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
