"""zerotir: ZeroTIR (agent RL with spontaneous code execution) as a verl 0.9.1 recipe.

Importing this package registers the OmegaConf resolvers that conf/zerotir.yaml uses, so a config can be
composed (by `python -m recipes.zerotir` or by tests) without starting anything.
"""

from recipes.zerotir.launch import register_resolvers

register_resolvers()
