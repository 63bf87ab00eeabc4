"""Train: `python -m recipes.zerotir +experiment=qwen7b_grpo` (add `-m` and `model=a,b` to sweep).

Composes conf/zerotir.yaml on top of verl's ppo_trainer, checks it, and hands it to verl's run_ppo with verl's
own TaskRunner. `--cfg job` prints the composed config; `tir.dry_run=true` checks a run or a sweep
and prints what each job would do, starting nothing; `tir.preflight_only=true` prints the pre-flight table.
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig

import recipes.zerotir  # noqa: F401  (registers the config resolvers)
from recipes.zerotir import launch


@hydra.main(config_path="../../conf", config_name="zerotir", version_base=None)
def main(cfg) -> None:
    try:
        code = launch.main(cfg, sys.argv[1:], list(HydraConfig.get().overrides.task))
    except launch.ConfigError as err:
        print(f"zerotir: config error: {err}", file=sys.stderr)
        code = 1
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
