"""rnn-sweep: KerasTuner sweeps over recurrent text classifiers, with pandas reports and plots.

From Python (the same work as the `sweep` command; see docs/python-api.md):

    import sweep
    run = sweep.run("search_spaces/cells_grid.yaml", limit_train=2000, epochs=2)
    run.report(top=5)
    sweep.predict(run.export(), ["a wonderful film", "dull and far too long"])

The names below are imported on first use, so `import sweep` stays light (no TensorFlow).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = ["Run", "RunFailed", "UsageError", "load", "predict", "run"]

# name -> the module that defines it
_LAZY = {"run": "sweep.api", "load": "sweep.api", "predict": "sweep.api", "Run": "sweep.api",
         "UsageError": "sweep.errors", "RunFailed": "sweep.errors"}

if TYPE_CHECKING:
    from sweep.api import Run, load, predict, run
    from sweep.errors import RunFailed, UsageError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
