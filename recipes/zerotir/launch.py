"""From a composed Hydra config to a verl run: run names, absolute paths, start-up checks, data, launch.

Kept apart from `__main__` so tests can drive every step on CPU with `hydra.compose`. Training logic stays
in verl (run_ppo) and in our recipe trainer (recipes/zerotir/trainer.py); nothing here is copied from verl.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from preflight.attention import check_attention, resolve_attention
from recipes.zerotir import checks, runs
from recipes.zerotir.checks import ConfigError
from recipes.zerotir.runs import run_dir
from runs.layout import RunFolder

REPO_ROOT = Path(__file__).resolve().parents[2]
# Estimators whose baseline is the group of rollout.n samples of one prompt.
GROUP_ESTIMATORS = ("grpo", "reinforce_plus_plus_baseline", "rloo", "grpo_passk")
VERL_PLUGIN = "recipes.zerotir.verl_plugin"  # what every process of a run imports (train, verl_plugin_env)

NO_GPU_MESSAGE = """\
zerotir: no CUDA GPU is visible, so training was not started (Ray was not started either).
  This run needs {gpus} GPU(s): trainer.nnodes={nnodes} x trainer.n_gpus_per_node={per_node}, with vLLM for rollouts.
  Without GPUs:   make demo                 (the whole TIR loop on a small embedded model, on CPU)
  See the config: python -m recipes.zerotir {args} --cfg job"""


def parquet_paths(data_dir: str, sets: ListConfig | list | str, template: str) -> ListConfig:
    """`data/processed/<dataset>.<template>.parquet` for each dataset name (the data_prep naming)."""
    names = [sets] if isinstance(sets, str) else list(sets)
    return ListConfig([f"{data_dir}/{name}.{template}.parquet" for name in names])


def run_name(override_dirname: str | None) -> str:
    """The run is named by what was overridden on the command line; 'default' when nothing was. A value's path
    separators are escaped (`/` as `%2F`, `%` as `%25`), so `actor_rollout_ref.model.path=/data/models/Qwen2.5-7B/`
    names one folder instead of nesting five; the override itself is in the run's run.json and hydra records."""
    return (override_dirname or "default").replace("%", "%25").replace("/", "%2F")


def experiment_name(*, _root_: DictConfig) -> str:
    """The experiment is Hydra's choice in the `experiment` group (`+experiment=NAME`); 'default' without one.
    Read from the config's own `hydra` node while Hydra composes (its sweeper resolves hydra.sweep.dir before any
    job exists), from Hydra's job config afterwards (the job config has no `hydra` node)."""
    if "hydra" in _root_:
        choices = _root_.hydra.runtime.choices
    else:
        from hydra.core.hydra_config import HydraConfig

        choices = HydraConfig.get().runtime.choices
    return choices.get("experiment") or "default"


def register_resolvers() -> None:
    """The resolvers conf/zerotir.yaml uses, and the rollout node's schema (conf/rollout/*.yaml start from it). Hydra
    registers the schema itself (hydra_plugins/zerotir/); registering it here too keeps the launcher working where
    an older install of the package does not list hydra_plugins."""
    from tir_rollout import rollout_config

    OmegaConf.register_new_resolver("zerotir_parquet", parquet_paths, replace=True)
    OmegaConf.register_new_resolver("zerotir_run_name", run_name, replace=True)
    OmegaConf.register_new_resolver("zerotir_experiment", experiment_name, replace=True)
    rollout_config.register()


def _abs(path: str) -> str:
    return str(Path(path).expanduser().resolve()) if path else path


def finalize(cfg: DictConfig) -> DictConfig:
    """Fill the attention choice, make every path absolute (Ray workers may run elsewhere), resolve interpolations
    (the experiment and run names come from Hydra's choices and override_dirname: Hydra's config must be set)."""
    note = resolve_attention(cfg)
    with open_dict(cfg):
        cfg.tir.attention_note = note
        cfg.tir.data_dir = _abs(cfg.tir.data_dir)
        cfg.trainer.default_local_dir = _abs(cfg.trainer.default_local_dir)
        agent = cfg.actor_rollout_ref.rollout.agent
        agent.agent_loop_config_path = _abs(str(REPO_ROOT / agent.agent_loop_config_path))
    OmegaConf.resolve(cfg)
    return cfg


def _fail(key: str, problem: str) -> None:
    raise ConfigError(f"{key}: {problem}")


def validate(cfg: DictConfig) -> None:
    """Our checks (recipe keys and the verl keys the recipe depends on, with the full key path), then verl's own
    validate_config, whose failures become one line too. Runs before Ray."""
    found = [*checks.list_keys(cfg), *checks.ranges(cfg)]
    if found:
        raise ConfigError(*found)
    tir, rollout = cfg.tir, cfg.actor_rollout_ref.rollout
    from tir_rollout import rollout_config

    try:  # the stop machine's and the sandbox's own parsers; their messages start with the full key path
        rollout_config.parse(tir.rollout, where="tir.rollout")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    import data_prep

    for key, known in (("train_sets", data_prep.TRAIN), ("val_sets", data_prep.EVAL)):
        for i, name in enumerate(tir[key]):
            if name not in known:
                _fail(f"tir.{key}[{i}]", f"unknown dataset {name!r}; one of {', '.join(known)}")
    if cfg.algorithm.adv_estimator in GROUP_ESTIMATORS and rollout.n < 2:
        _fail("actor_rollout_ref.rollout.n", f"must be > 1 for {cfg.algorithm.adv_estimator} (got {rollout.n})")
    if rollout.skip_tokenizer_init:
        _fail("actor_rollout_ref.rollout.skip_tokenizer_init", "must be false: string stops need the detokenizer")
    if rollout.response_length > cfg.data.max_response_length:
        _fail("actor_rollout_ref.rollout.response_length", "must not exceed data.max_response_length")
    if rollout.max_model_len is not None and rollout.max_model_len < rollout.prompt_length + rollout.response_length:
        _fail(
            "actor_rollout_ref.rollout.max_model_len",
            f"{rollout.max_model_len} < prompt_length + response_length "
            f"({rollout.prompt_length} + {rollout.response_length})",
        )
    if found := check_attention(cfg):
        raise ConfigError(*found)
    if not isinstance(tir.checkpoint.keep_last, int) or tir.checkpoint.keep_last < 1:
        _fail(
            "tir.checkpoint.keep_last",
            f"must be an integer >= 1: resuming needs a full checkpoint (got {tir.checkpoint.keep_last!r})",
        )
    if tir.checkpoint.series_every is not None and (
        not isinstance(tir.checkpoint.series_every, int) or tir.checkpoint.series_every < 1
    ):
        _fail("tir.checkpoint.series_every", f"must be an integer >= 1 or null (got {tir.checkpoint.series_every!r})")
    if not Path(rollout.agent.agent_loop_config_path).is_file():
        _fail(
            "actor_rollout_ref.rollout.agent.agent_loop_config_path",
            f"no such file: {rollout.agent.agent_loop_config_path}",
        )

    from hydra.errors import InstantiationException
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    except (AssertionError, ValueError, InstantiationException) as err:  # verl's config classes refuse when built
        raise ConfigError(verl_problem(err)) from None
    except OSError as err:  # the critic's model config is read from its model path
        raise ConfigError(f"critic.model.path: {str(err).splitlines()[0]}") from None


def verl_problem(err: BaseException) -> str:
    """One line for a refusal of verl's validate_config, led by the node it was building (Hydra's `full_key`), else
    by the first full key its message names."""
    node = re.search(r"full_key: (\S+)", str(err))
    text = " ".join(str(err.__cause__ if node and err.__cause__ else err).split())
    key = node or re.search(r"\b((?:data|actor_rollout_ref|critic|trainer|algorithm|reward)(?:\.\w+)+)", text)
    return f"{key.group(1) if key else 'config'}: {text} (verl's validate_config)"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def no_gpu_message(cfg: DictConfig, argv: list[str]) -> str:
    nnodes, per_node = cfg.trainer.nnodes, cfg.trainer.n_gpus_per_node
    args = " ".join(a for a in argv if not a.startswith("--cfg")) or "+experiment=qwen7b_grpo"
    return NO_GPU_MESSAGE.format(gpus=nnodes * per_node, nnodes=nnodes, per_node=per_node, args=args)


def prepare_data(cfg: DictConfig) -> None:
    """Build the parquet files the run reads (no-op when up to date); `check` has refused a contaminated pair and an
    unwritable folder already, so what fails here (a full disk) is one line naming the file."""
    import data_prep

    try:
        for path in [*cfg.data.train_files, *cfg.data.val_files]:
            data_prep.ensure_parquet(path)
    except OSError as err:
        raise ConfigError(f"{err.filename or cfg.tir.data_dir}: {err.strerror or err}") from None
    except ValueError as err:  # a raw file changed since `check` read it
        raise ConfigError(str(err)) from None


def compose_base(overrides: list[str]) -> DictConfig:
    """conf/zerotir.yaml composed with `overrides` (checks.added_keys compares the command's keys with it), through
    the running Hydra when there is one (the launch, the sweep check), else through a fresh one (tests)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name="zerotir", overrides=overrides)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base=None):
        return compose(config_name="zerotir", overrides=overrides)


def check(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """Every check a launch runs before Ray, in the order it runs them; the dry run and the sweep check run exactly
    these. Settings first (added keys, list keys, ranges: nothing loaded yet), then the config as verl reads it
    (finalize, validate), then what the launch would write and read (run folder, data folder, raw datasets,
    train/validation overlap). Raises ConfigError with every problem of the first stage that finds any; returns the
    finalized config. Writes nothing."""
    found = [*checks.added_keys(overrides, compose_base), *checks.list_keys(cfg), *checks.ranges(cfg)]
    if found:
        raise ConfigError(*found)
    try:
        cfg = finalize(cfg)
    except OmegaConfBaseException as err:  # an interpolation that does not resolve, or a value of the wrong type
        raise ConfigError(f"{getattr(err, 'full_key', None) or 'config'}: {str(err).splitlines()[0]}") from None
    validate(cfg)
    found = [*checks.run_folders(cfg), *checks.data_files(cfg)]
    found += checks.datasets(cfg) if not found else []
    if found:
        raise ConfigError(*found)
    return cfg


def logging_env(cfg: DictConfig) -> dict[str, str]:
    """Env for the trainer's Ray workers: the file logger writes one JSONL per launch (verl's FileLogger
    truncates its file, so a resumed run must not reuse the path); W&B stays offline without an API key."""
    out = RunFolder(run_dir(cfg).resolve())
    env = {"VERL_FILE_LOGGER_PATH": str(out.metrics / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl")}
    out.metrics.mkdir(parents=True, exist_ok=True)
    if "WANDB_API_KEY" not in os.environ and "WANDB_MODE" not in os.environ:
        env["WANDB_MODE"] = "offline"
    env.setdefault("WANDB_DIR", str(out.path))  # W&B makes its wandb/ folder (RunFolder.wandb) inside it
    return env


def add_worker_env(cfg: DictConfig, env: dict[str, str]) -> None:
    """Put `env` into Ray's runtime_env for every worker, keeping what is there (the one runtime_env merge: the
    launcher's and the CPU platform's variables; setdefault on a DictConfig would return a copy)."""
    with open_dict(cfg):
        ray_init = cfg.ray_kwargs.ray_init
        ray_init.runtime_env = OmegaConf.merge(ray_init.get("runtime_env") or {}, {"env_vars": env})


def verl_plugin_env(cfg: DictConfig) -> dict[str, str]:
    """`VERL_USE_EXTERNAL_MODULES` naming recipes/zerotir/verl_plugin.py after any modules already named there (in
    the config's runtime_env or this process's environment): verl imports them in each process (docs/verl.md §2.4)."""
    name = "VERL_USE_EXTERNAL_MODULES"
    current = OmegaConf.select(cfg, f"ray_kwargs.ray_init.runtime_env.env_vars.{name}") or os.environ.get(name, "")
    modules = [m.strip() for m in str(current).split(",") if m.strip()]
    return {name: ",".join(modules if VERL_PLUGIN in modules else [*modules, VERL_PLUGIN])}


def train(cfg: DictConfig) -> None:
    """Launch verl's own TaskRunnerV1 (it finds our trainer mode through `verl_plugin_env`); each call gets its
    own Ray lifetime (multirun-safe)."""
    import ray
    from verl.trainer.main_ppo import TaskRunnerV1, run_ppo

    env = {**logging_env(cfg), **verl_plugin_env(cfg)}
    os.environ.update(env)
    add_worker_env(cfg, env)
    try:
        run_ppo(cfg, task_runner_class=TaskRunnerV1)
    finally:
        if ray.is_initialized():
            ray.shutdown()


def summary(cfg: DictConfig) -> str:
    """One screen that says what a run would do: printed by dry runs and at the start of every run."""
    t, r = cfg.tir, cfg.actor_rollout_ref.rollout
    return "\n".join(
        [
            f"zerotir run {t.experiment}/{t.run_name}",
            (
                f"  model      {cfg.actor_rollout_ref.model.path} ({cfg.trainer.nnodes} x "
                f"{cfg.trainer.n_gpus_per_node} GPUs, rollout TP {r.tensor_model_parallel_size})"
            ),
            (
                f"  algorithm  {cfg.algorithm.adv_estimator}, {cfg.data.train_batch_size} prompts x {r.n} samples, "
                f"lr {cfg.actor_rollout_ref.actor.optim.lr}"
            ),
            (
                f"  TIR        template {t.rollout.template}, max {t.rollout.max_tool_calls} tool calls, response "
                f"{r.response_length} tokens, sandbox {t.rollout.sandbox.backend}"
            ),
            f"  data       train {', '.join(t.train_sets)}; val {', '.join(t.val_sets)}",
            f"  attention  {t.get('attention_note', t.get('attention'))}",
            f"  checkpoints {checkpoint_line(cfg)}",
            f"  outputs    {run_dir(cfg)}",
        ]
    )


def checkpoint_line(cfg: DictConfig) -> str:
    t = cfg.tir.checkpoint
    if not cfg.trainer.save_freq or cfg.trainer.save_freq <= 0:
        return "none (trainer.save_freq <= 0)"
    return (
        f"every {cfg.trainer.save_freq} steps; newest {t.keep_last} kept whole, HF weights of steps at multiples of "
        f"{t.series_every}: {disk_line(cfg)}"
    )


def disk_line(cfg: DictConfig) -> str:
    from recipes.zerotir.checkpoints import estimate_for

    est = estimate_for(cfg)
    return est.line() if est else "no estimate (tir.params_b unset)"


def preflight_gate(cfg: DictConfig, argv: list[str]) -> int:
    """Run the pre-flight and print its table; 0 to go on, 2 when a check fails (before Ray starts)."""
    import preflight
    from recipes.zerotir.checkpoints import estimate_for

    checks = preflight.run_checks(cfg, disk=estimate_for(cfg))
    print(preflight.table(checks))
    bad = preflight.failed(checks)
    if not bad:
        return 0
    if any(c.name == "gpus" and c.value.startswith("0 visible") for c in bad):
        print(no_gpu_message(cfg, argv), file=sys.stderr)
    print(f"zerotir: pre-flight failed: {', '.join(c.name for c in bad)} (the table above says what to change)",
          file=sys.stderr)  # fmt: skip
    return 2


def main(
    cfg: DictConfig, argv: list[str], overrides: list[str] | None = None, records: dict[str, str] | None = None
) -> int:
    """One launch. `overrides`: the command line's (Hydra's task overrides; argv without them); `records`: Hydra's
    config files by name (config.yaml, hydra.yaml, overrides.yaml), written to <run>/hydra/.hydra/ only once every
    check has passed, so a refused or dry launch leaves an existing run's records as they were."""
    overrides = overrides if overrides is not None else argv
    if cfg.trainer.device == "cpu":  # explicit opt-in by conf/experiment/cpu_*.yaml: docs/cpu_trainer.md
        from recipes.zerotir import cpu_models

        # Built (seconds, on first use) before the checks, a dry run's included: verl's validate_config reads the
        # critic's model config from this folder, so a PPO experiment was refused on a checkout without it.
        try:
            cpu_models.use_cpu_model(cfg)
        except ValueError as err:  # an unknown tir.cpu_model: the message names the key and the known models
            raise ConfigError(str(err)) from None
    cfg = check(cfg, overrides)
    print(summary(cfg))
    if cfg.tir.dry_run:
        print("dry run: every check passed (config, run folder, data folder, datasets, overlap); nothing started")
        return 0
    if cfg.tir.preflight_only:
        return preflight_gate(cfg, argv)
    if cfg.trainer.device == "cpu":  # explicit opt-in by conf/experiment/cpu_*.yaml: docs/cpu_trainer.md
        from recipes.zerotir import cpu_platform

        cpu_platform.check_kv_cache(cfg)
        add_worker_env(cfg, cpu_platform.activate())
    elif cfg.tir.preflight and (code := preflight_gate(cfg, argv)):
        return code
    elif not cfg.tir.preflight and not cuda_available():
        print(no_gpu_message(cfg, argv), file=sys.stderr)
        return 2
    print(runs.resume_note(cfg, overrides))
    prepare_data(cfg)
    try:
        runs.record_run(cfg, overrides)
        runs.record_hydra(cfg, records or {})
    except OSError as err:
        raise ConfigError(f"{err.filename or run_dir(cfg)}: {err.strerror or err}") from None
    train(cfg)
    return 0
