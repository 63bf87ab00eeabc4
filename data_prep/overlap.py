"""Contamination check: exact overlap of normalised problem text between training and evaluation sets.

Normalisation is deliberately light (Unicode NFKC, case folding, all whitespace removed), so it finds
the same problem re-spaced or re-cased, not paraphrases or re-typeset LaTeX. A pair that overlaps is
refused unless allow_overlap is set, because evaluating on training problems inflates every number.
"""

from __future__ import annotations

import re
import unicodedata

from data_prep import catalog

_WHITESPACE = re.compile(r"\s+")


class OverlapError(ValueError):
    """Training and evaluation sets share problems and overlap was not allowed."""


def normalise_problem(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


def overlap_counts(train: dict[str, list[str]], evals: dict[str, list[str]]) -> dict[tuple[str, str], int]:
    """For each (train, eval) pair, how many eval problems also occur in the train set."""
    train_keys = {name: {normalise_problem(q) for q in questions} for name, questions in train.items()}
    counts = {}
    for eval_name, questions in evals.items():
        eval_keys = [normalise_problem(q) for q in questions]
        for train_name, keys in train_keys.items():
            counts[(train_name, eval_name)] = sum(key in keys for key in eval_keys)
    return counts


def check_overlap(train: list[str], evals: list[str], allow_overlap: bool = False) -> dict[tuple[str, str], int]:
    """Overlap counts per (train, eval) dataset pair; raises OverlapError on any overlap unless allowed."""
    counts = overlap_counts(
        {name: [p.question for p in catalog.load(name)] for name in train},
        {name: [p.question for p in catalog.load(name)] for name in evals},
    )
    bad = {pair: n for pair, n in counts.items() if n}
    if bad and not allow_overlap:
        pairs = "; ".join(f"{t} x {e}: {n} shared problems" for (t, e), n in bad.items())
        raise OverlapError(
            f"training and evaluation sets overlap ({pairs}). Choose other sets, or accept the contamination "
            "with allow_overlap=true (CLI: --allow-overlap)"
        )
    return counts
