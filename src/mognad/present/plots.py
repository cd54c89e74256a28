"""Figures for reports and notebooks. Each function takes tidy DataFrames and returns a
:class:`matplotlib.figure.Figure`; labels follow the report language (Swedish by default).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mognad.codebook import Codebook, load_codebook
from mognad.present.text import fmt_pct, label

OWN = "#1f4e79"
PEER = "#b0b7c3"
ACCENT = "#c0504d"


def _style() -> None:
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)


def category_profile(comparison: pd.DataFrame, *, codebook: Codebook | None = None,
                     lang: str = "sv", title: str | None = None):
    """The six categories: the organisation's score with its interval against the peer mean.

    Parameters
    ----------
    comparison : DataFrame
        :func:`mognad.benchmark.compare_to_peers` rows (``level == "category"`` are used):
        ``name``, ``score_pct``, ``ci_low``, ``ci_high``, ``peer_mean``.

    Examples
    --------
    >>> frame = pd.DataFrame({"level": "category", "name": ["effektivitet", "innovation"],
    ...                       "score_pct": [55.0, 40.0], "ci_low": [50.0, 33.0],
    ...                       "ci_high": [60.0, 47.0], "peer_mean": [48.0, 45.0]})
    >>> fig = category_profile(frame)
    >>> len(fig.axes)
    1
    """
    _style()
    cb = load_codebook(codebook)
    rows = comparison[comparison["level"] == "category"].copy()
    order = [c for c in cb.categories["category"] if c in set(rows["name"])]
    rows = rows.set_index("name").loc[order].reset_index()
    names = [cb.label("category", c, lang) for c in rows["name"]]
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.4))
    ax.hlines(y, rows["ci_low"], rows["ci_high"], color=OWN, lw=3, alpha=0.5,
              label=label("interval", lang))
    ax.plot(rows["score_pct"], y, "o", color=OWN, ms=9, label=label("score", lang))
    if "peer_mean" in rows and rows["peer_mean"].notna().any():
        ax.plot(rows["peer_mean"], y, "D", color=ACCENT, ms=6, mfc="white", mew=2,
                label=label("peer_mean", lang))
    for yi, s in zip(y, rows["score_pct"], strict=True):
        ax.annotate(fmt_pct(s, lang=lang), (s, yi), xytext=(0, 9), textcoords="offset points",
                    ha="center", fontsize=9, color=OWN)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("%" + (" av optimala förutsättningar" if lang == "sv"
                         else " of optimal preconditions"))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=9)
    if title:
        ax.set_title(title, pad=28)
    fig.tight_layout()
    return fig


def quadrant_map(types: pd.DataFrame, *, org_id: str, history: pd.DataFrame | None = None,
                 peers: pd.Series | None = None, codebook: Codebook | None = None,
                 lang: str = "sv"):
    """Both dimensions on the 2 x 2 map: the organisation, its peers and its earlier rounds.

    Parameters
    ----------
    types : DataFrame
        :func:`mognad.scoring.classify` rows of the round (``org_id``, ``x_pct``, ``y_pct``).
    org_id : str
        The organisation to highlight.
    history : DataFrame, optional
        The organisation's earlier rounds: ``round``, ``x_pct``, ``y_pct``.
    peers : boolean Series, optional
        Which rows of ``types`` are peers (others are drawn lighter).
    """
    _style()
    cb = load_codebook(codebook)
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    others = types[types["org_id"] != org_id]
    if peers is not None:
        mask = peers.reindex(others.index).fillna(False).to_numpy(dtype=bool)
        ax.scatter(others.loc[~mask, "x_pct"], others.loc[~mask, "y_pct"], s=14, color=PEER,
                   alpha=0.35, label=label("national", lang))
        ax.scatter(others.loc[mask, "x_pct"], others.loc[mask, "y_pct"], s=20, color="#6c7a89",
                   alpha=0.7, label=label("peers", lang))
    else:
        ax.scatter(others["x_pct"], others["y_pct"], s=16, color=PEER, alpha=0.6,
                   label=label("national", lang))
    own = types[types["org_id"] == org_id]
    if history is not None and len(history):
        h = history.sort_values("round")
        path_x = [*h["x_pct"], *own["x_pct"]]
        path_y = [*h["y_pct"], *own["y_pct"]]
        ax.plot(path_x, path_y, "-", color=OWN, alpha=0.5, lw=1.5)
        ax.scatter(h["x_pct"], h["y_pct"], s=30, color=OWN, alpha=0.5)
        for rnd, x, y in zip(h["round"], h["x_pct"], h["y_pct"], strict=True):
            ax.annotate(str(int(rnd)), (x, y), xytext=(4, -10), textcoords="offset points",
                        fontsize=8, color=OWN)
    if len(own):
        ax.scatter(own["x_pct"], own["y_pct"], s=140, color=OWN, edgecolor="white", lw=1.5,
                   zorder=5)
    ax.axvline(cb.cut_x, color="black", lw=1)
    ax.axhline(cb.cut_y, color="black", lw=1)
    for code, t in cb.types.items():
        x = (cb.cut_x + 100) / 2 if t.x == "high" else cb.cut_x / 2
        y = (cb.cut_y + 100) / 2 if t.y == "high" else cb.cut_y / 2
        ax.text(x, y, code, fontsize=40, color="black", alpha=0.08, ha="center", va="center",
                weight="bold")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(cb.label("dimension", cb.quadrant_x, lang) + " (%)")
    ax.set_ylabel(cb.label("dimension", cb.quadrant_y, lang) + " (%)")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


def group_comparison(table: pd.DataFrame, *, group: str = "unit", lang: str = "sv",
                     reference: float | None = None):
    """Shown groups (units or roles) on the total with intervals; hidden groups are left out.

    Parameters
    ----------
    table : DataFrame
        Disclosure-controlled rows with ``group``, ``score_pct``, ``ci_low``, ``ci_high``
        (suppressed rows have missing ``score_pct`` and are not drawn).
    reference : float, optional
        The organisation's own total, drawn as a vertical line.
    """
    _style()
    rows = table.dropna(subset=["score_pct"]).sort_values("score_pct")
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(len(rows), 1) + 1.3))
    y = np.arange(len(rows))
    ax.hlines(y, rows["ci_low"], rows["ci_high"], color=OWN, lw=3, alpha=0.45)
    ax.plot(rows["score_pct"], y, "o", color=OWN, ms=7)
    if reference is not None and not np.isnan(reference):
        ax.axvline(reference, color=ACCENT, lw=1.2, ls="--")
    ax.set_yticks(y, [str(v) for v in rows[group]])
    ax.set_xlim(0, 100)
    ax.set_xlabel(label("total", lang) + " (%)")
    fig.tight_layout()
    return fig


def trend(frame: pd.DataFrame, *, x: str = "round", y: str = "estimate", low: str = "ci_low",
          high: str = "ci_high", hue: str | None = None, lang: str = "sv", target=None,
          ylabel: str | None = None):
    """Estimates over rounds with interval bands (one line per ``hue`` value).

    ``target`` is an optional DataFrame with ``round`` and ``target`` drawn as a dashed path.
    """
    _style()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=False))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, g) in enumerate(groups):
        g = g.sort_values(x)
        color = palette[i % len(palette)]
        ax.plot(g[x], g[y], "o-", color=color, label=None if name is None else str(name))
        if low in g and high in g:
            ax.fill_between(g[x], g[low], g[high], color=color, alpha=0.15)
    if target is not None:
        ax.plot(target["round"], target["target"], "--", color="black", lw=1.2,
                label="mål" if lang == "sv" else "target")
    ax.set_xlabel(label("round", lang))
    ax.set_ylabel(ylabel or "%")
    if hue is not None or target is not None:
        ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig
