#!/usr/bin/env bash
# The first hour on a new GPU node (docs/gpu.md 'GPU check'): pre-flight, kernels, then the real one-GPU smoke run
# (qwen0.5b_grpo_smoke) for 2 steps with a checkpoint and a resume; each stage's time and peak GPU memory in a table,
# logs and report.json in outputs/gpu_check/. Run it before a long job. Not yet run on a GPU.
# Usage: scripts/gpu_check.sh [--stages preflight,kernels,train,resume] [--model PATH] [--dry-run] [key=value ...]
#        PY=path/to/python picks the interpreter (default .venv/bin/python, the `.[gpu]` install).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
exec "$PY" scripts/gpu_check.py --python "$PY" "$@"
