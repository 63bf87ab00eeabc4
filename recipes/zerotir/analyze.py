"""Scaling-law analysis: `python -m recipes.zerotir.analyze` (conf/analyze.yaml; docs/analysis.md).

Reads training logs (verl file logger, W&B offline folders or online runs) and eval summaries, fits the
three laws per series, correlates the series, and writes PNGs, report.md, fits.json and wandb_report.json
to `out_dir`. With no arguments it analyses the bundled SYNTHETIC example logs. Only wiring lives here;
the analysis is the `scaling` package.
"""

from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from scaling import analysis, discover, plots, report, wandb_logs, wandb_report
from scaling.run import LogError
from scaling.series import specs_from_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def _path(p: str) -> Path:
    """Relative to the working directory, else to the repo (so the examples resolve from anywhere)."""
    path = Path(p).expanduser()
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


PATH_LISTS = ("runs", "eval")  # keys whose values are lists of paths
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
    in an unquoted value is a grammar error. Values already quoted, and other keys, are left alone.
    """
    out = []
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq and key in PATH_LISTS and value.startswith("[") and value.endswith("]"):
            inner = value[1:-1]
            if inner.strip() and not re.match(r"\s*['\"]", inner):
                arg = f"{key}=[{','.join(_quote(p) for p in _split_paths(inner))}]"
        elif eq and key in PATH_KEYS and value and value[0] not in "'\"" and re.search(r"[=,\s]", value):
            arg = f"{key}={_quote(value)}"
        out.append(arg)
    return out


def _expand(p: str) -> list[Path]:
    """A path, or every match of a glob (`runs=[outputs/cpu_learn/*]`), sorted."""
    if not any(c in p for c in GLOB_CHARS):
        return [_path(p)]
    pattern = str(Path(p).expanduser())
    base = pattern if Path(pattern).is_absolute() or glob.glob(pattern) else str(REPO_ROOT / pattern)
    found = sorted(Path(m) for m in glob.glob(base))
    if not found:
        raise LogError(p, "no file or folder matches this pattern")
    return found


def settings(cfg: DictConfig) -> analysis.Settings:
    return analysis.Settings(
        specs=specs_from_config(OmegaConf.to_container(cfg.series)),
        token_keys=tuple(cfg.tokens.cumulative),
        per_step_token_keys=tuple(cfg.tokens.per_step),
        origins=tuple(cfg.fit.origins),
        n_boot=cfg.fit.n_boot,
        level=cfg.fit.level,
        seed=cfg.fit.seed,
        min_points=cfg.fit.min_points,
        extrapolate_to=cfg.extrapolate_to,
        corr_n_boot=cfg.correlation.n_boot,
        group_by=tuple(cfg.group_by),
    )


def load_runs(cfg: DictConfig) -> tuple[list, list[str]]:
    """(runs, input descriptions) from runs/root/eval/wandb, or the bundled examples when none is given."""
    paths = [path for p in cfg.runs for path in _expand(p)]
    evals = [path for p in cfg.eval for path in _expand(p)]
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
    return runs, inputs


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


def run(cfg: DictConfig) -> int:
    """The whole command on a composed config; returns the exit code (tests call it with hydra.compose)."""
    out = Path(cfg.out_dir).resolve()
    try:
        runs, inputs = load_runs(cfg)
    except LogError as err:
        print(f"zerotir analyze: {err}", file=sys.stderr)
        return 1
    except online_errors() as err:
        print(f"zerotir analyze: W&B {cfg.wandb.entity}/{cfg.wandb.project}: {err}", file=sys.stderr)
        return 1
    result = analysis.analyse(runs, settings(cfg))
    images = plots.write_all(result, out)
    report_path, fits_path = report.write(result, images, out, inputs)
    if result.synthetic:
        print("NOTE: the inputs are SYNTHETIC example logs (examples/logs/make_synthetic.py), not real training runs.")
    for ra in result.runs:
        chosen = ", ".join(f"{name}: {f.chosen or 'none'}" for name, f in ra.step_fits.items())
        print(f"{ra.run.label}: {len(ra.run.table)} steps; laws {chosen}")
    print(publish(cfg, result, out))
    print(f"wrote {len(images)} figures, {report_path} and {fits_path}")
    return 0


@hydra.main(config_path="../../conf", config_name="analyze", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


def main() -> None:
    sys.argv[1:] = quote_path_overrides(sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
