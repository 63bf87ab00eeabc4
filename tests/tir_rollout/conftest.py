"""Shared fixtures for the rollout tests: the vendored Qwen2 tokenizer, loaded once per session."""

import pytest

from tests.fakes import load_qwen2_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return load_qwen2_tokenizer()
