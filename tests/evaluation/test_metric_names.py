"""What evaluation writes names each tool-use number as training logs it (`tir/<key>` there, `<key>` here):
summary.json, accuracy_vs_step.json and .csv, and the W&B keys `eval/<dataset>/calls=<m>/<key>`."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

from evaluation import step_series
from evaluation.evaluate import _Tracker
from evaluation.metrics import TOOL_USE_KEYS, summarize
from evaluation.report import write_summary
from tests.evaluation.factory import record
from tir_rollout.metrics import ResponseRecord, step_metrics

FIRST_NAMES = {"code_call_rate", "length_rate"}  # what these files held before they took training's names


def samples():
    return [
        record("p0", 0, True, "1", code_calls=1),
        record("p1", 0, False, "2", finish_reason="length"),
    ]


def rows():
    return summarize(samples(), ks=(1,), expected=1)


def test_the_summary_row_keys_are_training_keys():
    """Of what a summary row writes, the keys training also logs (as tir/<key>) are exactly TOOL_USE_KEYS."""
    training = step_metrics([ResponseRecord(s.tool_use, s.correct) for s in samples()])
    [row] = rows()
    shared = {key for key in row.as_dict() if f"tir/{key}" in training}
    assert shared == set(TOOL_USE_KEYS)
    assert {"code_exec_ratio", "finish_length_rate"} <= shared  # the names the scaling analysis reads


def test_summary_json_and_accuracy_vs_step_carry_the_training_names(tmp_path):
    [row] = rows()
    write_summary(tmp_path, [row], {"run_name": "names"})
    summary_row = json.loads((tmp_path / "summary.json").read_text())["rows"][0]
    assert (summary_row["code_exec_ratio"], summary_row["finish_length_rate"]) == (0.5, 0.5)
    js, table = step_series.write_accuracy_vs_step(tmp_path, step_series.step_rows(10, "ckpt", [row]))
    [step_row] = json.loads(js.read_text())["rows"]
    [csv_row] = csv.DictReader(table.read_text().splitlines())
    for written in (summary_row, step_row, csv_row):
        assert set(TOOL_USE_KEYS) <= set(written) and not FIRST_NAMES & set(written)
    assert float(csv_row["code_exec_ratio"]) == step_row["code_exec_ratio"] == 0.5


def test_wandb_keys_carry_the_training_names():
    logged = []
    tracker = _Tracker(SimpleNamespace(wandb={"enabled": False}), "names")
    tracker.run = SimpleNamespace(log=lambda data, step: logged.append((step, data)))
    tracker.log(rows(), 10, None)
    [(step, data)] = logged
    assert step == 10
    assert data["eval/toy/calls=2/code_exec_ratio"] == 0.5 and data["eval/toy/calls=2/finish_length_rate"] == 0.5
    assert not any(key.rsplit("/", 1)[1] in FIRST_NAMES for key in data)
