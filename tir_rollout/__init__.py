"""Multi-turn tool-integrated rollout: the stop machine (shared with eval), the verl agent loop, its metrics.

Importing this package imports no verl; `tir_rollout.agent_loop` is the only verl-facing module.
"""
