"""The worker's wire format, one place for both ends: a JSON object prefixed by its length (4 bytes, big-endian).

The worker reads its requests with no deadline (the host may be generating); the host reads each answer with
one, so a hung worker is found. Both treat end of file before a whole message as the other end having gone.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

_HEADER = struct.Struct(">I")


def send(fd: int, obj: dict) -> None:
    """Write one message; OSError when the other end is gone."""
    data = json.dumps(obj).encode()
    data = _HEADER.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def recv(fd: int, deadline: float | None = None) -> dict | None:
    """Read one message; None at end of file. With a `time.monotonic()` deadline, TimeoutError once it passes."""
    head = _read_exact(fd, _HEADER.size, deadline)
    if head is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(head)[0], deadline)
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    buf = b""
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no whole message on fd {fd} by the deadline")
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
