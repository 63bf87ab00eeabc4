"""The first hour on a new GPU node: pre-flight, kernels, then the real one-GPU smoke run with a checkpoint and a
resume, each stage's wall time and peak GPU memory in one table. Run it before a long job (docs/gpu.md 'GPU check').

Stages, in order (a failed stage skips the rest; `--stages` picks some):
  preflight  `python -m recipes.zerotir +experiment=qwen0.5b_grpo_smoke tir.preflight_only=true`: the machine
             against the experiment (attention, CUDA/driver, GPUs, memory, disk, model)
  kernels    scripts/gpu_kernels.py: the actor's forward and backward with both attention settings on one GPU
  train      qwen0.5b_grpo_smoke for 2 steps from scratch (`trainer.resume_mode=disable`), checkpoint at step 2:
             verl, vLLM, Ray, FSDP, the agent loop and the sandbox together; its metrics must log steps 1 and 2
  resume     the same run to step 3 from that checkpoint; its metrics must log step 3 only
Peak GPU memory is the largest `memory.used` of the visible GPUs (nvidia-smi, sampled every second) while the stage
ran, whoever used it. `--dry-run` prints the commands and runs nothing. Not yet run on a GPU: built and tested on
CPU with a fake runner and fake memory readings (tests/test_gpu_check.py). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT = "qwen0.5b_grpo_smoke"
STAGES = ("preflight", "kernels", "train", "resume")
TIMEOUT_S = {"preflight": 300, "kernels": 300, "train": 1800, "resume": 1200}  # [ours] generous: first downloads
GIB_PER_MIB = 1 / 1024


@dataclass
class StageResult:
    name: str
    status: str  # ok | FAIL | skipped | dry run
    seconds: float | None = None
    peak_gib: float | None = None  # the largest memory.used of the visible GPUs during the stage
    note: str = ""


@dataclass
class Stage:
    name: str
    cmd: list[str]
    timeout_s: int
    # Taken before the command runs; `verify` gets it after the command exited 0 and returns a note for the table
    # or raises StageFailed.
    snapshot: Callable[[], object] = field(default=lambda: None)
    verify: Callable[[object], str] = field(default=lambda before: "")


class StageFailed(Exception):
    """A stage whose command exited 0 but whose outputs are not what it promised."""


# ---------------------------------------------------------------------------------------------- GPU memory
def gpu_memory_gib(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> tuple[float, float] | None:
    """(largest memory.used, smallest memory.total) over the visible GPUs in GiB, from nvidia-smi (no CUDA context
    in this process); None without nvidia-smi or without an answer."""
    try:
        out = run(["nvidia-smi", "--query-gpu=memory.used,memory.total", "--format=csv,noheader,nounits"],
                  capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = [line.split(",") for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not rows:
        return None
    try:
        used, total = zip(*((float(u), float(t)) for u, t in rows), strict=True)
    except ValueError:
        return None
    return max(used) * GIB_PER_MIB, min(total) * GIB_PER_MIB


class PeakSampler:
    """`with PeakSampler(probe) as s:` calls `probe()` every `interval_s` on a thread; `s.peak` is the largest
    first element seen (None when the probe never answered)."""

    def __init__(self, probe: Callable[[], tuple[float, float] | None], interval_s: float = 1.0):
        self.probe, self.interval_s, self.peak = probe, interval_s, None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        reading = self.probe()
        if reading is not None:
            self.peak = reading[0] if self.peak is None else max(self.peak, reading[0])

    def _run(self) -> None:
        self.sample()
        while not self._done.wait(self.interval_s):
            self.sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.sample()


# ---------------------------------------------------------------------------------------------- the stages
def metrics_files(root: Path) -> set[Path]:
    """verl's metrics files of the smoke experiment: one per launch (launch.logging_env names them by start time)."""
    return set(root.glob(f"outputs/{EXPERIMENT}/*/metrics/*.jsonl"))


def logged_steps(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


def verify_steps(root: Path, expected: list[int], checkpoint: int | None) -> Callable[[set[Path]], str]:
    """A launch stage's check: exactly one metrics file more than `before`, logging `expected`, and the run's
    `checkpoint` step saved."""

    def verify(before: set[Path]) -> str:
        files = sorted(metrics_files(root) - before)
        if len(files) != 1:
            raise StageFailed(f"expected 1 new metrics file under outputs/{EXPERIMENT}/*/metrics/, found {len(files)}")
        steps = logged_steps(files[0])
        if steps != expected:
            raise StageFailed(f"{files[0].relative_to(root)} logged steps {steps}, expected {expected}")
        note = f"steps {steps[0]}-{steps[-1]}" if len(steps) > 1 else f"resumed at step {steps[0]}"
        if checkpoint is not None:
            saved = files[0].parents[1] / "checkpoints" / f"global_step_{checkpoint}"
            if not saved.is_dir():
                raise StageFailed(f"no checkpoint {saved.relative_to(root)}")
            note += f", checkpoint {saved.relative_to(root)}"
        return note

    return verify


def stages(py: str, out: Path, overrides: Sequence[str], root: Path = REPO) -> list[Stage]:
    """The four stages' commands (relative to the repo root) and checks; `overrides` go to every launch."""
    launch = [py, "-m", "recipes.zerotir", f"+experiment={EXPERIMENT}", *overrides]
    return [
        Stage("preflight", [*launch, "tir.preflight_only=true"], TIMEOUT_S["preflight"]),
        Stage(
            "kernels",
            [py, "scripts/gpu_kernels.py", "--model-dir", str(out / "tiny_qwen2"), "--experiment", EXPERIMENT],
            TIMEOUT_S["kernels"],
        ),
        # resume_mode, save_freq and total_training_steps do not rename the run (recipes/zerotir/runs.py): both
        # launches are one run, the second resumes the first's step-2 checkpoint
        Stage(
            "train",
            [*launch, "trainer.resume_mode=disable", "trainer.save_freq=2", "trainer.total_training_steps=2"],
            TIMEOUT_S["train"],
            lambda: metrics_files(root),
            verify_steps(root, [1, 2], 2),
        ),
        Stage(
            "resume",
            [*launch, "trainer.save_freq=2", "trainer.total_training_steps=3"],
            TIMEOUT_S["resume"],
            lambda: metrics_files(root),
            verify_steps(root, [3], 3),
        ),
    ]


def run_command(cmd: list[str], log: Path, timeout_s: int, cwd: Path = REPO) -> int:
    """Run one stage's command with its output in `log` (and on the console); 124 past its timeout."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        timed_out = threading.Event()
        timer = threading.Timer(timeout_s, lambda: (timed_out.set(), proc.terminate()))  # SIGTERM: Ray shuts down
        timer.start()
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                out.write(line)
            proc.wait()
        finally:
            timer.cancel()
        return 124 if timed_out.is_set() else proc.returncode


def run_stages(
    selected: list[Stage],
    out: Path,
    runner: Callable[[list[str], Path, int], int] = run_command,
    probe: Callable[[], tuple[float, float] | None] = gpu_memory_gib,
    clock: Callable[[], float] = time.time,
    dry_run: bool = False,
) -> list[StageResult]:
    """Each stage in order, timed and sampled; after a failure the rest are skipped."""
    results: list[StageResult] = []
    for stage in selected:
        if dry_run:
            results.append(StageResult(stage.name, "dry run", note=" ".join(stage.cmd)))
            continue
        if results and results[-1].status in ("FAIL", "skipped"):
            results.append(StageResult(stage.name, "skipped", note=f"after {results[-1].name}"))
            continue
        print(f"== {stage.name}: {' '.join(stage.cmd)}", flush=True)
        log = out / f"{stage.name}.log"
        before = stage.snapshot()
        started = clock()
        with PeakSampler(probe) as sampler:
            code = runner(stage.cmd, log, stage.timeout_s)
        result = StageResult(stage.name, "ok", round(clock() - started, 1), sampler.peak)
        if code != 0:
            result.status = "FAIL"
            result.note = f"exit {code}" + (" (timed out)" if code == 124 else "") + f"; log {log}"
        else:
            try:
                result.note = stage.verify(before)
            except StageFailed as err:
                result.status, result.note = "FAIL", f"{err}; log {log}"
        results.append(result)
    return results


def table(results: list[StageResult], gpu: tuple[float, float] | None) -> str:
    total = f" / {gpu[1]:.1f}" if gpu else ""
    rows = [f"{'stage':<10} {'result':<8} {'time':>8}  {'peak GPU memory (GiB)':<22} note"]
    for r in results:
        seconds = f"{r.seconds:.0f} s" if r.seconds is not None else "-"
        peak = f"{r.peak_gib:.1f}{total}" if r.peak_gib is not None else ("n/a" if r.seconds is not None else "-")
        rows.append(f"{r.name:<10} {r.status:<8} {seconds:>8}  {peak:<22} {r.note}")
    return "\n".join(rows)


def parse_stages(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise ValueError(f"--stages: unknown stage(s) {unknown or [text]}; choose from {','.join(STAGES)}")
    return [s for s in STAGES if s in names]  # always in their order: resume needs train's checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset (default: all, in order)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the launches (the .[gpu] venv)")
    parser.add_argument("--model", help="actor_rollout_ref.model.path for the launches (a local folder or Hub id)")
    parser.add_argument("--out", type=Path, default=Path("outputs/gpu_check"), help="logs and report (relative: repo)")
    parser.add_argument("--dry-run", action="store_true", help="print each stage's command, run nothing")
    parser.add_argument("overrides", nargs="*", help="more overrides for every launch (key=value)")
    args = parser.parse_args(argv)
    try:
        names = parse_stages(args.stages)
    except ValueError as err:
        parser.exit(1, f"gpu_check: {err}\n")
    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        parser.exit(1, f"gpu_check: overrides are key=value, got {bad}\n")
    out = args.out if args.out.is_absolute() else REPO / args.out
    if not args.dry_run:
        out.mkdir(parents=True, exist_ok=True)
    overrides = [*([f"actor_rollout_ref.model.path={args.model}"] if args.model else []), *args.overrides]
    selected = [s for s in stages(args.python, out, overrides) if s.name in names]
    gpu = None if args.dry_run else gpu_memory_gib()
    if not args.dry_run:
        smi = shutil.which("nvidia-smi")
        print(f"GPU memory: {f'{gpu[1]:.1f} GiB per GPU' if gpu else 'unknown'} (nvidia-smi: {smi or 'not found'})")
    results = run_stages(selected, out, dry_run=args.dry_run)
    print(table(results, gpu))
    report = {"experiment": EXPERIMENT, "gpu_total_gib": gpu[1] if gpu else None,
              "stages": [asdict(r) for r in results]}  # fmt: skip
    if not args.dry_run:
        (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0 if all(r.status in ("ok", "dry run") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
