"""How a run's results show in Jupyter: matplotlib Figures inline, several plots as one view, a run.

Used by the Python API (`sweep.api`); knows nothing of the run folder.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any


class Plots(dict):
    """`Run.plot()`'s figures by kind; Jupyter shows them one under the other."""

    def _repr_html_(self) -> str:
        import base64
        import io

        parts = []
        for kind, fig in self.items():
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            data = base64.b64encode(buffer.getvalue()).decode()
            parts.append(f'<p>{html.escape(kind)}</p><img src="data:image/png;base64,{data}"/>')
        return "".join(parts)


def figures_inline() -> None:
    """In IPython (Jupyter), a returned Figure shows as its PNG, as under `%matplotlib inline`.

    Figures made without pyplot have no display of their own until IPython is told how to
    show the Figure type; a format already chosen (svg, retina, ...) is kept.
    """
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return
        except KeyError:
            continue
    select_figure_formats(shell, {"png"})


def run_view(report: Path | None, board, importance: Any, test_lines: list[str]) -> str:
    """`Run._repr_html_`'s body: a link to report.html (relative to the kernel's folder, as
    Jupyter resolves links in an output), the leaderboard (a DataFrame), the top three
    hyperparameters of `importance` (an `analysis.importance.Importance`; None: none varied)
    with their shares, and the lines that say what test.json says (`analysis.verdict.test_lines`)."""
    parts = []
    if report is not None:
        try:
            href = os.path.relpath(report)
        except ValueError:  # another drive (Windows)
            href = report.resolve().as_uri()
        parts.append(f'<p><a href="{html.escape(href)}" target="_blank">report.html</a>: '
                     "the whole sweep on one page</p>")
    parts.append(board.to_html(index=False, na_rep=""))
    if importance is not None and len(importance.table):
        top = importance.table.head(3)
        said = ", ".join(f"<b>{html.escape(str(r.hyperparameter))}</b> {r.share:.0%} "
                         f"({r.low:.0%}-{r.high:.0%})" for r in top.itertuples())
        parts.append(f"<p>Importance: {said} of the objective's variance</p>")
    elif importance is not None:
        parts.append(f"<p>Importance: {html.escape(str(importance.note))}</p>")
    parts += [f"<p>{html.escape(line)}</p>" for line in test_lines]
    return "".join(parts)
