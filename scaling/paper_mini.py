"""The report of the paper in miniature: one row per claim, with a value, its 95 % interval across seeds and a verdict.

It reads only the committed log folder (`examples/logs/real/paper_mini/`, written by recipes/zerotir/paper_mini.py):
`runs/<experiment>/seed=<s>/` (verl's metrics, run_meter's meters) and `eval/<preset>__<label>/` (the evaluation
harness's summary.json and samples.jsonl). Verdicts follow rules fixed here before the runs were read
(docs/paper_mini.md); a run or an evaluation that is missing is listed as missing, and a claim without the data it
needs is "inconclusive", never dropped.

The rules: a change is "supported" when its 95 % interval over seeds lies above 0, "not supported" when it lies
below 0, and "inconclusive" otherwise (including one seed, which has no interval). Early and late are the means of
the first and last `EDGE` logged steps of each seed.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from runs.layout import RunFolder
from scaling.filelog import table_from_files
from scaling.sigmoid import SeedInterval, difference_interval, fit_sigmoid, seed_interval
from tir_rollout.metrics import CollapseAlarm

EDGE = 3  # steps averaged at each end of a curve
CURVES = {  # metric -> (label, physical range of the sigmoid's levels)
    "tir/code_exec_ratio": ("code-execution ratio", (0.0, 1.0)),
    "tir/acc": ("training accuracy", (0.0, 1.0)),
    "tir/response_length/all": ("response length (tokens)", (0.0, math.inf)),
}
TIERS = {"arith_2x1_test": "2x1", "arith_3x2_test": "3x2", "arith_3x3_test": "3x3", "arith_2step_test": "2step"}
TRAIN_BUDGET = 2  # cpu_mini_tool's tir.rollout.max_tool_calls
BUDGETS = (0, 1, 2, 4, 8)
# the summary.json tool-use keys of the interaction-budget table (names: evaluation.metrics.TOOL_USE_KEYS; a key a row
# lacks reads as nan, so tests/test_tool_use_names.py checks these against it)
BUDGET_COLUMNS = ("finish_length_rate", "code_calls_mean", "code_error_rate")


@dataclass
class SeedRun:
    experiment: str
    seed: int
    folder: Path
    table: object = None  # pandas DataFrame of the logged steps (None: no metrics)
    wall_s: float = 0.0
    peak_gib: float = 0.0
    total_steps: int | None = None
    trained_to: int | None = None  # the newest checkpoint's step (status.json, written by the driver)
    launches: int = 0  # run_meter files: launches whose wall time and memory were measured
    notes: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return 0 if self.table is None else len(self.table)

    @property
    def complete(self) -> bool:
        trained = self.trained_to if self.trained_to is not None else self.steps
        return self.total_steps is not None and trained >= self.total_steps

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        if self.table is None or metric not in self.table:
            return np.array([]), np.array([])
        col = self.table[metric].dropna()
        return col.index.to_numpy(float), col.to_numpy(float)


def _total_steps(folder: Path) -> int | None:
    config = folder / "config.yaml"
    if not config.is_file():
        return None
    match = re.search(r"^\s+total_training_steps:\s*(\d+)", config.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else None


def load_runs(logs: Path) -> list[SeedRun]:
    runs = []
    for folder in sorted((logs / "runs").glob("*/seed=*")):
        run = SeedRun(folder.parent.name, int(folder.name.split("=", 1)[1]), folder, total_steps=_total_steps(folder))
        files = RunFolder(folder).metric_files()
        if files:
            run.table, _, run.notes = table_from_files(files)
        for meter in sorted(folder.glob("meter-*.json")):
            data = json.loads(meter.read_text())
            run.wall_s += float(data.get("wall_s", 0.0))
            run.peak_gib = max(run.peak_gib, float(data.get("peak_pss_gib", 0.0)))
            run.launches += 1
        status = folder / "status.json"
        if status.is_file():
            run.trained_to = int(json.loads(status.read_text()).get("trained_to") or 0)
        launched = len(list(folder.glob("launch_state-*.txt")))
        if launched > run.launches:
            run.notes.append(f"{launched - run.launches} of {launched} launches have no meter (killed before it wrote)")
        if run.trained_to is not None and run.steps < run.trained_to:
            run.notes.append(f"trained to step {run.trained_to} but logged {run.steps} steps (a launch died after a "
                             "checkpoint, before its log line)")  # fmt: skip
        runs.append(run)
    return runs


ARMS = {"cpu_mini_tool": "tool", "cpu_mini_no_tool": "no_tool"}  # the GRPO arms; other cpu_mini_* vary the algorithm


def arm_of(experiment: str) -> str:
    """`tool` or `no_tool` for the two arms of claims (a)-(c); `algorithm` for claim (d)'s other algorithms."""
    return ARMS.get(experiment, "algorithm")


def load_evals(logs: Path) -> dict[str, dict]:
    """run name -> summary.json (complete or not), with the samples' derived counts under "derived"."""
    out = {}
    for folder in sorted((logs / "eval").glob("*__*")):
        path = folder / "summary.json"
        if path.is_file():
            summary = json.loads(path.read_text())
            summary["derived"] = derived_counts(folder / "samples.jsonl")
            summary["correct"] = correct_by_problem(folder / "samples.jsonl")
            meters = [json.loads(m.read_text()) for m in sorted(folder.glob("meter-*.json"))]
            summary["wall_s"] = sum(float(m.get("wall_s", 0.0)) for m in meters)  # every launch, resumes included
            summary["launches_metered"] = len(meters)
            out[folder.name] = summary
    return out


def _records(samples: Path) -> Iterable[dict]:
    """The evaluation's sample records (samples.jsonl); a torn line (a killed evaluation) is skipped."""
    if not samples.is_file():
        return
    for line in samples.read_text().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def correct_by_problem(samples: Path) -> dict[tuple[str, str, int], float]:
    """(dataset, problem id, budget) -> mean correctness of its samples: what a problem-level bootstrap resamples."""
    sums: dict[tuple[str, str, int], list[float]] = {}
    for rec in _records(samples):
        sums.setdefault((rec["dataset"], str(rec["problem_id"]), int(rec["max_tool_calls"])), []).append(
            float(bool(rec.get("correct")))
        )
    return {k: sum(v) / len(v) for k, v in sums.items()}


def problem_interval(a: list[dict | None], budget_a: int, b: list[dict | None], budget_b: int,
                     n_boot: int = 2000, seed: int = 0) -> SeedInterval:  # fmt: skip
    """The same difference as a claim's, but with problems as the unit: per problem, the mean over a's seeds minus
    the mean over b's seeds (paired by problem), and a bootstrap over problems. It shows what a claim's interval
    over seeds leaves out when there are few seeds: the sampling of 200 problems (one seed's accuracy has a binomial
    standard error near 0.035). NaN when either side has no records."""

    def per_problem(summaries, budget):
        table: dict[tuple[str, str], list[float]] = {}
        for s in summaries:
            for (dataset, pid, calls), v in ((s or {}).get("correct") or {}).items():
                if calls == budget:
                    table.setdefault((dataset, pid), []).append(v)
        return {k: float(np.mean(v)) for k, v in table.items()}

    pa, pb = per_problem(a, budget_a), per_problem(b, budget_b)
    keys = sorted(pa.keys() & pb.keys())
    if not keys:
        return SeedInterval(math.nan, math.nan, math.nan, 0)
    diff = np.array([pa[k] - pb[k] for k in keys])
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    low, high = np.quantile(boots, [0.025, 0.975])
    return SeedInterval(float(diff.mean()), float(low), float(high), len(keys))


_OUTPUT = re.compile(r"```output\n(.*?)```", re.DOTALL)


def derived_counts(samples: Path) -> dict[str, dict[str, float]]:
    """Per (dataset, budget): the share of samples whose output block printed the gold but whose answer is wrong."""
    counts: dict[str, list[int]] = {}
    for rec in _records(samples):
        key = f"{rec['dataset']}|{rec['max_tool_calls']}"
        outputs = _OUTPUT.findall(rec.get("response", ""))
        printed = any(re.search(rf"(?<!\d){re.escape(str(rec['gold']))}(?!\d)", o) for o in outputs)
        n = counts.setdefault(key, [0, 0])
        n[0] += 1
        n[1] += int(printed and not rec.get("correct"))
    return {k: {"samples": n, "printed_gold_but_wrong": bad / n if n else math.nan} for k, (n, bad) in counts.items()}


def accuracy(summary: dict | None, budget: int, tier: str | None = None) -> float:
    """Accuracy of an evaluation at a budget: one tier, or all tiers pooled (equal problems per tier)."""
    if not summary:
        return math.nan
    rows = [r for r in summary["rows"] if r["max_tool_calls"] == budget and (tier is None or r["dataset"] == tier)]
    if not rows or (tier is None and len(rows) != len(TIERS)):
        return math.nan
    weight = sum(r["problems"] for r in rows)
    return sum(r["avg_at_k"] * r["problems"] for r in rows) / weight


def row_value(summary: dict | None, budget: int, key: str) -> float:
    if not summary:
        return math.nan
    rows = [r for r in summary["rows"] if r["max_tool_calls"] == budget]
    vals = [r.get(key) for r in rows if isinstance(r.get(key), (int, float))]
    return float(np.mean(vals)) if vals and len(rows) == len(TIERS) else math.nan


def verdict(interval: SeedInterval) -> str:
    if interval.n < 2 or not np.isfinite(interval.low):
        return "inconclusive" + (f" ({interval.n} seed{'s' if interval.n != 1 else ''})" if interval.n < 2 else "")
    if interval.low > 0:
        return "supported"
    if interval.high < 0:
        return "not supported"
    return "inconclusive"


def edge_change(run: SeedRun, metric: str) -> float:
    _, y = run.curve(metric)
    if len(y) < 2 * EDGE:
        return math.nan
    return float(y[-EDGE:].mean() - y[:EDGE].mean())


def spearman(run: SeedRun, metric: str) -> float:
    x, y = run.curve(metric)
    return float(stats.spearmanr(x, y).statistic) if len(y) >= 5 and np.ptp(y) > 0 else math.nan


@dataclass
class Claim:
    claim: str
    measure: str
    value: SeedInterval
    verdict: str
    digits: int = 2
    by_problem: SeedInterval | None = None  # held-out claims: the same difference with problems as the unit

    def row(self) -> str:
        problems = "-" if self.by_problem is None or self.by_problem.n == 0 else (
            f"{self.by_problem.mean:.2f} [{self.by_problem.low:.2f}, {self.by_problem.high:.2f}]")  # fmt: skip
        return f"| {self.claim} | {self.measure} | {self.value.cell(self.digits)} | {problems} | {self.verdict} |"


@dataclass
class Report:
    runs: list[SeedRun]
    evals: dict[str, dict]
    claims: list[Claim]
    missing: list[str]
    lines: list[str]
    data: dict


def _eval_of(evals: dict, preset: str, run: SeedRun | None) -> dict | None:
    label = "initial" if run is None else f"{run.experiment}__seed={run.seed}"
    summary = evals.get(f"{preset}__{label}")
    return summary if summary and summary.get("complete") else None


def build(logs: Path, expected: Iterable[tuple[str, int]] = ()) -> Report:
    runs = load_runs(logs)
    evals = load_evals(logs)
    by_arm = {arm: [r for r in runs if arm_of(r.experiment) == arm and r.complete] for arm in ("tool", "no_tool")}
    present = {(r.experiment, r.seed) for r in runs}
    missing = [f"run {e} seed {s}: not started" for e, s in expected if (e, s) not in present]
    missing += [
        f"run {r.experiment} seed {r.seed}: trained to step {r.trained_to if r.trained_to is not None else r.steps} "
        f"of {r.total_steps}"
        for r in runs
        if not r.complete
    ]
    tool, no_tool = by_arm["tool"], by_arm["no_tool"]
    claims: list[Claim] = []
    data: dict = {"curves": {}, "sigmoid": {}, "labels": {metric: label for metric, (label, _) in CURVES.items()}}

    # (a) co-scaling with steps, tool arm
    for metric, name in (("tir/code_exec_ratio", "code use"), ("tir/acc", "accuracy"),
                         ("tir/response_length/all", "response length")):  # fmt: skip
        change = seed_interval([edge_change(r, metric) for r in tool])
        claims.append(
            Claim(f"(a) {name} rises with training steps (tool arm)",
                  f"mean of the last {EDGE} steps minus the first {EDGE}, per seed", change, verdict(change),
                  digits=1 if "length" in metric else 2)
        )  # fmt: skip
        data["curves"][metric] = {arm: _curve_band(by_arm[arm], metric) for arm in by_arm}

    # (b) tool beats no tool on held-out problems
    tool_acc = [accuracy(_eval_of(evals, "paper_mini", r), TRAIN_BUDGET) for r in tool]
    plain_acc = [accuracy(_eval_of(evals, "paper_mini_no_tool", r), 0) for r in no_tool]
    gap = difference_interval(tool_acc, plain_acc)
    tool_evals = [_eval_of(evals, "paper_mini", r) for r in tool]
    claims.append(
        Claim("(b) the tool arm beats the no-tool arm (held-out, all tiers)",
              f"accuracy at its training budget ({TRAIN_BUDGET} calls) minus the no-tool arm's, over seeds", gap,
              verdict(gap), by_problem=problem_interval(tool_evals, TRAIN_BUDGET,
                                                        [_eval_of(evals, "paper_mini_no_tool", r) for r in no_tool], 0))
    )  # fmt: skip

    # (c) the interaction budget, swept at evaluation time on the tool arm
    per_budget = {b: [accuracy(_eval_of(evals, "paper_mini", r), b) for r in tool] for b in BUDGETS}
    one_vs_zero = seed_interval([a - b for a, b in zip(per_budget[1], per_budget[0], strict=True)])
    claims.append(
        Claim("(c) running code helps (tool arm)", "accuracy at 1 call minus at 0 calls, paired by seed", one_vs_zero,
              verdict(one_vs_zero), by_problem=problem_interval(tool_evals, 1, tool_evals, 0))
    )  # fmt: skip
    means = {b: np.nanmean(v) if np.isfinite(v).any() else math.nan for b, v in per_budget.items()}
    interior = [b for b in BUDGETS[1:-1] if np.isfinite(means[b])]
    if interior and np.isfinite(means[BUDGETS[-1]]):
        best = max(interior, key=lambda b: means[b])
        peak = seed_interval([a - b for a, b in zip(per_budget[best], per_budget[BUDGETS[-1]], strict=True)])
        by_problem = problem_interval(tool_evals, best, tool_evals, BUDGETS[-1])
        peak_verdict = verdict(peak)
        if peak_verdict == "supported" and not by_problem.low > 0:
            peak_verdict = "inconclusive: supported over seeds, not over problems"
        if peak_verdict != "supported":
            peak_verdict += " (a plateau, pre-registered as an acceptable finding)" if peak.n >= 2 else ""
        claims.append(
            Claim(f"(c) accuracy peaks at an intermediate budget ({best} calls)",
                  f"accuracy at {best} calls minus at {BUDGETS[-1]}, paired by seed", peak, peak_verdict,
                  by_problem=by_problem)
        )  # fmt: skip
    else:
        claims.append(Claim("(c) accuracy peaks at an intermediate budget", "no budget sweep yet",
                            seed_interval([]), "inconclusive (no evaluations)"))  # fmt: skip
    data["budget_sweep"] = {b: seed_interval(v).to_dict() for b, v in per_budget.items()}

    for arm, arm_runs in by_arm.items():
        for metric, (_, (low, high)) in CURVES.items():
            fits = [fit_sigmoid(*r.curve(metric), lower=low, upper=high) for r in arm_runs]
            data["sigmoid"].setdefault(arm, {})[metric] = [f.to_dict() if f else None for f in fits]

    data["time_in_all"] = time_in_all(runs, evals)
    data["algorithms"] = algorithm_curves(runs)
    lines = render(runs, evals, claims, missing, data, by_arm)
    return Report(runs, evals, claims, missing, lines, data)


def time_in_all(runs: list[SeedRun], evals: dict[str, dict]) -> dict:
    """What `make paper-mini` for claims (a)-(c) costs: the measured wall time of every training launch of the two
    arms and of every evaluation of them and of the initial model, summed. The launches ran across sessions, so this
    is the sum of the metered stages (the driver's own seconds between them are not in it), not one stopwatch."""
    arms = ("tool", "no_tool")
    train = [r for r in runs if arm_of(r.experiment) in arms]
    labels = {"initial"} | {f"{r.experiment}__seed={r.seed}" for r in train}
    evaluated = [s for name, s in evals.items() if name.split("__", 1)[-1] in labels]
    return {
        "training_s": sum(r.wall_s for r in train),
        "training_launches": sum(r.launches for r in train),
        "evaluation_s": sum(s.get("wall_s", 0.0) for s in evaluated),
        "evaluation_launches": sum(s.get("launches_metered", 0) for s in evaluated),
        "unmetered": [f"{r.experiment} seed {r.seed}" for r in train if not r.launches]
        + [name for name, s in evals.items() if s in evaluated and not s.get("wall_s")],
    }


def _curve_band(runs: list[SeedRun], metric: str) -> dict:
    steps = sorted({int(s) for r in runs for s in r.curve(metric)[0]})
    rows = []
    for step in steps:
        vals = []
        for r in runs:
            x, y = r.curve(metric)
            vals += [float(v) for xs, v in zip(x, y, strict=True) if int(xs) == step]
        rows.append((step, seed_interval(vals)))
    return {"steps": [s for s, _ in rows], "band": [i.to_dict() for _, i in rows]}


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def render(runs, evals, claims, missing, data, by_arm) -> list[str]:
    lines = ["# The paper in miniature: report", ""]
    lines += [
        (
            "Generated by `python -m recipes.zerotir.paper_mini report` from this folder only; rules in "
            "docs/paper_mini.md. "
            "Intervals are 95 % Student-t intervals over seeds (Welch for a difference of arms)."
        ),
        "",
        "## Claims",
        "",
        "| claim | measure | value [95 % interval over seeds] | pooled seeds, by problem [95 % bootstrap] | verdict |",
        "|---|---|---|---|---|",
    ]
    lines += [c.row() for c in claims]
    lines += ["", "## Runs", "",
              "| experiment | seed | steps logged / trained / planned | wall time | peak PSS | status | notes |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in runs:
        status = "complete" if r.complete else "**missing** (unfinished)"
        wall = (
            f"{r.wall_s / 60:.1f} min" + (f" ({r.launches} launches)" if r.launches > 1 else "") if r.launches else "-"
        )
        lines.append(
            f"| {r.experiment} | {r.seed} | {r.steps} / {r.trained_to if r.trained_to is not None else '-'} / "
            f"{r.total_steps} | {wall} | {f'{r.peak_gib:.1f} GiB' if r.launches else '-'} | {status} | "
            f"{'; '.join(r.notes) or '-'} |"
        )
    t = data["time_in_all"]
    uncounted = f" Not counted, no meter: {', '.join(t['unmetered'])}." if t["unmetered"] else ""
    total_h = (t["training_s"] + t["evaluation_s"]) / 3600
    lines += ["", "## Time in all, claims (a)-(c)", "",
              f"Training {t['training_s'] / 3600:.2f} h ({t['training_launches']} launches) + evaluation "
              f"{t['evaluation_s'] / 3600:.2f} h ({t['evaluation_launches']} launches) = **{total_h:.2f} h**: the "
              "measured wall time of every metered launch of the tool and no-tool arms and of their and the initial "
              "model's evaluations, summed (they ran across sessions; the driver's own time between launches is not "
              "in it)." + uncounted]  # fmt: skip
    lines += ["", "## Curves (per seed)", "",
              "| experiment | seed | metric | first 3 steps | last 3 steps | Spearman with step | collapse alarm |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in runs:
        for metric, (label, _) in CURVES.items():
            _, y = r.curve(metric)
            if len(y) == 0:
                continue
            fired = "-"
            if metric == "tir/code_exec_ratio":
                alarm = CollapseAlarm()
                hits = [i + 1 for i, v in enumerate(y) if alarm.update(v)["tir/code_use_collapse"]]
                fired = f"steps {hits}" if hits else "never"
            digits = 1 if "length" in metric else 2
            lines.append(
                f"| {r.experiment} | {r.seed} | {label} | {_fmt(y[:EDGE].mean(), digits)} | "
                f"{_fmt(y[-EDGE:].mean(), digits)} | {_fmt(spearman(r, metric))} | {fired} |"
            )
    lines += ["", "## Bounded sigmoid per seed (R = R0 + (A - R0) / (1 + (C_mid / step)^B))", "",
              "| arm | metric | ceiling A over seeds | midpoint C_mid over seeds | kinds |",
              "|---|---|---|---|---|"]  # fmt: skip
    for arm, per_metric in data["sigmoid"].items():
        for metric, fits in per_metric.items():
            ok = [f for f in fits if f]
            laws = [f for f in ok if f["kind"] == "law"]
            kinds = ", ".join(f["kind"] for f in ok) or "-"
            digits = 1 if "length" in metric else 2
            lines.append(
                f"| {arm} | {CURVES[metric][0]} | {seed_interval([f['a'] for f in laws]).cell(digits)} | "
                f"{seed_interval([f['c_mid'] for f in laws]).cell(1)} | {kinds} |"
            )
    lines += ["", SIGMOID_NOTE, ""]
    lines += _eval_tables(evals, by_arm)
    lines += algorithm_table(runs, evals)
    lines += ["", "## Missing", ""] + ([f"- {m}" for m in missing] or ["- nothing: every planned run finished"])
    return lines


def algorithm_of(experiment: str) -> str | None:
    """The RL algorithm of a miniature tool run (claim d): GRPO for the tool arm, else the experiment's suffix."""
    if experiment == "cpu_mini_tool":
        return "grpo"
    if experiment.startswith("cpu_mini_") and arm_of(experiment) == "algorithm":
        return experiment.removeprefix("cpu_mini_")
    return None


def _law_fits(runs: list[SeedRun], metric: str) -> list:
    """Each run's bounded sigmoid of `metric` where it is of kind `law` (the only fits whose parameters are read)."""
    fits = [fit_sigmoid(*r.curve(metric), *CURVES[metric][1]) for r in runs]
    return [f for f in fits if f and f.kind == "law"]


def algorithm_table(runs: list[SeedRun], evals: dict) -> list[str]:
    """Claim (d): the tool arm's curve under each algorithm, one row each (only when a non-GRPO run exists)."""
    groups = algorithm_groups(runs)
    if not groups:
        return []
    header = ("algorithm", "seeds", "code use, last 3 - first 3", "accuracy, last 3 - first 3", "code-use ceiling A",
              "accuracy ceiling A", "accuracy midpoint C_mid", "held-out, 0 calls", "held-out, 1 call",
              "generated tokens per run", "wall per run", "peak PSS")  # fmt: skip
    lines = ["", "## Claim (d): the same curve across RL algorithms (tool arm)", "",
             "| " + " | ".join(header) + " |", "|---|" + "---|" * 11]  # fmt: skip
    rises = []
    ceilings: dict[str, dict[str, SeedInterval]] = {}
    for alg, members in sorted(groups.items()):
        code = seed_interval([edge_change(r, "tir/code_exec_ratio") for r in members])
        acc = seed_interval([edge_change(r, "tir/acc") for r in members])
        rises.append((alg, code, acc))
        laws = {metric: _law_fits(members, metric) for metric in CEILINGS.values()}
        for name, metric in CEILINGS.items():
            ceilings.setdefault(name, {})[alg] = seed_interval([f.a for f in laws[metric]])
        held = [seed_interval([accuracy(_eval_of(evals, "paper_mini", r), b) for r in members]).cell() for b in (0, 1)]
        tokens = [r.curve("tir/cum_generated_tokens")[1] for r in members]
        cells = [
            alg, str(len(members)), code.cell(), acc.cell(),
            ceilings["code use"][alg].cell(), ceilings["accuracy"][alg].cell(),
            seed_interval([f.c_mid for f in laws["tir/acc"]]).cell(1), *held,
            seed_interval([t[-1] for t in tokens if len(t)]).cell(0),
            seed_interval([r.wall_s / 60 for r in members if r.launches]).cell(1) + " min",
            seed_interval([r.peak_gib for r in members if r.launches]).cell(1) + " GiB",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    holds = all(verdict(c) == "supported" and verdict(a) == "supported" for _, c, a in rises)
    each = ", ".join(f"{a}: {verdict(c)} / {verdict(x)}" for a, c, x in rises)
    lines += ["", (f"Verdict, by the rule above: code use and accuracy rise under every algorithm: "
                   f"**{'supported' if holds else 'not shown'}** ({each}).")]  # fmt: skip
    lines += ["", "Ceilings (A of the bounded sigmoid, fits of kind `law` only): " + "; ".join(
        f"{name}: {ceiling_verdict(by_alg)}" for name, by_alg in ceilings.items()) + "."]  # fmt: skip
    return lines + matched_cost_table(groups)


CEILINGS = {"code use": "tir/code_exec_ratio", "accuracy": "tir/acc"}


def ceiling_verdict(by_alg: dict[str, SeedInterval]) -> str:
    """Whether any two algorithms' ceilings differ beyond their intervals (disjoint 95 % intervals over seeds); an
    algorithm with fewer than 2 law fits has no interval and is named as not compared."""
    ready = {alg: i for alg, i in by_alg.items() if i.n >= 2}
    differ = [f"{a} {'<' if ia.high < ib.low else '>'} {b}"
              for (a, ia), (b, ib) in itertools.combinations(sorted(ready.items()), 2)
              if ia.high < ib.low or ib.high < ia.low]  # fmt: skip
    text = ("differ beyond their intervals: " + ", ".join(differ)) if differ else (
        f"no two of {', '.join(sorted(ready))} differ beyond their intervals" if len(ready) >= 2
        else "fewer than two algorithms with an interval")  # fmt: skip
    if short := sorted(set(by_alg) - set(ready)):
        text += f" (not compared, under 2 law fits: {', '.join(short)})"
    return text


def algorithm_groups(runs: list[SeedRun]) -> dict[str, list[SeedRun]]:
    """The complete tool runs by RL algorithm (claim d); empty while GRPO is the only one (nothing to compare)."""
    groups: dict[str, list[SeedRun]] = {}
    for r in runs:
        if r.complete and (alg := algorithm_of(r.experiment)):
            groups.setdefault(alg, []).append(r)
    return {} if set(groups) <= {"grpo"} else groups


def algorithm_curves(runs: list[SeedRun]) -> dict[str, list[dict]]:
    """Per algorithm, each seed's code use and accuracy against step and both costs (the figure's data); empty when
    GRPO is the only algorithm run."""
    out: dict[str, list[dict]] = {}
    for alg, members in sorted(algorithm_groups(runs).items()):
        for r in members:
            curves: dict = {"seed": r.seed}
            for metric in ("tir/code_exec_ratio", "tir/acc"):
                x, y = r.curve(metric)
                curves[metric] = {"step": (x.tolist(), y.tolist())}
                for cost in COSTS:
                    spent, value = cost_curve(r, metric, cost)
                    curves[metric][cost] = (spent.tolist(), value.tolist())
            out.setdefault(alg, []).append(curves)
    return out


@dataclass(frozen=True)
class Cost:
    """One of claim (d)'s cost axes and how the matched-cost table prints it."""

    series: Callable[[SeedRun], tuple[np.ndarray, np.ndarray]]  # a run's (steps, cumulative cost) as logged
    unit: str  # of the per-step column
    digits: int  # of the per-step column
    spent: str  # the budget's columns read "code use at <budget> <spent>"
    budget_digits: int


def _training_minutes(run: SeedRun) -> tuple[np.ndarray, np.ndarray]:
    steps, seconds = run.curve("timing_s/step")
    return steps, np.cumsum(seconds) / 60


COSTS = {
    "generated tokens": Cost(lambda run: run.curve("tir/cum_generated_tokens"), "tokens", 0, "generated tokens", 0),
    "training time": Cost(_training_minutes, "min", 2, "min of training", 1),
}


def cost_curve(run: SeedRun, metric: str, cost: str) -> tuple[np.ndarray, np.ndarray]:
    """`metric` against a cumulative cost: the steps logged with both, as (cost, value) arrays."""
    steps, spent = COSTS[cost].series(run)
    at = dict(zip(steps.tolist(), spent.tolist(), strict=True))
    x, y = run.curve(metric)
    keep = [i for i, s in enumerate(x.tolist()) if s in at]
    return np.array([at[x[i]] for i in keep]), y[keep]


def within_budget(run: SeedRun, metric: str, cost: str, budget: float) -> float:
    """The mean of `metric` over the last `EDGE` logged steps whose cumulative cost is within `budget` (else nan)."""
    spent, y = cost_curve(run, metric, cost)
    reached = y[spent <= budget * (1 + 1e-9)]
    return float(reached[-EDGE:].mean()) if len(reached) >= EDGE else math.nan


def matched_cost_table(groups: dict[str, list[SeedRun]]) -> list[str]:
    """Claim (d) at equal cost, not equal steps: an algorithm with a critic spends more per step. The matched budget
    of each cost is the smallest total any run reached, so every run is read at a cost it actually paid."""
    runs = [r for members in groups.values() for r in members]
    budgets = {}
    for cost in COSTS:
        totals = [spent[-1] for r in runs if len(spent := cost_curve(r, "tir/acc", cost)[0])]
        budgets[cost] = min(totals) if len(totals) == len(runs) and totals else math.nan
    header = ["algorithm", "seeds"] + [f"{name} per step ({c.unit})" for name, c in COSTS.items()]
    header += [f"{m} at {_fmt(budgets[name], c.budget_digits)} {c.spent}"
               for name, c in COSTS.items() for m in ("code use", "accuracy")]  # fmt: skip
    lines = ["", "### At matched cost", "",
             (f"Each run read at the same spent {' and the same '.join(COSTS)} (the smallest total any run reached): "
              f"the mean of the last {EDGE} steps within it. Training time is verl's `timing_s/step` summed (start-up "
              "and evaluation excluded); it depends on the machine's load, which differed between runs "
              "(docs/paper_mini.md, Time and memory)."), "",
             "| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]  # fmt: skip
    for alg, members in sorted(groups.items()):
        per_step = []
        for name, cost in COSTS.items():
            rates = [spent[-1] / len(spent) for r in members if len(spent := cost_curve(r, "tir/acc", name)[0])]
            per_step.append(seed_interval(rates).cell(cost.digits))
        read = [seed_interval([within_budget(r, m, c, b) for r in members]).cell()
                for c, b in budgets.items() for m in ("tir/code_exec_ratio", "tir/acc")]  # fmt: skip
        lines.append("| " + " | ".join([alg, str(len(members)), *per_step, *read]) + " |")
    return lines


SIGMOID_NOTE = (
    "Only fits of kind `law` enter the intervals: a step change (a rise within two steps) or a fit whose level leaves "
    "its physical range is reported, not averaged. Nothing is extrapolated."
)


def _eval_tables(evals: dict, by_arm: dict) -> list[str]:
    tool, no_tool = by_arm["tool"], by_arm["no_tool"]
    lines = ["## Held-out accuracy per tier (50 problems a tier, one sample each)", "",
             "| model | prompt, budget | " + " | ".join(TIERS.values()) + " | all |",
             "|---|---|" + "---|" * (len(TIERS) + 1)]  # fmt: skip

    def row(name: str, summaries: list, budget: int, what: str) -> str:
        cells = [seed_interval([accuracy(s, budget, t) for s in summaries]).cell() for t in TIERS]
        cells.append(seed_interval([accuracy(s, budget) for s in summaries]).cell())
        return f"| {name} | {what} | " + " | ".join(cells) + " |"

    initial_tool, initial_prose = _eval_of(evals, "paper_mini", None), _eval_of(evals, "paper_mini_no_tool", None)
    for budget in (0, 1, TRAIN_BUDGET):
        lines.append(row("initial", [initial_tool], budget, f"two_style, {budget} calls"))
    lines.append(row("initial", [initial_prose], 0, "prose_style, 0 calls"))
    lines.append(row("tool arm", [_eval_of(evals, "paper_mini", r) for r in tool], TRAIN_BUDGET,
                     f"two_style, {TRAIN_BUDGET} calls"))  # fmt: skip
    lines.append(row("no-tool arm", [_eval_of(evals, "paper_mini_no_tool", r) for r in no_tool], 0, "prose_style"))
    gaps = []
    for t in [*TIERS, None]:
        a = [accuracy(_eval_of(evals, "paper_mini", r), TRAIN_BUDGET, t) for r in tool]
        b = [accuracy(_eval_of(evals, "paper_mini_no_tool", r), 0, t) for r in no_tool]
        gaps.append(difference_interval(a, b).cell())
    lines.append("| tool minus no-tool | (Welch over seeds) | " + " | ".join(gaps) + " |")

    lines += ["", "## Interaction budget at evaluation (tool arm; initial model for reference)", "",
              ("| model | budget | accuracy | length-cut rate | calls / sample | code error rate | "
              "printed the gold, answered wrong |"), "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, summaries in (
        ("initial", [initial_tool]),
        ("tool arm", [_eval_of(evals, "paper_mini", r) for r in tool]),
    ):
        for budget in BUDGETS:
            acc = seed_interval([accuracy(s, budget) for s in summaries])
            if acc.n == 0:
                continue
            printed = [v["printed_gold_but_wrong"] for s in summaries if s
                       for k, v in s["derived"].items() if k.endswith(f"|{budget}")]  # fmt: skip
            means = " | ".join(_fmt(np.nanmean([row_value(s, budget, k) for s in summaries])) for k in BUDGET_COLUMNS)
            lines.append(
                f"| {name} | {budget} | {acc.cell()} | {means} | {_fmt(np.nanmean(printed) if printed else math.nan)} |"
            )
    lines += ["", f"## Output withheld (tool arm, {TRAIN_BUDGET} calls: the code runs, the model sees an empty block)",
              "", "| tier | outputs shown | outputs withheld | shown minus withheld (paired by seed) |",
              "|---|---|---|---|"]  # fmt: skip
    for t in [*TIERS, None]:
        shown = [accuracy(_eval_of(evals, "paper_mini", r), TRAIN_BUDGET, t) for r in tool]
        hidden = [accuracy(_eval_of(evals, "paper_mini_withheld", r), TRAIN_BUDGET, t) for r in tool]
        paired = seed_interval([a - b for a, b in zip(shown, hidden, strict=True)])
        cells = (TIERS.get(t, "all"), seed_interval(shown).cell(), seed_interval(hidden).cell(), paired.cell())
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write(logs: Path, out: Path, expected: Iterable[tuple[str, int]] = ()) -> Report:
    """Build the report from `logs` and write report.md, claims.json and the figures under `out` (one set: stale
    figures of ours are removed first)."""
    from runs.atomic import write_atomic
    from scaling.paper_mini_plots import draw_all

    report = build(logs, expected)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.png"):
        stale.unlink()
    claims = [{"claim": c.claim, "measure": c.measure, "value": c.value.to_dict(), "verdict": c.verdict}
              for c in report.claims]  # fmt: skip
    write_atomic(out / "claims.json", json.dumps({"claims": claims, "missing": report.missing, **report.data},
                                                 indent=1, default=_json_default) + "\n")  # fmt: skip
    notes = draw_all(report, out)
    lines = report.lines + (["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in sorted(out.glob("*.png"))])
    lines += [f"- note: {n}" for n in notes]
    write_atomic(out / "report.md", "\n".join(lines) + "\n")
    return report


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
