"""One look for every figure and table: a scoped plot style, the palette, and the report CSS.

Plot functions draw inside :func:`plot_style` (a :func:`matplotlib.rc_context`: nothing leaks
into the researcher's own plots, no global ``sns.set_theme``) and take ``ax=``: given an axes,
they draw on it; without one they make their own figure (:func:`axes`).
"""

from __future__ import annotations

import contextlib

#: The organisation's own marks, peers, the national cloud and a warning/reference colour.
OWN = "#1f4e79"
PEER = "#6c7a89"
NATIONAL = "#b0b7c3"
ACCENT = "#c0504d"
#: Colours for several series (colour-blind safe, from the Okabe–Ito palette).
SERIES = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
          "#000000")


def _rc() -> dict:
    import seaborn as sns

    rc = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.95))
    rc.update({
        "axes.prop_cycle": __import__("cycler").cycler(color=list(SERIES)),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "font.family": "DejaVu Sans",
        "axes.titleweight": "bold",
        "legend.frameon": False,
        "axes.formatter.use_locale": False,
    })
    return rc


@contextlib.contextmanager
def plot_style():
    """The reports' plot style, for the duration of a ``with`` block only.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> before = mpl.rcParams["axes.facecolor"]
    >>> with plot_style():
    ...     inside = mpl.rcParams["axes.grid"]
    >>> inside, mpl.rcParams["axes.facecolor"] == before
    (True, True)
    """
    import matplotlib as mpl

    with mpl.rc_context(_rc()):
        yield


def axes(ax=None, *, figsize=(7.5, 4.2)):
    """The axes to draw on: *ax* itself, or a new pyplot figure's axes (in the current rc).

    A new figure is a pyplot figure, so a notebook shows it as any other Matplotlib figure
    (end the call with ``;`` or ``plt.close(fig)`` after ``display(fig)`` to show it once).
    Returns ``(fig, ax)``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = axes()
    >>> fig is ax.figure
    True
    >>> plt.close(fig)
    """
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


#: The report style sheet: tables, notes, banner, figures; print rules for A4 (on screen the
#: page is a readable column, on paper wide tables get a landscape page).
REPORT_CSS = """
table.mognad { border-collapse: collapse; margin: 6px 0 4px 0; font-size: 0.92em;
               max-width: 100%; }
table.mognad caption { caption-side: top; text-align: left; font-weight: 600; padding: 2px 0 6px; }
table.mognad th { text-align: left; vertical-align: bottom; border-bottom: 1.5px solid #444;
                  padding: 4px 8px; }
table.mognad th.num { text-align: right; }
table.mognad td { padding: 3px 8px; border-bottom: 1px solid #ddd; vertical-align: top; }
table.mognad td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.mognad td.txt { text-align: left; overflow-wrap: anywhere; }
table.mognad tbody tr:nth-child(odd) { background: #f6f7f9; }
table.mognad tr.mark td { font-weight: 700; }
p.mognad-note { font-size: 0.85em; color: #555; margin: 0 0 14px 0; }
p.mognad-empty { font-style: italic; color: #444; }
div.mognad-table { margin-bottom: 10px; }
@media print {
  table.mognad { font-size: 8.5pt; page-break-inside: auto; }
  table.mognad tr { break-inside: avoid; page-break-inside: avoid; }
  table.mognad thead { display: table-header-group; }
  table.mognad.mognad-wide { font-size: 7.5pt; }
  table.mognad th, table.mognad td { padding: 2px 5px; }
}
"""


__all__ = ["ACCENT", "NATIONAL", "OWN", "PEER", "REPORT_CSS", "SERIES", "axes", "plot_style"]
