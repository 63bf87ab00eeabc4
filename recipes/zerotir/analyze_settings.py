"""Check every setting of `python -m recipes.zerotir.analyze` before anything is loaded or written (issue 25).

Why: Hydra types a value by how it looks, so `fit.level=1.5`, `extrapolate_to=abc` or `runs=/abs/run` all
compose. The mistake then surfaced minutes later as a numpy traceback deep inside a fit, was accepted with a wrong
result (`extrapolate_to=-100` printed a length of -3.9e33 tokens as "reliable"), or, for a bare string where a
list belongs, was read one character at a time (`/` as a run folder: the whole filesystem globbed). Here each
problem is one `SettingError` whose message names the key; the command prints them all and exits 1.
`extrapolate_to` inside a series' data is not an error: that series gets a note instead (scaling/fit.py), since
only the loaded data say where they end.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from scaling.discover import ATTRIBUTES, MORE_ATTRIBUTES


class SettingError(ValueError):
    """One bad setting; the message is `<key>: <reason>`."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key


# conf/analyze.yaml's keys by section ("" is the top level); `+key=value` typos are refused, not ignored
KNOWN = {
    "": (
        "runs", "root", "evals", "examples", "out_dir", "extrapolate_to",
        "wandb", "fit", "correlation", "group_by", "series", "tokens", "hydra",
    ),
    "wandb": ("entity", "project", "filters", "report"),
    "fit": ("origins", "n_boot", "level", "seed", "min_points"),
    "correlation": ("n_boot",),
    "tokens": ("cumulative", "per_step"),
}  # fmt: skip
SERIES_KEYS = ("title", "keys", "bounds", "correlate")
GROUPS = (*ATTRIBUTES, *MORE_ATTRIBUTES)  # the attributes scaling.discover gives a run
MIN_POINTS = 4  # a fit needs more points than its law has parameters (three at most)


def _get(cfg: dict, key: str):
    node = cfg
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value) -> bool:
    """An int, or a float with no fraction (`fit.n_boot=1e3` is what a user means by 1000)."""
    return _is_number(value) and float(value) == int(value)


def listed(cfg: dict, key: str, empty_ok: bool = True) -> list:
    """The list at `key`. A bare string is refused: iterating it would read one character at a time."""
    value = _get(cfg, key)
    if value is None and empty_ok:
        return []
    if not isinstance(value, list):
        raise SettingError(key, f"a list is expected; use {key}=[a,b] (got {value!r})")
    return value


def _strings(cfg: dict, key: str, empty_ok: bool = True) -> None:
    values = listed(cfg, key, empty_ok)
    if not values and not empty_ok:
        raise SettingError(key, f"at least one entry is needed; use {key}=[a,b]")
    for v in values:
        if not isinstance(v, (str, int, float)) or isinstance(v, bool) or str(v) == "":
            raise SettingError(key, f"each entry must be a non-empty name or path (got {v!r})")


def _folder(cfg: dict, key: str, none_ok: bool) -> None:
    value = _get(cfg, key)
    if value is None and none_ok:
        return
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == "":
        raise SettingError(key, f"a folder path is expected (got {value!r})")


def _extrapolate_to(cfg: dict) -> None:
    value = cfg.get("extrapolate_to")
    if value is None:
        return
    if not _is_number(value) or value <= 0:
        raise SettingError(
            "extrapolate_to", f"a training step beyond the data is expected, or null for none (got {value!r})"
        )


def _fit(cfg: dict) -> None:
    origins = listed(cfg, "fit.origins", empty_ok=False)
    if not origins or not all(_is_number(o) and 0 < o < 1 for o in origins):
        raise SettingError("fit.origins", f"shares of the points in (0, 1) are expected (got {origins!r})")
    level = _get(cfg, "fit.level")
    if not _is_number(level) or not 0 < level < 1:
        raise SettingError("fit.level", f"a confidence level in (0, 1) is expected, such as 0.95 (got {level!r})")
    if not _is_integer(_get(cfg, "fit.seed")):
        raise SettingError("fit.seed", f"an integer is expected (got {_get(cfg, 'fit.seed')!r})")
    min_points = _get(cfg, "fit.min_points")
    if not _is_integer(min_points) or min_points < MIN_POINTS:
        raise SettingError(
            "fit.min_points",
            f"an integer >= {MIN_POINTS} is expected (a law has up to 3 parameters; got {min_points!r})",
        )


def _replicates(cfg: dict, key: str) -> None:
    value = _get(cfg, key)
    if not _is_integer(value) or value < 1:
        raise SettingError(key, f"a whole number of bootstrap replicates >= 1 is expected (got {value!r})")


def _group_by(cfg: dict) -> None:
    unknown = [g for g in listed(cfg, "group_by") if g not in GROUPS]
    if unknown:
        raise SettingError("group_by", f"unknown attribute(s) {unknown} (known: {', '.join(GROUPS)})")


def _wandb(cfg: dict) -> None:
    for key in ("wandb.entity", "wandb.project"):
        if _get(cfg, key) is not None and not isinstance(_get(cfg, key), str):
            raise SettingError(key, f"a name or null is expected (got {_get(cfg, key)!r})")
    if not isinstance(_get(cfg, "wandb.filters"), dict):
        raise SettingError("wandb.filters", f"a mapping is expected (got {_get(cfg, 'wandb.filters')!r})")
    if not isinstance(_get(cfg, "wandb.report"), bool):
        raise SettingError("wandb.report", f"true or false is expected (got {_get(cfg, 'wandb.report')!r})")


def _one_series(cfg: dict, name: str) -> None:
    key, spec = f"series.{name}", cfg["series"][name]
    if not isinstance(spec, dict):
        raise SettingError(key, f"a mapping with {', '.join(SERIES_KEYS)} is expected (got {spec!r})")
    extra = [k for k in spec if k not in SERIES_KEYS]
    if extra:
        raise SettingError(f"{key}.{extra[0]}", f"unknown key (known: {', '.join(SERIES_KEYS)})")
    _strings(cfg, f"{key}.keys", empty_ok=False)
    bounds = spec.get("bounds")
    ok = bounds is None or (
        isinstance(bounds, list) and len(bounds) == 2 and all(map(_is_number, bounds)) and bounds[0] < bounds[1]
    )
    if not ok:
        raise SettingError(f"{key}.bounds", f"[low, high] with low < high, or null, is expected (got {bounds!r})")
    if not isinstance(spec.get("correlate", True), bool):
        raise SettingError(f"{key}.correlate", f"true or false is expected (got {spec['correlate']!r})")


def _series(cfg: dict) -> None:
    series = cfg.get("series")
    if not isinstance(series, dict) or not series:
        raise SettingError("series", f"a mapping of series is expected (got {series!r})")
    for name in series:
        _one_series(cfg, name)


def _unknown_keys(cfg: dict) -> list[SettingError]:
    """Keys the analysis would ignore (`+fit.nboot=5`, Hydra's own hint after a typo), each named."""
    problems = []
    for section, names in KNOWN.items():
        node = cfg if not section else cfg.get(section)
        if not isinstance(node, dict):
            problems.append(SettingError(section, f"a group of settings is expected (got {node!r})"))
            continue
        for key in (k for k in node if k not in names):
            where = f"{section}.{key}" if section else key
            problems.append(SettingError(where, f"unknown key (known: {', '.join(n for n in names if n != 'hydra')})"))
    return problems


CHECKS = (
    lambda c: _strings(c, "runs"),
    lambda c: _strings(c, "evals"),
    lambda c: _folder(c, "root", none_ok=True),
    lambda c: _folder(c, "examples", none_ok=False),
    lambda c: _folder(c, "out_dir", none_ok=False),
    _extrapolate_to,
    _fit,
    lambda c: _replicates(c, "fit.n_boot"),
    lambda c: _replicates(c, "correlation.n_boot"),
    _group_by,
    _wandb,
    _series,
    lambda c: _strings(c, "tokens.cumulative"),
    lambda c: _strings(c, "tokens.per_step"),
)


def problems(cfg: dict) -> list[SettingError]:
    """Every bad setting of a composed (plain, resolved) conf/analyze.yaml, one error per key; [] when all are good."""
    found = _unknown_keys(cfg)
    if found:  # a section that is not a mapping would fail every check below it
        return found
    for check in CHECKS:
        try:
            check(cfg)
        except SettingError as err:
            found.append(err)
    return found


def out_dir_problem(out: Path) -> SettingError | None:
    """Why `out` cannot take the outputs (a file, under a file, not writable), checked before any input is read."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        return SettingError("out_dir", f"{out} is a file, not a folder")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        return SettingError("out_dir", f"{existing} is a file, so {out} cannot be made")
    if not os.access(existing, os.W_OK | os.X_OK):
        return SettingError("out_dir", f"{existing} cannot be written (permission denied)")
    return None
