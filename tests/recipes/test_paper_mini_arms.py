"""The two arms of the paper in miniature differ by the tool and nothing else; seeds name their own runs."""

from omegaconf import OmegaConf

from tests.recipes.compose import make_cfg


def _flat(node, prefix=""):
    out = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= _flat(value, path + ".")
        else:
            out[path] = value
    return out


def test_the_arms_differ_only_in_the_prompt_and_the_tool_budget():
    tool = _flat(OmegaConf.to_container(make_cfg("+experiment=cpu_mini_tool"), resolve=True))
    plain = _flat(OmegaConf.to_container(make_cfg("+experiment=cpu_mini_no_tool"), resolve=True))
    differing = {k for k in tool.keys() | plain.keys() if tool.get(k) != plain.get(k)}
    naming = {"tir.experiment", "tir.run_dir", "trainer.experiment_name", "trainer.default_local_dir",
              "trainer.rollout_data_dir", "data.train_files", "data.val_files",
              "actor_rollout_ref.rollout.trace.experiment_name"}  # fmt: skip
    assert differing - naming == {"tir.rollout.template", "tir.rollout.max_tool_calls"}
    assert (tool["tir.rollout.template"], plain["tir.rollout.template"]) == ("two_style", "prose_style")
    assert (tool["tir.rollout.max_tool_calls"], plain["tir.rollout.max_tool_calls"]) == (2, 0)
    # the data are the same problems in each arm's prompt
    assert tool["data.train_files"] == [f.replace("prose_style", "two_style") for f in plain["data.train_files"]]


def test_a_seed_drives_every_random_source_and_names_its_run():
    cfg = make_cfg("+experiment=cpu_mini_tool", "tir.seed=3")
    assert cfg.tir.run_dir == "outputs/cpu_mini_tool/tir.seed=3"
    seeds = (cfg.data.seed, cfg.actor_rollout_ref.rollout.seed, cfg.actor_rollout_ref.actor.data_loader_seed,
             cfg.actor_rollout_ref.actor.fsdp_config.seed)  # fmt: skip
    assert seeds == (3, 3, 3, 3)
    default = make_cfg("+experiment=cpu_mini_tool")
    assert default.data.seed == default.actor_rollout_ref.rollout.seed == 42  # verl's defaults, unchanged


def test_the_miniature_trains_on_the_ladder_with_integer_answers():
    from data_prep import catalog

    cfg = make_cfg("+experiment=cpu_mini_tool")
    assert list(cfg.tir.train_sets) == ["arith_ladder_train"]
    assert catalog.dataset("arith_ladder_train").answer_type == "integer"
    assert cfg.reward.custom_reward_function.reward_kwargs.require_format is False
