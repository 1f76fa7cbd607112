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

__all__ = ["Run", "RunFailed", "UsageError", "load", "predict", "register_cell", "register_model",
           "register_source", "run"]

# name -> the module that defines it
_LAZY = {"run": "sweep.api", "load": "sweep.api", "predict": "sweep.api", "Run": "sweep.api",
         "UsageError": "sweep.errors", "RunFailed": "sweep.errors",
         # the extension point (docs/extending.md): light, as the space reads them
         "register_cell": "sweep.space.registry", "register_model": "sweep.space.registry",
         "register_source": "sweep.space.registry"}

if TYPE_CHECKING:
    from sweep.api import Run, load, predict, run
    from sweep.errors import RunFailed, UsageError
    from sweep.space.registry import register_cell, register_model, register_source


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
