"""End-to-end tests: verl's real trainer in the CPU-training environment (.venv-cpu-train, `make train-cpu`).

The end-to-end run (test_cpu_smoke.py) takes about ten minutes and most of the machine, so a plain `pytest`
does not collect it: it is collected only when the marker expression names `e2e` (`pytest -m e2e tests/e2e`,
which is `make test-e2e`), so it is never silently skipped either. `make test`, and so CI, runs the plain suite
and then `make test-e2e`; `make test-unit` is the fast loop without it. The fast unit tests of the CPU platform
module (test_cpu_platform.py) are part of the plain suite."""

from pathlib import Path

E2E_FILES = {"test_cpu_smoke.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of verl's trainer on CPU (deselected by default)")


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.name in E2E_FILES and "e2e" not in (config.option.markexpr or ""):
        return True
    return None
