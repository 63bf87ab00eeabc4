"""Series keys: fallbacks, wildcard families, the compute axis across a counter restart, and the config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from scaling.run import Run
from scaling.series import DEFAULT_SPECS, SeriesSpec, compute_axis, resolve, specs_from_config

REPO = Path(__file__).resolve().parents[2]


def _run(columns: dict[str, dict[int, float]]) -> Run:
    return Run("e", "r", Path("."), pd.DataFrame(columns).sort_index())


def test_first_listed_key_wins_and_fallback_is_noted():
    spec = SeriesSpec("response_length", "len", ("tir/response_length/all", "response_length/mean"))
    both = resolve(_run({"tir/response_length/all": {1: 5.0}, "response_length/mean": {1: 9.0}}), spec)
    assert [s.key for s in both] == ["tir/response_length/all"] and both[0].notes == []
    old = resolve(_run({"response_length/mean": {1: 9.0, 2: 10.0}}), spec)
    assert old[0].key == "response_length/mean" and "tir/response_length/all not logged" in old[0].notes[0]


def test_wildcard_gives_one_named_series_per_data_source():
    spec = SeriesSpec("val_acc", "v", ("val-core/*/acc/mean@*",))
    cols = {
        "val-core/aime24/acc/mean@16": {0: 0.1},
        "val-core/math500/acc/mean@16": {0: 0.5},
        "val-core/aime24/acc/maj@16/mean": {0: 0.2},
    }
    assert [s.name for s in resolve(_run(cols), spec)] == ["val_acc[aime24]", "val_acc[math500]"]


def test_key_logged_only_as_null_is_missing():
    spec = SeriesSpec("code_exec", "c", ("tir/code_exec_ratio",))
    assert resolve(_run({"tir/code_exec_ratio": {1: float("nan")}, "x": {1: 1.0}}), spec) == []


def test_compute_axis_continues_across_a_counter_restart():
    tokens, key, notes = compute_axis(_run({"tir/cum_generated_tokens": {1: 10.0, 2: 20.0, 3: 5.0, 4: 15.0}}))
    assert key == "tir/cum_generated_tokens" and tokens.tolist() == [10.0, 20.0, 25.0, 35.0]
    assert "restarted from 0 at step(s) 3" in notes[0]


def test_compute_axis_falls_back_to_summing_per_step_tokens():
    tokens, key, notes = compute_axis(_run({"perf/total_num_tokens": {1: 3.0, 2: 4.0}}))
    assert key == "cumsum(perf/total_num_tokens)" and tokens.tolist() == [3.0, 7.0] and "includes prompt" in notes[0]
    assert compute_axis(_run({"x": {1: 1.0}}))[0] is None


def test_conf_analyze_yaml_matches_the_library_defaults():
    cfg = yaml.safe_load((REPO / "conf" / "analyze.yaml").read_text())
    assert specs_from_config(cfg["series"]) == DEFAULT_SPECS


def test_our_metric_keys_are_the_ones_the_trainer_logs():
    metrics = pytest.importorskip("tir_rollout.metrics")
    cfg = yaml.safe_load((REPO / "conf" / "analyze.yaml").read_text())
    ours = [k for spec in cfg["series"].values() for k in spec["keys"] if k.startswith("tir/")]
    ours += [k for k in cfg["tokens"]["cumulative"] if k.startswith("tir/")]
    assert ours and set(ours) <= set(metrics.METRIC_NAMES)
