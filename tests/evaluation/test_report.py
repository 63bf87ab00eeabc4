"""The markdown table and the choice of the transcript the demo prints."""

from evaluation.metrics import summarize
from evaluation.report import markdown_table, transcript, transcript_order
from tests.evaluation.factory import record

BLOCK = "```python\nprint(1)\n```\n\n```output\n1\n\n```\n\n\n"


def test_transcripts_prefer_a_visible_output_then_a_clean_run_then_a_right_answer():
    no_code = record("a", prediction="1")
    cut_off = record("b", code_calls=1, response="```python\nx\n```")  # executed, but its block did not fit
    errored = record("c", code_calls=1, code_errors=1, response=BLOCK)
    clean_wrong = record("d", code_calls=1, response=BLOCK)
    clean_right = record("e", code_calls=1, correct=True, response=BLOCK)
    empty_output = record("f", code_calls=1, response="```python\nx = 1\n```\n\n```output\n\n```\n\n\n")
    order = transcript_order([no_code, cut_off, errored, empty_output, clean_wrong, clean_right])
    assert [r.problem_id for r in order] == ["e", "d", "f", "c", "b"]
    assert "```output\n1" in transcript(order[0]) and "-> correct" in transcript(order[0])


def test_markdown_table_shows_percent_and_marks_incomplete_cells():
    rows = summarize([record("p0", 0, True, "1"), record("p1", 0, False, "2")], ks=(1,), expected=2)
    table = markdown_table(rows)
    assert "| toy (incomplete) | 2 | 2 | 1 | 50.0 | 9.5-90.5 | 50.0 | 50.0 |" in table
    assert table.splitlines()[0].startswith(
        "| dataset | max calls | problems | k | avg@k | 95 % interval | pass@1 | maj@k |"
    )


def test_summary_files_and_figures_are_world_readable_whatever_the_umask(tmp_path):
    """Every file of a run goes through runs.atomic (mode 0644); nothing temporary is left beside them."""
    import os
    import stat

    from evaluation.plot import plot_interactions, plot_steps
    from evaluation.report import write_summary
    from evaluation.step_series import step_rows, write_accuracy_vs_step
    from runs.atomic import FILE_MODE

    rows = summarize([record("p0", 0, True, "1"), record("p1", 0, False, "2")], ks=(1,))
    old = os.umask(0o077)
    try:
        written = [*write_summary(tmp_path, rows, {"run_name": "modes"})]
        written.append(plot_interactions(rows, tmp_path / "accuracy_vs_interactions.png"))
        steps = step_rows(10, "ckpt", rows) + step_rows(20, "ckpt", rows)
        written += [*write_accuracy_vs_step(tmp_path, steps), plot_steps(steps, tmp_path / "accuracy_vs_step.png")]
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {FILE_MODE}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert (tmp_path / "accuracy_vs_step.png").read_bytes()[:4] == b"\x89PNG"
