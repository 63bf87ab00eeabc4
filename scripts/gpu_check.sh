#!/usr/bin/env bash
# GPU check for one GPU without network (docs/gpu.md): the pre-flight, then the actor's forward and backward on a
# small random Qwen2 with the configs' attention settings (flash + remove-padding, sdpa padded), log-probs compared.
# No vLLM, no Ray, no FSDP. Usage: scripts/gpu_check.sh   (PY=path/to/python to choose the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${GPU_CHECK_DIR:-outputs/gpu_check}
export HF_HUB_OFFLINE=1
mkdir -p "$OUT"
start=$SECONDS
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not available"

echo "== pre-flight (qwen0.5b_grpo_smoke on a tiny local model; vLLM is checked, not started)"
$PY - "$OUT/tiny_qwen2" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.fakes import write_tiny_qwen2_folder
if not (Path(sys.argv[1]) / "config.json").is_file():
    write_tiny_qwen2_folder(Path(sys.argv[1]))
PYEOF
timeout 180 $PY -m recipes.zerotir +experiment=qwen0.5b_grpo_smoke tir.preflight_only=true \
  actor_rollout_ref.model.path="$OUT/tiny_qwen2" trainer.default_local_dir="$OUT/checkpoints"
preflight=$?

echo "== forward/backward with the configs' attention settings"
timeout 240 $PY scripts/gpu_check.py --model-dir "$OUT/tiny_qwen2" --experiment qwen7b_grpo | tee "$OUT/forward_backward.json"
fwd=${PIPESTATUS[0]}

echo "== gpu_check: pre-flight exit $preflight, forward/backward exit $fwd, $((SECONDS - start)) s"
[ "$preflight" = 0 ] && [ "$fwd" = 0 ]
