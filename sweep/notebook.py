"""How a run's results show in Jupyter: matplotlib Figures inline, several plots as one view.

Used by the Python API (`sweep.api`); knows nothing of the run folder.
"""

from __future__ import annotations

import html


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
