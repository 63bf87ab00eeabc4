"""zerotir data preparation: vendored raw math sets -> verl parquet files, the prompt rendered in one template.

Public API (the training entry point and the eval harness call these): build, ensure_parquet, check_overlap,
and the name lists DATASETS, TRAIN, EVAL, TEMPLATES. The templates themselves are the rollout's
(tir_rollout/templates.py); TEMPLATES is re-exported as the templates a parquet file can be built in.
Files are data/processed/<dataset>.<template>.parquet, built on demand; see docs/data.md.
"""

from data_prep.catalog import DATASETS, EVAL, TRAIN
from data_prep.overlap import OverlapError, check_overlap
from data_prep.parquet import build, ensure_parquet
from data_prep.sources import RawDataError
from tir_rollout.templates import TEMPLATES

__all__ = [
    "DATASETS",
    "EVAL",
    "TEMPLATES",
    "TRAIN",
    "OverlapError",
    "RawDataError",
    "build",
    "check_overlap",
    "ensure_parquet",
]
