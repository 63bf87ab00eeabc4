"""Write a file (or a folder) so that a reader sees the old version or the new one, never half of one.

The new content goes to a temporary name in the target's own folder (same filesystem, so the final
`os.replace` is atomic) and replaces the target only once complete; on an error the temporary is removed.
Here, in runs/ at the bottom of the house, because data preparation, the recipe, evaluation, the scaling analysis and
the benchmarks all write this way (their summaries, reports, figures and side files); no other writer renames a
temporary. It needs only the standard library, so a writer imports nothing else to rename a file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Every file this recipe writes (parquet data, summaries, reports, checkpoint side files) is for sharing and none
# holds a secret: world-readable, whatever the umask or tempfile's private default (0600).
FILE_MODE = 0o644


@contextmanager
def atomic_path(path: str | Path, mode: int = FILE_MODE) -> Iterator[Path]:
    """A fresh temporary path beside `path` for a writer that wants a path (pyarrow, `save_pretrained`). When the
    block ends, a file there gets `mode` and replaces `path`; a folder keeps its writer's modes and replaces `path`
    only if `path` is absent or an empty folder (`os.replace`'s rule)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield temp
        if not temp.is_dir():
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            temp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes, mode: int = FILE_MODE) -> Path:
    """Write `data` (str as UTF-8) to `path` atomically, with file mode `mode`."""
    with atomic_path(path, mode) as temp:
        temp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


def folder_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a folder to write into: it is a file, it sits under a file, or the nearest folder that
    exists cannot be written; None when it can. Asked before anything is read or written, so that a bad output
    folder is one line naming it rather than a traceback once the work is done. Nothing is created. (It asks
    `os.access`, which says yes to root whatever the permission bits: the write itself still fails there.)"""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            return f"{path} is a file, not a folder"
        existing = next(p for p in (path, *path.parents) if p.exists())
    except OSError as err:  # a parent that cannot be searched
        return f"{path} cannot be reached ({err.strerror or err})"
    if not existing.is_dir():
        return f"{existing} is a file, so {path} cannot be made"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} cannot be written (permission denied)"
    return None
