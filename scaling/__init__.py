"""Scaling-law analysis of ZeroTIR runs: read logs, fit laws in training step, correlate, plot, report.

The paper (arXiv 2505.07773) says code-execution frequency, response length and accuracy rise together and
"predictably" with training steps, but ships no fit; this package supplies the fits, their intervals and the
figures. It only reads logs (verl's file logger, W&B, eval summaries); it never trains or evaluates.
Entry point: `python -m recipes.zerotir.analyze` (conf/analyze.yaml).
"""
