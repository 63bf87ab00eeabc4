"""Properties of what comes back: any bytes decode the same way, and the cap holds at every size."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.tir_rollout.sandbox.conftest import leftovers

CAP = 65536
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FEW
@given(data=st.binary(max_size=3000))
@example(data=b"\xff\xfe\x00\xed\xa0\x80 \xf0\x9f\x98")  # lone surrogate, NUL, cut 4-byte sequence
def test_any_bytes_come_back_decoded_with_replacement(executor, data):
    res = executor.run(f"import sys\nsys.stdout.buffer.write({data!r})")
    assert res.status == "ok", res
    assert res.stdout == data.decode("utf-8", "replace")


@FEW
@given(n=st.integers(min_value=0, max_value=3 * CAP), stream=st.sampled_from(["stdout", "stderr"]))
@example(n=CAP, stream="stdout")
@example(n=CAP + 1, stream="stderr")
def test_output_cap_holds_at_every_size(executor, n, stream):
    res = executor.run(f"import sys\nsys.{stream}.write('a' * {n})")
    text = getattr(res, stream)
    assert res.truncated == (n > CAP)
    assert res.status == "ok", res  # up to 3x the cap is big output, not a flood: truncated, not killed
    assert ("[sandbox] output truncated" in res.stderr) == (n > CAP)
    head = text.split("\n[sandbox]")[0]  # stderr may end with the sandbox's own note
    assert head == "a" * min(n, CAP)  # the head is kept; nothing beyond the cap comes back
    assert leftovers(executor) == []
