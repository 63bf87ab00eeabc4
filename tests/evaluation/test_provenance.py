"""run.json records the commit and a hash of the weights; a resume with other weights under the same path is refused."""

import json

import pytest

from evaluation.fingerprint import check_run_json, write_run_json
from evaluation.provenance import git_commit, model_weights_sha256, weights_sha256


def test_the_weights_hash_follows_the_bytes_and_ignores_other_files(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights-1")
    (tmp_path / "config.json").write_text("{}")
    first = weights_sha256(tmp_path)
    (tmp_path / "config.json").write_text('{"x": 1}')
    assert weights_sha256(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"weights-2")
    assert weights_sha256(tmp_path) != first
    assert model_weights_sha256(str(tmp_path)) == weights_sha256(tmp_path)
    assert weights_sha256(tmp_path / "missing") is None and model_weights_sha256(None) is None


def test_run_json_records_provenance_and_refuses_other_weights(tmp_path):
    fingerprint = {"model": "m", "weights_sha256": "aaa", "withhold_output": False}
    write_run_json(tmp_path, fingerprint)
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["provenance"]["commit"] == git_commit() and saved["weights_sha256"] == "aaa"
    check_run_json(tmp_path, fingerprint)  # same weights: resumes
    with pytest.raises(ValueError, match=r"eval.model \(its weight files\): 'aaa' on disk, 'bbb' now"):
        check_run_json(tmp_path, fingerprint | {"weights_sha256": "bbb"})


def test_a_run_json_from_before_the_new_keys_still_resumes_but_not_into_a_withheld_run(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"model": "m"}))
    check_run_json(tmp_path, {"model": "m", "weights_sha256": "aaa", "withhold_output": False})
    with pytest.raises(ValueError, match="eval.rollout.withhold_output: False on disk, True now"):
        check_run_json(tmp_path, {"model": "m", "weights_sha256": "aaa", "withhold_output": True})
