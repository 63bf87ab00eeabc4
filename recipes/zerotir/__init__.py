"""zerotir: ZeroTIR (agent RL with spontaneous code execution) as a verl 0.9.1 recipe.

Importing this package registers the OmegaConf resolvers that conf/zerotir.yaml uses, so a config can be
composed (by `python -m recipes.zerotir` or by tests) without starting anything.
"""

# verl first, before any module of this package runs: in a process whose first import is recipes.zerotir.cpu_platform
# (vLLM's plugin entry point, on a CPU run) `import verl` loads the plugin it is told to (VERL_USE_EXTERNAL_MODULES:
# recipes/zerotir/verl_plugin.py), which imports the CPU platform and then the trainer; were verl first imported from
# inside cpu_platform, the plugin would find that module half-run, its platform not yet registered, and the trainer's
# verl imports would fail with "Unknown platform 'cpu'" (tests/recipes/test_trainer_registration.py).
import verl  # noqa: F401

from recipes.zerotir.launch import register_resolvers

register_resolvers()
