"""End-to-end tests: verl's real trainer in the CPU-training environment (.venv-cpu-train, `make train-cpu`).

Not collected by the normal suite (`make test`): one run takes minutes and most of the machine. Run them with
`make test-e2e` (= `pytest -m e2e tests/e2e`). Collected only when the marker expression selects `e2e`, so a
plain `pytest` neither runs nor silently passes them."""

from pathlib import Path


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of verl's trainer on CPU (deselected by default)")


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.name.startswith("test_") and "e2e" not in (config.option.markexpr or ""):
        return True
    return None
