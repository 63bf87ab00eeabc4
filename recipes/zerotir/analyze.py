"""Scaling-law analysis: `python -m recipes.zerotir.analyze` (conf/analyze.yaml; docs/analysis.md).

Reads training logs (verl file logger, W&B offline folders or online runs) and eval summaries, fits the
three laws per series, correlates the series, and writes PNGs, report.md, fits.json and wandb_report.json
to `out_dir`. With no arguments it analyses the bundled SYNTHETIC example logs. Only wiring lives here;
the analysis is the `scaling` package. Every setting is checked before anything is read
(recipes/zerotir/analyze_settings.py), and nothing is written to `out_dir` until the analysis is done, then as one
set (scaling/outputs.py): a refused or failed command leaves an earlier analysis there as it was.
"""

from __future__ import annotations

import glob
import re
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from recipes.zerotir import analyze_settings
from scaling import analysis, discover, outputs, wandb_logs, wandb_report
from scaling.run import LogError
from scaling.series import specs_from_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def _path(p: str) -> Path:
    """Relative to the working directory, else to the repo (so the examples resolve from anywhere)."""
    path = Path(p).expanduser()
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


PATH_LISTS = ("runs", "evals")  # keys whose values are lists of paths
# `eval` is also the eval presets' config group (conf/eval/), and Hydra reads `eval=...` as a choice in that group
# ("No match in the defaults list"), so the key is `evals`; the shorter spelling is taken on the command line.
ALIASES = {"eval": "evals"}
PATH_KEYS = ("root", "examples", "out_dir")
REAL_EXAMPLES = "real"  # examples/logs/real: logs of real runs, never mixed into the synthetic default
GLOB_CHARS = ("*", "?")


def _quote(text: str) -> str:
    """A Hydra quoted string: everything inside is literal (`=` and `,` in Hydra-sweep run folder names)."""
    return "'" + text.replace("'", "\\'") + "'"


def _split_paths(inner: str) -> list[str]:
    """Comma-separated paths, where a run folder named by Hydra overrides may itself contain commas.

    Pieces are joined back while the joined text names an existing path (or a path prefix of one), so
    `a/lr=1e-05,data.train_batch_size=4,b` gives the folder `a/lr=1e-05,data.train_batch_size=4` and `b`.
    """
    parts, out = inner.split(","), []
    i = 0
    while i < len(parts):
        best = i  # the longest join that exists wins; else the single piece (its error names it later)
        for j in range(i, len(parts)):
            if _path(",".join(parts[i : j + 1])).exists():
                best = j
        out.append(",".join(parts[i : best + 1]).strip())
        i = best + 1
    return [p for p in out if p]


def quote_path_overrides(args: list[str]) -> list[str]:
    """Quote path values that Hydra's override grammar would reject, before Hydra parses the command line.

    Hydra's sweep folders are named by their overrides (`lr=1e-05,data.train_batch_size=4`), and `=` or `,`
    in an unquoted value is a grammar error. Values already quoted, and other keys, are left alone. A list key
    given a bare path (`runs=/abs/run`) is quoted as the string it is, so that the settings check refuses it by
    name ("use runs=[a,b]") instead of Hydra failing on its grammar or the path being read character by character.
    """
    out = []
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq and key in ALIASES:
            key, arg = ALIASES[key], f"{ALIASES[key]}={value}"
        if eq and key in PATH_LISTS and value.startswith("[") and value.endswith("]"):
            inner = value[1:-1]
            if inner.strip() and not re.match(r"\s*['\"]", inner):
                arg = f"{key}=[{','.join(_quote(p) for p in _split_paths(inner))}]"
        elif eq and _bare(key, value):
            arg = f"{key}={_quote(value)}"
        out.append(arg)
    return out


def _bare(key: str, value: str) -> bool:
    """An unquoted value to quote: any bare one of a list key (the check refuses it by name), and a path key's
    when Hydra's grammar would trip on its `=`, `,` or spaces."""
    if not value or value[0] in "'\"":
        return False
    if key in PATH_LISTS:
        return value[0] != "[" and value != "null"
    return key in PATH_KEYS and bool(re.search(r"[=,\s]", value))


WANTED = {  # what a glob in each list key keeps, and what the note calls the matches it skips
    "runs": (discover.is_run_input, "not runs: no metrics/*.jsonl or W&B offline run inside"),
    "evals": (discover.is_eval_input, "not eval summaries: not a .json, .jsonl or .csv file"),
}


def _expand(p: str, key: str = "runs", notes: list[str] | None = None) -> list[Path]:
    """A path, or every match of a glob (`runs=[outputs/cpu_learn/*]`) that is a run (or an eval summary), sorted.

    A glob over an experiment folder also matches folders that are not runs (`analysis/`, `eval/`); they are
    skipped with a note rather than failing the whole command. A path given by name is read as given.
    """
    if not any(c in p for c in GLOB_CHARS):
        return [_path(p)]
    pattern = str(Path(p).expanduser())
    base = pattern if Path(pattern).is_absolute() or glob.glob(pattern) else str(REPO_ROOT / pattern)
    found = sorted(Path(m) for m in glob.glob(base))
    if not found:
        raise LogError(p, "no file or folder matches this pattern")
    wanted, why = WANTED[key]
    kept, skipped = [m for m in found if wanted(m)], [m.name for m in found if not wanted(m)]
    if not kept:
        raise LogError(p, f"no match is usable ({', '.join(skipped)}: {why})")
    if skipped and notes is not None:
        notes.append(f"{key}: {p}: skipped {', '.join(skipped)} ({why})")
    return kept


def plain(cfg: DictConfig) -> dict:
    """The composed config as plain Python values, interpolations resolved (what the checks look at)."""
    return OmegaConf.to_container(cfg, resolve=True)


def settings(cfg: DictConfig) -> analysis.Settings:
    """The analysis's settings from a config that passed analyze_settings.problems (so the casts are safe)."""
    c = plain(cfg)
    fit = c["fit"]
    return analysis.Settings(
        specs=specs_from_config(c["series"]),
        token_keys=tuple(c["tokens"]["cumulative"] or ()),
        per_step_token_keys=tuple(c["tokens"]["per_step"] or ()),
        origins=tuple(float(o) for o in fit["origins"]),
        n_boot=int(fit["n_boot"]),
        level=float(fit["level"]),
        seed=int(fit["seed"]),
        min_points=int(fit["min_points"]),
        extrapolate_to=None if c["extrapolate_to"] is None else float(c["extrapolate_to"]),
        corr_n_boot=int(c["correlation"]["n_boot"]),
        group_by=tuple(c["group_by"] or ()),
    )


def load_runs(cfg: DictConfig) -> tuple[list, list[str], list[str]]:
    """(runs, input descriptions, notes) from runs/root/evals/wandb, or the bundled examples when none is given."""
    notes: list[str] = []
    paths = [path for p in cfg.runs or [] for path in _expand(str(p), "runs", notes)]
    evals = [path for p in cfg.evals or [] for path in _expand(str(p), "evals", notes)]
    if cfg.root:
        found, found_evals = discover.find_under(_path(cfg.root))
        if not found and not found_evals:
            raise LogError(_path(cfg.root), "no runs (metrics/*.jsonl or wandb/offline-run-*) found under it")
        paths, evals = paths + found, evals + found_evals
    if not paths and not evals and not cfg.wandb.project:
        # the SYNTHETIC examples only: examples/logs/real/ holds real runs, analysed by name (root=, runs=)
        examples = _path(cfg.examples)
        paths, evals = [
            [p for p in found if REAL_EXAMPLES not in p.relative_to(examples).parts[:1]]
            for found in discover.find_under(examples)
        ]
    runs = discover.load(paths, evals)
    inputs = [str(p) for p in [*paths, *evals]]
    if cfg.wandb.project:
        import wandb

        path = f"{cfg.wandb.entity}/{cfg.wandb.project}" if cfg.wandb.entity else cfg.wandb.project
        filters = OmegaConf.to_container(cfg.wandb.filters)
        for table, identity, config in wandb_logs.online_runs(wandb.Api(), path, filters):
            runs.append(discover.run_from_wandb(table, identity, config, f"wandb:{path}/{identity['id']}"))
        inputs.append(f"wandb:{path}")
    if not runs:
        raise LogError(cfg.wandb.project or "inputs", "no runs to analyse")
    return discover.distinct(runs), inputs, notes  # a W&B run may record the same identity as a run folder


def online_errors() -> tuple[type[BaseException], ...]:
    """What the online W&B path raises for a missing key, a wrong project or no network (evaluated lazily)."""
    import requests
    import wandb.errors

    return wandb.errors.Error, requests.exceptions.RequestException


def publish(cfg: DictConfig, result: analysis.Analysis, out: Path) -> str:
    project = cfg.wandb.project or "zerotir"
    spec = wandb_report.build(result, project, cfg.wandb.entity)
    path = wandb_report.write_spec(spec, out / "wandb_report.json")
    if not (cfg.wandb.project and cfg.wandb.report):
        return f"W&B report spec written to {path} (offline: no report created)"
    wr = wandb_report.load_report_api()
    if wr is None:
        return f"W&B report spec written to {path}; install wandb-workspaces to create the report online"
    return f"W&B report created: {wandb_report.create(spec, wr)} (spec in {path})"


def refuse(where: object, reason: object = None) -> int:
    """One line on stderr, `zerotir analyze: <key or file>: <reason>`; the exit code of a refused command."""
    print(f"zerotir analyze: {where}" + (f": {reason}" if reason is not None else ""), file=sys.stderr)
    return 1


def check(cfg: DictConfig) -> list[str]:
    """Every problem with the settings and out_dir, as message lines; [] when the command may go on."""
    try:
        found = analyze_settings.problems(plain(cfg))
    except OmegaConfBaseException as err:  # an interpolation that does not resolve
        return [f"config: {str(err).splitlines()[0]}"]
    if not found:
        found = [e for e in [analyze_settings.out_dir_problem(Path(str(cfg.out_dir)).resolve())] if e]
    return [str(e) for e in found]


def summarise(result: analysis.Analysis, written: outputs.Written) -> None:
    if result.synthetic:
        print("NOTE: the inputs are SYNTHETIC example logs (examples/logs/make_synthetic.py), not real training runs.")
    for note in result.notes + written.figure_notes:
        print(f"note: {note}")
    for ra in result.runs:
        chosen = ", ".join(f"{name}: {f.chosen or 'none'}" for name, f in ra.step_fits.items())
        print(f"{ra.run.label}: {len(ra.run.table)} steps; laws {chosen}")


def run(cfg: DictConfig, overrides: list[str] | None = None) -> int:
    """The whole command on a composed config; returns the exit code (tests call it with hydra.compose).

    Order: settings and out_dir checked, inputs loaded, analysis done, and only then anything written, as one set
    (scaling/outputs.py). `overrides`: the command line's, recorded beside the config when known.
    """
    problems = check(cfg)
    for line in problems:
        refuse(line)
    if problems:
        return 1
    out = Path(str(cfg.out_dir)).resolve()
    clock = Clock()
    try:
        runs, inputs, notes = load_runs(cfg)
    except LogError as err:
        return refuse(err)
    except online_errors() as err:
        return refuse(f"W&B {cfg.wandb.entity}/{cfg.wandb.project}", err)
    s = settings(cfg)
    clock.phase(f"loaded {len(runs)} run(s)", f"; fitting each (fit.n_boot={s.n_boot}), one line a run:")
    result = analysis.analyse(runs, s, notes, progress=clock.run_done)
    clock.phase(f"fitted {len(runs)} run(s)")
    try:
        written = outputs.write_set(result, out, inputs, OmegaConf.to_yaml(cfg), overrides)
        clock.phase(f"wrote report.md, fits.json and {len(written.images)} figure(s)")
        summarise(result, written)
        print(publish(cfg, result, out))
    except OSError as err:
        return refuse(err.filename or out, err.strerror or err)
    except online_errors() as err:
        return refuse(f"W&B report in {cfg.wandb.entity}/{cfg.wandb.project}", err)
    print(f"wrote {len(written.images)} figures, {written.report} and {written.fits} ({clock.total()})")
    return 0


class Clock:
    """The command's progress lines: each phase's time (load, fit, write) and one line a run while fitting, with the
    time since the command started, so a long analysis is visibly alive (docs/analysis.md "Time")."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def total(self) -> str:
        return f"{time.monotonic() - self.start:.1f} s in all"

    def phase(self, what: str, then: str = "") -> None:
        now = time.monotonic()
        print(f"{what} in {now - self.last:.1f} s{then}", flush=True)
        self.last = now

    def run_done(self, i: int, n: int, ra: analysis.RunAnalysis, seconds: float) -> None:
        fits = sum(f.chosen is not None for f in [*ra.step_fits.values(), *ra.token_fits.values()])
        print(
            f"[{i}/{n}] {ra.run.label}: {len(ra.run.table)} steps, {fits} fit(s) in {seconds:.1f} s "
            f"(elapsed {time.monotonic() - self.start:.1f} s)",
            flush=True,
        )


@hydra.main(config_path="../../conf", config_name="analyze", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    code = run(cfg, list(HydraConfig.get().overrides.task))
    if code:
        sys.exit(code)


def main() -> None:
    sys.argv[1:] = quote_path_overrides(sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
