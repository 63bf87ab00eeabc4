"""What a launch checks before anything loads or is written (issue 25): the real launch, the dry run and the sweep
check (recipes/zerotir/sweep.py) all run these, so a dry run catches what the launch would refuse.

Why: verl reads most of its keys inside Ray workers, so `data.train_batch_size=0` or `trainer.total_training_steps=-5`
passed the dry run; following Hydra's own hint after a typo (`+trainer.total_training_step=5`) added a key nothing
reads and the run would have trained 550 steps; `tir.val_sets=aime24` was read one character at a time ("unknown
dataset 'a'"); and an unwritable data folder or a train/validation pair that shares problems surfaced only in the
real launch, after the pre-flight, as a traceback. Each problem here is one line, `<full key or file>: <reason>`,
and each check returns all it finds, so one command shows every mistake.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from runs.atomic import folder_problem

CONF = Path(__file__).resolve().parents[2] / "conf"
_MISSING = object()

# The verl keys the recipe depends on, each an integer >= 1 (null allowed where verl takes null: "not set").
POSITIVE = (
    ("data.train_batch_size", False),
    ("data.max_prompt_length", False),
    ("data.max_response_length", False),
    ("actor_rollout_ref.actor.ppo_mini_batch_size", False),
    ("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", True),
    ("actor_rollout_ref.actor.ppo_micro_batch_size", True),
    ("actor_rollout_ref.actor.ppo_epochs", False),
    ("actor_rollout_ref.actor.ppo_max_token_len_per_gpu", True),
    ("actor_rollout_ref.rollout.n", False),
    ("actor_rollout_ref.rollout.val_kwargs.n", False),
    ("actor_rollout_ref.rollout.prompt_length", False),
    ("actor_rollout_ref.rollout.response_length", False),
    ("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu", True),
    ("actor_rollout_ref.rollout.log_prob_micro_batch_size", True),
    ("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", True),
    ("actor_rollout_ref.ref.log_prob_micro_batch_size", True),
    ("trainer.total_training_steps", True),
    ("trainer.total_epochs", False),
    ("trainer.nnodes", False),
    ("trainer.n_gpus_per_node", False),
)
CRITIC = (  # checked where a critic is trained (critic.enable, or the gae estimator with critic.enable null)
    ("critic.ppo_mini_batch_size", False),
    ("critic.ppo_micro_batch_size_per_gpu", True),
    ("critic.ppo_epochs", False),
)
MAX_SAMPLES = ("data.train_max_samples", "data.val_max_samples")  # -1: every problem; else at least 1
WHOLE = ("trainer.save_freq", "trainer.test_freq")  # any integer: <= 0 turns saving / validation off
LIST_KEYS = ("tir.train_sets", "tir.val_sets")
# Mappings whose keys are free (handed on as keyword arguments or environment): `+key` may add anything under them.
FREE_FORM = (
    "ray_init", "runtime_env", "env_vars", "override_config", "engine_kwargs", "reward_kwargs",
    "apply_chat_template_kwargs", "mm_processor_kwargs", "sampler_kwargs", "kw_args",
)  # fmt: skip
# Keys verl 0.9.1 reads (`config.<node>.get(...)`) without declaring them in its config: `+key` may add these.
UNDECLARED = (
    "algorithm.gdpo_reward_keys", "reward.reward_kwargs", "reward.timeout", "trainer.remove_previous_ckpt_in_save",
    "actor_rollout_ref.rollout.checkpoint_manager_class",
)  # fmt: skip


class ConfigError(ValueError):
    """A launch that cannot work: one line per problem, each `<full key or file>: <reason>`."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _value(cfg: DictConfig, key: str):
    return OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _interpolated(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return isinstance(node, DictConfig) and leaf in node and OmegaConf.is_interpolation(node, leaf)


def uses_critic(cfg: DictConfig) -> bool:
    """verl's rule (need_critic) without importing verl: critic.enable, else the gae estimator."""
    enable = _value(cfg, "critic.enable")
    if enable not in (None, _MISSING):
        return bool(enable)
    return _value(cfg, "algorithm.adv_estimator") == "gae"


def list_keys(cfg: DictConfig) -> list[str]:
    """tir.train_sets / tir.val_sets as lists: a bare string would be read one character at a time."""
    found = []
    for key in LIST_KEYS:
        value = _value(cfg, key)
        if not isinstance(value, (list, ListConfig)):
            found.append(f"{key}: a list is expected; use {key}=[a,b] (got {value!r})")
        elif not value:
            found.append(f"{key}: at least one dataset is needed; use {key}=[a,b]")
    return found


def ranges(cfg: DictConfig) -> list[str]:
    """The verl keys above in range, read before anything loads; cross-checks where a value is only wrong next to
    another (a mini-batch larger than the batch, fewer samples than one batch)."""
    found: list[str] = []
    good: dict[str, int] = {}

    def read(key: str):
        try:
            return _value(cfg, key)
        except OmegaConfBaseException as err:
            reason = str(err).splitlines()[0]
            if not any(line.endswith(f": {reason}") for line in found):  # a key interpolating a bad one: named once
                found.append(f"{key}: {reason}")
            return _MISSING

    keys = [*POSITIVE, *(CRITIC if uses_critic(cfg) else ())]
    for key, nullable in keys:
        value = read(key)
        if value is _MISSING or (value is None and nullable):
            continue
        if _is_int(value) and value >= 1:
            good[key] = value
        elif not _interpolated(cfg, key):  # an interpolation (rollout.response_length) is its source's problem
            null = " or null" if nullable else ""
            found.append(f"{key}: an integer >= 1{null} is expected (got {value!r})")
    for key in MAX_SAMPLES:
        value = read(key)
        if value is _MISSING or value is None:
            continue
        if not _is_int(value) or (value < 1 and value != -1):
            found.append(f"{key}: an integer >= 1 is expected, or -1 for every problem (got {value!r})")
        else:
            good[key] = value
    for key in WHOLE:
        value = read(key)
        if value is not _MISSING and value is not None and not _is_int(value):
            found.append(f"{key}: an integer is expected (<= 0 turns it off; got {value!r})")
    batch = good.get("data.train_batch_size")
    mini = good.get("actor_rollout_ref.actor.ppo_mini_batch_size")
    if batch and mini and mini > batch and read("actor_rollout_ref.actor.use_dynamic_bsz") is False:
        found.append(
            f"actor_rollout_ref.actor.ppo_mini_batch_size: must not exceed data.train_batch_size ({mini} > {batch})"
        )
    samples = good.get("data.train_max_samples")
    if batch and samples and 0 < samples < batch:
        found.append(
            f"data.train_max_samples: {samples} problems are fewer than one batch (data.train_batch_size={batch}): "
            f"no training step could run"
        )
    return found


def _is_group(key: str) -> bool:
    """A config group of ours or verl's (`+experiment=NAME`), not a key."""
    import verl.trainer.config as verl_config

    folder = key.replace(".", "/")
    return (CONF / folder).is_dir() or (Path(verl_config.__file__).parent / folder).is_dir()


def _paths(node: DictConfig, prefix: str = "") -> Iterator[str]:
    """Every key path of a composed config, without resolving anything."""
    for key in list(node):
        path = f"{prefix}{key}"
        yield path
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            yield from _paths(child, f"{path}.")


def closest_key(base: DictConfig, parent: list[str], missing: str, key: str) -> str | None:
    """A sibling spelled like the missing key; else a key elsewhere with the same last name, the one sharing most of
    the key's other names first (`actor.ppo_mini_batch_size` -> `actor_rollout_ref.actor.ppo_mini_batch_size`)."""
    node = OmegaConf.select(base, ".".join(parent)) if parent else base
    siblings = [str(k) for k in node] if isinstance(node, DictConfig) else []
    match = difflib.get_close_matches(missing, siblings, n=1, cutoff=0.6)
    if match:
        return ".".join([*parent, match[0]])
    names = key.split(".")
    same_leaf = [p for p in _paths(base) if p.rsplit(".", 1)[-1] == names[-1]]

    def score(path: str) -> tuple[int, float]:
        shared = len(set(names[:-1]) & set(path.split(".")[:-1]))
        return shared, difflib.SequenceMatcher(None, key, path).ratio()

    return max(same_leaf, key=score, default=None)


def added_keys(overrides: list[str], compose_base: Callable[[list[str]], DictConfig]) -> list[str]:
    """`+key=value` overrides that add a key neither verl's config nor ours has (Hydra's own hint after a typo):
    nothing would read it. Hydra refuses `+` for a key that exists, so every `+key` is new; it is refused unless it
    lands in a free-form mapping (FREE_FORM, or one that is empty in the config) or is one verl reads undeclared
    (UNDECLARED). `compose_base(overrides)` composes the config without the added keys, to name the closest existing
    key. `++key` (add or override) is not checked: it is the way to add a key this check does not know."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception:  # noqa: BLE001  (Hydra refused them already when it composed; nothing to add here)
        return []
    added = [
        o
        for o in parsed
        if o.is_add() and o.package is None and o.key_or_group not in UNDECLARED and not _is_group(o.key_or_group)
    ]
    if not added:
        return []
    rest = [o.input_line for o in parsed if o not in added]
    try:
        base = compose_base(rest)
    except Exception:  # noqa: BLE001  (the other overrides need an added key: no base to compare with)
        return []
    found = []
    for override in added:
        key = override.key_or_group
        parts, node = key.split("."), base
        for i, part in enumerate(parts):
            child = node._get_node(part) if isinstance(node, DictConfig) and part in node else None
            if child is None:
                free = (isinstance(node, DictConfig) and len(node) == 0) or any(p in FREE_FORM for p in parts[:i])
                if not free:
                    found.append(_added_key_line(base, key, parts[:i], part))
                break
            node = child
    return found


def _added_key_line(base: DictConfig, key: str, parent: list[str], missing: str) -> str:
    where = "not a key" if len(parent) == len(key.split(".")) - 1 else f"{'.'.join([*parent, missing])} is not a key"
    line = f"{key}: {where} of verl's config or the recipe's, so nothing would read it"
    closest = closest_key(base, parent, missing, key)
    if closest:
        try:
            current = OmegaConf.select(base, closest)
            now = f", now {current}" if not isinstance(current, (DictConfig, ListConfig)) else ""
        except OmegaConfBaseException:
            now = ""
        line += f" (did you mean {closest}{now}?)"
    return line + "; to set an existing key leave the + off, to add one anyway use ++"


def run_folders(cfg: DictConfig) -> list[str]:
    """The run folder can be made and written: its names hold no path separator and fit a folder name."""
    found = []
    for key in ("tir.experiment", "tir.run_name"):
        value = str(_value(cfg, key))
        if "/" in value or value in ("", ".", ".."):
            found.append(f"{key}: a folder name is expected, without '/' (got {value!r})")
        elif len(value.encode()) > 255:
            found.append(
                f"{key}: {len(value.encode())} bytes, more than a folder name may have (255); put fewer keys on the "
                f"command line or name the run with tir.run_name=<name>"
            )
    if found:
        return found
    for key in ("tir.run_dir", "trainer.default_local_dir"):
        problem = folder_problem(str(_value(cfg, key)))
        if problem:
            found.append(f"{key}: {problem}")
    return found


def data_files(cfg: DictConfig) -> list[str]:
    """Each parquet file the run reads is named as data_prep names them, and the folder of any that must still be
    built can be written (nothing is built here)."""
    from data_prep.parquet import needs_build, parse_name

    found, stale = [], []
    for key in ("data.train_files", "data.val_files"):
        for i, path in enumerate(_value(cfg, key)):
            try:
                parse_name(path)
            except ValueError as err:
                found.append(f"{key}[{i}]: {err}")
                continue
            if needs_build(path):
                stale.append(Path(path))
    for folder in sorted({p.parent for p in stale}):
        problem = folder_problem(folder)
        if problem:
            names = ", ".join(p.name for p in stale if p.parent == folder)
            found.append(f"tir.data_dir: {problem}; {names} must be built there")
    return found


def datasets(cfg: DictConfig) -> list[str]:
    """Every dataset loads from its vendored raw file (checksums, row counts), and train and validation share no
    problem unless tir.allow_overlap. No file is written."""
    import data_prep

    try:
        data_prep.check_overlap(
            list(cfg.tir.train_sets), list(cfg.tir.val_sets), allow_overlap=bool(cfg.tir.allow_overlap)
        )
    except data_prep.OverlapError as err:
        text = str(err).replace("allow_overlap=true (CLI: --allow-overlap)", "tir.allow_overlap=true")
        return [f"tir.train_sets, tir.val_sets: {text}"]
    except ValueError as err:  # RawDataError names the file; a row-count mismatch names the dataset
        return [str(err)]
    except OSError as err:
        return [f"{err.filename or 'data/raw'}: {err.strerror or err}"]
    return []
