"""benchmarks.eval_backends: the speed-up read from each launch's own meter and samples, and a failed launch named."""

from __future__ import annotations

import json
import stat

import pytest

from benchmarks.eval_backends import main

# A stand-in interpreter: as run_meter it writes the meter (hf 8 s, vllm 2 s) and, as the evaluation, 4 samples.
FAKE = r"""#!/usr/bin/env python3
import json, pathlib, sys
args = sys.argv[1:]
meter = args[args.index("--out") + 1]
out = next(a.split("=", 1)[1].strip("'") for a in args if a.startswith("eval.out_dir="))
backend = next(a.split("=", 1)[1] for a in args if a.startswith("eval.backend="))
if backend == "{fail}":
    sys.exit(3)
folder = pathlib.Path(out) / "bench"
folder.mkdir(parents=True)
rows = [{"generated_tokens": 10, "correct": i % 2 == 0} for i in range(4)]
(folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
wall = 8.0 if backend == "hf" else 2.0
pathlib.Path(meter).write_text(json.dumps({"wall_s": wall, "peak_pss_gib": 1.5}))
"""


def _fake(tmp_path, fail: str = "none") -> str:
    path = tmp_path / "python"
    path.write_text(FAKE.replace("{fail}", fail))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_the_speedup_is_the_ratio_of_median_samples_per_second(tmp_path, capsys):
    assert main(["--model", "m", "--rounds", "2", "--python", _fake(tmp_path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["speedup"] == 4.0  # 4 samples in 2 s against 4 samples in 8 s
    assert [r["backend"] for r in summary["runs"]] == ["hf", "vllm", "hf", "vllm"]  # alternating rounds
    assert summary["runs"][0]["accuracy"] == 0.5 and summary["runs"][1]["tokens_per_s"] == 20.0
    assert "load average before" in out


def test_a_failed_evaluation_stops_the_benchmark_with_its_backend_named(tmp_path):
    with pytest.raises(SystemExit, match="the vllm evaluation failed"):
        main(["--model", "m", "--rounds", "1", "--python", _fake(tmp_path, fail="vllm")])
