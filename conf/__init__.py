"""Hydra configs for zerotir (a package so that Hydra can find it as `pkg://conf`)."""
