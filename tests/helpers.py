"""Shared test helpers: tiny synthetic text data with a learnable signal, space files, and
ways to run `sweep` (in-process or as a subprocess). Fixtures are in conftest.py."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
SHARED_TFDS = ROOT.parent / "shared" / "tensorflow_datasets"
IMDB_PREPARED = (SHARED_TFDS / "imdb_reviews" / "plain_text" / "1.0.0" / "dataset_info.json").exists()

# A test that reads the real IMDB in ../shared: conftest skips it when that is absent.
requires_imdb = pytest.mark.imdb

# A learning rate near float32's largest overflows the weights in a step or two: the loss is
# NaN on CPU and the trial FAILED (1e6 only makes it large: tanh and the sigmoid saturate).
HUGE_LR = 1e38

FILLER = [f"w{i}" for i in range(40)]
CUES = {0: ["awful", "boring", "worst"], 1: ["great", "superb", "loved"], 2: ["okay", "fine", "average"]}


def make_examples(n: int, num_classes: int = 2, seed: int = 0) -> list[tuple[str, int]]:
    """Random filler words with a class cue word planted somewhere: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = int(rng.integers(num_classes))
        words = list(rng.choice(FILLER, size=int(rng.integers(5, 30))))
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(CUES[label])))
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, object]], header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def numbered_csv(path: Path, n: int = 100, sort_by_class: bool = False) -> Path:
    """Every row's text starts with a unique word `docI`, so rows can be told apart."""
    rows = [(f"doc{i} {text}", label) for i, (text, label) in enumerate(make_examples(n))]
    if sort_by_class:
        rows.sort(key=lambda r: r[1])
    return write_csv(path, rows)


def write_space(path: Path, source: str, **sections) -> Path:
    """A small, fast space file; `sections` override data/tuner/hyperparameters keys."""
    space = {
        "name": "synthetic",
        "data": {"source": source, "max_length": 32, "batch_size": 32, "validation_split": 0.2},
        "tuner": {"algorithm": "random", "max_trials": 2, "epochs": 3, "seed": 1},
        "hyperparameters": {
            "cell": ["gru", "lstm"],
            "vocab_size": 100,
            "embedding_dim": 16,
            "hidden_units": 16,
            "learning_rate": 0.01,
        },
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(space.get(key), dict):
            space[key].update(value)
        else:
            space[key] = value
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def fake_run_folder(run_dir: Path, cfg) -> None:
    """What a started sweep leaves: its resolved space (a SweepConfig) and KerasTuner's oracle."""
    (run_dir / "tuner").mkdir(parents=True)
    (run_dir / "config.yaml").write_text(cfg.to_yaml())
    (run_dir / "tuner" / "oracle.json").write_text("{}")


TIMEOUT = 420  # seconds for any one `sweep` process, on a busy two-core machine
FAULTY = ROOT / "tests" / "e2e" / "faulty.py"  # `python faulty.py FAULT ARGS`: `sweep ARGS` with a fault
CPU = {"CUDA_VISIBLE_DEVICES": ""}  # env= for metrics that must match figure for figure


def cli_env(extra: dict | None = None) -> dict:
    """The environment of a `sweep` subprocess: this checkout's `sweep` first, TensorFlow quiet,
    the shared IMDB when it is there, none of the parent's GPU or distributed settings; then
    `extra` (a None value unsets the variable)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for key in ("CUDA_VISIBLE_DEVICES", "SWEEP_ORACLE_SECRET", "KERASTUNER_TUNER_ID",
                "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    if IMDB_PREPARED:
        env.setdefault("TFDS_DATA_DIR", str(SHARED_TFDS))
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def cli_argv(args, fault: str | None = None) -> list[str]:
    """`python -m sweep ARGS`, or `python faulty.py FAULT ARGS` (tests/e2e/faulty.py)."""
    head = [sys.executable, str(FAULTY), fault] if fault else [sys.executable, "-m", "sweep"]
    return [*head, *map(str, args)]


def run_cli(*args, cwd: Path | None = None, fault: str | None = None, env: dict | None = None,
            stdin: str | None = None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """The one way tests run `sweep ARGS` as a real process, to its end.

    Args:
        args: the command line after `sweep` (paths are turned into strings).
        cwd: where it runs (default: the test run's working directory).
        fault: a faulty.py fault (`enospc:NAME`, `sigint-at:NAME`, `after-write:NAME`, ...).
        env: variables set (None: unset) over `cli_env()`'s, e.g. `CPU`.
        stdin: text fed to its standard input.
        timeout: seconds before the test fails.

    Returns:
        The CompletedProcess, with stdout and stderr as text.
    """
    return subprocess.run(cli_argv(args, fault), cwd=cwd, env=cli_env(env), input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def start_cli(*args, cwd: Path | None = None, fault: str | None = None, env: dict | None = None,
              log: Path | None = None, **popen) -> subprocess.Popen:
    """`sweep ARGS` in the background (as `run_cli`); with `log`, its output in LOG.out / LOG.err.

    Ctrl-C reaches it (a background child may start with SIGINT ignored). Other keyword
    arguments go to Popen (stdout=, stderr=, text=, ...).
    """
    import signal

    popen.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if log is None:
        return subprocess.Popen(cli_argv(args, fault), cwd=cwd, env=cli_env(env), **popen)
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        return subprocess.Popen(cli_argv(args, fault), cwd=cwd, env=cli_env(env), stdout=out,
                                stderr=err, **popen)


def logged(log: Path) -> str:
    """What a `start_cli(..., log=LOG)` process printed (stdout, then stderr)."""
    return log.with_suffix(".out").read_text() + log.with_suffix(".err").read_text()


def output(proc: subprocess.CompletedProcess) -> str:
    """A finished process's exit code and the ends of its output, for assertion messages."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]


def one_line(stderr: str) -> str:
    """The only line of `stderr` (fails when there are more or none)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    return lines[0]


def refused(proc: subprocess.CompletedProcess, *words: str) -> str:
    """The one line of a refusal (exit 2, no traceback), which must hold each of `words`."""
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    no_traceback(proc)
    line = one_line(proc.stderr)
    for w in words:
        assert w in line, line
    return line


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder`: its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- `sweep run` in-process on one tiny source ---------------------------------------


def tiny_sweep(tmp_path: Path, capsys, source: str | None, *flags: str, **sections):
    """Runs one tiny sweep through `sweep.cli.main`; returns (exit code, stdout + stderr, run folder)."""
    from sweep import cli

    sections["tuner"] = {"max_trials": 1, "epochs": 2, **sections.get("tuner", {})}
    sections.setdefault("hyperparameters", {
        "cell": "gru", "vocab_size": 100, "embedding_dim": 16, "hidden_units": 16,
        "learning_rate": 0.01,
    })
    space = write_space(tmp_path / "space.yaml", source or "csv:unused.csv", **sections)
    results = tmp_path / "results"
    code = cli.main(["run", str(space), "--results-dir", str(results), *flags])
    out = capsys.readouterr()
    return code, out.out + out.err, results / "synthetic"


def assert_ran(code: int, out: str, run_dir: Path, classes: list[str], test_examples: int | None = None):
    """A tiny sweep that finished: its classes, trials, test evaluation and output layer."""
    import h5py
    import pandas as pd

    assert code == 0, out
    assert json.loads((run_dir / "classes.json").read_text()) == classes
    trials = pd.read_csv(run_dir / "trials.csv")
    assert (trials.status == "COMPLETED").all() and len(trials) >= 1
    test = json.loads((run_dir / "test.json").read_text())
    if test_examples is not None:
        assert test["test_examples"] == test_examples
    assert f"{len(classes)} classes ({', '.join(classes)})" in out
    # The output layer: one logit for two classes, else one unit per class (softmax).
    best = run_dir / "tuner" / f"trial_{test['trial_id']}" / "checkpoint.weights.h5"
    with h5py.File(best, "r") as f:
        assert f["layers/dense/vars/1"].shape == (1 if len(classes) == 2 else len(classes),)
    return trials, test


# --- `sweep ...` in-process -------------------------------------------------------------


def run_main(argv: list, capsys) -> tuple[int, str, str]:
    """`sweep.cli.main(argv)` in this process -> (exit code, stdout, stderr), argparse's exit
    included: for refusals, where the process boundary is not the point."""
    from sweep.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse refuses a flag by exiting
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def main_refused(argv: list, capsys, *words: str) -> str:
    """`run_main`'s refusal: exit 2, no traceback, one line holding each of `words`; returns it."""
    code, out, err = run_main(argv, capsys)
    assert code == 2, out[-2000:] + err[-3000:]
    assert "Traceback" not in out + err, err[-3000:]
    line = one_line(err)
    for w in words:
        assert w in line, line
    return line


# --- `sweep report` in-process ---------------------------------------------------------


def report(capsys, *args: str) -> tuple[int, str, str]:
    """`sweep report ARGS` through `sweep.cli.main` -> (exit code, stdout, stderr)."""
    from sweep import cli

    code = cli.main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def board(out: str):
    """The printed leaderboard, read back by column position (blank cells stay blank)."""
    import pandas as pd

    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["rank", "trial_id"])
    end = start + 1  # the rows, each led by its rank (lines after the table are not rows)
    while end < len(lines) and lines[end].split()[:1] and lines[end].split()[0].isdigit():
        end += 1
    return pd.read_fwf(io.StringIO("\n".join(lines[start:end])), dtype=str)


def snapshot(run_dir: Path, trial_ids) -> dict[Path, tuple[bytes, int]]:
    """The files of ended trials (bytes, mtime), which a resumed sweep must leave as they are."""
    files = {}
    for tid in trial_ids:
        for name in ("trial.json", "epochs.csv", "sweep.json"):
            path = run_dir / "tuner" / f"trial_{tid}" / name
            files[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    return files


# --- A synthetic run folder of any size (the HTML report's and bench/report.py's fixture) ---


SYNTHETIC_SPACE = {
    "cell": ["simple_rnn", "lstm", "gru"],
    "bidirectional": [False, True],
    "hidden_units": [16, 32, 64],
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
    "dropout": {"min": 0.0, "max": 0.5},
    "vocab_size": [1000, 5000, 20000],
}


def synthetic_run(run_dir: Path, trials: int = 60, failed: int = 0, epochs: int = 5, seed: int = 0) -> Path:
    """A run folder as a finished KerasTuner sweep leaves it, with made-up figures, in milliseconds.

    The validation accuracy depends mostly on the cell (SimpleRNN worst) and then on the
    learning rate (best near 1e-3), so importance has something to find; `failed` of the
    trials are FAILED with a reason. config.yaml, status.json, classes.json, test.json,
    length_accuracy.csv and tuner/trial_*/ (trial.json, epochs.csv, sweep.json) are written.
    """
    from sweep.space import config

    rng = np.random.default_rng(seed)
    cfg = config.from_dict({
        "name": run_dir.name, "data": {"source": "csv:reviews.csv", "max_length": 200},
        "tuner": {"algorithm": "random", "max_trials": trials, "epochs": epochs, "seed": seed},
        "hyperparameters": SYNTHETIC_SPACE,
    })
    fake_run_folder(run_dir, cfg)
    (run_dir / "classes.json").write_text(json.dumps(["neg", "pos"]))
    best = (-1.0, "")
    failed_ids = set(rng.choice(trials, size=failed, replace=False).tolist()) if failed else set()
    for i in range(trials):
        tid = f"{i:03d}"
        hps = {"cell": str(rng.choice(SYNTHETIC_SPACE["cell"])), "bidirectional": bool(rng.integers(2)),
               "hidden_units": int(rng.choice(SYNTHETIC_SPACE["hidden_units"])),
               "learning_rate": float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-2)))),
               "dropout": float(rng.uniform(0, 0.5)), "vocab_size": int(rng.choice([1000, 5000, 20000]))}
        ceiling = {"simple_rnn": 0.62, "lstm": 0.85, "gru": 0.86}[hps["cell"]] \
            - 0.08 * abs(np.log10(hps["learning_rate"]) + 3) + 0.01 * hps["bidirectional"]
        trial_dir = run_dir / "tuner" / f"trial_{tid}"
        trial_dir.mkdir()
        status = "FAILED" if i in failed_ids else "COMPLETED"
        run_epochs = 2 if status == "FAILED" else epochs
        rows = ["epoch,loss,accuracy,val_loss,val_accuracy,seconds"]
        for e in range(1, run_epochs + 1):
            val = 0.5 + (ceiling - 0.5) * (1 - np.exp(-e / 1.5)) + rng.normal(0, 0.005)
            rows.append(f"{e},{0.7 - 0.08 * e:.4f},{val + 0.03:.4f},{0.72 - 0.6 * (val - 0.5):.4f},"
                        f"{val:.4f},{rng.uniform(5, 20):.2f}")
        (trial_dir / "epochs.csv").write_text("\n".join(rows) + "\n")
        trial = {"trial_id": tid, "status": status, "hyperparameters": {"values": hps}}
        if status == "FAILED":
            trial["message"] = "Traceback ...\nkeras_tuner.src.errors.FailedTrialError: loss became nan"
        elif val > best[0]:
            best = (val, tid)
        (trial_dir / "trial.json").write_text(json.dumps(trial))
        seconds = float(rng.uniform(30, 120))
        (trial_dir / "sweep.json").write_text(json.dumps({
            "seconds": seconds, "fit_seconds": seconds - 2, "overhead_seconds": 2.0, "params": 100000,
            "peak_rss_mb": 900.0, "worker": "tuner0"}))
    if best[1]:
        (run_dir / "test.json").write_text(json.dumps({
            "trial_id": best[1], "test_accuracy": round(best[0] - 0.01, 4), "test_loss": 0.4,
            "test_examples": 1000}))
        lines = ["cell,bidirectional,trial_id,bucket,min_tokens,max_tokens,examples,accuracy"]
        for b in range(5):
            lines.append(f"lstm,False,{best[1]},{b},{b * 40 + 1},{b * 40 + 40},200,{0.85 - 0.02 * b:.3f}")
        (run_dir / "length_accuracy.csv").write_text("\n".join(lines) + "\n")
    # finished: run_state reads neither pid nor host
    (run_dir / "status.json").write_text(json.dumps({"state": "finished", "pid": 0, "host": "vm",
                                                     "time": 0.0}))
    return run_dir
