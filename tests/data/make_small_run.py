"""Remakes tests/data/small_run: the tiny finished run the fast unit tests read instead of training.

    python tests/data/make_small_run.py

The same sweep as the `finished_run` fixture (grid over three cells, 2 epochs, on
`make_examples(400, seed=3)`) without --tensorboard, run by the checkout's own code with its
source relative (`csv:synthetic.csv`), so that the saved space names no path of this machine.
The vectorized-data cache and the PNGs are left out (`sweep plot` remakes those). Run it
again when the run folder's files change, and commit the result.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for helpers

from helpers import ROOT, make_examples, run_cli, write_csv, write_space  # noqa: E402

TARGET = ROOT / "tests" / "data" / "small_run"
LEFT_OUT = ("cache", "*.png", "lock", "report.html")  # report.html: 2 MB, remade by `sweep report --html`


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_csv(root / "synthetic.csv", make_examples(400, seed=3))
        space = write_space(
            root / "space.yaml", "csv:synthetic.csv",
            tuner={"algorithm": "grid", "max_trials": 3, "epochs": 2},
            hyperparameters={"cell": ["simple_rnn", "lstm", "gru"], "vocab_size": 100,
                             "embedding_dim": 8, "hidden_units": 8, "learning_rate": 0.01},
        )
        proc = run_cli("run", str(space), "--results-dir", "results", cwd=root)
        if proc.returncode != 0:
            sys.exit(proc.stderr[-2000:])
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(root / "results" / "synthetic", TARGET, ignore=shutil.ignore_patterns(*LEFT_OUT))
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
