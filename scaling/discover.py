"""Find runs on disk or in W&B and give each its identity and comparison attributes.

A run is a folder with verl's file-logger JSONL (`metrics/*.jsonl`), else W&B offline folders, inside. Its identity
(experiment, run name) and its attributes (tool, model, algorithm, max tool calls, template, seed) come from what the
launch recorded in it, never from the folder's name: a folder may be renamed or copied, and one launched before run
names escaped `/` nests its name over several folders (issue 25). The records, in the order they are asked:
`run.json` (runs/record.py RunRecord, written by the launch: the resolved experiment and run name, the overrides, the
model group), the composed config `hydra/.hydra/config.yaml` (`tir.*`; `config.yaml` beside `metrics/` in a copied run),
Hydra's own `hydra.yaml` (its `experiment` choice and `override_dirname`) and `overrides.yaml`, and for a W&B run
its config and its name (`<experiment>__<run>`, verl's trainer.experiment_name). Only a run that recorded nothing
is named and described from its path (`qwen7b_zerorl_grpo/tir.rollout.max_tool_calls=4`), with a note saying so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from runs.layout import HYDRA_RECORDS_DIR, METRICS, RUN_JSON, WANDB, RunFolder
from runs.record import RunRecord
from scaling import evallog, filelog, wandb_logs
from scaling.run import LogError, Run

log = logging.getLogger(__name__)

ATTRIBUTES = ("tool", "model", "algorithm", "max_tool_calls")  # the default comparisons (Settings.group_by)
MORE_ATTRIBUTES = ("template", "seed")  # also recorded, and comparable on request (group_by=[seed])
_ALGORITHMS = ("reinforce_pp", "grpo", "ppo")


def _literal(value: object) -> str | None:
    """A recorded string value, or None for a missing one or an interpolation the record kept unresolved (the
    launcher records Hydra's config before it resolves `tir.experiment: ${zerotir_experiment:}`)."""
    return value if isinstance(value, str) and value and "${" not in value else None


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
        if _literal(source.get(key)):
            out[name] = source[key]
    for source, key, name in ((rollout, "max_tool_calls", "max_tool_calls"), (tir, "seed", "seed")):
        if isinstance(source.get(key), int) and not isinstance(source.get(key), bool):
            out[name] = str(source[key])
    if "template" in out or "max_tool_calls" in out:
        no_tool = out.get("template") == "zero_v2" or out.get("max_tool_calls") == "0"
        out["tool"] = "no tool" if no_tool else "tool"
    return out


def attributes_from_overrides(overrides: list[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """Attributes from command-line overrides (`model=qwen3b`, `tir.rollout.max_tool_calls=4`, `tir.seed=2`, ...),
    on top of `known`. A rollout choice names a rollout config, not its template: it says only whether tools are on."""
    out = dict(known or {})
    for override in overrides:
        key, _, value = str(override).lstrip("+~").partition("=")
        if key in ("model", "algorithm"):
            out[key] = value
        elif key == "tir.seed":
            out["seed"] = value
        elif key in ("tir.rollout.max_tool_calls", "tir.max_tool_calls"):  # the second: runs before conf/rollout/
            out["max_tool_calls"] = value
            out["tool"] = "no tool" if value == "0" else out.get("tool", "tool")
        elif key in ("tir.rollout.template", "tir.template"):
            out["template"] = value
            out["tool"] = "no tool" if value == "zero_v2" else "tool"
        elif key == "rollout@tir.rollout":
            out["tool"] = "no tool" if value == "zero_v2" else "tool"
    return out


def attributes_from_names(experiment: str, run: str) -> dict[str, str]:
    """Best-effort attributes from `<model>_<algorithm>[_<variant>]` and Hydra's `k=v,k=v` run name: only for a run
    that recorded no config."""
    exp = re.sub(r"^synthetic[_-]", "", experiment)
    out: dict[str, str] = {}
    if m := re.match(r"(qwen[\d.]+b)", exp):
        out["model"] = m.group(1)
    for algo in _ALGORITHMS:
        if re.search(rf"(^|_){algo}($|_)", exp):
            out["algorithm"] = algo
            break
    out["tool"] = "no tool" if "zerorl" in exp else "tool"
    return attributes_from_overrides(run.split(","), out)


def folder_name(override_dirname: str | None) -> str:
    """The run name the launcher gives Hydra's override_dirname (recipes/zerotir/launch.py `run_name`, kept equal by
    tests/scaling/test_discover.py): 'default' for none, `%` and `/` escaped."""
    return (override_dirname or "default").replace("%", "%25").replace("/", "%2F")


@dataclass
class Record:
    """What a run folder recorded about itself at launch; each part empty where it recorded nothing."""

    config: dict = field(default_factory=dict)  # the composed config (tir.*)
    hydra: dict = field(default_factory=dict)  # Hydra's own settings: runtime.choices, job.override_dirname
    overrides: list[str] | None = None  # the command line (overrides.yaml)
    run_json: RunRecord = field(default_factory=RunRecord)  # run.json (all None where it recorded nothing)
    wandb_name: str = ""  # a W&B run's name, `<experiment>__<run>`
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.config or self.hydra or self.overrides is not None or not self.run_json.empty or self.wandb_name
        )

    def experiment(self) -> str | None:
        tir = self.config.get("tir") if isinstance(self.config.get("tir"), dict) else {}
        for value in (self.run_json.experiment, tir.get("experiment")):
            if _literal(value):
                return value
        choices = ((self.hydra.get("hydra") or {}).get("runtime") or {}).get("choices")
        if isinstance(choices, dict):  # Hydra's choice in the experiment group, 'default' without one (launch.py)
            return _literal(choices.get("experiment")) or "default"
        if self.overrides is not None:
            chosen = [
                value for key, _, value in (o.lstrip("+").partition("=") for o in self.overrides) if key == "experiment"
            ]
            return chosen[-1] if chosen else "default"
        return self.wandb_name.partition("__")[0] or None

    def run_name(self) -> str | None:
        tir = self.config.get("tir") if isinstance(self.config.get("tir"), dict) else {}
        for value in (self.run_json.run_name, tir.get("run_name")):
            if _literal(value):
                return value
        job = (self.hydra.get("hydra") or {}).get("job") or {}
        if isinstance(job.get("override_dirname"), str):
            return folder_name(job["override_dirname"])
        if self.run_json.overrides is not None:  # run_overrides: sorted, as Hydra names the run
            return folder_name(",".join(self.run_json.overrides))
        return self.wandb_name.partition("__")[2] or None

    def attributes(self) -> dict[str, str]:
        """From the config; what it does not say, from the recorded overrides and the model group in run.json."""
        overrides = self.run_json.overrides
        out = attributes_from_overrides(list(overrides) if overrides is not None else self.overrides or [])
        if _literal(self.run_json.model_group):
            out["model"] = self.run_json.model_group
        return out | attributes_from_config(self.config)


def _read_yaml(path: Path, notes: list[str], what: str):
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        log.warning("%s: unreadable (%s); %s not read from it", path, reason, what)
        notes.append(f"{path.name}: unreadable ({reason}); {what} not read from it")
        return None


def read_record(run_dir: Path) -> Record:
    """The records a run folder holds (see the module's docstring); an unreadable one is a note, never fatal."""
    run_dir = Path(run_dir)
    rec = Record()
    hydra_records = RunFolder(run_dir).hydra_records
    for folder in (hydra_records, run_dir):  # the launcher's layout, else a copied run's (config.yaml beside)
        if not rec.config and isinstance(got := _read_yaml(folder / "config.yaml", rec.notes, "attributes"), dict):
            rec.config = got
        if rec.overrides is None and isinstance(
            got := _read_yaml(folder / "overrides.yaml", rec.notes, "experiment"), list
        ):
            rec.overrides = [str(o) for o in got]
    if isinstance(got := _read_yaml(hydra_records / "hydra.yaml", rec.notes, "experiment and run name"), dict):
        rec.hydra = got
    if (run_dir / RUN_JSON).is_file():
        try:
            rec.run_json = RunRecord.read(run_dir)
        except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
            rec.notes.append(f"{RUN_JSON}: unreadable ({err}); experiment and run name not read from it")
    return rec


def identify(rec: Record, folder_experiment: str, folder_run: str) -> tuple[str, str, dict[str, str], list[str]]:
    """(experiment, run name, attributes, notes) from the records; the folder's names only for what none records."""
    notes = list(rec.notes)
    if rec.empty:
        notes.append(
            f"no recorded config ({HYDRA_RECORDS_DIR}/config.yaml, {RUN_JSON}): experiment, run name and attributes "
            f"read from the path ({folder_experiment}/{folder_run})"
        )
        return folder_experiment, folder_run, attributes_from_names(folder_experiment, folder_run), notes
    experiment, name = rec.experiment(), rec.run_name()
    if experiment is None:
        notes.append(f"the records name no experiment: '{folder_experiment}' read from the path")
    if name is None:
        notes.append(f"the records name no run: '{folder_run}' read from the path")
    return experiment or folder_experiment, name or folder_run, rec.attributes(), notes


def read_hydra_config(run_dir: Path) -> dict:
    """The recorded composed config of a run folder ({} when there is none)."""
    return read_record(run_dir).config


def read_run_dir(run_dir: Path) -> Run:
    """A run folder `.../<experiment>/<run>/` from its metrics/*.jsonl, else its W&B offline folders."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LogError(run_dir, "no such run folder")
    rec = read_record(run_dir)
    files = filelog.metric_files(run_dir)
    if files:
        table, synthetic, notes = filelog.table_from_files(files)
    elif folders := wandb_logs.offline_folders(run_dir):
        table, identity, wb_config = wandb_logs.offline_table(folders)
        rec.config, rec.wandb_name = rec.config or wb_config, str(identity.get("name") or "")
        synthetic, notes = bool(wb_config.get("synthetic")), []
    else:
        raise LogError(run_dir, "no metrics/*.jsonl (verl file logger) and no W&B offline run folder inside")
    experiment, name, attrs, id_notes = identify(rec, run_dir.parent.name, run_dir.name)
    synthetic = synthetic or bool(rec.config.get("synthetic")) or experiment.startswith("synthetic")
    return Run(experiment, name, run_dir, table, attrs, synthetic, id_notes + notes)


def run_from_wandb(table, identity: dict[str, str], config: dict, source: Path | str) -> Run:
    """A W&B run: its config, else its name, `<experiment>__<run>` (verl's trainer.experiment_name)."""
    rec = Record(config=config or {}, wandb_name=str(identity.get("name") or ""))
    experiment, name, attrs, notes = identify(rec, identity.get("id", "wandb"), "default")
    return Run(experiment, name, Path(str(source)), table, attrs, bool(config.get("synthetic")), notes)


def distinct(runs: list[Run]) -> list[Run]:
    """Runs that record the same identity (a run folder copied or renamed, two checkouts' outputs) are told apart by
    the end of their paths, `cpu_learn/default (lr2e-5_first5)`, each with a note; the analysis keys runs by it."""
    by_id: dict[str, list[Run]] = {}
    for run in runs:
        by_id.setdefault(run.run_id, []).append(run)
    for run_id, same in by_id.items():
        if len(same) < 2:
            continue
        parts = [Path(str(r.source)).parts for r in same]
        depth = next((k for k in range(1, max(map(len, parts)) + 1) if len({p[-k:] for p in parts}) == len(same)), 0)
        for i, (run, p) in enumerate(zip(same, parts)):
            tail = "/".join(p[-depth:]) if depth else f"#{i + 1}"
            others = ", ".join(str(r.source) for r in same if r is not run)
            run.notes.insert(0, f"{others} records the same run, {run_id}: this one is told apart by its path")
            run.name = f"{run.name} ({tail})"
    return runs


def is_run_dir(path: Path) -> bool:
    return bool(filelog.metric_files(path)) or bool(list(RunFolder(path).wandb.glob("offline-run-*/run-*.wandb")))


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
    candidates = {p.parent.parent for p in root.glob(f"**/{METRICS}/*.jsonl")}
    candidates |= {p.parent.parent.parent for p in root.glob(f"**/{WANDB}/offline-run-*/run-*.wandb")}
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
            if path.parent.name == METRICS:  # outputs/<experiment>/<run>/metrics/<stamp>.jsonl: its run's records
                folder = path.parent.parent
                rec, experiment, name = read_record(folder), folder.parent.name, folder.name
            else:
                rec, experiment, name = Record(), path.parent.name, path.stem
            experiment, name, attrs, id_notes = identify(rec, experiment, name)
            synthetic = synthetic or bool(rec.config.get("synthetic"))
            runs.append(Run(experiment, name, path, table, attrs, synthetic, id_notes + notes))
        elif path.is_dir() and list(path.glob("run-*.wandb")):
            table, identity, config = wandb_logs.offline_table([path])
            runs.append(run_from_wandb(table, identity, config, path))
        else:
            runs.append(read_run_dir(path))
    runs += [evallog.read_eval(Path(p)) for p in evals]
    return distinct(runs)
