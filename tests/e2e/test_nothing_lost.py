"""Nothing lost: a command deletes or replaces only what it made; a foreign path is refused.

Real `sweep` processes (issue 20's cases) on the session's finished run (conftest's
`finished_run`, 3 trials) and its export (`exported`): every test changes a copy. Refusals must come in
one line, exit 2, before any work, with the folder they name left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    cli_env,
    main_refused,
    make_examples,
    no_traceback,
    refused,
    run_cli,
    run_main,
    start_cli,
    tree,
    write_csv,
    write_space,
)

from sweep.rundir.owned import MARKER

HPS = {"cell": ["lstm", "gru"], "vocab_size": 100, "embedding_dim": 8, "hidden_units": 8,
       "learning_rate": 0.01}


def copy_run(finished_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "results" / "synthetic", symlinks=True))


def best_trial(run: Path) -> str:
    return str(json.loads((run / "test.json").read_text())["trial_id"])


# --- 1. export --out never deletes what it did not make ------------------------------------


@pytest.mark.parametrize("target", ["user_folder", "user_file", "run", "tuner", "cache", "results",
                                    "inside_tuner"])
def test_export_out_refuses_what_it_did_not_make(finished_run, tmp_path, capsys, target):
    """In this process (test_odd_export_destinations_are_one_line runs `sweep export` for real)."""
    run = copy_run(finished_run, tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("my notes")
    (tmp_path / "some_file.txt").write_text("keep me")
    out = {"user_folder": user, "user_file": tmp_path / "some_file.txt", "run": run,
           "tuner": run / "tuner", "cache": run / "cache", "results": run.parent,
           "inside_tuner": run / "tuner" / "model"}[target]
    before = tree(tmp_path)
    main_refused(["export", run, "--out", out], capsys, str(out.name))
    assert tree(tmp_path) == before  # refused before any work
    code, report, _ = run_main(["report", run], capsys)
    assert code == 0 and "3 trials" in report, report


def test_export_replaces_its_own_export_and_respects_the_umask(finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path)
    out = tmp_path / "model"
    first = run_cli("export", run, "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "export" and marker["trial_id"] == best_trial(run)
    # Made as any folder is (the umask), not 0700 as a temporary folder: a server running
    # as another user can read it.
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()
    (out / "extra.txt").write_text("left by the export's user")
    again = run_cli("export", run, "--out", out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (out / "model_card.json").exists() and not (out / "extra.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- 2. report on a copy without tuner/ ---------------------------------------------------


def test_report_on_a_copy_without_tuner_state_reads_its_csvs_and_writes_nothing(finished_run, tmp_path):
    copy = tmp_path / "copied"
    copy.mkdir()
    for name in ("config.yaml", "trials.csv", "history.csv", "status.json", "test.json"):
        shutil.copy(finished_run / name, copy / name)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    proc = run_cli("report", copy)
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc)
    assert "3 trials" in proc.stdout and "rank" in proc.stdout, proc.stdout
    assert "read-only" in proc.stderr and "trials.csv" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


# --- 3. predict's output is never its input -----------------------------------------------


@pytest.mark.parametrize("how", ["same", "symlink", "relative"])
def test_predict_refuses_an_output_that_is_its_input(exported, tmp_path, how):
    texts = tmp_path / "texts.txt"
    texts.write_text("a great film\nthe worst film\n")
    output = {"same": texts, "relative": Path("sub/../texts.txt")}.get(how)
    if how == "symlink":
        output = tmp_path / "link.txt"
        output.symlink_to(texts)
    (tmp_path / "sub").mkdir()
    proc = run_cli("predict", exported, "--input", "texts.txt", "--output", output, cwd=tmp_path)
    refused(proc, "--output", "--input")
    assert texts.read_text() == "a great film\nthe worst film\n"


# --- 4. damaged export folders --------------------------------------------------------------


def _damage(folder: Path, how: str) -> str:
    """Damages a copy of an export; returns the file the refusal must name."""
    if how == "no_classes":
        (folder / "classes.json").unlink()
        return "classes.json"
    if how == "garbage_classes":
        (folder / "classes.json").write_text("{not json")
        return "classes.json"
    if how == "cut_model":
        data = (folder / "model.keras").read_bytes()
        (folder / "model.keras").write_bytes(data[: len(data) // 2])
        return "model.keras"
    if how == "empty_saved_model":
        (folder / "model.keras").unlink()
        shutil.rmtree(folder / "saved_model")
        (folder / "saved_model").mkdir()
        return "saved_model"
    card = json.loads((folder / "model_card.json").read_text())
    if how == "card_with_a_list_for_data":
        card["data"] = [card["data"]]
    else:
        del card["data"]["max_length"]
    (folder / "model_card.json").write_text(json.dumps(card))
    return "model_card.json"


@pytest.mark.parametrize("how", ["no_classes", "garbage_classes", "cut_model", "empty_saved_model",
                                 "card_without_max_length", "card_with_a_list_for_data"])
def test_a_damaged_export_is_one_line_naming_the_file(exported, tmp_path, capsys, how):
    folder = Path(shutil.copytree(exported, tmp_path / "model"))
    name = _damage(folder, how)
    main_refused(["predict", folder, "a great film"], capsys, name)


def test_export_of_a_trial_whose_checkpoint_is_gone_names_the_file(finished_run, tmp_path, capsys):
    run = copy_run(finished_run, tmp_path)
    (run / "tuner" / f"trial_{best_trial(run)}" / "checkpoint.weights.h5").unlink()
    main_refused(["export", run], capsys, "checkpoint.weights.h5")


# --- 5. odd destinations ----------------------------------------------------------------------


@pytest.mark.parametrize("out", ["/", ".", "/sys/rnn-sweep-export"])
def test_odd_export_destinations_are_one_line(finished_run, tmp_path, out):
    run = copy_run(finished_run, tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    before = tree(tmp_path)
    refused(run_cli("export", run, "--out", out, cwd=tmp_path))
    assert tree(tmp_path) == before


def test_predict_on_a_read_only_run_folder_exports_to_a_temporary_folder(finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path)
    before = tree(run)
    proc = run_cli("predict", run, "a great film", fault=f"read-only:{run}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    no_traceback(proc)
    table = pd.read_csv(pd.io.common.StringIO(proc.stdout))
    assert len(table) == 1 and "prob_1" in table
    assert "temporary" in proc.stderr, proc.stderr
    assert tree(run) == before


# --- 6. a killed export leaves nothing behind for ever --------------------------------------


def test_a_killed_export_leaves_nothing_the_next_export_keeps(finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path)
    tid = best_trial(run)
    proc = run_cli("export", run, fault="after-write:model_card.json")
    assert proc.returncode == -signal.SIGKILL
    exports = run / "export"
    assert [p.name for p in exports.iterdir() if p.name.startswith(f".trial_{tid}.")], \
        "the kill should leave the temporary folder (else this test tests nothing)"
    again = run_cli("export", run)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p.name for p in exports.iterdir()) == [f"trial_{tid}"]
    # A kill between the two renames of a replacement: only `.trial_N.old` is left.
    (exports / f"trial_{tid}").rename(exports / f".trial_{tid}.old")
    again = run_cli("export", run)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p.name for p in exports.iterdir()) == [f"trial_{tid}"]


# --- 7. export and predict while the sweep runs -----------------------------------------------


@pytest.fixture
def live_run(finished_run, tmp_path):
    """A copy whose status.json says a live process (on this host) is running the sweep."""
    run = copy_run(finished_run, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    now = time.time()
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": holder.pid,
                                                 "host": socket.gethostname(), "time": now,
                                                 "heartbeat": now}))
    yield run, holder.pid
    holder.kill()
    holder.wait()


def test_export_and_predict_refuse_a_live_sweep_unless_a_trial_is_named(live_run):
    run, pid = live_run
    refused(run_cli("export", run), "still running", str(pid), "--trial")
    refused(run_cli("predict", run, "a great film"), "still running")
    assert not (run / "export").exists()
    proc = run_cli("export", run, "--trial", best_trial(run))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "still running" in proc.stderr, proc.stderr


# --- 8. the oracle's secret -------------------------------------------------------------------


def _oracle_space(tmp_path: Path) -> Path:
    csv = write_csv(tmp_path / "reviews.csv", make_examples(200, seed=2))
    return write_space(tmp_path / "space.yaml", f"csv:{csv}",
                       tuner={"algorithm": "grid", "max_trials": 2, "epochs": 1},
                       hyperparameters=HPS)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _secret_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    run = tmp_path / "results" / "synthetic"
    run.mkdir(parents=True)
    (run / "oracle.secret").write_text(text)
    (run / "oracle.secret").chmod(mode)
    return run


@pytest.mark.parametrize("role", ["chief", "worker"])
def test_an_empty_secret_is_refused_on_both_sides(tmp_path, monkeypatch, capsys, role):
    space = _oracle_space(tmp_path)
    _secret_file(tmp_path, "\n")
    extra = ["--worker-id", "w0"] if role == "worker" else []
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWEEP_ORACLE_SECRET", raising=False)
    main_refused(["run", space, "--results-dir", "results", "--role", role,
                  "--oracle", f"127.0.0.1:{_port()}", *extra], capsys, "oracle.secret", "empty")


def test_a_non_ascii_secret_is_refused_by_the_chief(tmp_path, monkeypatch, capsys):
    space = _oracle_space(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWEEP_ORACLE_SECRET", "sécret")
    main_refused(["run", space, "--results-dir", "results", "--role", "chief",
                  "--oracle", f"127.0.0.1:{_port()}"], capsys, "SWEEP_ORACLE_SECRET", "ASCII")


def _start_worker(tmp_path, space) -> subprocess.Popen:
    """A worker of `space` in tmp_path, facing a chief that is not there; its output as one stream."""
    return start_cli("run", space, "--results-dir", "results", "--role", "worker", "--worker-id", "w0",
                     "--oracle", f"127.0.0.1:{_port()}", cwd=tmp_path, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True)


def test_a_secret_file_others_can_read_is_warned_about(tmp_path):
    space = _oracle_space(tmp_path)
    _secret_file(tmp_path, "0123456789abcdef0123456789abcdef", mode=0o644)
    proc = _start_worker(tmp_path, space)
    try:
        out = _read_for(proc, 60, "others can read")
    finally:
        proc.kill()
        proc.wait()
    assert "others can read" in out and "chmod 600" in out, out


def test_a_waiting_worker_says_what_it_waits_for_and_sleeps(tmp_path):
    space = _oracle_space(tmp_path)
    proc = _start_worker(tmp_path, space)
    try:
        out = _read_for(proc, 90, "Waiting")
        cpu = _cpu_seconds(proc.pid)
        time.sleep(5)
        spent = _cpu_seconds(proc.pid) - cpu
    finally:
        proc.kill()
        proc.wait()
    assert "oracle.secret" in out and "SWEEP_ORACLE_SECRET" in out, out
    assert spent < 1.0, f"the waiting worker used {spent:.1f} s of CPU in 5 s"


def _read_for(proc: subprocess.Popen, seconds: float, until: str) -> str:
    """What `proc` printed until `until` appears (or `seconds` pass)."""
    import selectors

    out = ""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while until not in out and time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=1):
            out += os.read(proc.stdout.fileno(), 65536).decode(errors="replace")
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- 9. the smaller ones -----------------------------------------------------------------------


def test_a_closed_pipe_is_no_traceback(exported, finished_run, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("a great film\n" * 20000)
    env = cli_env()
    predict = subprocess.run(f"{sys.executable} -m sweep predict {exported} --input {texts} | head -1",
                             shell=True, env=env, capture_output=True, text=True, timeout=300)
    assert predict.stdout.startswith("row,predicted"), predict.stdout
    assert "Traceback" not in predict.stderr and "BrokenPipe" not in predict.stderr, predict.stderr
    report = subprocess.run(f"{sys.executable} -m sweep report {finished_run} --top 2 | true", shell=True,
                            env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in report.stderr and "BrokenPipe" not in report.stderr, report.stderr


def test_predict_write_errors_name_its_own_flag(exported, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    line = main_refused(["predict", exported, "a great film", "--output", tmp_path / "a_file" / "out.csv"],
                        capsys)
    assert "--output" in line and "--out " not in line + " ", line


def test_predict_dash_with_more_texts_is_refused(exported):
    refused(run_cli("predict", exported, "-", "extra", stdin="a great film\n", cwd=exported), "'-'")


def test_max_time_as_a_bare_number_is_seconds(tmp_path, monkeypatch, capsys):
    space = _oracle_space(tmp_path)
    monkeypatch.chdir(tmp_path)
    line = main_refused(["run", space, "--max-time", "90", "--data", "csv:missing.csv"], capsys)
    assert "max-time" not in line and "missing.csv" in line, line


def test_a_deleted_cache_is_said_as_such(finished_run, tmp_path):
    run = copy_run(finished_run, tmp_path)
    shutil.rmtree(run / "cache")
    (finished_run.parent.parent / "synthetic.csv").rename(tmp_path / "moved.csv")
    try:
        line = refused(run_cli("export", run))
    finally:
        (tmp_path / "moved.csv").rename(finished_run.parent.parent / "synthetic.csv")
    assert "cache" in line and "before 0.2" not in line, line
