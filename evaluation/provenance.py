"""What an evaluation was made from: the checkout's commit and a hash of the weights it read.

Why: a before/after comparison is only as good as knowing that both sides ran the same harness and that the "after"
weights are the ones trained (a checkpoint folder can be overwritten by a rerun). run.json records both; a resumed
evaluation whose weights hash differs from the recorded one is refused (evaluation.fingerprint.check_run_json).
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_REPO = Path(__file__).resolve().parents[1]


def weights_sha256(model_dir: str | Path, gguf_file: str | None = None) -> str | None:
    """sha256 over the weight files of a local model folder (names and bytes, in name order); None when the folder
    holds none (a cached model id is not hashed)."""
    folder = Path(model_dir)
    files = [folder / gguf_file] if gguf_file else sorted(p for p in folder.glob("*") if p.suffix in WEIGHT_SUFFIXES)
    files = [p for p in files if p.is_file()]
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def git_commit(repo: Path = _REPO) -> str:
    """The checkout's commit, with "+dirty" when tracked files differ from it; "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                               text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


@lru_cache(maxsize=32)
def _cached_sha256(model_dir: str, gguf_file: str | None, stamp: tuple) -> str | None:
    return weights_sha256(model_dir, gguf_file)


def model_weights_sha256(model: str | None) -> str | None:
    """`weights_sha256` of an `eval.model` spec (a folder, DIR/x.gguf, pkg://...); cached per file sizes and times,
    since the fingerprint is asked for more than once per model."""
    if not model:
        return None
    from evaluation.backends.hf import ModelSource

    try:
        source = ModelSource.parse(model)
    except ValueError:
        return None  # the backend reports the bad spec with its own message
    folder = Path(source.path)
    if not folder.is_dir():
        return None
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file())
    return _cached_sha256(str(folder), source.gguf_file, stamp)
