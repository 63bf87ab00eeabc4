import pytest

from tests.fakes import write_tiny_qwen2_folder


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tmp_path_factory):
    """verl's critic config loads the model's config and tokenizer when validated: a local folder, no Hub."""
    return write_tiny_qwen2_folder(tmp_path_factory.mktemp("tiny_qwen2"))
