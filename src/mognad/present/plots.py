"""Figures of the survey reports. Each function takes tidy DataFrames, draws in the reports'
plot style (:func:`mognad.present.style.plot_style`) on ``ax`` (or on a new figure) and returns
the :class:`matplotlib.figure.Figure`; labels follow the report language (Swedish by default).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mognad.codebook import Codebook, load_codebook
from mognad.present import numbers as fmt
from mognad.present.catalogue import text
from mognad.present.style import ACCENT, NATIONAL, OWN, PEER, SERIES, axes, plot_style


def category_profile(comparison: pd.DataFrame, *, codebook: Codebook | None = None,
                     lang: str = "sv", title: str | None = None, ax=None):
    """The six categories: the organisation's score with its interval against the peer mean.

    Parameters
    ----------
    comparison : DataFrame
        :func:`mognad.benchmark.compare_to_peers` rows (``level == "category"`` are used):
        ``name``, ``score_pct``, ``ci_low``, ``ci_high``, optionally ``peer_mean``.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Examples
    --------
    >>> frame = pd.DataFrame({"level": "category", "name": ["effektivitet", "innovation"],
    ...                       "score_pct": [55.0, 40.0], "ci_low": [50.0, 33.0],
    ...                       "ci_high": [60.0, 47.0], "peer_mean": [48.0, 45.0]})
    >>> fig = category_profile(frame)
    >>> ax = fig.axes[0]   # codebook order from the top
    >>> {t.get_text(): int(y) for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    {'Effektivitet': 1, 'Innovation': 0}
    """
    cb = load_codebook(codebook)
    rows = comparison[comparison["level"] == "category"].copy()
    order = [c for c in cb.categories["category"] if c in set(rows["name"])]
    rows = rows.set_index("name").loc[order].reset_index()
    names = [cb.label("category", c, lang) for c in rows["name"]]
    y = np.arange(len(rows))[::-1]
    with plot_style():
        fig, ax = axes(ax, figsize=(7.5, 0.55 * len(rows) + 1.5))
        ax.hlines(y, rows["ci_low"], rows["ci_high"], color=OWN, lw=3, alpha=0.5,
                  label=text("label.interval", lang))
        ax.plot(rows["score_pct"], y, "o", color=OWN, ms=9, label=text("label.score", lang))
        if "peer_mean" in rows and rows["peer_mean"].notna().any():
            ax.plot(rows["peer_mean"], y, "D", color=ACCENT, ms=6, mfc="white", mew=2,
                    label=text("label.peer_mean", lang))
        for yi, s in zip(y, rows["score_pct"], strict=True):
            ax.annotate(fmt.pct(s, lang=lang), (s, yi), xytext=(0, 9),
                        textcoords="offset points", ha="center", fontsize=9, color=OWN)
        ax.set_yticks(y, names)
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(text("label.of_optimal", lang))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9)
        if title:
            ax.set_title(title, pad=28)
        fig.tight_layout()
    return fig


def _spread_labels(points: list[tuple[float, float]], min_gap: float = 4.0) -> list[tuple]:
    """Vertical offsets (points) for labels at *points* so that close ones do not overlap."""
    offsets = []
    placed: list[tuple[float, float]] = []
    for x, y in points:
        dy = 8.0
        for px, py in placed:
            if abs(px - x) < min_gap and abs(py - y) < min_gap:
                dy = -14.0 if dy > 0 else dy - 10.0
        placed.append((x, y))
        offsets.append((6.0, dy))
    return offsets


def quadrant_map(types: pd.DataFrame, *, org_id: str, history: pd.DataFrame | None = None,
                 peers: pd.Series | None = None, codebook: Codebook | None = None,
                 lang: str = "sv", own_label: str | None = None, ax=None):
    """Both dimensions on the 2 x 2 map: the organisation, its peers and its earlier rounds.

    The quadrants carry their type letter and name, the own point its label and round, earlier
    rounds their years (spread so they do not overlap), and the legend says what each mark is.

    Parameters
    ----------
    types : DataFrame
        :func:`mognad.scoring.classify` rows of the round (``org_id``, ``x_pct``, ``y_pct``).
    org_id : str
        The organisation to highlight (``""``: none, a national map).
    history : DataFrame, optional
        The organisation's earlier rounds: ``round``, ``x_pct``, ``y_pct``.
    peers : boolean Series, optional
        Which rows of ``types`` are peers (others are drawn lighter).
    own_label : str, optional
        Text beside the organisation's point (e.g. its name); plain text, never markup.

    Examples
    --------
    >>> t = pd.DataFrame({"org_id": ["1", "2"], "x_pct": [40.0, 60.0], "y_pct": [45.0, 70.0]})
    >>> fig = quadrant_map(t, org_id="1", own_label="Asknäs")
    >>> sorted(x.get_text() for x in fig.axes[0].get_legend().get_texts())
    ['Asknäs', 'Riket']
    """
    cb = load_codebook(codebook)
    with plot_style():
        fig, ax = axes(ax, figsize=(6.4, 5.8))
        others = types[types["org_id"] != org_id]
        if peers is not None:
            mask = peers.reindex(others.index).fillna(False).to_numpy(dtype=bool)
            ax.scatter(others.loc[~mask, "x_pct"], others.loc[~mask, "y_pct"], s=14,
                       color=NATIONAL, alpha=0.45, label=text("label.national", lang))
            ax.scatter(others.loc[mask, "x_pct"], others.loc[mask, "y_pct"], s=20, color=PEER,
                       alpha=0.75, label=text("label.peers", lang))
        else:
            ax.scatter(others["x_pct"], others["y_pct"], s=16, color=NATIONAL, alpha=0.6,
                       label=text("label.national", lang))
        own = types[types["org_id"] == org_id]
        if history is not None and len(history) and len(own):
            h = history.sort_values("round")
            path_x = [*h["x_pct"], *own["x_pct"]]
            path_y = [*h["y_pct"], *own["y_pct"]]
            ax.plot(path_x, path_y, "-", color=OWN, alpha=0.5, lw=1.5)
            ax.scatter(h["x_pct"], h["y_pct"], s=30, color=OWN, alpha=0.5,
                       label=text("label.round", lang) + " " + ", ".join(
                           str(int(r)) for r in h["round"]))
            pts = list(zip(h["x_pct"], h["y_pct"], strict=True))
            for (rnd, (x, y)), off in zip(zip(h["round"], pts, strict=True),
                                          _spread_labels(pts), strict=True):
                ax.annotate(str(int(rnd)), (x, y), xytext=off, textcoords="offset points",
                            fontsize=8, color=OWN)
        if len(own):
            ax.scatter(own["x_pct"], own["y_pct"], s=150, color=OWN, edgecolor="white", lw=1.5,
                       zorder=5, label=own_label or str(org_id))
            if own_label:
                ax.annotate(own_label, (float(own["x_pct"].iloc[0]), float(own["y_pct"].iloc[0])),
                            xytext=(9, 6), textcoords="offset points", fontsize=9, color=OWN,
                            weight="bold", zorder=6)
        ax.axvline(cb.cut_x, color="black", lw=1)
        ax.axhline(cb.cut_y, color="black", lw=1)
        for code, t in cb.types.items():
            x = (cb.cut_x + 100) / 2 if t.x == "high" else cb.cut_x / 2
            y = 96 if t.y == "high" else 4
            name = t.name.get(lang, code) if isinstance(t.name, dict) else str(t.name)
            ax.text(x, y, f"{code}: {name}", fontsize=7.5, color="#333", alpha=0.8,
                    ha="center", va="top" if t.y == "high" else "bottom", wrap=True)
            ax.text(x, (cb.cut_y + 100) / 2 if t.y == "high" else cb.cut_y / 2, code,
                    fontsize=40, color="black", alpha=0.07, ha="center", va="center",
                    weight="bold")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel(cb.label("dimension", cb.quadrant_x, lang) + " (%)")
        ax.set_ylabel(cb.label("dimension", cb.quadrant_y, lang) + " (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
    return fig


def group_comparison(table: pd.DataFrame, *, group: str = "unit", lang: str = "sv",
                     reference: float | None = None, reference_label: str | None = None,
                     ax=None):
    """Shown groups (units or roles) on the total with intervals, in the order of the table.

    Rows without a score (hidden groups) are not drawn. The first row of *table* is drawn at
    the top, so the chart reads like the table beside it.

    Parameters
    ----------
    table : DataFrame
        Disclosure-controlled rows with ``group``, ``score_pct``, ``ci_low``, ``ci_high``.
    reference : float, optional
        The organisation's own total, drawn as a dashed line (named in the legend).

    Examples
    --------
    >>> t = pd.DataFrame({"unit": ["IT", "HR"], "score_pct": [60.0, 40.0],
    ...                   "ci_low": [50.0, 30.0], "ci_high": [70.0, 50.0]})
    >>> fig = group_comparison(t, reference=50.0)
    >>> ax = fig.axes[0]   # the table's first row at the top
    >>> {t.get_text(): int(y) for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    {'IT': 1, 'HR': 0}
    """
    rows = table.dropna(subset=["score_pct"])
    with plot_style():
        fig, ax = axes(ax, figsize=(7.5, 0.42 * max(len(rows), 1) + 1.4))
        y = np.arange(len(rows))[::-1]
        ax.hlines(y, rows["ci_low"], rows["ci_high"], color=OWN, lw=3, alpha=0.45,
                  label=text("label.interval", lang))
        ax.plot(rows["score_pct"], y, "o", color=OWN, ms=7, label=text("label.score", lang))
        if reference is not None and not fmt.is_missing(reference):
            ax.axvline(reference, color=ACCENT, lw=1.2, ls="--",
                       label=reference_label or text("label.total", lang))
        ax.set_yticks(y, [str(v) for v in rows[group]])
        ax.set_xlim(0, 100)
        ax.set_xlabel(text("label.total", lang) + " (%)")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
        fig.tight_layout()
    return fig


def trend(frame: pd.DataFrame, *, x: str = "round", y: str = "estimate", low: str = "ci_low",
          high: str = "ci_high", hue: str | None = None, lang: str = "sv", target=None,
          ylabel: str | None = None, ax=None):
    """Estimates over rounds with interval bands (one line per ``hue`` value).

    ``target`` is an optional DataFrame with ``round`` and ``target`` drawn as a dashed path.

    Examples
    --------
    >>> f = pd.DataFrame({"round": [2023, 2024], "estimate": [47.0, 49.0],
    ...                   "ci_low": [45.0, 47.0], "ci_high": [49.0, 51.0]})
    >>> [t.get_text() for t in trend(f).axes[0].get_xticklabels()]
    ['2023', '2024']
    """
    with plot_style():
        fig, ax = axes(ax, figsize=(7.5, 4.2))
        groups = [(None, frame)] if hue is None else list(frame.groupby(hue, sort=False))
        for i, (name, g) in enumerate(groups):
            g = g.sort_values(x)
            color = SERIES[i % len(SERIES)]
            ax.plot(g[x], g[y], "o-", color=color, label=None if name is None else str(name))
            if low in g and high in g:
                ax.fill_between(g[x], g[low], g[high], color=color, alpha=0.15)
        if target is not None:
            ax.plot(target["round"], target["target"], "--", color="black", lw=1.2,
                    label=text("label.target", lang))
        rounds = sorted({int(r) for r in frame[x].dropna()})
        ax.set_xticks(rounds, [str(r) for r in rounds])
        ax.set_xlabel(text("label.round", lang))
        ax.set_ylabel(ylabel or "%")
        if hue is not None or target is not None:
            ax.legend(fontsize=9)
        fig.tight_layout()
    return fig


def legacy_rc() -> dict:
    """The plot style as rcParams, for the older plot functions that still set it globally."""
    from mognad.present.style import _rc

    return _rc()
