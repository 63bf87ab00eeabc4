"""Evaluate: `python -m recipes.zerotir.eval [eval=paper|sweep|demo] eval.model=PATH [eval.<key>=...]`.

Composes conf/eval.yaml, checks the `eval` node, runs evaluation.evaluate and prints the summary table,
one transcript with executed code, the output paths, wall time and peak memory. Rerunning the same command
resumes from samples.jsonl. A refused command prints `zerotir eval: <key or file>: <reason>` lines and exits 1
(docs/eval.md, "Bad input").
"""

import logging
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # evaluation never downloads: models are local or already cached

import hydra
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evaluation.config import EvalConfig
from evaluation.evaluate import evaluate
from evaluation.report import markdown_table, transcript
from recipes.zerotir import errors


@hydra.main(config_path="../../conf", config_name="eval", version_base=None)
def main(cfg) -> None:
    start = time.perf_counter()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = EvalConfig.from_mapping(OmegaConf.to_container(cfg.eval, resolve=True))
        outcome = evaluate(config)
    except OmegaConfBaseException as err:  # an interpolation in the eval node that does not resolve
        sys.exit(errors.refuse("eval", f"{getattr(err, 'full_key', None) or 'eval'}: {str(err).splitlines()[0]}"))
    except ValueError as err:  # a setting, a data file, run.json, samples.jsonl: the message names the key or file
        sys.exit(errors.refuse("eval", *str(err).splitlines()))
    except OSError as err:
        if err.filename is None:  # not about a path: a bug or the machine, shown whole
            raise
        sys.exit(errors.refuse("eval", f"{err.filename}: {err.strerror or err}"))
    for record in outcome.with_code[: config.transcripts]:
        print(transcript(record))
    if config.transcripts and not outcome.with_code:
        print("(no trajectory executed code)")
    print(markdown_table(outcome.rows))
    written = sorted(p for p in outcome.run_dir.rglob("*") if p.suffix in (".jsonl", ".md", ".png", ".json"))
    print("wrote: " + "  ".join(str(p) for p in written))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"new samples: {outcome.finished}  wall: {time.perf_counter() - start:.0f} s  peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
