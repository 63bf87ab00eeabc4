"""Entry points of the zerotir recipe."""
