"""End-to-end tests: verl's real trainer in the CPU-training environment (.venv-cpu-train, `make train-cpu`).

Each run takes many minutes and most of the machine, so a plain `pytest` does not collect it: a file is collected
only when the marker expression names its marker (`pytest -m e2e tests/e2e` is `make test-e2e`, the one-rank run
test_cpu_smoke.py; `pytest -m distributed tests/e2e` is `make test-distributed`, the two-rank, two-node rehearsal
test_distributed.py), so it is never silently skipped either. `make test`, and so CI, runs the plain suite and then
`make test-e2e`; `make test-unit` is the fast loop without it. The fast tests of the CPU platform module
(test_cpu_platform.py) and of the rehearsal's helpers (test_harness.py, test_ray_local_cluster.py) are part of the
plain suite."""

from pathlib import Path

RUN_FILES = {"test_cpu_smoke.py": "e2e", "test_distributed.py": "distributed"}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of verl's trainer on CPU (deselected by default)")
    config.addinivalue_line(
        "markers", "distributed: the two-rank, two-node rehearsal of verl's trainer on CPU (deselected by default)"
    )


def pytest_ignore_collect(collection_path: Path, config):
    marker = RUN_FILES.get(collection_path.name)
    if marker and marker not in (config.option.markexpr or ""):
        return True
    return None
