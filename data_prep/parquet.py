"""Writes one dataset in one template as a verl parquet file, atomically, and only when it is stale.

Every file has the same explicit Arrow schema, so verl can concatenate any of them (datasets'
concatenate_datasets refuses differing struct fields). A file records a fingerprint of the raw-file
manifest and of data_prep's own source; a file whose fingerprint matches is up to date and is not rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from data_prep import catalog
from data_prep.manifest import RAW_FILES
from runs.atomic import atomic_path
from tir_rollout import templates

logger = logging.getLogger(__name__)

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", pa.list_(_MESSAGE)),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        (
            "extra_info",
            pa.struct(
                [
                    ("index", pa.int64()),
                    ("split", pa.string()),
                    ("template", pa.string()),
                    ("id", pa.string()),
                    ("question", pa.string()),
                    ("unit", pa.string()),  # OlympiadBench's answer unit, null elsewhere
                    ("answer_type", pa.string()),  # reward.answer_types: how the reward reads the gold
                ]
            ),
        ),
    ]
)
FINGERPRINT_KEY = b"zerotir.data_prep.fingerprint"


def fingerprint(dataset: str, template: str) -> str:
    """Changes whenever the raw manifest or any data_prep source file changes."""
    digest = hashlib.sha256(f"{dataset}\0{template}\0{sorted(RAW_FILES.items())}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def output_path(dataset: str, template: str, out_dir: str | Path = "data/processed") -> Path:
    return Path(out_dir) / f"{dataset}.{template}.parquet"


def is_up_to_date(path: Path, dataset: str, template: str) -> bool:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return metadata.get(FINGERPRINT_KEY) == fingerprint(dataset, template).encode()


def rows(dataset: str, template: str) -> list[dict]:
    """The verl rows of one dataset in one template."""
    spec = catalog.dataset(dataset)
    templates.spec(template)
    problems = catalog.load(dataset)
    quiet = not sys.stdout.isatty()
    return [
        {
            "data_source": dataset,
            "prompt": templates.prompt_messages(template, problem.question),
            "ability": "math",
            "reward_model": {"style": "rule", "ground_truth": problem.answer},
            "extra_info": {
                "index": index,
                "split": spec.split,
                "template": template,
                "id": problem.id,
                "question": problem.question,
                "unit": problem.unit,
                "answer_type": spec.answer_type,
            },
        }
        for index, problem in enumerate(tqdm(problems, desc=f"{dataset}.{template}", disable=quiet))
    ]


def build(dataset: str, template: str, out_dir: str | Path = "data/processed") -> Path:
    """Build data/processed/<dataset>.<template>.parquet (or under out_dir) unless it is up to date."""
    catalog.dataset(dataset)
    templates.spec(template)
    path = output_path(dataset, template, out_dir)
    if is_up_to_date(path, dataset, template):
        logger.debug("%s is up to date", path)
        return path
    table = pa.Table.from_pylist(rows(dataset, template), schema=SCHEMA)
    table = table.replace_schema_metadata({FINGERPRINT_KEY: fingerprint(dataset, template).encode()})
    with atomic_path(path) as temp:  # unique temp name: concurrent builders never see a half-written file
        pq.write_table(table, temp)
    logger.info("wrote %s (%d rows)", path, table.num_rows)
    return path


def parse_name(path: str | Path) -> tuple[str, str]:
    """(dataset, template) of a file named `<dataset>.<template>.parquet`; ValueError naming the file otherwise."""
    path = Path(path)
    parts = path.name.split(".")
    if (
        len(parts) != 3
        or parts[2] != "parquet"
        or parts[0] not in catalog.DATASETS
        or parts[1] not in templates.TEMPLATES
    ):
        raise ValueError(
            f"{path}: expected a file name <dataset>.<template>.parquet with dataset one of "
            f"{', '.join(catalog.DATASETS)} and template one of {', '.join(templates.TEMPLATES)}"
        )
    return parts[0], parts[1]


def needs_build(path: str | Path) -> bool:
    """Whether ensure_parquet(path) would write: the file is missing or stale. Writes nothing."""
    dataset, template = parse_name(path)
    return not is_up_to_date(Path(path), dataset, template)


def ensure_parquet(path: str | Path) -> Path:
    """Build <dataset>.<template>.parquet into the folder of `path` if it is missing or stale."""
    path = Path(path)
    dataset, template = parse_name(path)
    return build(dataset, template, path.parent)
