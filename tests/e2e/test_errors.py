"""What a user really sees of a refused space or bad data: a subprocess, TensorFlow's own
start-up lines included (in-process tests cannot see them; the cases are in unit/test_cli.py
and unit/test_sources.py)."""

from __future__ import annotations

from helpers import run_cli, write_space


def test_data_error_is_short_on_a_real_terminal(tmp_path, csv_path):
    space = write_space(tmp_path / "space.yaml", f"csv:{csv_path}")
    res = tmp_path / "res"
    proc = run_cli("run", str(space), "--data", "csv:/nope/reviews.csv", "--results-dir", str(res),
                   timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["sweep: error: data.source: no such file '/nope/reviews.csv'"]
    assert not res.exists()


def test_bad_data_is_one_line_on_stderr_of_a_real_process(tmp_path):
    # In-process tests cannot see TensorFlow's start-up logs; a subprocess can.
    (tmp_path / "d.csv").write_text("review,stars\nx,1\n", encoding="utf-8")
    space = write_space(tmp_path / "space.yaml", f"csv:{tmp_path / 'd.csv'}")
    proc = run_cli("run", str(space), "--results-dir", str(tmp_path / "results"), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("sweep: error: data.label_column: no label column found")
    assert proc.stderr.count("\n") == 1 and "it has review, stars" in proc.stderr
    assert not (tmp_path / "results").exists()
