"""Per-(dataset, sweep point) metrics from finished samples: avg@k, unbiased pass@k, maj@k, tool use, length.

Pure functions over `SampleRecord`s, so a summary is always re-derivable from samples.jsonl alone.
avg@k is the paper's headline (mean accuracy over k samples, docs/reference.md §7); pass@k is the unbiased
estimator of Chen et al. 2021 (`estimate_pass_at_k` in the reference eval); maj@k votes over the first k
samples by sample index, with answers compared as whitespace-free strings, not by math equivalence.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from evaluation.samples import SampleRecord
from tir_rollout.tool_use import RATE_NAMES, ToolUseRates

# The tool-use keys a summary row carries (ToolUseRates.rates()), under training's names (tir/<key>). Rows written
# before these names held `code_call_rate` and `length_rate` for code_exec_ratio and finish_length_rate (the scaling
# analysis still reads them: scaling.run.RENAMED), and before that `exec_error_rate` ((errors + timeouts) /
# executions), which is code_error_rate + code_timeout_rate here.
TOOL_USE_KEYS = RATE_NAMES


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with n samples of which c are correct: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def accuracy_interval(per_problem: Sequence[float], samples_per_problem: int) -> tuple[float, float]:
    """95 % interval of avg@k over problems (the problems are the sample; a re-run draws new samples of them).

    One sample per problem: the Wilson score interval of a binomial proportion, which stays inside [0, 1] and
    keeps its coverage near 0 and 1, where a 135M model's accuracy sits. Several samples: the normal interval of
    the mean of per-problem accuracies (their spread already holds the sampling noise), clipped to [0, 1]; when
    every problem scored the same (0/4 everywhere, say) that spread is 0 and would give a zero-width interval, so
    the Wilson interval of all samples pooled is used instead.
    """
    n = len(per_problem)
    if n == 0:
        raise ValueError("accuracy_interval needs at least one problem")
    mean = sum(per_problem) / n
    sd = math.sqrt(sum((p - mean) ** 2 for p in per_problem) / (n - 1)) if n > 1 else 0.0
    if samples_per_problem == 1 or sd == 0.0:
        n = n * samples_per_problem  # pooled samples (= problems when there is one sample each)
        centre = (mean + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * math.sqrt(mean * (1 - mean) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)
    half = Z95 * sd / math.sqrt(n)
    return max(0.0, mean - half), min(1.0, mean + half)


def answer_key(prediction: str | None) -> str | None:
    """The vote key of an answer: whitespace removed, so `\\frac{1}{2}` and `\\frac {1}{2}` agree."""
    if prediction is None:
        return None
    key = "".join(prediction.split())
    return key or None


def majority_correct(samples: Sequence[SampleRecord]) -> bool:
    """Whether the most frequent answer among `samples` is correct; ties go to the answer seen first.

    Samples without an answer do not vote; with no answer at all the vote is wrong. The correctness of an
    answer is that of the first sample that gave it (all samples with one key share one graded answer).
    """
    keys = [answer_key(s.prediction) for s in samples]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return False
    best = max(counts.values())
    for key, sample in zip(keys, samples):
        if key is not None and counts[key] == best:
            return sample.correct
    raise AssertionError("unreachable: a key with the best count exists")


@dataclass(kw_only=True)  # keyword-only: tool_use has no default, yet keeps its place among the defaults
class MetricRow:
    """One (dataset, max_tool_calls) cell of the summary; accuracies and rates are fractions in [0, 1]."""

    dataset: str
    max_tool_calls: int
    problems: int
    samples_per_problem: int  # the smallest count over problems (the k of avg@k)
    avg_at_k: float  # mean accuracy over all samples of all problems (reference avg@32)
    avg_at_k_ci95: tuple[float, float] = (0.0, 1.0)  # 95 % interval over problems (accuracy_interval)
    pass_at: dict[int, float] = field(default_factory=dict)  # k -> unbiased pass@k
    maj_at_k: float = 0.0  # majority vote over samples_per_problem samples
    tool_use: ToolUseRates  # the definition training's tir/* metrics use; a written row carries its rates()
    response_tokens_correct: float | None = None  # mean response length (output tokens included)
    response_tokens_wrong: float | None = None
    complete: bool = True  # every problem has every requested sample

    def as_dict(self) -> dict:
        """summary.json's row: flat, the tool-use rates (not the totals) in the tool_use field's place."""
        d: dict = {}
        for f in fields(self):
            d |= self.tool_use.rates() if f.name == "tool_use" else {f.name: getattr(self, f.name)}
        d["pass_at"] = {str(k): v for k, v in self.pass_at.items()}
        d["avg_at_k_ci95"] = list(self.avg_at_k_ci95)
        return d


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_cell(
    dataset: str, max_tool_calls: int, samples: Iterable[SampleRecord], ks: Sequence[int] = (1,), expected: int = 0
) -> MetricRow:
    """Metrics of one cell. `expected` is the requested samples per problem (marks the cell incomplete)."""
    by_problem: dict[str, list[SampleRecord]] = defaultdict(list)
    for s in samples:
        by_problem[s.problem_id].append(s)
    if not by_problem:
        raise ValueError(f"no samples for dataset {dataset!r} at max_tool_calls={max_tool_calls}")
    for group in by_problem.values():
        group.sort(key=lambda s: s.sample)
    flat = [s for group in by_problem.values() for s in group]
    n_min = min(len(g) for g in by_problem.values())
    pass_at = {
        k: sum(pass_at_k(len(g), sum(s.correct for s in g), k) for g in by_problem.values()) / len(by_problem)
        for k in sorted(set(ks))
        if 1 <= k <= n_min
    }
    per_problem = [sum(s.correct for s in g) / len(g) for g in by_problem.values()]
    return MetricRow(
        dataset=dataset,
        max_tool_calls=max_tool_calls,
        problems=len(by_problem),
        samples_per_problem=n_min,
        avg_at_k=sum(per_problem) / len(per_problem),
        avg_at_k_ci95=accuracy_interval(per_problem, n_min),
        pass_at=pass_at,
        maj_at_k=sum(majority_correct(g[:n_min]) for g in by_problem.values()) / len(by_problem),
        tool_use=ToolUseRates.of([s.tool_use for s in flat]),
        response_tokens_correct=_mean([s.tool_use.response_tokens for s in flat if s.correct]),
        response_tokens_wrong=_mean([s.tool_use.response_tokens for s in flat if not s.correct]),
        complete=expected <= 0 or all(len(g) >= expected for g in by_problem.values()),
    )


def summarize(samples: Iterable[SampleRecord], ks: Sequence[int] = (1,), expected: int = 0) -> list[MetricRow]:
    """One MetricRow per (dataset, max_tool_calls), sorted by dataset then sweep point."""
    cells: dict[tuple[str, int], list[SampleRecord]] = defaultdict(list)
    for s in samples:
        cells[(s.dataset, s.max_tool_calls)].append(s)
    return [summarize_cell(d, t, cells[(d, t)], ks, expected) for d, t in sorted(cells)]
