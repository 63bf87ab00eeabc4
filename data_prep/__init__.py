"""zerotir data preparation: vendored raw math sets -> verl parquet files in one of three prompt templates.

Public API (the training entry point and the eval harness call these): build, ensure_parquet,
check_overlap, templates.render / templates.spec, and the name lists DATASETS, TRAIN, EVAL, TEMPLATES.
Files are data/processed/<dataset>.<template>.parquet, built on demand; see docs/data.md.
"""

from data_prep import templates
from data_prep.catalog import DATASETS, EVAL, TRAIN
from data_prep.overlap import OverlapError, check_overlap
from data_prep.parquet import build, ensure_parquet
from data_prep.sources import RawDataError
from data_prep.templates import TEMPLATES

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
    "templates",
]
