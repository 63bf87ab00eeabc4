"""Coverage of the scaling-law analysis' 95 % intervals on simulated runs from known laws.

Run: `python -m benchmarks.analysis_calibration [--seeds N] [--n-boot B]`. For every generating law
(saturating, power, log_linear: the example runs' code_exec, response_length, train_acc, with their noise)
and run length (120, 240 steps), N seeds each go through `fit_series` as the analysis runs it. The table
gives, at the last logged step and at 2x: the share of mean-curve intervals holding the true curve and the
average probability that the one-logged-value interval holds a new logged value; then the median interval
width (noise sd), how often the generating law was chosen, the chosen curve's RMS distance from the truth
(noise sd) and the share of 2x extrapolations marked unreliable. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.run_info import run_info
from scaling.calibration import FAMILIES, HORIZONS, LENGTHS, simulate, summarise

COLUMNS = [
    *(f"curve_{h}" for h in HORIZONS),
    *(f"new_{h}" for h in HORIZONS),
    *(f"width_{h}" for h in HORIZONS),
    "true_law_chosen",
    "distance_median",
    "distance_max",
    "unreliable",
]


def _row(name: str, summary: dict) -> str:
    cells = [
        f"{summary[c]:.1%}" if c.startswith(("curve", "new", "true", "unrel")) else f"{summary[c]:.2f}" for c in COLUMNS
    ]
    return f"| {name} | {summary['n']} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="simulated runs per law and length")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates per law world")
    args = parser.parse_args()
    start, cpu = time.time(), time.process_time()
    cells, everything = {}, []
    for law in FAMILIES:
        for steps in LENGTHS:
            outcomes = [simulate(law, steps, seed, args.n_boot) for seed in range(args.seeds)]
            cells[f"{law} {steps}"] = summarise(outcomes)
            everything += outcomes
            print(_row(f"{law} {steps}", cells[f"{law} {steps}"]), flush=True)
    cells["all"] = summarise(everything)
    print()
    print("| law, steps | runs | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for name, summary in cells.items():
        print(_row(name, summary))
    tail = {
        "seeds": args.seeds,
        "n_boot": args.n_boot,
        "wall_s": round(time.time() - start, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "cells": cells,
        **run_info("numpy", "scipy"),
    }
    print(json.dumps(tail))


if __name__ == "__main__":
    main()
