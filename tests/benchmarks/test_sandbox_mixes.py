"""The sandbox bench's mixes hold the heavy-import share they are named after, in every block of a round."""

from __future__ import annotations

import pytest

from benchmarks import sandbox_mixes


@pytest.mark.parametrize("share", [0.0, 0.1, 0.3, 1.0])
def test_a_mix_has_its_share_of_heavy_imports_in_every_quarter(share):
    codes = sandbox_mixes.with_share(share, 128)
    assert len(codes) == 128
    assert sum(map(sandbox_mixes.is_heavy, codes)) == round(share * 128)
    for k in range(4):  # the bench's naive side runs one quarter per round
        block = codes[32 * k : 32 * (k + 1)]
        assert abs(sandbox_mixes.heavy_share(block) - share) <= 1 / 32 + 1e-9


def test_the_mixes_side_by_side():
    mixes = sandbox_mixes.mixes(n_own=64, n=45)
    assert list(mixes) == ["own", "heavy 0%", "heavy 10%", "heavy 30%", "typical"]
    assert [len(m) for m in mixes.values()] == [64, 45, 45, 45, 45]
    assert sandbox_mixes.heavy_share(mixes["typical"]) == pytest.approx(4 / 15)  # 3 cycles of its templates
    assert sandbox_mixes.heavy_share(mixes["heavy 0%"]) == 0
    assert sandbox_mixes.heavy_share(mixes["own"]) == pytest.approx(7 / 16)


def test_every_snippet_is_python_but_the_deliberate_syntax_error():
    codes = [c for m in sandbox_mixes.mixes(n_own=32, n=32).values() for c in m]
    broken = []
    for code in codes:
        try:
            compile(code, "<snippet>", "exec")
        except SyntaxError:
            broken.append(code)
    assert broken and all(c.startswith("result = ") for c in broken)  # TYPICAL's one, as models write now and then
