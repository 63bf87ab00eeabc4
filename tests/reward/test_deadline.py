"""The thread-safe deadline under the grader: it stops pure-Python work on time, from any thread, and leaves
no stray exception behind."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reward.deadline import GradeTimeout, bounded

# A grading timeout is an asynchronous exception; when it lands inside a gc callback (hypothesis installs one for
# the whole process) Python reports it as unraisable and the deadline fires again 50 ms later. Expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def spin():
    while True:
        pass


def swallow_exceptions():  # third-party code with a broad `except Exception` must not absorb the timeout
    while True:
        try:
            sum(range(1000))
        except Exception:  # noqa: BLE001, S110 - the point of this fake is to swallow everything it can
            pass


def test_result_passes_through():
    assert bounded(lambda: 42, 1.0, None) == (42, False)


@pytest.mark.parametrize("fn", [spin, swallow_exceptions], ids=["spin", "broad_except"])
def test_runaway_work_is_stopped(fn):
    start = time.perf_counter()
    assert bounded(fn, 0.2, "late") == ("late", True)
    assert time.perf_counter() - start < 2.0


def test_errors_propagate():
    with pytest.raises(ZeroDivisionError):
        bounded(lambda: 1 / 0, 1.0, None)


def test_nested_calls_share_the_outer_deadline():
    assert bounded(lambda: bounded(spin, 10.0, "inner")[0], 0.2, "outer") == ("outer", True)


def test_no_stray_exception_after_a_timeout():
    bounded(spin, 0.1, None)
    time.sleep(0.3)  # a late async exception would land here
    assert bounded(lambda: "fine", 1.0, None) == ("fine", False)


def test_each_thread_has_its_own_deadline():
    with ThreadPoolExecutor(4) as pool:
        fast = [pool.submit(bounded, lambda: threading.get_ident(), 5.0, None) for _ in range(4)]
        slow = [pool.submit(bounded, spin, 0.2, "late") for _ in range(2)]
        assert all(f.result()[1] is False for f in fast)
        assert [f.result() for f in slow] == [("late", True)] * 2


def test_racing_deadlines_neither_leak_nor_deadlock():
    """Work that ends right around its deadline, on many threads: every timeout is absorbed, none arrives late,
    and no lock is left held (an exception inside a Python-level Condition.__enter__ once deadlocked this)."""
    escaped, finished = [], []

    def worker(seed):
        rnd = random.Random(seed)
        try:
            for _ in range(25):
                busy_s = rnd.uniform(0.0, 0.02)
                bounded(lambda b=busy_s: _busy(b), 0.01, None)
            time.sleep(0.1)  # a late exception would land here
        except GradeTimeout:
            escaped.append(seed)
        finished.append(seed)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(finished) == list(range(6))
    assert escaped == []


def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
