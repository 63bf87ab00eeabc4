"""The dataset names that configs and filenames use, each with its split, loader and expected row count.

The names are a contract with conf/, recipes/ and the eval harness: keep them exactly. The expected
count is checked after loading, so a loader change that drops or adds rows fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from data_prep import aime, amc, arithmetic, gsm8k, hendrycks_math, matharena, minerva, olympiadbench, simplerl
from data_prep.sources import Problem
from reward.answer_types import INTEGER, MATH, check_answer_type


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    split: str  # "train" or "eval"
    load: Callable[[], list[Problem]]
    rows: int  # expected number of output rows
    # what the gold is (reward.answer_types): `integer` golds take only a number written out, so that a box that
    # restates the question (`381 * 49`) earns nothing; `math` keeps the grader's full equivalence
    answer_type: str = MATH

    def __post_init__(self) -> None:
        check_answer_type(self.answer_type, f"data_prep/catalog.py: dataset {self.name}")


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("simplerl_math_l3to5", "train", simplerl.load_simplerl_math_l3to5, 8521),  # 8,523 minus 2 empty
        DatasetSpec("math_train", "train", hendrycks_math.load_math_train, 7470),  # 7,474 minus 4 unanswered
        DatasetSpec("gsm8k_train", "train", gsm8k.load_gsm8k_train, 7473),
        DatasetSpec("aime_1983_2023", "train", aime.load_aime_1983_2023, 975),
        DatasetSpec("aime24", "eval", aime.load_aime24, 30),
        DatasetSpec("aime25", "eval", aime.load_aime25, 30),
        DatasetSpec("amc23", "eval", amc.load_amc23, 40),
        DatasetSpec("math500", "eval", hendrycks_math.load_math500, 500),
        DatasetSpec("minerva", "eval", minerva.load_minerva, 272),
        DatasetSpec("olympiadbench", "eval", olympiadbench.load_olympiadbench, 675),
        DatasetSpec("gsm8k_test", "eval", gsm8k.load_gsm8k_test, 1319),
        DatasetSpec("hmmt_feb_2024", "eval", matharena.load_hmmt_feb_2024, 30),
        DatasetSpec("hmmt_feb_2025", "eval", matharena.load_hmmt_feb_2025, 30),
        DatasetSpec("cmimc_2024", "eval", matharena.load_cmimc_2024, 30),
        *(
            DatasetSpec(name, split, partial(arithmetic.load, name), rows, INTEGER)  # generated
            for name, (split, rows) in arithmetic.DATASETS.items()
        ),
    )
}
TRAIN = [name for name, spec in DATASETS.items() if spec.split == "train"]
EVAL = [name for name, spec in DATASETS.items() if spec.split == "eval"]


def dataset(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets: train {', '.join(TRAIN)}; eval {', '.join(EVAL)}")
    return DATASETS[name]


def load(name: str) -> list[Problem]:
    """A dataset's problems, checked against its expected row count."""
    spec = dataset(name)
    problems = spec.load()
    if len(problems) != spec.rows:
        raise ValueError(
            f"dataset {name}: loaded {len(problems)} problems, expected {spec.rows} (data_prep/catalog.py)"
        )
    return problems
