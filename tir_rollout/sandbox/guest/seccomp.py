"""A seccomp-BPF filter for snippet processes, built and installed with the stdlib only (ctypes + prctl).

Runs inside the sandbox worker, so it imports nothing from this package. It denies what namespaces and
rlimits do not cover: IP sockets (loopback too), signals to the worker and to pid -1, ptrace and cross-process
memory, new namespaces, mounts, keyrings, bpf, io_uring. It is a deny list on top of a small process, not a
full syscall allow list; unknown architectures get no filter, and the caller reports that.
"""

from __future__ import annotations

import ctypes
import platform
import struct

# struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 * i (little-endian: low word first)
_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_NR = {
    "x86_64": {
        "socket": 41,
        "socketpair": 53,
        "kill": 62,
        "tkill": 200,
        "tgkill": 234,
        "rt_sigqueueinfo": 129,
        "rt_tgsigqueueinfo": 297,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "pidfd_open": 434,
        "pidfd_send_signal": 424,
        "pidfd_getfd": 438,
        "unshare": 272,
        "setns": 308,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "clone": 56,
        "clone3": 435,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
    },
    "aarch64": {
        "socket": 198,
        "socketpair": 199,
        "kill": 129,
        "tkill": 130,
        "tgkill": 131,
        "rt_sigqueueinfo": 138,
        "rt_tgsigqueueinfo": 240,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "pidfd_open": 434,
        "pidfd_send_signal": 424,
        "pidfd_getfd": 438,
        "unshare": 97,
        "setns": 268,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "chroot": 51,
        "clone": 220,
        "clone3": 435,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
    },
}
_DENY = [
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_tree",
    "move_mount",
    "fsopen",
]
_SIGNALLERS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
_CLONE_NEW_NS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_AF_UNIX = 1

_LD, _JEQ, _JGT, _JGE, _JSET, _RET = 0x20, 0x15, 0x25, 0x35, 0x45, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_EPERM, _ENOSYS, _EACCES = 1, 38, 13


def _errno(n: int) -> int:
    return 0x00050000 | n


def supported() -> bool:
    return platform.machine() in _ARCH


def build_filter(max_protected_pid: int | None, protected_pids: tuple[int, ...] = ()) -> list[tuple]:
    """The BPF program as (code, jt, jf, k) tuples.

    Args:
        max_protected_pid: in a pid namespace, every pid <= this value belongs to the sandbox itself
            (bwrap's init, the worker); signals to them, to their process groups and to -1 are refused.
        protected_pids: without a pid namespace, the exact pids (and groups) that must not be signalled.
    """
    machine = platform.machine()
    nr = _NR[machine]
    prog: list[tuple] = [(_LD, 0, 0, 4), (_JEQ, 1, 0, _ARCH[machine]), (_RET, 0, 0, _KILL), (_LD, 0, 0, 0)]
    if machine == "x86_64":  # refuse the x32 ABI, which would bypass the numbers below
        prog += [(_JGE, 0, 1, 0x40000000), (_RET, 0, 0, _KILL)]
    for name in _DENY:
        prog += [(_JEQ, 0, 1, nr[name]), (_RET, 0, 0, _errno(_EPERM))]
    prog += [(_JEQ, 0, 1, nr["clone3"]), (_RET, 0, 0, _errno(_ENOSYS))]  # glibc then falls back to clone
    prog += [
        (_JEQ, 0, 4, nr["clone"]),
        (_LD, 0, 0, 16),
        (_JSET, 1, 0, _CLONE_NEW_NS),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _errno(_EPERM)),
    ]
    for name in ("socket", "socketpair"):  # only AF_UNIX: no IP at all, loopback included
        prog += [
            (_JEQ, 0, 4, nr[name]),
            (_LD, 0, 0, 16),
            (_JEQ, 1, 0, _AF_UNIX),
            (_RET, 0, 0, _errno(_EACCES)),
            (_RET, 0, 0, _ALLOW),
        ]
    for name in _SIGNALLERS:
        if max_protected_pid is not None:
            p = max_protected_pid  # deny low word in [1, p] (pids) or >= 2**32 - p (-1 and groups -2..-p)
            prog += [
                (_JEQ, 0, 6, nr[name]),
                (_LD, 0, 0, 16),
                (_JEQ, 2, 0, 0),
                (_JGT, 0, 2, p),
                (_JGE, 1, 0, 2**32 - p),
                (_RET, 0, 0, _ALLOW),
                (_RET, 0, 0, _errno(_EPERM)),
            ]
        else:
            bad = sorted({0xFFFFFFFF} | {q & 0xFFFFFFFF for pid in protected_pids for q in (pid, -pid)})
            prog += [(_JEQ, 0, len(bad) + 3, nr[name]), (_LD, 0, 0, 16)]
            prog += [(_JEQ, len(bad) - i, 0, k) for i, k in enumerate(bad)]
            prog += [(_RET, 0, 0, _ALLOW), (_RET, 0, 0, _errno(_EPERM))]
    prog += [(_RET, 0, 0, _ALLOW)]
    return prog


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A filter built once (in the warm worker) and installed many times (in each child, after fork)."""

    def __init__(self, max_protected_pid: int | None, protected_pids: tuple[int, ...] = ()) -> None:
        prog = build_filter(max_protected_pid, protected_pids)
        raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
        self._buf = ctypes.create_string_buffer(raw, len(raw))
        self._fprog = _SockFprog(len(prog), ctypes.cast(self._buf, ctypes.c_void_p))
        self._libc = ctypes.CDLL(None, use_errno=True)

    def install(self) -> None:
        """Install on the calling process (inherited by all it forks); raises OSError if the kernel refuses."""
        if self._libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if self._libc.prctl(22, 2, ctypes.byref(self._fprog), 0, 0) != 0:  # PR_SET_SECCOMP, MODE_FILTER
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
