"""Find runs on disk or in W&B and give each its identity and comparison attributes.

A run is the folder `outputs/<experiment>/<run>/` (identity from the path); it is read from its file-logger
JSONL, else from W&B offline folders inside it. Attributes (tool, model, algorithm, max tool calls) come from
its Hydra config (`hydra/.hydra/config.yaml`, `tir.*`), else from names like `qwen7b_zerorl_grpo`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

from scaling import evallog, filelog, wandb_logs
from scaling.run import LogError, Run

log = logging.getLogger(__name__)

ATTRIBUTES = ("tool", "model", "algorithm", "max_tool_calls")
_ALGORITHMS = ("reinforce_pp", "grpo", "ppo")


def attributes_from_config(config: dict) -> dict[str, str]:
    """Comparison attributes from a composed config's `tir` section (Hydra file or W&B run config)."""
    tir = config.get("tir") if isinstance(config, dict) else None
    if not isinstance(tir, dict):
        return {}
    out = {}
    # the rollout knobs live in `tir.rollout` (conf/rollout/); runs made before it kept them in `tir` itself
    rollout = tir.get("rollout") if isinstance(tir.get("rollout"), dict) else tir
    for source, key, name in (
        (tir, "model_name", "model"),
        (tir, "algorithm_name", "algorithm"),
        (rollout, "template", "template"),
    ):
        if isinstance(source.get(key), str) and "${" not in source[key]:
            out[name] = source[key]
    if isinstance(rollout.get("max_tool_calls"), int):
        out["max_tool_calls"] = str(rollout["max_tool_calls"])
    if "template" in out or "max_tool_calls" in out:
        no_tool = out.get("template") == "zero_v2" or out.get("max_tool_calls") == "0"
        out["tool"] = "no tool" if no_tool else "tool"
    return out


def attributes_from_names(experiment: str, run: str) -> dict[str, str]:
    """Best-effort attributes from `<model>_<algorithm>[_<variant>]` and Hydra's `k=v,k=v` run name."""
    exp = re.sub(r"^synthetic[_-]", "", experiment)
    out: dict[str, str] = {}
    if m := re.match(r"(qwen[\d.]+b)", exp):
        out["model"] = m.group(1)
    for algo in _ALGORITHMS:
        if re.search(rf"(^|_){algo}($|_)", exp):
            out["algorithm"] = algo
            break
    out["tool"] = "no tool" if "zerorl" in exp else "tool"
    for part in run.split(","):
        key, _, value = part.partition("=")
        if key in ("model", "+model"):
            out["model"] = value
        elif key in ("algorithm", "+algorithm"):
            out["algorithm"] = value
        elif key in ("tir.rollout.max_tool_calls", "tir.max_tool_calls"):  # the second: runs before conf/rollout/
            out["max_tool_calls"] = value
            out["tool"] = "no tool" if value == "0" else out["tool"]
        elif key in ("tir.rollout.template", "rollout@tir.rollout", "tir.template"):
            out["tool"] = "no tool" if value == "zero_v2" else "tool"
    return out


def read_hydra_config(run_dir: Path) -> dict:
    path = Path(run_dir) / "hydra" / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        log.warning("%s: unreadable Hydra config (%s); attributes come from the run path", path, err)
        return {}


def read_run_dir(run_dir: Path) -> Run:
    """A run folder `.../<experiment>/<run>/` from its metrics/*.jsonl, else its W&B offline folders."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LogError(run_dir, "no such run folder")
    experiment, name = run_dir.parent.name, run_dir.name
    config = read_hydra_config(run_dir)
    files = filelog.metric_files(run_dir)
    if files:
        table, synthetic, notes = filelog.table_from_files(files)
    elif folders := wandb_logs.offline_folders(run_dir):
        table, _, wb_config = wandb_logs.offline_table(folders)
        config, synthetic, notes = config or wb_config, bool(wb_config.get("synthetic")), []
    else:
        raise LogError(run_dir, "no metrics/*.jsonl (verl file logger) and no W&B offline run folder inside")
    attrs = attributes_from_names(experiment, name) | attributes_from_config(config)
    synthetic = synthetic or experiment.startswith("synthetic")
    return Run(experiment, name, run_dir, table, attrs, synthetic, notes)


def run_from_wandb(table, identity: dict[str, str], config: dict, source: Path | str) -> Run:
    """A W&B run: verl names it `<experiment>__<run>` (trainer.experiment_name)."""
    experiment, _, name = identity.get("name", "").partition("__")
    experiment, name = experiment or identity.get("id", "wandb"), name or "default"
    attrs = attributes_from_names(experiment, name) | attributes_from_config(config)
    return Run(experiment, name, Path(str(source)), table, attrs, bool(config.get("synthetic")))


def is_run_dir(path: Path) -> bool:
    return bool(filelog.metric_files(path)) or bool(list(Path(path).glob("wandb/offline-run-*/run-*.wandb")))


def is_run_input(path: Path) -> bool:
    """What `load` reads as a run: a run folder, a W&B offline run folder, or one file-logger JSONL. A glob over an
    experiment folder also matches its `analysis/` and `eval/`; this is how they are told apart."""
    path = Path(path)
    if path.is_file():
        return path.suffix == ".jsonl"
    return path.is_dir() and (is_run_dir(path) or any(path.glob("run-*.wandb")))


def is_eval_input(path: Path) -> bool:
    """What `load` reads as an eval summary: an accuracy_vs_step-style .json, .jsonl or .csv file."""
    return Path(path).is_file() and Path(path).suffix in (".json", ".jsonl", ".csv")


def find_under(root: Path) -> tuple[list[Path], list[Path]]:
    """(run folders, eval summaries) under `root`: any folder with metrics/*.jsonl or wandb/offline-run-*."""
    root = Path(root)
    if not root.is_dir():
        raise LogError(root, "no such folder to search for runs")
    candidates = {p.parent.parent for p in root.glob("**/metrics/*.jsonl")}
    candidates |= {p.parent.parent.parent for p in root.glob("**/wandb/offline-run-*/run-*.wandb")}
    evals = []
    for folder in sorted({p.parent for p in root.glob("**/accuracy_vs_step.*")}):
        found = [folder / f"accuracy_vs_step{ext}" for ext in (".json", ".jsonl", ".csv")]
        evals += [p for p in found if p.is_file()][:1]  # the .json summary wins over its .csv twin
    return sorted(candidates), evals


def load(paths: list[Path], evals: list[Path]) -> list[Run]:
    """Runs from explicit run folders, W&B offline folders, single JSONL files and eval summaries."""
    runs = []
    for path in map(Path, paths):
        if path.is_file() and path.suffix == ".jsonl":
            table, synthetic, notes = filelog.table_from_files([path])
            if path.parent.name == "metrics":  # outputs/<experiment>/<run>/metrics/<stamp>.jsonl
                experiment, name = path.parent.parent.parent.name, path.parent.parent.name
            else:
                experiment, name = path.parent.name, path.stem
            attrs = attributes_from_names(experiment, name)
            runs.append(Run(experiment, name, path, table, attrs, synthetic, notes))
        elif path.is_dir() and list(path.glob("run-*.wandb")):
            table, identity, config = wandb_logs.offline_table([path])
            runs.append(run_from_wandb(table, identity, config, path))
        else:
            runs.append(read_run_dir(path))
    runs += [evallog.read_eval(Path(p)) for p in evals]
    return runs
