"""End-to-end tests: verl's real trainer in the CPU-training environment (.venv-cpu-train, `make train-cpu`).

The end-to-end run (test_cpu_smoke.py) is not collected by the normal suite (`make test`): one run takes about
ten minutes and most of the machine. Run it with `make test-e2e` (= `pytest -m e2e tests/e2e`); it is collected
only when the marker expression names `e2e`, so a plain `pytest` neither runs nor silently passes it. The fast
unit tests of the CPU platform module (test_cpu_platform.py) are part of the normal suite."""

from pathlib import Path

E2E_FILES = {"test_cpu_smoke.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of verl's trainer on CPU (deselected by default)")


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.name in E2E_FILES and "e2e" not in (config.option.markexpr or ""):
        return True
    return None
