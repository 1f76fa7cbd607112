"""Nothing lost through any write (issue 27): a command writes over only what it wrote.

Real `sweep` processes, as users run them, on copies of the checked-in tiny run
(tests/data/small_run, with its data written beside it so that it exports in seconds).
Refusals come in one line, exit 2, before any work, with the file they name left as it was.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import FAULTY, cli_env, make_examples, refused, run_cli, write_csv, write_space

from sweep.rundir.owned import MARKER
from sweep.space import config

SMALL_RUN = Path(__file__).resolve().parents[1] / "data" / "small_run"
MINE = "my own file: keep me\n"
HPS = {"cell": "gru", "vocab_size": 50, "embedding_dim": 4, "hidden_units": 4, "learning_rate": 0.01}


def place_run(root: Path, name: str = "synthetic") -> Path:
    """A copy of small_run in ROOT/results/NAME, with its data (csv:synthetic.csv) in ROOT."""
    if not (root / "synthetic.csv").exists():
        write_csv(root / "synthetic.csv", make_examples(400, seed=3))
    return Path(shutil.copytree(SMALL_RUN, root / "results" / name))


def sweep_in(cwd: Path, *args, **kwargs) -> subprocess.CompletedProcess:
    """`sweep ARGS` as a real process in `cwd` (helpers.run_cli)."""
    return run_cli(*args, cwd=cwd, **kwargs)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def here(tmp_path: Path) -> Path:
    place_run(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    """An export of small_run's best trial (read only: copy it to change it)."""
    root = tmp_path_factory.mktemp("export")
    run = place_run(root)
    proc = sweep_in(root, "export", run, "--out", root / "model")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return root / "model"


def tiny_space(root: Path, **tuner) -> Path:
    csv = write_csv(root / "reviews.csv", make_examples(60, seed=1))
    return write_space(root / "space.yaml", f"csv:{csv}",
                       tuner={"algorithm": "grid", "max_trials": 1, "epochs": 1, **tuner},
                       hyperparameters=dict(HPS))


def python(cwd: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=cli_env(), cwd=cwd, capture_output=True,
                          text=True, timeout=300)


# --- report --html FILE and Run.html(path) ---------------------------------------------------


@pytest.mark.parametrize("target", ["foreign", "config", "tuner_state", "other_run_status"])
def test_report_html_refuses_a_file_it_did_not_write(here, target):
    run = here / "results" / "synthetic"
    other = place_run(here, "other")
    (here / "page.html").write_text(MINE)
    path = {"foreign": here / "page.html", "config": run / "config.yaml",
            "tuner_state": run / "tuner" / "tuner0.json", "other_run_status": other / "status.json"}[target]
    before = snapshot(here)
    proc = sweep_in(here, "report", run, "--html", path)
    refused(proc, "--html", path.name)
    assert snapshot(here) == before  # not even the CSVs: refused before any work
    assert sweep_in(here, "report", run).returncode == 0


def test_report_html_writes_a_new_file_and_again_its_own(here):
    run = here / "results" / "synthetic"
    for _ in range(2):
        proc = sweep_in(here, "report", run, "--html", here / "page.html")
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert "plotly" in (here / "page.html").read_text()


def test_run_html_refuses_a_foreign_file(here):
    (here / "page.html").write_text(MINE)
    proc = python(here, "import sweep\ntry:\n    sweep.load('results/synthetic').html('page.html')\n"
                        "except sweep.UsageError as e:\n    print('refused:', e)\n")
    assert proc.returncode == 0 and "refused:" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert (here / "page.html").read_text() == MINE


# --- predict --output ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["foreign", "run_config", "export_classes"])
def test_predict_output_refuses_a_file_it_did_not_write(export_dir, here, target):
    run = here / "results" / "synthetic"
    model = Path(shutil.copytree(export_dir, here / "model"))
    other = Path(shutil.copytree(export_dir, here / "other_model"))
    (here / "mine.csv").write_text(MINE)
    path = {"foreign": here / "mine.csv", "run_config": run / "config.yaml",
            "export_classes": other / "classes.json"}[target]
    before = snapshot(here)
    proc = sweep_in(here, "predict", model, "a great film", "--output", path)
    refused(proc, "--output", path.name)
    assert snapshot(here) == before


def test_predict_output_rewrites_its_own_csv(export_dir, tmp_path):
    for _ in range(2):
        proc = sweep_in(tmp_path, "predict", export_dir, "a great film", "--output", tmp_path / "p.csv")
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert pd.read_csv(tmp_path / "p.csv").columns[:2].tolist() == ["row", "predicted"]


def test_predict_csv_neutralises_cells_a_spreadsheet_would_run(export_dir, tmp_path):
    model = Path(shutil.copytree(export_dir, tmp_path / "model"))
    (model / "classes.json").write_text(json.dumps(["=HYPERLINK(\"x\")", "@SUM(A1)"]))
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(["a great film", "the worst film", "boring", "wonderful"] * 3))
    proc = sweep_in(tmp_path, "predict", model, "--input", texts, "--output", tmp_path / "p.csv")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = [c for line in (tmp_path / "p.csv").read_text().splitlines() for c in line.split(",")]
    assert not [c for c in cells if c.lstrip('"')[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert {"'=HYPERLINK(\"x\")", "'@SUM(A1)"} & set(pd.read_csv(tmp_path / "p.csv").predicted)


# --- sweep run into a folder that is not a run; --overwrite's recognition -------------------


def test_run_refuses_a_same_named_folder_that_is_not_a_run(tmp_path):
    space = tiny_space(tmp_path)
    folder = tmp_path / "results" / "synthetic"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("my: settings\n")
    (folder / "trials.csv").write_text("a,b\n1,2\n")
    before = snapshot(tmp_path)
    proc = sweep_in(tmp_path, "run", space, "--results-dir", tmp_path / "results")
    refused(proc, "synthetic", "not a run")
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_folder_whose_status_is_just_any_json(tmp_path):
    space = tiny_space(tmp_path)
    folder = tmp_path / "results" / "synthetic"
    folder.mkdir(parents=True)
    (folder / "status.json").write_text('{"owner": "my other tool"}')
    (folder / "notes.txt").write_text(MINE)
    before = snapshot(tmp_path)
    proc = sweep_in(tmp_path, "run", space, "--results-dir", tmp_path / "results", "--overwrite")
    refused(proc, "--overwrite", "not a run folder")
    assert snapshot(tmp_path) == before


# --- the marker means "made by us" ----------------------------------------------------------


def test_report_out_does_not_claim_a_folder_it_did_not_make(here):
    run = here / "results" / "synthetic"
    mine = here / "figures"
    mine.mkdir()
    (mine / "best_curves.png").write_text(MINE)
    proc = sweep_in(here, "report", run, "--out", mine)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (mine / MARKER).exists()
    plot = sweep_in(here, "plot", run, "--out", mine)
    refused(plot, "--out", "best_curves.png")
    assert (mine / "best_curves.png").read_text() == MINE
    again = sweep_in(here, "report", run, "--out", mine)  # its own CSVs, recognised
    assert again.returncode == 0, again.stderr[-2000:]


# --- exports ----------------------------------------------------------------------------------


def test_export_does_not_replace_an_export_folder_that_now_holds_a_run(export_dir, here):
    run = here / "results" / "synthetic"
    out = Path(shutil.copytree(export_dir, here / "model"))
    place_run(here, "x")
    shutil.move(here / "results" / "x", out / "kept_run")
    before = snapshot(here)
    proc = sweep_in(here, "export", run, "--out", out)
    refused(proc, "--out", "kept_run")
    assert snapshot(here) == before


def test_export_into_an_existing_empty_folder(here):
    out = here / "model"
    out.mkdir()
    proc = sweep_in(here, "export", here / "results" / "synthetic", "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "model_card.json").is_file() and (out / MARKER).is_file()


# --- names ------------------------------------------------------------------------------------


def test_a_300_character_run_name_is_one_line(tmp_path):
    space = tiny_space(tmp_path)
    proc = sweep_in(tmp_path, "run", space, "--results-dir", tmp_path / "results", "--name", "n" * 300)
    refused(proc, "--name")
    assert not (tmp_path / "results").exists()


def test_a_name_that_is_not_text_is_a_usage_error(tmp_path):
    space = tiny_space(tmp_path)
    proc = python(tmp_path, f"import sweep\ntry:\n    sweep.run({str(space)!r}, name=5)\n"
                            "except sweep.UsageError as e:\n    print('refused:', e)\n")
    assert proc.returncode == 0 and "refused:" in proc.stdout and "name" in proc.stdout, \
        proc.stdout + proc.stderr[-2000:]
    assert not (tmp_path / "results").exists()


# --- what people open elsewhere: the terminal, report.html -----------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_report_strips_control_characters_from_data(here):
    run = here / "results" / "synthetic"
    (run / "classes.json").write_text(json.dumps(["\x1b[2J\x1b[31mneg", "pos\x07"]))
    odd = Path(shutil.copytree(run, here / "results" / "odd\x1b]0;title\x07name"))
    proc = sweep_in(here, "report", odd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "neg" in proc.stdout and not CONTROL.search(proc.stdout + proc.stderr), repr(proc.stdout)
    missing = sweep_in(here, "report", here / "gone\x1b[2J")
    assert missing.returncode == 2 and not CONTROL.search(missing.stderr.rstrip("\n")), repr(missing.stderr)


def test_report_html_data_cannot_end_a_script_or_comment(here):
    copy = here / "copied"
    copy.mkdir()
    run = here / "results" / "synthetic"
    for name in ("config.yaml", "status.json", "test.json", "classes.json", "history.csv"):
        shutil.copy(run / name, copy / name)
    trials = pd.read_csv(run / "trials.csv", dtype={"trial_id": str})
    trials["cell"] = trials["cell"].astype(object)
    trials.loc[0, "cell"] = "gru <!-- <script> </script>"  # a value reaches the charts' data
    trials.to_csv(copy / "trials.csv", index=False)
    proc = sweep_in(here, "report", copy, "--html", here / "page.html")
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (here / "page.html").read_text()
    for body in re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S):
        assert "<!--" not in body and "<script" not in body.lower(), body[:300]
    figures = re.search(r'id="figures">(.*?)</script>', page, flags=re.S).group(1)
    json.loads(figures)


# --- a worker with no chief -------------------------------------------------------------------


def test_a_worker_with_no_chief_says_what_it_waits_for_and_gives_up(tmp_path):
    space = tiny_space(tmp_path)
    run = tmp_path / "results" / "synthetic"  # the run folder a chief made, before it died
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(config.load(space).to_yaml())
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = sweep_in(tmp_path, "run", space, "--results-dir", tmp_path / "results", "--role", "worker",
                    "--oracle", f"127.0.0.1:{port}", "--worker-id", "w1", timeout=150,
                    env={"SWEEP_ORACLE_SECRET": "s3cret", "SWEEP_CHIEF_WAIT": "5"})
    assert f"Waiting for the chief's oracle at 127.0.0.1:{port} (up to 5 s" in proc.stdout, proc.stdout
    refused(proc, f"127.0.0.1:{port}", "within 5 s", "chief")


# --- sweep track while a tracked sweep runs ---------------------------------------------------


def test_track_while_a_tracked_sweep_syncs_adds_no_run(tmp_path):
    """`sweep track` while the live tracker of a sweep is about to make trial 0's run: one run
    per trial on the server in the end (the two must not race on mlflow.json and the runs)."""
    from e2e.mlflow_server import MlflowServer, sweep_runs

    server = MlflowServer(tmp_path / "mlflow").start()
    try:
        csv = write_csv(tmp_path / "reviews.csv", make_examples(300, seed=5))
        space = write_space(tmp_path / "space.yaml", f"csv:{csv}", name="raced",
                            tuner={"algorithm": "grid", "max_trials": 2, "epochs": 1, "seed": 2},
                            hyperparameters={"cell": ["gru", "lstm"], "vocab_size": 100, "embedding_dim": 8,
                                             "hidden_units": 8, "learning_rate": 0.01})
        env = {**cli_env(), "MLFLOW_TRACKING_URI": "", "MLFLOW_EXPERIMENT_NAME": ""}
        go, run = tmp_path / "go", tmp_path / "results" / "raced"
        live = subprocess.Popen([sys.executable, str(FAULTY), f"hold-sync:0:{go}", "run", str(space),
                                 "--results-dir", str(tmp_path / "results"), "--mlflow", server.uri],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            deadline = time.monotonic() + 400
            while not go.with_name("go.held").exists():
                assert live.poll() is None and time.monotonic() < deadline, "the sweep never synced trial 0"
                time.sleep(0.5)
            track = subprocess.Popen([sys.executable, "-m", "sweep", "track", str(run), "--mlflow",
                                      server.uri], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
            said = ""
            while track.poll() is None and "Waiting" not in said:  # done, or waiting for the live sync
                said += track.stdout.readline()
        finally:
            go.touch()
        said += track.communicate(timeout=300)[0]
        assert track.returncode == 0, said[-2000:]
        out, err = live.communicate(timeout=400)
        assert live.returncode == 0, out[-2000:] + err[-2000:]
        again = sweep_in(tmp_path, "track", run, "--mlflow", server.uri, env=env)
        assert again.returncode == 0, again.stderr[-2000:]
        _, trials, runs = sweep_runs(server.uri, "raced")
        of_trials = [r for r in runs if r.data.tags.get("rnn_sweep.kind") == "trial"]
        assert sorted(r.data.tags["rnn_sweep.trial_id"] for r in of_trials) == ["0", "1"], \
            [(r.data.tags, r.info.status) for r in of_trials]
        assert [r.info.status for r in of_trials] == ["FINISHED", "FINISHED"]
    finally:
        server.stop()
