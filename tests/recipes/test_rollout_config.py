"""One rollout config (conf/rollout/), composed into training (`tir.rollout`) and evaluation (`eval.rollout`) under one
schema; the experiment name from Hydra's choice; one run folder that everything else derives from."""

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from evaluation.config import EvalConfig
from recipes.zerotir import launch, runs
from tests.recipes.compose import CONF, compose_raw, make_cfg
from tir_rollout import rollout_config
from tir_rollout.sandbox import SandboxConfig
from tir_rollout.stop_machine import StopMachineConfig

COMPOSITION_ERRORS = (ConfigCompositionException, ConfigKeyError, ValidationError)


def compose_eval(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name="eval", overrides=list(overrides))


@pytest.mark.parametrize(
    "override",
    [
        "tir.rollout.max_tool_call=4",  # a typo of max_tool_calls
        "tir.rollout.sandbox.timeout=5",  # a typo of timeout_s
        "tir.rollout.apply_chat_template=true",  # gone: it follows the template
        "tir.rollout.max_tool_calls=two",  # the schema's type
        "tir.apply_chat_template=true",
        "tir.max_tool_calls=4",  # the key's old place
    ],
)
def test_an_unknown_or_mistyped_rollout_key_fails_training_composition(override):
    with pytest.raises(COMPOSITION_ERRORS):
        compose_raw("+experiment=qwen7b_grpo", override)


@pytest.mark.parametrize("typo", ["max_tool_call: 4", "sandbox: {timeout: 5}", "apply_chat_template: true"])
def test_a_rollout_typo_in_an_experiment_file_fails_composition(tmp_path, typo):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "typo.yaml").write_text(f"# @package _global_\ntir:\n  rollout:\n    {typo}\n")
    searchpath = f"hydra.searchpath=[pkg://verl.trainer.config,file://{tmp_path}]"
    with pytest.raises(COMPOSITION_ERRORS, match="max_tool_call|timeout|apply_chat_template"):
        compose_raw(searchpath, "+experiment=typo")


def test_a_rollout_key_forced_in_with_plus_is_refused_by_the_launch_checks():
    cfg = make_cfg("+experiment=qwen7b_grpo", "+tir.rollout.max_tool_call=4")  # `+` adds past Hydra's schema
    with pytest.raises(launch.ConfigError, match=r"^tir\.rollout\.max_tool_call: unknown rollout key"):
        launch.validate(cfg)


@pytest.mark.parametrize(
    "override",
    [
        "eval.rollout.max_tool_call=4",
        "eval.rollout.sandbox.timeout=5",
        "eval.rollout.apply_chat_template=true",
        "eval.rollout.max_output_tokens=lots",
        "eval.max_new_tokens=64",  # renamed eval.response_length
        "eval.template=zero_v2",  # moved to eval.rollout.template
    ],
)
def test_an_unknown_or_mistyped_rollout_key_fails_eval_composition(override):
    with pytest.raises(COMPOSITION_ERRORS):
        compose_eval("eval=demo", override)


def test_a_variant_and_a_key_are_chosen_the_same_way_in_training_and_eval():
    train = make_cfg("+experiment=qwen7b_grpo", "rollout@tir.rollout=two_style", "tir.rollout.max_output_tokens=64")
    evaluation = compose_eval("eval=paper", "rollout@eval.rollout=two_style", "eval.rollout.max_output_tokens=64")
    assert OmegaConf.to_container(train.tir.rollout) == OmegaConf.to_container(evaluation.eval.rollout, resolve=True)
    assert train.tir.rollout.template == "two_style" and list(train.tir.rollout.base_stops) == ["Problem:"]


def test_the_papers_rollout_file_states_the_parsers_defaults():
    """conf/rollout/zero_tir.yaml spells out, with sources, what StopMachineConfig and SandboxConfig default to."""
    node = make_cfg("+experiment=qwen7b_grpo").tir.rollout
    parsed = rollout_config.parse(node, "tir.rollout")
    assert parsed.template == rollout_config.DEFAULT_TEMPLATE and parsed.chat is False
    assert parsed.machine == StopMachineConfig() and parsed.sandbox == SandboxConfig()
    assert set(rollout_config.schema().__dataclass_fields__) == {"template", *StopMachineConfig.CONFIG_KEYS, "sandbox"}


@pytest.mark.parametrize(
    ("template", "chat"), [("zero_tir", False), ("zero_v2", False), ("two_style", False), ("chat", True)]
)
def test_the_chat_template_is_derived_from_the_template(template, chat):
    cfg = make_cfg("+experiment=qwen7b_grpo", f"tir.rollout.template={template}")
    assert rollout_config.parse(cfg.tir.rollout, "tir.rollout").chat is chat
    config = EvalConfig.from_mapping(
        compose_eval("eval=paper", "eval.model=m", f"eval.rollout.template={template}").eval
    )
    assert config.rollout.chat is chat


def test_cpu_learn_is_evaluated_with_the_rollout_it_trains_with():
    train = make_cfg("+experiment=cpu_learn").tir.rollout
    trained = rollout_config.parse(train, "tir.rollout")
    evaluation = EvalConfig.from_mapping(compose_eval("eval=cpu_learn", "eval.model=m").eval).rollout
    assert trained.template == evaluation.template
    for key in ("base_stops", "max_output_tokens"):
        assert getattr(trained.machine, key) == getattr(evaluation.machine, key), key
    assert (train.template, train.max_tool_calls, train.max_output_tokens) == ("two_style", 1, 32)


@pytest.mark.parametrize(
    ("overrides", "experiment"),
    [([], "default"), (["+experiment=qwen7b_grpo"], "qwen7b_grpo"), (["+experiment=cpu_learn"], "cpu_learn")],
    ids=["none", "qwen7b_grpo", "nested-cpu_learn"],  # cpu_learn starts from cpu_smoke: the choice is still cpu_learn
)
def test_the_experiment_name_is_hydras_choice(overrides, experiment):
    assert make_cfg(*overrides).tir.experiment == experiment


def test_no_experiment_file_names_itself():
    for path in (CONF / "experiment").glob("*.yaml"):
        assert "experiment" not in (yaml.safe_load(path.read_text()).get("tir") or {}), path.name


@pytest.mark.parametrize(
    ("overrides", "run_dir"),
    [
        (["+experiment=cpu_learn"], "outputs/cpu_learn/default"),
        (["+experiment=cpu_learn", "data.train_batch_size=8"], "outputs/cpu_learn/data.train_batch_size=8"),
        (["trainer.logger=[console]"], "outputs/default/default"),  # a key that does not name the run
    ],
)
def test_one_run_folder_and_everything_derived_from_it(overrides, run_dir):
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        full = compose(config_name="zerotir", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(full)
    assert full.tir.run_dir == run_dir
    assert full.hydra.run.dir == "." and full.hydra.output_subdir is None  # Hydra writes nothing; the launch does
    assert f"{full.hydra.sweep.dir}/{full.hydra.sweep.subdir}" == f"{run_dir}/hydra"  # a -m job lands there too
    cfg = make_cfg(*overrides)
    assert runs.run_dir(cfg) == Path(run_dir)
    assert Path(cfg.trainer.default_local_dir) == (Path(run_dir) / "checkpoints").resolve()
    assert cfg.trainer.experiment_name == f"{cfg.tir.experiment}__{cfg.tir.run_name}"
    if "+experiment=cpu_learn" in overrides:
        assert cfg.trainer.rollout_data_dir == f"{run_dir}/rollouts"
