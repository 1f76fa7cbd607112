"""The Python API speaks Python: its errors name keywords, not flags; `Run` in Jupyter."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import fake_run_folder, make_examples, write_csv, write_space

import sweep
from sweep.analysis import importance
from sweep.errors import in_python_words
from sweep.space import config


@pytest.mark.parametrize(("cli", "python"), [
    ("pass --overwrite to replace it or --name to run beside it",
     "pass overwrite=True to replace it or name=... to run beside it"),
    ("confirm again with --seeds 3 or more before judging the gap",
     "confirm again with seeds=3 or more before judging the gap"),
    ("--sort: no column 'x'", "sort: no column 'x'"),
    ("fewer than --top 4.", "fewer than top=4."),
    ("name a trial with --trial ID", "name a trial with trial=ID"),
    ("Raise it (--max-time) and run the same command to go on.",
     "Raise it (max_time=...) and run the same call to go on."),
    ("a folder from `sweep export RUN --trial ID`", "a folder from `sweep export RUN --trial ID`"),
    ("/data/my--reviews.csv: no such file", "/data/my--reviews.csv: no such file"),
])
def test_one_wording_table_says_flags_as_keywords(cli, python):
    assert in_python_words(cli) == python


def test_a_run_of_another_space_is_refused_with_the_keywords_to_pass(tmp_path):
    data = write_csv(tmp_path / "d.csv", make_examples(60))
    old = config.load(write_space(tmp_path / "old.yaml", f"csv:{data}", hyperparameters={"hidden_units": 8}))
    fake_run_folder(tmp_path / "res" / old.name, old)
    space = write_space(tmp_path / "space.yaml", f"csv:{data}", hyperparameters={"hidden_units": 16})
    with pytest.raises(sweep.UsageError) as refused:
        sweep.run(space, results_dir=tmp_path / "res")
    message = str(refused.value)
    assert "pass overwrite=True to replace it or name=... to run beside it" in message
    assert "--" not in message


def test_report_sort_names_the_keyword_and_a_close_column(small_run):
    with pytest.raises(sweep.UsageError, match=r"^sort: no column 'val_acc'; did you mean 'val_accuracy'\?"):
        sweep.load(small_run).report(sort="val_acc")


def test_repr_html_links_report_html_and_shows_the_top_hyperparameters(small_run_copy, monkeypatch):
    (small_run_copy / "report.html").write_text("<html></html>")
    table = pd.DataFrame({"hyperparameter": ["cell", "learning_rate", "hidden_units", "dropout"],
                          "share": [0.6, 0.25, 0.1, 0.05], "low": [0.4, 0.1, 0.0, 0.0],
                          "high": [0.8, 0.4, 0.2, 0.1]})
    monkeypatch.setattr(importance, "importance",
                        lambda trials, cfg, *a, **k: importance.Importance(table, 12, 200))
    page = sweep.load(small_run_copy)._repr_html_()
    assert 'href="' in page and 'report.html"' in page
    assert page.index("cell") < page.index("learning_rate") < page.index("hidden_units")
    assert "dropout" not in page  # the top three
    assert "60%" in page


def test_repr_html_says_why_there_is_no_importance(small_run_copy):
    page = sweep.load(small_run_copy)._repr_html_()
    assert "Importance:" in page and "report.html" not in page  # none written yet
