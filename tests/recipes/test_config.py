"""Every experiment composes at every model size and passes our checks and verl's validate_config."""

import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from preflight.attention import resolve_attention
from recipes.zerotir import launch, runs
from tests.recipes.compose import CONF, compose_raw, make_cfg

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
# cpu_* experiments pin their own tiny local model and run verl on CPU (tests/e2e covers them)
GPU_EXPERIMENTS = [e for e in EXPERIMENTS if not e.startswith("cpu_")]
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
SIZES_B = {"qwen0.5b": "0.5B", "qwen1.5b": "1.5B", "qwen3b": "3B", "qwen7b": "7B", "qwen14b": "14B", "qwen32b": "32B"}


def test_groups_are_complete():
    assert set(MODELS) == set(SIZES_B)
    assert {
        "qwen7b_grpo",
        "qwen32b_grpo",
        "qwen7b_ppo",
        "qwen7b_reinforce_pp",
        "qwen7b_zerorl_grpo",
        "max_calls_sweep",
        "model_size_sweep",
        "qwen0.5b_grpo_smoke",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("experiment", GPU_EXPERIMENTS)
def test_experiment_composes_and_validates_at_every_size(experiment, model, tiny_qwen2_dir):
    cfg = make_cfg(f"+experiment={experiment}", f"model={model}")
    assert cfg.actor_rollout_ref.model.path == f"Qwen/Qwen2.5-{SIZES_B[model]}"
    if cfg.critic.enable:
        # verl validates the critic by loading its model config: point it at a local folder (no Hub in tests)
        assert cfg.critic.model.path == cfg.actor_rollout_ref.model.path
        cfg.actor_rollout_ref.model.path = cfg.critic.model.path = str(tiny_qwen2_dir)
    launch.validate(cfg)
    assert cfg.tir.experiment == experiment
    assert (
        Path(cfg.trainer.default_local_dir)
        == (Path("outputs") / experiment / f"model={model}" / "checkpoints").resolve()
    )
    assert all(
        Path(f).is_absolute() and f.endswith(f".{cfg.tir.rollout.template}.parquet") for f in cfg.data.train_files
    )


@pytest.mark.parametrize(
    "experiment, key, expected",
    [
        ("qwen7b_grpo", "algorithm.adv_estimator", "grpo"),
        ("qwen7b_ppo", "algorithm.adv_estimator", "gae"),
        ("qwen7b_ppo", "critic.enable", True),
        ("qwen7b_reinforce_pp", "algorithm.adv_estimator", "reinforce_plus_plus_baseline"),
        ("qwen7b_zerorl_grpo", "tir.rollout.template", "zero_v2"),
        ("qwen7b_zerorl_grpo", "tir.rollout.max_tool_calls", 0),
        ("qwen32b_grpo", "trainer.nnodes", 8),
        ("qwen0.5b_grpo_smoke", "trainer.total_training_steps", 2),
        ("qwen0.5b_grpo_smoke", "trainer.n_gpus_per_node", 1),
    ],
    ids=lambda v: str(v),
)
def test_experiment_sets_what_it_claims(experiment, key, expected):
    assert OmegaConf.select(make_cfg(f"+experiment={experiment}"), key) == expected


@pytest.mark.parametrize(
    "key, value",
    [
        ("actor_rollout_ref.actor.optim.lr", 1e-6),
        ("actor_rollout_ref.actor.use_kl_loss", False),
        ("algorithm.use_kl_in_reward", False),
        ("actor_rollout_ref.rollout.n", 16),
        ("data.train_batch_size", 128),
        ("actor_rollout_ref.actor.ppo_mini_batch_size", 128),
        ("actor_rollout_ref.rollout.temperature", 1.0),
        ("actor_rollout_ref.actor.clip_ratio_low", 0.2),
        ("actor_rollout_ref.actor.clip_ratio_high", 0.28),
        ("tir.rollout.max_tool_calls", 2),
        ("tir.rollout.max_output_tokens", 256),
        ("tir.rollout.template", "zero_tir"),
        ("data.max_response_length", 8192),
        ("actor_rollout_ref.rollout.skip_tokenizer_init", False),
        ("actor_rollout_ref.rollout.agent.default_agent_loop", "zerotir_agent"),
        ("reward.custom_reward_function.path", "pkg://reward.zerotir"),
        ("trainer.v1.trainer_mode", "zerotir"),
    ],
    ids=lambda v: str(v),
)
def test_paper_settings(key, value):
    assert OmegaConf.select(make_cfg("+experiment=qwen7b_grpo"), key) == value


def test_validation_sets_are_the_papers():
    cfg = make_cfg("+experiment=qwen7b_grpo")
    assert [Path(f).name for f in cfg.data.val_files] == [
        f"{n}.zero_tir.parquet" for n in ("aime24", "aime25", "math500", "hmmt_feb_2025")
    ]
    assert "file" in cfg.trainer.logger and "wandb" in cfg.trainer.logger


@pytest.mark.parametrize(
    "override, key",
    [
        ("tir.rollout.max_tool_calls=-1", "tir.rollout.max_tool_calls"),
        ("tir.rollout.max_output_tokens=0", "tir.rollout.max_output_tokens"),
        ("tir.rollout.base_stops=[User:,'']", "tir.rollout.base_stops"),
        ("tir.rollout.template=zero_tirr", "tir.rollout.template"),
        ("actor_rollout_ref.rollout.n=1", "actor_rollout_ref.rollout.n"),
        ("actor_rollout_ref.rollout.skip_tokenizer_init=true", "actor_rollout_ref.rollout.skip_tokenizer_init"),
        ("tir.rollout.sandbox.backend=docker", "tir.rollout.sandbox.backend"),
        ("tir.rollout.sandbox.timeout_s=0", "tir.rollout.sandbox.timeout_s"),
        ("tir.val_sets=[aime24,aime2024]", "tir.val_sets[1]"),
        ("tir.train_sets=[aime24]", "tir.train_sets[0]"),
        ("actor_rollout_ref.rollout.max_model_len=4096", "actor_rollout_ref.rollout.max_model_len"),
    ],
)
def test_bad_config_names_the_key(override, key):
    cfg = make_cfg("+experiment=qwen7b_grpo", override)
    with pytest.raises(launch.ConfigError, match="^" + re.escape(key) + "[: ]"):
        launch.validate(cfg)


def test_run_name_comes_from_the_overrides():
    assert make_cfg("+experiment=qwen7b_grpo").tir.run_name == "default"
    cfg = make_cfg("+experiment=qwen7b_grpo", "tir.rollout.max_tool_calls=4", "trainer.logger=[console]")
    assert cfg.trainer.experiment_name == "qwen7b_grpo__tir.rollout.max_tool_calls=4"
    assert runs.run_dir(cfg) == Path("outputs/qwen7b_grpo/tir.rollout.max_tool_calls=4")


def test_worker_env_reaches_ray_init_and_keeps_existing_vars():
    cfg = make_cfg("+experiment=qwen7b_grpo", "+ray_kwargs.ray_init.runtime_env.env_vars.KEEP=yes")
    launch.add_worker_env(cfg, {"VERL_FILE_LOGGER_PATH": "/x/metrics.jsonl"})
    assert dict(cfg.ray_kwargs.ray_init.runtime_env.env_vars) == {
        "KEEP": "yes",
        "VERL_FILE_LOGGER_PATH": "/x/metrics.jsonl",
    }


@pytest.mark.parametrize("attention", ["flash", "sdpa"])
@pytest.mark.parametrize("experiment", GPU_EXPERIMENTS)
def test_attention_switch_sets_actor_ref_and_critic_alike(experiment, attention, tiny_qwen2_dir):
    cfg = make_cfg(f"+experiment={experiment}", f"attention={attention}")
    if cfg.critic.enable:
        cfg.actor_rollout_ref.model.path = cfg.critic.model.path = str(tiny_qwen2_dir)
    launch.validate(cfg)
    impl, remove_padding = {"flash": ("flash_attention_2", True), "sdpa": ("sdpa", True)}[attention]
    for model in (cfg.actor_rollout_ref.model, cfg.critic.model):  # ref loads actor_rollout_ref.model
        assert (model.override_config.attn_implementation, model.use_remove_padding) == (impl, remove_padding)
    assert cfg.tir.attention == attention


@pytest.mark.parametrize(
    "flash_ok, device, expected",
    [
        ((True, "2.8.3"), "cuda", "flash"),
        ((False, "ModuleNotFoundError"), "cuda", "sdpa"),
        ((True, "2.8.3"), "cpu", "sdpa"),
    ],
)
def test_auto_attention_is_flash_only_where_flash_attn_imports(flash_ok, device, expected):
    cfg = compose_raw("+experiment=qwen7b_ppo", f"trainer.device={device}")
    assert cfg.tir.attention == "auto"
    note = resolve_attention(cfg, flash_ok=flash_ok)
    assert cfg.tir.attention == expected and note.startswith(expected)
    impl = "flash_attention_2" if expected == "flash" else "sdpa"
    assert cfg.critic.model.override_config.attn_implementation == impl
    # packed under flash and sdpa alike on GPUs; CPU runs stay padded (measured that way)
    assert cfg.actor_rollout_ref.model.use_remove_padding is (device != "cpu")


@pytest.mark.parametrize(
    "overrides, key",
    [
        (
            ["critic.model.override_config.attn_implementation=eager"],
            "critic.model.override_config.attn_implementation",
        ),
        (["critic.model.use_remove_padding=false"], "critic.model.use_remove_padding"),
    ],
)
def test_inconsistent_attention_names_the_key(overrides, key):
    cfg = make_cfg("+experiment=qwen7b_grpo", "attention=sdpa", *overrides)
    with pytest.raises(launch.ConfigError, match="^" + re.escape(key) + ":"):
        launch.validate(cfg)


def test_run_name_ignores_are_hydras_exclude_keys():
    raw = yaml.safe_load((CONF / "zerotir.yaml").read_text())
    assert raw["hydra"]["job"]["config"]["override_dirname"]["exclude_keys"] == list(runs.RUN_NAME_IGNORES)


def test_run_overrides_keep_only_experiment_altering_keys():
    overrides = [
        "+experiment=qwen7b_grpo",
        "trainer.total_training_steps=800",
        "trainer.logger=[console]",
        "trainer.save_freq=25",
        "trainer.resume_mode=auto",
        "attention=sdpa",
        "actor_rollout_ref.actor.optim.lr=2e-6",
        "tir.rollout.max_tool_calls=4",
    ]
    assert runs.run_overrides(overrides) == ["actor_rollout_ref.actor.optim.lr=2e-6", "tir.rollout.max_tool_calls=4"]


def test_checkpoint_policy_composes_with_verls_hooks():
    from verl.utils.import_utils import load_class_from_fqn

    from recipes.zerotir.checkpoints import KeepPolicy

    cfg = make_cfg("+experiment=qwen7b_grpo")
    assert load_class_from_fqn(cfg.trainer.checkpoint_callback_class, "CheckpointCallback") is KeepPolicy
    assert "hf_model" in cfg.actor_rollout_ref.actor.checkpoint.save_contents
    assert cfg.trainer.max_actor_ckpt_to_keep is None  # verl would delete the series steps' HF folders too
    assert (cfg.tir.checkpoint.keep_last, cfg.tir.checkpoint.series_every) == (2, 50)


@pytest.mark.parametrize(
    "override, key",
    [
        ("tir.checkpoint.keep_last=0", "tir.checkpoint.keep_last"),
        ("tir.checkpoint.series_every=0", "tir.checkpoint.series_every"),
    ],
)
def test_bad_checkpoint_policy_names_the_key(override, key):
    with pytest.raises(launch.ConfigError, match="^" + re.escape(key) + ":"):
        launch.validate(make_cfg("+experiment=qwen7b_grpo", override))
