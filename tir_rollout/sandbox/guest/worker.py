"""The fork server that runs inside one sandbox: warm once (preload.py), then fork a fresh child per snippet.

A call pays a hand-over to an already forked child instead of an interpreter start plus about 0.4 s of
imports. The child gets its own session, rlimits, uid, seccomp filter, empty stdin, capped pipes and working
directory; when the call ends every other process dies and every file goes (sweep.py). Stdlib only; speaks
length-prefixed JSON on fds 0/1 (local.py is the host side).
"""

from __future__ import annotations

import ctypes
import json
import linecache
import os
import resource
import select
import signal
import sys
import time

import atfork  # siblings: the worker runs as a script from this directory. First: it records fork hooks
import preload
import snippet
import sweep
from framing import recv, send

_LIBC = ctypes.CDLL(None, use_errno=True)
_CHUNK = 65536
_DRAIN_S = 0.1  # bound on reading what killed processes left in the pipes (one write in flight may still land)
_LINGER_S = 0.05
_REPORT = 4  # bytes on the status pipe of a finished call: b"R", b"D", exit status, flag
# A stream may write this many times the cap before the call counts as a flood and is killed; below it the
# head (the cap) is kept and the rest read and dropped, so a 200 KB print is "ok", truncated, not killed.
FLOOD_FACTOR = 16


class Worker:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.tmp_root = cfg["tmp_root"]
        self.work = os.path.join(self.tmp_root, "work")
        self.pid_ns = cfg["pid_ns"]
        self.uid = cfg.get("run_uid")
        self.cap = cfg["max_output_bytes"]
        self.flood = FLOOD_FACTOR * self.cap
        self.null = os.open(os.devnull, os.O_RDONLY)
        self.protected = tuple(cfg.get("protected_pids", ())) + (os.getpid(),)
        self.next: dict | None = None
        self.pending: tuple[int, int] | None = None
        self.seccomp_prog = None
        if cfg["seccomp"]:
            import seccomp

            if seccomp.supported():
                pid_rule = (max(self.protected), ()) if self.pid_ns else (None, self.protected)
                self.seccomp_prog = seccomp.Filter(*pid_rule)
        self.seccomp = self.seccomp_prog is not None

    def make_workdir(self) -> None:
        """The next call's fresh working directory (after the wipe; the prepared child enters it at hand-over)."""
        os.mkdir(self.work, 0o700)
        if self.uid is not None:
            os.chown(self.work, self.uid, self.uid)

    def prepare(self) -> None:
        """Fork the next call's child now, between calls, so a call does not wait for the fork."""
        work = self.work
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        code_r, code_w = os.pipe()
        pid = atfork.fork()
        if pid == 0:
            self._child(work, out_w, err_w, st_w, code_r)
        for fd in (out_w, err_w, st_w, code_r):
            os.close(fd)
        self.next = {"pid": pid, "pidfd": os.pidfd_open(pid), "out": out_r, "err": err_r, "st": st_r, "code": code_w}

    def run(self, code: str, timeout: float) -> dict:
        """Hand the snippet to the prepared child and supervise it; returns the result fields."""
        child, self.next = self.next, None
        pid, pidfd, out_r, err_r, st_r = child["pid"], child["pidfd"], child["out"], child["err"], child["st"]
        t0 = time.monotonic()
        try:
            send(child["code"], {"code": code, "timeout": timeout})
        except OSError:
            pass  # the child died before the call (e.g. killed by the previous snippet); reported below
        os.close(child["code"])
        kept = {out_r: bytearray(), err_r: bytearray()}
        total = {out_r: 0, err_r: 0}
        overflow = timed_out = False
        done = b""  # b"R" (set up, before any snippet code) + b"D" + status byte + flag (just before it exits)
        exited = False
        deadline = t0 + timeout
        linger = None  # once the snippet reported completion: how long a process it left may hold the pipes
        open_fds = [out_r, err_r, st_r]
        while not (exited or (len(done) >= _REPORT and out_r not in open_fds and err_r not in open_fds)):
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if linger is not None and now >= linger:
                break  # the snippet is done, yet something it started still holds (or writes to) the pipes
            wait = min(deadline, linger) - now if linger is not None else deadline - now
            ready, _, _ = select.select(open_fds + [pidfd], [], [], wait)
            for fd in ready:
                if fd == pidfd:
                    exited = True
                    continue
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    open_fds.remove(fd)
                elif fd == st_r:
                    done = (done + chunk)[:_REPORT]  # a snippet writing to fd 3 cannot grow this
                else:
                    self._keep(kept[fd], chunk)
                    total[fd] += len(chunk)
                    overflow = overflow or total[fd] > self.flood
            if overflow:
                break
            if len(done) >= _REPORT and linger is None:
                linger = time.monotonic() + _LINGER_S
        if len(done) < _REPORT and st_r in open_fds and select.select([st_r], [], [], 0)[0]:
            done = (done + os.read(st_r, _REPORT))[:_REPORT]  # the report and the exit arrived together
        duration = time.monotonic() - t0
        finished = len(done) >= _REPORT and done[:2] == b"RD"
        wstatus = rusage = None
        reaped = not finished and (exited or bool(select.select([pidfd], [], [], 0)[0]))
        if reaped:
            _, wstatus, rusage = os.wait4(pid, 0)  # it ended on its own: already a zombie, no wait
        # Everything of the call dies now, at once (not the child first and its children after its exit), and
        # the answer waits for none of them to finish exiting: freeing a large heap, or many processes'
        # heaps, on a busy machine took seconds past the limit. They are reaped after the answer.
        sweep.kill_now(self.pid_ns, group=pid)
        if not finished and wstatus is None and not (timed_out or overflow):
            wstatus = signal.SIGKILL  # a wait status: killed by SIGKILL (ours); it ended its report too early
        self._drain([fd for fd in open_fds if fd != st_r], kept, total)
        if not reaped:
            self.pending = (pid, pidfd)  # reaped after the answer is sent: its teardown is not the caller's wait
        else:
            os.close(pidfd)
        for fd in (out_r, err_r, st_r):
            os.close(fd)
        status, note = self._classify(done, wstatus, rusage, timeout, overflow, timed_out)
        truncated = any(n > self.cap for n in total.values())
        if truncated and not overflow:
            cut = ", ".join(
                f"{name} {total[fd]}" for name, fd in (("stdout", out_r), ("stderr", err_r)) if total[fd] > self.cap
            )
            note = "; ".join(
                filter(None, [note, f"output truncated to the first {self.cap} bytes (bytes written: {cut})"])
            )
        stderr = kept[err_r].decode("utf-8", "replace")
        if note:
            stderr += ("\n" if stderr and not stderr.endswith("\n") else "") + f"[sandbox] {note}\n"
        return {
            "status": status,
            "stdout": kept[out_r].decode("utf-8", "replace"),
            "stderr": stderr,
            "duration_s": duration,
            "truncated": truncated,
        }

    def after_call(self) -> None:
        """Wait until every process of the call is gone, fork the next child, reap the call's own one, remove
        every file, make the next working directory. Runs after the answer: the call's processes were killed
        before it (kill_now), and their exit, however long, is no longer the caller's wait.

        The next child is forked while the call's child (finished, or killed at the limit) is still exiting
        (its teardown of a ~300 MB address space used to be waited for first, on the next call's critical
        path). Safe because: that child has SIGKILL pending, so it runs no more user code and can fork no more
        (the kernel refuses a fork with a fatal signal pending); every other process of the call is dead before
        the fork (kill_all); the new child runs no snippet before the next request; and the wipe waits until
        the call's child is reaped, so a syscall it had in flight cannot leave a file behind.
        """
        pending, self.pending = self.pending, None
        if pending:
            try:
                os.kill(pending[0], signal.SIGKILL)  # it is in _exit, unless the snippet forged the report on fd 3
            except ProcessLookupError:
                pass
        self._kill_all(exiting=pending[0] if pending else None)
        self.prepare()
        if pending:
            pid, pidfd = pending
            try:
                os.wait4(pid, 0)
            except ChildProcessError:  # already reaped by _kill_all's subreaper sweep
                pass
            os.close(pidfd)
        self._wipe()
        self.make_workdir()

    def _keep(self, buf: bytearray, chunk: bytes) -> None:
        room = self.cap - len(buf)
        if room > 0:
            buf += chunk[:room]

    def _drain(self, fds: list[int], kept: dict, total: dict) -> None:
        """Read what the call's processes wrote before they were killed: nothing more can come (a process with
        SIGKILL pending writes nothing new), so read until the pipe is empty, not until its end of file, which
        comes only once the last writer has finished exiting. Bounded in time: a write that was in flight at
        the kill may still be copying."""
        end = time.monotonic() + _DRAIN_S
        for fd in fds:
            os.set_blocking(fd, False)
        while fds and time.monotonic() < end:
            for fd in list(fds):
                try:
                    chunk = os.read(fd, _CHUNK)
                except BlockingIOError:
                    chunk = b""
                if not chunk:
                    fds.remove(fd)
                else:
                    self._keep(kept[fd], chunk)
                    total[fd] += len(chunk)

    def _classify(self, done, wstatus, rusage, timeout, overflow, timed_out) -> tuple[str, str]:
        if not done.startswith(b"R"):  # died or hung before any code of the snippet could run: our failure
            return "sandbox_error", "the snippet's process failed to set up; the snippet did not run"
        if overflow:
            return "killed", f"output flood: over {self.flood} bytes on one stream; the process was killed"
        if timed_out:
            return "timeout", f"wall time limit of {timeout:g} s exceeded; the process was killed"
        if wstatus is None:
            code, flag = done[2], done[3:4]
            if flag == b"M":
                return "killed", f"memory limit of {self.cfg['memory_mb']} MB exceeded (MemoryError)"
            return ("ok", "") if code == 0 else ("error", "" if flag == b"E" else f"exit status {code}")
        if os.WIFEXITED(wstatus):
            code = os.WEXITSTATUS(wstatus)
            return ("ok", "") if code == 0 else ("error", f"exit status {code}")
        sig = os.WTERMSIG(wstatus)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= self._cpu_limit(timeout) - 0.5):
            return "timeout", f"CPU time limit of {self._cpu_limit(timeout)} s exceeded ({name})"
        if sig in (signal.SIGKILL, signal.SIGXFSZ):
            return "killed", f"killed by {name} (memory or file-size limit)"
        return "error", f"terminated by signal {name}"

    @staticmethod
    def _cpu_limit(timeout: float) -> int:
        return int(timeout) + 1

    def _kill_all(self, exiting: int | None = None) -> None:
        sweep.kill_all(self.pid_ns, exiting)

    def _wipe(self) -> None:
        sweep.wipe([self.tmp_root] + (["/dev/shm"] if self.pid_ns else []))

    def _child(self, work, out_w, err_w, st_w, code_r) -> None:
        """The prepared child: isolate, wait for the snippet, drop privileges, run it, never return."""
        try:
            os.setsid()
            os.dup2(self.null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(st_w, 3)
            os.dup2(code_r, 4)
            os.closerange(5, 1 << 16)
            mib = 1024 * 1024
            limits = {
                resource.RLIMIT_AS: self.cfg["memory_mb"] * mib,
                resource.RLIMIT_FSIZE: self.cfg["max_file_mb"] * mib,
                resource.RLIMIT_NPROC: self.cfg["max_processes"] + self.cfg.get("nproc_slack", 0),
                resource.RLIMIT_CORE: 0,
                resource.RLIMIT_NOFILE: 1024,
            }
            for res, value in limits.items():
                resource.setrlimit(res, (value, value))
            if self.uid is not None:  # root: drop to a uid of our own, which also makes RLIMIT_NPROC hold
                os.setgroups([])
                os.setresgid(self.uid, self.uid, self.uid)
                os.setresuid(self.uid, self.uid, self.uid)
            _LIBC.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: the worker cleared it; the snippet may read its own /proc
            if self.seccomp_prog is not None:
                self.seccomp_prog.install()
            snippet.reset_python()  # the environment and signal dispositions come from the worker (main)
            # everything above ran before the snippet exists (no process of any call is alive between calls)
            os.write(3, b"R")  # set up: from here on a failure is the snippet's (it may write to fd 3 itself)
            req = recv(4)
            if req is None:
                os._exit(0)
            os.close(4)
            os.chdir(work)  # made after the previous call's wipe, i.e. after this child was forked
            code, timeout = req["code"], float(req["timeout"])
            used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            cpu = int(used) + self._cpu_limit(timeout)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            linecache.cache["<snippet>"] = (len(code), None, code.splitlines(True), "<snippet>")
        except BaseException as exc:  # noqa: BLE001 - the child must never return into the worker loop
            os.write(2, f"sandbox setup failed: {exc!r}\n".encode())
            os._exit(70)
        status, flag = snippet.exec_snippet(code)
        try:
            os.write(3, b"D" + bytes([status]) + (flag or b"-"))  # always 3 bytes, after the b"R"
            os.close(1)
            os.close(2)
            os.close(3)
        except OSError:
            pass
        os._exit(status)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a stray print in the worker must not corrupt the protocol
    os.makedirs(cfg["tmp_root"], exist_ok=True)
    light_modules = cfg.get("light_modules")  # a light worker: the standard-library modules to import
    missing = preload.warm(cfg["tmp_root"], light_modules)
    stdlib = preload.stdlib_loaded() if light_modules is None else []  # before any snippet: for a light sibling
    worker = Worker(cfg)
    snippet.process_defaults({**cfg["env"], "HOME": worker.work, "PWD": worker.work})  # once, for every child
    _LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE=0: snippets cannot open this process's /proc files
    if not cfg["pid_ns"]:
        _LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of a snippet come back to us
    worker._wipe()
    worker.prepare()
    worker.make_workdir()
    send(wfd, {"ready": True, "pid": os.getpid(), "missing": missing, "seccomp": worker.seccomp, "stdlib": stdlib})
    while True:
        req = recv(rfd)
        if req is None:  # the host closed the pipe or died: take the sandbox down with us
            worker._kill_all()
            return
        if req.get("ping"):
            send(wfd, {"pong": True})
            continue
        send(wfd, worker.run(req["code"], float(req["timeout"])))
        worker.after_call()


if __name__ == "__main__":
    main()
