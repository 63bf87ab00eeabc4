"""`python -m data_prep`: check train/eval overlap, build the parquet files, print a summary table.

With no arguments it builds the default set (simplerl_math_l3to5 for training; aime24, aime25, math500
and hmmt_feb_2025 for evaluation; template zero_tir). Training and eval also build files on demand
through data_prep.ensure_parquet, so this command is a convenience, not a required step.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

import pyarrow.parquet as pq

from data_prep import catalog
from data_prep.overlap import OverlapError, check_overlap
from data_prep.parquet import build
from data_prep.sources import RawDataError
from runs.atomic import folder_problem
from tir_rollout import templates

DEFAULT_TRAIN = ["simplerl_math_l3to5"]
DEFAULT_EVAL = ["aime24", "aime25", "math500", "hmmt_feb_2025"]


TOOL = "zerotir data_prep"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line, `zerotir data_prep: <option>: <reason>`, with exit code 1."""

    def error(self, message: str) -> NoReturn:
        option, sep, reason = message.partition(": ")
        where = option.removeprefix("argument ").split("/")[0] if sep and option.startswith("argument ") else None
        refuse(where or "arguments", f"{reason if where else message} (python -m data_prep --help)")
        raise SystemExit(1)


def refuse(where: str, reason: object) -> int:
    """One line on stderr, `zerotir data_prep: <option or file>: <reason>`; the exit code of a refused command."""
    print(f"{TOOL}: {where}: {' '.join(str(reason).split())}", file=sys.stderr)
    return 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog="python -m data_prep", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--train",
        nargs="*",
        default=DEFAULT_TRAIN,
        choices=catalog.TRAIN,
        metavar="NAME",
        help=f"training sets (default: {' '.join(DEFAULT_TRAIN)}; valid: {', '.join(catalog.TRAIN)})",
    )
    parser.add_argument(
        "--eval",
        nargs="*",
        default=DEFAULT_EVAL,
        choices=catalog.EVAL,
        metavar="NAME",
        help=f"evaluation sets (default: {' '.join(DEFAULT_EVAL)}; valid: {', '.join(catalog.EVAL)})",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every training and evaluation set; some pairs share problems (aime_1983_2023 holds 4 MATH-500 "
        "problems, the arithmetic sets a few each), so this is refused unless --allow-overlap is given too "
        "(--check-overlap --all prints the table)",
    )
    parser.add_argument("--template", nargs="+", default=["zero_tir"], choices=list(templates.TEMPLATES))
    parser.add_argument("--out-dir", default="data/processed")
    parser.add_argument("--allow-overlap", action="store_true", help="build even if train and eval sets share problems")
    parser.add_argument("--check-overlap", action="store_true", help="only print the overlap table; build nothing")
    args = parser.parse_args(argv)
    if args.all:
        args.train, args.eval = catalog.TRAIN, catalog.EVAL
    return args


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())


def selection_problem(args: argparse.Namespace) -> tuple[str, str] | None:
    """(option, reason) when the selection leaves nothing to do; None otherwise."""
    if not args.train and not args.eval:
        return "--train, --eval", "no dataset selected; name some (--eval aime24) or leave both out for the default set"
    if args.check_overlap and not (args.train and args.eval):
        empty = "--train" if not args.train else "--eval"
        return empty, "--check-overlap compares training with evaluation sets; name at least one of each"
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    if problem := selection_problem(args):
        return refuse(*problem)
    if not args.check_overlap and (problem := folder_problem(args.out_dir)):
        return refuse("--out-dir", problem)
    try:
        counts = check_overlap(args.train, args.eval, allow_overlap=args.allow_overlap or args.check_overlap)
    except OverlapError as err:
        text = str(err).replace("allow_overlap=true (CLI: --allow-overlap)", "--allow-overlap")
        return refuse("--train, --eval", text)
    except (RawDataError, ValueError) as err:  # the message names the raw file (or the dataset whose count is off)
        return refuse(*_split(err))
    if args.train and args.eval:
        print("Overlap (evaluation problems whose normalised text is also in the training set):")
        print_table(["train \\ eval", *args.eval], [[t, *(str(counts[(t, e)]) for e in args.eval)] for t in args.train])
        print()
    if args.check_overlap:
        return 0
    summary = []
    try:
        for name in [*args.train, *args.eval]:
            for template in args.template:
                path = build(name, template, args.out_dir)
                summary.append([name, template, str(pq.read_metadata(path).num_rows), str(path)])
    except (RawDataError, ValueError) as err:
        return refuse(*_split(err))
    except OSError as err:
        if err.filename is None:
            raise
        return refuse(err.filename, err.strerror or err)
    print_table(["dataset", "template", "rows", "path"], summary)
    return 0


def _split(err: Exception) -> tuple[str, str]:
    """(file, reason) of a message `<file>: <reason>` (RawDataError's form); (the message, '') when it has none."""
    where, sep, reason = str(err).partition(": ")
    return (where, reason) if sep else ("data", str(err))


if __name__ == "__main__":
    sys.exit(main())
