"""Runs a notebook of this folder in a Jupyter kernel and stores its outputs: `make notebook`.

    python examples/execute.py [NOTEBOOK] [--out FILE]

The kernel runs in the notebook's folder, with plain progress lines (SWEEP_PROGRESS=plain:
no live widget in the stored file) and without capturing file descriptor 2, where
TensorFlow's C++ core logs CUDA and oneDNN notices about the machine it ran on. The test suite
calls `execute` too, with smaller limits.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(notebook: Path, out: Path | None = None, timeout: int = -1) -> nbformat.NotebookNode:
    """Executes `notebook` (every cell, stopping at the first error) and writes it to `out`."""
    os.environ.setdefault("SWEEP_PROGRESS", "plain")
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=None if timeout < 0 else timeout, kernel_name="python3",
                   extra_arguments=["--IPKernelApp.capture_fd_output=False"],
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    if out is not None:
        nbformat.write(nb, out)
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=HERE / "seed_question.ipynb")
    parser.add_argument("--out", type=Path, help="default: the notebook itself")
    args = parser.parse_args()
    execute(args.notebook, args.out or args.notebook)


if __name__ == "__main__":
    main()
