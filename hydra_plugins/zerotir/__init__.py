"""zerotir's structured configs, found by Hydra itself: Hydra imports every module under the `hydra_plugins`
namespace when it starts (the way its own launcher plugins register their configs), so importing this one stores the
rollout node's schema (`rollout/schema`, which conf/rollout/*.yaml start from) before anything composes. conf/ then
composes with Hydra's compose API on its own, with no Python call first. Resolving the composed config still needs
the recipe's resolvers (`import recipes.zerotir`) and, for the run names, Hydra's job config, as the launcher has.
"""

from tir_rollout import rollout_config

rollout_config.register()
