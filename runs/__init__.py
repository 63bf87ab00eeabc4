"""A training run's folder, owned in one place: its layout, its record (run.json), verl's checkpoint series, and the
atomic writes every writer of the project uses.

At the bottom of the house: it imports only the standard library, so the recipe, the evaluation, the analysis and
data preparation all stand on it without standing on each other. Modules: layout (what lies where in
`outputs/<experiment>/<run>/`), record (`RunRecord`, run.json), checkpoints (`global_step_<N>/`, the newest step,
the one HF-weights rule), atomic (write a file or folder whole, mode 0644).
"""
