"""The one way this recipe's code gets into verl's processes: the launcher names this module in
`VERL_USE_EXTERNAL_MODULES` for every process of a run (`recipes.zerotir.launch.train`), and `import verl` imports
it there (docs/verl.md §2.4): the TaskRunner actor, the FSDP workers, the rollout servers, the agent-loop and
reward workers.

Importing it registers what those processes look up by name, once per process:
- on a CPU run (`VERL_PLATFORM=cpu`, set by `cpu_platform.activate`), the CPU platform first, since anything
  imported after it may ask verl for the platform;
- the trainer mode "zerotir" (`recipes/zerotir/trainer.py`), which verl's unchanged `TaskRunnerV1.run` looks up
  with `get_trainer_cls(config.trainer.v1.trainer_mode)` in its own process (docs/verl.md §2.3);
- PPO's critic loader that honours the configured attention (`recipes/zerotir/value_model.py`: verl 0.9.1 asks for
  flash-attn there whatever the config says, verl issue #5210).
The agent loop and the reward function are not here: verl loads them from the config (§1.2, §3.1).
"""

import os

if os.environ.get("VERL_PLATFORM") == "cpu":
    import recipes.zerotir.cpu_platform

import recipes.zerotir.trainer  # noqa: F401
from recipes.zerotir import value_model

value_model.install()
