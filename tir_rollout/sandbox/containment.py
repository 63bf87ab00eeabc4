"""How a sandbox worker is started: bubblewrap when it works here, else the strongest plain fallback.

bwrap: own pid, net, IPC and mount namespaces, read-only mounts of only the interpreter and its packages,
private /tmp and /dev/shm, empty environment; as root no user namespace, and each snippet drops to a uid of
its slot (so RLIMIT_NPROC holds). The fallback keeps rlimits, seccomp, setsid, a cleared environment and
(as root) the uid drop, but the host filesystem is visible. Chosen once per process and logged.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

logger = logging.getLogger(__name__)

GUEST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest")  # the only package code bound in
WORKER = os.path.join(GUEST_DIR, "worker.py")
_ETC = [
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "alternatives",
    "fonts",
    "mime.types",
    "ssl/certs",
]
_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
SANDBOX_UID_BASE = 2_000_000  # far above real accounts; one uid per worker (slot, kind) and host process


@dataclass(frozen=True)
class Mechanism:
    name: str  # "bwrap" or "plain"
    isolation: str  # reported in every ExecResult
    reason: str  # why this one was chosen


def snippet_env(tmp_root: str) -> dict[str, str]:
    """The whole environment a snippet sees: nothing from the host."""
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": tmp_root,
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_uid(slot: int, light: bool = False) -> int | None:
    """As root, the uid a worker's snippets run as; None when we are not root (the user namespace maps ours).

    Each worker of a slot (full, light) has its own: RLIMIT_NPROC counts a uid's processes, and the idle
    prepared child of one worker must not use up a process of the other's call."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + (os.getpid() % 1_000_000) * 256 + (2 * slot + light) % 256


def _ro_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, GUEST_DIR, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_path(key))
    paths = {os.path.realpath(p) for p in paths if p and os.path.exists(p)}
    top = sorted(p for p in paths if not p.startswith("/usr/"))
    keep = [p for p in top if not any(p != q and p.startswith(q + "/") for q in top)]
    if sys.prefix != os.path.realpath(sys.prefix):
        keep.append(sys.prefix)
    return keep


def bwrap_argv(tmp_mb: int, as_root: bool) -> list[str]:
    """The bwrap command line, without the program to run."""
    argv = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    argv += ["--new-session", "--hostname", "sandbox"]
    if not as_root:
        argv += ["--unshare-user", "--disable-userns"]
    for top in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    made = set()
    ro = _ro_paths()
    # an interpreter or venv under /tmp or /dev/shm (a CI clone there) is bound on top of the private tmpfs below
    in_tmp = [p for p in ro if p.startswith(("/tmp/", "/dev/shm/"))]

    def bind(path: str) -> list[str]:
        out, parts = [], path.strip("/").split("/")
        for i in range(1, len(parts)):
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent not in ("/usr", "/tmp", "/dev", "/dev/shm"):
                out += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        return out + ["--ro-bind", path, path]

    for path in ro:
        if path not in in_tmp:
            argv += bind(path)
    for name in _ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    size = str(tmp_mb * 1024 * 1024)
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += [
        "--perms",
        "1777",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--perms",
        "1777",
        "--size",
        size,
        "--tmpfs",
        "/dev/shm",
    ]
    for path in in_tmp:
        argv += bind(path)
    if as_root:
        argv += ["--cap-drop", "ALL"] + [a for cap in _CAPS for a in ("--cap-add", cap)]
    argv += ["--clearenv", "--setenv", "LANG", "C.UTF-8", "--chdir", "/tmp", "--"]
    return argv


def worker_argv(python_cfg: str) -> list[str]:
    return [sys.executable, "-E", "-s", "-B", WORKER, python_cfg]


@functools.lru_cache(maxsize=1)
def choose() -> Mechanism:
    """Probe bwrap once per process; fall back to plain processes with a warning that says what is lost."""
    from .guest import seccomp

    tail = "rlimit+seccomp" if seccomp.supported() else "rlimit"
    exe = shutil.which("bwrap")
    if exe is None:
        reason = "bwrap not found (apt-get install bubblewrap)"
    else:
        try:
            probe = subprocess.run(
                bwrap_argv(16, os.geteuid() == 0) + [sys.executable, "-E", "-s", "-c", "import os; os.listdir('/')"],
                capture_output=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            ok, detail = probe.returncode == 0, probe.stderr.decode(errors="replace").strip()[-300:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            ok, detail = False, repr(exc)
        if ok:
            mech = Mechanism("bwrap", f"bwrap+{tail}", "bwrap namespaces work here")
            logger.info("sandbox isolation: %s", mech.isolation)
            return mech
        reason = f"bwrap failed here: {detail}"
    uid = "+uid" if os.geteuid() == 0 else ""
    mech = Mechanism("plain", f"{tail}+setsid{uid}", reason)
    logger.warning(
        "sandbox isolation is WEAKER than intended: %s (%s); snippets see the host filesystem, and only "
        "rlimits, seccomp, setsid and a cleared environment contain them",
        mech.isolation,
        reason,
    )
    return mech
