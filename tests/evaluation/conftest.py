import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def qwen2_tokenizer():
    from tests.fakes import load_qwen2_tokenizer

    return load_qwen2_tokenizer()
