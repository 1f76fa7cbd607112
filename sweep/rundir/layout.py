"""The run folder's layout: every file name inside a run folder and an export folder.

    results/<name>/
      config.yaml  status.json                 the resolved space; running|finished|interrupted|failed
      trials.csv  history.csv  test.json       one row per trial; per trial x epoch; the winner on test
      length_accuracy.csv  classes.json  *.png  report.html
      pretrain.csv                             `embedding_init: lm`: the language models' epochs
      confirm.csv  confirm/                    `sweep confirm`: a row per configuration x seed; weights
      mlflow.json  mlflow.lock                 MLflow run ids per tracking server (`sweep.track`); whose turn
      tuner/                                   KerasTuner's project (oracle.json, trial_*/)
      cache/                                   vectorized data and word vectors
      logs/  tensorboard/

    $RNN_SWEEP_CACHE (default ~/.cache/rnn-sweep)/
      lm/<cell>-v<vocab>-e<dim>-h<units>-n<layers>-<key>.npz   a language model (`LMCache`)

This is the only module that knows those names; nothing here reads or writes a file.
"""

from __future__ import annotations

import os
from pathlib import Path

TUNER_PROJECT = "tuner"  # KerasTuner's project_name inside the run folder


class _Inside:
    """A fixed path inside a folder, read as an attribute: `run.config` is RUN/config.yaml."""

    def __init__(self, *parts: str):
        self.parts = parts

    def __get__(self, folder: _Folder, owner: type | None = None) -> Path:
        return folder.path.joinpath(*self.parts)


class _Folder:
    """A folder whose fixed paths are read as attributes (`_Inside`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class RunDir(_Folder):
    """Paths inside one run folder (nothing is read or made by building one)."""

    config = _Inside("config.yaml")  # the resolved space, as saved
    status = _Inside("status.json")  # running|finished|interrupted|failed, pid, host, heartbeat
    trials_csv = _Inside("trials.csv")
    history_csv = _Inside("history.csv")
    test_json = _Inside("test.json")  # the selected trial, evaluated once on test
    classes_json = _Inside("classes.json")  # class names by class id
    length_accuracy_csv = _Inside("length_accuracy.csv")
    pretrain_csv = _Inside("pretrain.csv")  # the language models' epochs (`embedding_init: lm`)
    report_html = _Inside("report.html")  # everything above, as one self-contained page
    confirm_csv = _Inside("confirm.csv")  # `sweep confirm`: one row per configuration x seed
    confirm_png = _Inside("confirm.png")
    confirm_weights = _Inside("confirm")  # each repeat's best-epoch weights, for the test
    lock = _Inside("lock")  # who runs the sweep (sweep.rundir.lock)
    mlflow_json = _Inside("mlflow.json")  # MLflow run ids by tracking server (sweep.track)
    track_lock = _Inside("mlflow.lock")  # one process at a time syncs to MLflow (rundir.lock.turn)
    oracle_secret = _Inside("oracle.secret")  # the distributed oracle's shared secret (0600)
    tuner = _Inside(TUNER_PROJECT)  # KerasTuner's project folder
    oracle_json = _Inside(TUNER_PROJECT, "oracle.json")
    cache = _Inside("cache")
    logs = _Inside("logs")
    tensorboard = _Inside("tensorboard")

    def worker_lock(self, worker_id: str) -> Path:
        """Held by the live worker of that id."""
        return self.logs / f"{worker_id}.lock"

    def confirm_checkpoint(self, trial_id: str, seed: int, split_seed: int) -> Path:
        """The best-epoch weights of one `sweep confirm` repeat."""
        return self.confirm_weights / f"trial_{trial_id}-seed_{seed}-split_{split_seed}.npz"

    def plot(self, name: str) -> Path:
        """A plot's file: 'best_curves' -> RUN/best_curves.png."""
        return self.path / f"{name}.png"

    def worker_log(self, worker_id: str) -> Path:
        return self.logs / f"{worker_id}.log"

    def tuner_state(self, tuner_id: str) -> Path:
        """KerasTuner's per-tuner state file (`tuner/<tuner_id>.json`)."""
        return self.tuner / f"{tuner_id}.json"

    # Per trial, inside KerasTuner's trial folders
    def trial_dir(self, trial_id: str) -> Path:
        return self.tuner / f"trial_{trial_id}"

    def trial_dirs(self) -> list[Path]:
        return sorted(p for p in self.tuner.glob("trial_*") if p.is_dir())

    @staticmethod
    def trial_id_of(trial_dir: Path) -> str:
        return trial_dir.name.removeprefix("trial_")

    @staticmethod
    def trial_json(trial_dir: Path) -> Path:
        return trial_dir / "trial.json"

    @staticmethod
    def epochs_csv(trial_dir: Path) -> Path:
        """This project's per-epoch record (KerasTuner keeps only the best epoch)."""
        return trial_dir / "epochs.csv"

    @staticmethod
    def checkpoint(trial_dir: Path) -> Path:
        """KerasTuner's weights of the trial's best epoch."""
        return trial_dir / "checkpoint.weights.h5"

    def export_dir(self, trial_id: str, refit: bool = False) -> Path:
        """Where `sweep export` writes a trial's model by default."""
        return self.path / "export" / f"trial_{trial_id}{'_refit' if refit else ''}"

    @staticmethod
    def trial_record(trial_dir: Path) -> Path:
        """This project's timings, memory and worker of one trial."""
        return trial_dir / "sweep.json"

    # Cache files, keyed by what they depend on
    def tokens_cache(self, fingerprint: str, vocab_size: int, max_length: int) -> Path:
        return self.cache / f"tokens-{fingerprint}-v{vocab_size}-l{max_length}.npz"

    def vocabulary(self, fingerprint: str, vocab_size: int, max_length: int) -> Path:
        """The vocabulary behind `tokens_cache` (and what cut the text), for export."""
        return self.cache / f"vocab-{fingerprint}-v{vocab_size}-l{max_length}.json"

    def vocabularies(self, vocab_size: int, max_length: int) -> list[Path]:
        """Every saved vocabulary of this size and cut (`vocabulary`), whatever the data's fingerprint."""
        return sorted(self.cache.glob(f"vocab-*-v{vocab_size}-l{max_length}.json"))

    def vectors_cache(self, fingerprint: str, vocab_size: int, max_length: int, dim: int) -> Path:
        return self.cache / f"word2vec-{fingerprint}-v{vocab_size}-l{max_length}-d{dim}.npy"


def run_names() -> set[str]:
    """The names a run folder's layout gives its top-level entries (its PNGs: `*.png`)."""
    named = {v.parts[0] for v in vars(RunDir).values() if isinstance(v, _Inside)}
    return named | {RunDir("").export_dir("0").parent.name, "*.png"}


class ExportDir(_Folder):
    """Paths inside an export folder (`sweep export`), inside a run folder or anywhere."""

    model_keras = _Inside("model.keras")  # raw strings in, probabilities out; Keras built-ins only
    saved_model = _Inside("saved_model")  # TensorFlow SavedModel, `serve` signature
    classes_json = _Inside("classes.json")
    card_md = _Inside("model_card.md")
    card_json = _Inside("model_card.json")

    def is_export(self) -> bool:
        return self.card_json.is_file()


class LMCache(_Folder):
    """The language models every run on this machine shares (`sweep.train.pretrain`):
    `$RNN_SWEEP_CACHE/lm/`, by default `~/.cache/rnn-sweep/lm/`."""

    def __init__(self, path: str | Path | None = None):
        root = os.environ.get("RNN_SWEEP_CACHE") or Path.home() / ".cache" / "rnn-sweep"
        super().__init__(path if path is not None else Path(root) / "lm")

    def weights(self, name: str) -> Path:
        """Its newest state (every weight and Adam's), with its manifest inside."""
        return self.path / f"{name}.npz"

    def snapshot(self, name: str, epoch: int) -> Path:
        """Its encoder's weights after `epoch`, with their manifest inside."""
        return self.path / name / f"epoch-{epoch}.npz"

    def manifest(self, name: str) -> Path:
        """A copy of the manifest, for people; the one inside the .npz is the one checked."""
        return self.path / f"{name}.json"


def as_run(run: RunDir | str | Path) -> RunDir:
    """A RunDir for a path (or the RunDir itself)."""
    return run if isinstance(run, RunDir) else RunDir(run)
