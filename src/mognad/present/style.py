"""One look for every figure and table: a scoped plot style, the palette, and the report CSS.

Plot functions draw inside :func:`plot_style` (a :func:`matplotlib.rc_context`: nothing leaks
into the researcher's own plots, no global ``sns.set_theme``) and take ``ax=``: given an axes,
they draw on it; without one they make their own figure (:func:`axes`).
"""

from __future__ import annotations

import contextlib
import functools

#: The organisation's own marks, peers, the national cloud and a warning/reference colour.
OWN = "#1f4e79"
PEER = "#6c7a89"
NATIONAL = "#b0b7c3"
ACCENT = "#c0504d"
#: Colours for several series (colour-blind safe, from the Okabe–Ito palette).
SERIES = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
          "#000000")


#: seaborn's ``axes_style("whitegrid")`` and ``plotting_context("notebook", font_scale=0.95)``
#: (seaborn 0.13), written out: importing seaborn only to read these costs each report process
#: about 0.7 s. ``image.cmap`` ("rocket") is left out: it exists only once seaborn is imported,
#: and no report figure uses a colour map. ``tests/test_present.py`` checks that the values
#: still equal seaborn's.
SEABORN_WHITEGRID_NOTEBOOK = {
    "figure.facecolor": "white", "axes.labelcolor": ".15", "xtick.direction": "out",
    "ytick.direction": "out", "xtick.color": ".15", "ytick.color": ".15",
    "axes.axisbelow": True, "grid.linestyle": "-", "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
    "xtick.top": False, "ytick.right": False, "axes.grid": True, "axes.facecolor": "white",
    "axes.edgecolor": ".8", "grid.color": ".8", "axes.spines.left": True,
    "axes.spines.bottom": True, "axes.spines.right": True, "axes.spines.top": True,
    "xtick.bottom": False, "ytick.left": False,
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "lines.markersize": 6,
    "patch.linewidth": 1, "xtick.major.width": 1.25, "ytick.major.width": 1.25,
    "xtick.minor.width": 1, "ytick.minor.width": 1, "xtick.major.size": 6,
    "ytick.major.size": 6, "xtick.minor.size": 4, "ytick.minor.size": 4,
    "font.size": 12 * 0.95, "axes.labelsize": 12 * 0.95, "axes.titlesize": 12 * 0.95,
    "xtick.labelsize": 11 * 0.95, "ytick.labelsize": 11 * 0.95, "legend.fontsize": 11 * 0.95,
    "legend.title_fontsize": 12 * 0.95,
}


@functools.cache
def _rc() -> dict:
    from cycler import cycler

    rc = dict(SEABORN_WHITEGRID_NOTEBOOK)
    rc.update({
        "axes.prop_cycle": cycler(color=list(SERIES)),
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

    with mpl.rc_context(dict(_rc())):
        yield


def plain(text, *, width: int | None = None) -> str:
    """Data as plot text: Matplotlib's maths mode (``$…$``) cannot start from it.

    Parameters
    ----------
    text : object
        The value to show (``None`` shows as nothing).
    width : int, optional
        At most this many characters: a longer name (an axis title, a legend entry) ends in
        "…" instead of pushing the plot out of its figure.

    Examples
    --------
    >>> print(plain("Kostnad $x$")), plain(None)
    Kostnad \\$x\\$
    (None, '')
    >>> plain("Västra Götalandsregionen", width=12)
    'Västra Göta…'
    """
    value = "" if text is None else str(text)
    if width is not None and len(value) > width:
        value = value[:width - 1].rstrip() + "…"
    return value.replace("$", r"\$")


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


#: The report style sheet: tables, notes, banner, figures, sections; print rules for A4.
#: Selectors start with ``div.mognad-table`` / ``div.mognad-block`` so that they win over
#: JupyterLab's own table rules (fixed layout, centred, right-aligned) in the exported page.
#: On paper: portrait A4; a table made with ``wide=True`` gets a landscape page of its own
#: (the named page ``wide``); a section (:func:`mognad.present.page.section`) is kept on one
#: page, headings are never the last line of a page, and table rows are never split. JupyterLab
#: keeps every notebook output on one page (``.jp-OutputArea-child``), which pushes long tables
#: to the next page and leaves half-empty pages: the sheet turns that off, the sections decide.
#: A long unbroken string from data (a URL, a path, a hostile name) wraps anywhere in text
#: and text cells, so it can widen neither a table past the right margin nor the page.
#: No ``url()``, ``@import`` or backslash: the exporter's sanitiser keeps only such CSS.
REPORT_CSS = """
div.mognad-table { margin: 4px 0 12px 0; max-width: 100%; }
h1, h2, h3, h4, p, li, caption { overflow-wrap: anywhere; }
div.mognad-table table.mognad { border-collapse: collapse; margin: 4px 0 4px 0;
  font-size: 0.9em; width: auto; max-width: 100%; table-layout: auto; color: #222; }
div.mognad-table table.mognad caption { caption-side: top; text-align: left; font-weight: 600;
  padding: 2px 0 6px; }
div.mognad-table table.mognad th { text-align: left; vertical-align: bottom; font-weight: 600;
  border-bottom: 1.5px solid #444; padding: 4px 7px; white-space: normal; line-height: 1.2; }
div.mognad-table table.mognad th.num { text-align: right; }
div.mognad-table table.mognad td { padding: 3px 7px; border-bottom: 1px solid #ddd;
  vertical-align: top; line-height: 1.25; }
div.mognad-table table.mognad td.num { text-align: right; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
div.mognad-table table.mognad td.txt { text-align: left; overflow-wrap: anywhere; }
div.mognad-table table.mognad tbody tr:nth-child(odd) { background: #f5f6f8; }
div.mognad-table table.mognad tbody tr:nth-child(even) { background: #ffffff; }
div.mognad-table table.mognad tr.mark td { font-weight: 700; }
p.mognad-note { font-size: 0.85em; color: #555; margin: 0 0 12px 0; }
p.mognad-empty { font-style: italic; color: #444; }
img.mognad-figure { display: block; max-width: 100%; height: auto; margin: 6px 0 10px 0; }
div.mognad-block p, div.mognad-block li { line-height: 1.45; }
div.mognad-block ul { margin: 4px 0 8px 0; }
h1.mognad-title { font-size: 1.75em; margin: 10px 0 8px 0; }
p.mognad-subtitle { color: #444; margin-top: 0; }
@page { size: A4 portrait; margin: 18mm 15mm 18mm 15mm; }
@page wide { size: A4 landscape; margin: 15mm 15mm 15mm 15mm; }
@media print {
  /* JupyterLab lays each output out as a table (Chromium ignores break rules inside it) and
     keeps every output on one page: as blocks, a long output may run on to the next page and
     the sections (mognad-block, mognad-keep) decide what stays together */
  body div.jp-OutputArea-child { display: block; break-inside: auto; page-break-inside: auto; }
  .jp-OutputArea-child > .jp-OutputPrompt { display: none; }
  div.mognad-table table.mognad { font-size: 8.5pt; break-inside: auto; page-break-inside: auto; }
  div.mognad-table table.mognad th, div.mognad-table table.mognad td { padding: 2px 4px; }
  div.mognad-table table.mognad tr { break-inside: avoid; page-break-inside: avoid; }
  div.mognad-table table.mognad.mognad-short { break-inside: avoid; page-break-inside: avoid; }
  div.mognad-table table.mognad thead { display: table-header-group; }
  div.mognad-table table.mognad caption { break-after: avoid; page-break-after: avoid; }
  div.mognad-table.mognad-wide-page { page: wide; }
  div.mognad-table.mognad-wide-page table.mognad { font-size: 8pt; }
  div.mognad-keep { break-inside: avoid; page-break-inside: avoid; }
  div.mognad-lead > h1, div.mognad-lead > h2, div.mognad-lead > h3, div.mognad-lead > h4,
  div.mognad-lead > p, div.mognad-lead > ul { break-after: avoid; page-break-after: avoid; }
  div.mognad-lead table.mognad thead { display: table-header-group; }
  div.mognad-new-page { break-before: page; page-break-before: always; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  p.mognad-note { break-before: avoid; page-break-before: avoid; }
  h1.mognad-title { font-size: 18pt; }
  div.mognad-synthetic { break-inside: avoid; }
}
"""


__all__ = ["ACCENT", "NATIONAL", "OWN", "PEER", "REPORT_CSS", "SERIES", "axes", "plain",
           "plot_style"]


def warm_up() -> None:
    """Load what the first figure and text of a report would otherwise load lazily.

    Reads both locale catalogues, builds the plot style and renders one small figure in it
    (fonts, the PNG writer) the way reports embed figures. A warm report worker calls this
    once before it forks per report, so no report pays for it. Changes no global state.

    Examples
    --------
    >>> warm_up()
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mognad.present import catalogue, page

    for lang in catalogue.LANGS:
        catalogue.catalogue(lang)
    with plot_style():
        # not a pyplot figure: that would fix pyplot's backend before a notebook chooses it
        fig = Figure(figsize=(3, 2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [1, 3, 2], "o-", label="a")
        ax.barh(["x", "y"], [1, 2], label="b")
        ax.annotate("48 %", (1, 3), fontsize=9)
        ax.set_title("Åäö", fontweight="bold")
        ax.set_xlabel("x", fontstyle="italic")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=9)
        fig.tight_layout()
        page.figure_html(fig)
