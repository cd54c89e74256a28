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
from mognad.present.style import ACCENT, NATIONAL, OWN, PEER, SERIES, axes, plain, plot_style


def number_ticks(ax, lang: str = "sv", *, axis: str = "both") -> None:
    """Tick labels through the report's number formatter: decimal comma and real minus sign
    in Swedish (``57,5``, ``−10``), as many decimals as the tick spacing needs.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax.set_ylim(40, 60); number_ticks(ax)
    (40.0, 60.0)
    >>> fig.canvas.draw(); [t.get_text() for t in ax.get_yticklabels()][:3]
    ['40,0', '42,5', '45,0']
    >>> plt.close(fig)
    """
    from matplotlib.ticker import Formatter

    class Ticks(Formatter):
        # the decimals follow from the tick spacing, worked out once per set of ticks (the
        # axis hands its tick positions to set_locs before it asks for the labels)
        decimals = 0

        def set_locs(self, locs):
            super().set_locs(locs)
            steps = np.diff(locs) if len(locs) > 1 else np.array([1.0])
            decimals = 0
            while decimals < 3 and np.any(np.abs(np.round(steps, decimals) - steps) > 1e-9):
                decimals += 1
            self.decimals = decimals

        def __call__(self, value, pos=None):
            return fmt.number(value, self.decimals, lang)

    if axis in ("both", "x"):
        ax.xaxis.set_major_formatter(Ticks())
    if axis in ("both", "y"):
        ax.yaxis.set_major_formatter(Ticks())


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
        fig, ax = axes(ax, figsize=(7.5, 0.45 * len(rows) + 1.3))
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
        number_ticks(ax, lang, axis="x")
        ax.set_xlabel(text("label.of_optimal", lang))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9)
        if title:
            ax.set_title(title, pad=28)
        fig.tight_layout()
    return fig


def _label_boxes(ax, points, texts, *, fontsize: float = 8.0, avoid=()):
    """Offsets (in points) for labels beside *points* so that no two labels overlap.

    Greedy: each label takes the first of eight places around its point (right, left, above,
    below, and the diagonals, then further out) whose box overlaps no label placed before and
    none of the *avoid* points. Works in display coordinates, so call it after the limits are
    set.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax.set_xlim(0, 100); ax.set_ylim(0, 100)
    (0.0, 100.0)
    (0.0, 100.0)
    >>> offs = _label_boxes(ax, [(50, 50), (50.5, 50.5), (51, 50)], ["2019", "2020", "2021"])
    >>> len(set(offs)) == 3
    True
    >>> plt.close(fig)
    """
    scale = ax.figure.dpi / 72.0
    height = fontsize * 1.25
    candidates = [(6, -height / 2), (-6, -height / 2), (0, 5), (0, -5 - height), (6, 5),
                  (-6, 5), (6, -5 - height), (-6, -5 - height)]
    candidates += [(dx * 2.2, dy * 2.2) for dx, dy in candidates]
    placed: list[tuple[float, float, float, float]] = []
    avoid_px = [tuple(ax.transData.transform(p)) for p in avoid]
    offsets = []
    for (x, y), label in zip(points, texts, strict=True):
        px, py = ax.transData.transform((x, y))
        width = fontsize * 0.62 * len(str(label))
        choice = candidates[0]
        for dx, dy in candidates:
            left = px + (dx if dx >= 0 else dx - width) * scale
            bottom = py + dy * scale
            box = (left, bottom, left + width * scale, bottom + height * scale)
            clash = any(not (box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3])
                        for b in placed)
            clash |= any(box[0] - 6 * scale < ax_ < box[2] + 6 * scale
                         and box[1] - 6 * scale < ay < box[3] + 6 * scale
                         for ax_, ay in avoid_px)
            if not clash:
                choice = (dx, dy)
                placed.append(box)
                break
        else:
            left = px + choice[0] * scale
            placed.append((left, py, left + width * scale, py + height * scale))
        offsets.append(choice)
    return offsets


def _type_name(t, code: str, lang: str) -> str:
    """A type's name without its "Typ A: " prefix (the letter is shown beside it)."""
    name = t.name.get(lang, code) if isinstance(t.name, dict) else str(t.name)
    head, sep, rest = name.partition(": ")
    return rest if sep and code in head else name


def _map_limits(values, cut: float) -> tuple[float, float]:
    """Axis limits around the data (and the cut point), in steps of 10, within 0-100."""
    finite = [float(v) for v in values if not fmt.is_missing(v)] + [cut]
    low = max(0.0, np.floor((min(finite) - 8) / 10) * 10)
    high = min(100.0, np.ceil((max(finite) + 8) / 10) * 10)
    if high - low < 40:
        mid = (high + low) / 2
        low, high = max(0.0, mid - 20), min(100.0, mid + 20)
    return low, high


def quadrant_map(types: pd.DataFrame, *, org_id: str, history: pd.DataFrame | None = None,
                 peers: pd.Series | None = None, codebook: Codebook | None = None,
                 lang: str = "sv", own_label: str | None = None, ax=None):
    """Both dimensions on the 2 x 2 map: the organisation, its peers and its earlier rounds.

    The axes span the organisations' values (in steps of 10 % around the cut points, so the
    cloud is not squeezed into a corner); the quadrants carry their type letter and name, the
    own point its label, earlier rounds their years (placed so they do not overlap), and the
    legend under the map says what each mark is.

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
    import textwrap

    from matplotlib import patheffects

    cb = load_codebook(codebook)
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    with plot_style():
        fig, ax = axes(ax, figsize=(6.0, 6.2))
        others = types[types["org_id"] != org_id]
        if peers is not None:
            mask = peers.reindex(others.index).fillna(False).to_numpy(dtype=bool)
            ax.scatter(others.loc[~mask, "x_pct"], others.loc[~mask, "y_pct"], s=16,
                       color=NATIONAL, alpha=0.6, label=text("label.national", lang))
            ax.scatter(others.loc[mask, "x_pct"], others.loc[mask, "y_pct"], s=22, color=PEER,
                       alpha=0.8, label=text("label.peers", lang))
        else:
            ax.scatter(others["x_pct"], others["y_pct"], s=18, color=PEER, alpha=0.55,
                       label=text("label.national", lang))
        own = types[types["org_id"] == org_id]
        hist = (history.sort_values("round") if history is not None and len(history)
                else pd.DataFrame(columns=["round", "x_pct", "y_pct"]))
        xs = [*types["x_pct"], *hist["x_pct"]]
        ys = [*types["y_pct"], *hist["y_pct"]]
        x0, x1 = _map_limits(xs, cb.cut_x)
        y0, y1 = _map_limits(ys, cb.cut_y)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        if len(hist) and len(own):
            path_x = [*hist["x_pct"], *own["x_pct"]]
            path_y = [*hist["y_pct"], *own["y_pct"]]
            ax.plot(path_x, path_y, "-", color=OWN, alpha=0.45, lw=1.3, zorder=3)
            ax.scatter(hist["x_pct"], hist["y_pct"], s=34, color=OWN, alpha=0.5, zorder=4,
                       label=text("label.earlier_rounds", lang))
            pts = list(zip(hist["x_pct"], hist["y_pct"], strict=True))
            own_pt = [(float(own["x_pct"].iloc[0]), float(own["y_pct"].iloc[0]))]
            years = [str(int(r)) for r in hist["round"]]
            for (x, y), year, off in zip(pts, years,
                                         _label_boxes(ax, pts, years, avoid=own_pt),
                                         strict=True):
                ax.annotate(year, (x, y), xytext=off, textcoords="offset points", fontsize=8,
                            color=OWN, ha="left" if off[0] >= 0 else "right",
                            path_effects=halo, zorder=6)
        if len(own):
            ox, oy = float(own["x_pct"].iloc[0]), float(own["y_pct"].iloc[0])
            ax.scatter([ox], [oy], s=170, color=OWN, edgecolor="white", lw=1.5, zorder=7,
                       label=plain(own_label or org_id))
            if own_label:
                ax.annotate(plain(own_label), (ox, oy), xytext=(10, 8), textcoords="offset points",
                            fontsize=9.5, color=OWN, weight="bold", zorder=8,
                            path_effects=halo)
        ax.axvline(cb.cut_x, color="black", lw=1, zorder=2)
        ax.axhline(cb.cut_y, color="black", lw=1, zorder=2)
        for code, t in cb.types.items():
            right = t.x == "high"
            top = t.y == "high"
            x = (x1 - 1) if right else (x0 + 1)
            y = (y1 - 1) if top else (y0 + 1)
            name = textwrap.fill(_type_name(t, code, lang), 24)
            ax.text(x, y, f"{code}  {name}", fontsize=7.5, color="#333", alpha=0.9,
                    ha="right" if right else "left", va="top" if top else "bottom",
                    path_effects=halo, zorder=5, linespacing=1.15)
            cx = (cb.cut_x + x1) / 2 if right else (x0 + cb.cut_x) / 2
            cy = (cb.cut_y + y1) / 2 if top else (y0 + cb.cut_y) / 2
            ax.text(cx, cy, code, fontsize=44, color="black", alpha=0.06, ha="center",
                    va="center", weight="bold", zorder=1)
        number_ticks(ax, lang)
        ax.set_xlabel(cb.label("dimension", cb.quadrant_x, lang) + " (%)")
        ax.set_ylabel(cb.label("dimension", cb.quadrant_y, lang) + " (%)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, fontsize=8,
                  frameon=False, handletextpad=0.3, columnspacing=1.2)
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
        ax.set_yticks(y, [plain(v) for v in rows[group]])
        ax.set_xlim(0, 100)
        number_ticks(ax, lang, axis="x")
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
        fig, ax = axes(ax, figsize=(7.5, 3.8))
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
        rounds = sorted({int(r) for r in frame[x].dropna()}
                        | ({int(r) for r in target["round"]} if target is not None else set()))
        ax.set_xticks(rounds, [str(r) for r in rounds])
        ax.set_xlabel(text("label.round", lang))
        number_ticks(ax, lang, axis="y")
        ax.set_ylabel(ylabel or "%")
        if hue is not None or target is not None:
            ax.legend(fontsize=9)
        fig.tight_layout()
    return fig


_trend_figure = trend  # the parameters named ``trend`` below shadow the function


def _area(level: str, name: str, lang: str, codebook=None) -> str:
    from mognad.present.survey import area_label

    return area_label(level, name, lang, codebook=codebook)


def national_trend(trend: pd.DataFrame, *, lang: str = "sv", codebook=None,
                   title: str | None = None, ax=None):
    """The national trend with interval bands: one line per panel (or per score name).

    Parameters
    ----------
    trend : DataFrame
        :func:`mognad.longitudinal.national_trend` output (``panel``, ``level``, ``name``,
        ``round``, ``estimate``, ``ci_low``, ``ci_high``).

    Examples
    --------
    >>> frame = pd.DataFrame({"panel": ["all"] * 2 + ["balanced"] * 2, "level": "total",
    ...                       "name": "total", "round": [2023, 2024] * 2,
    ...                       "estimate": [50.0, 52.0, 49.0, 50.0], "ci_low": 45.0,
    ...                       "ci_high": 55.0})
    >>> fig = national_trend(frame)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['Alla deltagare', 'Balanserad panel']
    """
    frame = trend.copy()
    panel_name = {p: text(f"national.{p}", lang) for p in ("all", "balanced")}
    names = [_area(lv, nm, lang, codebook)
             for lv, nm in zip(frame["level"], frame["name"], strict=True)]
    if frame["panel"].nunique() > 1:
        frame["series"] = frame["panel"].map(lambda v: panel_name.get(v, str(v)))
        if frame["name"].nunique() > 1:
            frame["series"] = frame["series"] + " – " + pd.Series(names, index=frame.index)
    else:
        frame["series"] = names
    hue = "series" if frame["series"].nunique() > 1 else None
    fig = _trend_figure(frame, hue=hue, lang=lang, ylabel=text("label.of_optimal", lang), ax=ax)
    if title:
        fig.axes[0].set_title(title)
    return fig


def target(trend: pd.DataFrame, path: pd.DataFrame, *, lang: str = "sv", ax=None):
    """The national value (model estimate and participants' mean) against a target path.

    Parameters
    ----------
    trend : DataFrame
        :func:`mognad.longitudinal.national_trend` output (the ``all`` panel of its first
        score is drawn).
    path : DataFrame
        :func:`mognad.longitudinal.target_path` output (``round``, ``target``).

    Examples
    --------
    >>> frame = pd.DataFrame({"panel": "all", "name": "total", "round": [2021, 2022, 2023],
    ...                       "estimate": [47.0, 50.0, 52.0], "ci_low": [45.0, 48.0, 50.0],
    ...                       "ci_high": [49.0, 52.0, 54.0], "participants_mean": [48.0, 51.0, 53.0],
    ...                       "participants_ci_low": [47.0, 50.0, 52.0],
    ...                       "participants_ci_high": [49.0, 52.0, 54.0]})
    >>> path = pd.DataFrame({"round": [2021, 2023], "target": [48.0, 55.0]})
    >>> len(target(frame, path).axes[0].lines)
    3
    """
    al = trend[(trend["panel"] == "all") & (trend["name"] == trend["name"].iloc[0])]
    series = [al[["round", "estimate", "ci_low", "ci_high"]].assign(
        series=text("national.estimate", lang))]
    if "participants_mean" in al.columns:
        series.append(al[["round", "participants_mean", "participants_ci_low",
                          "participants_ci_high"]].set_axis(
            ["round", "estimate", "ci_low", "ci_high"], axis=1).assign(
            series=text("national.participants_mean", lang)))
    frame = pd.concat(series, ignore_index=True)
    return _trend_figure(frame, hue="series", lang=lang, target=path,
                       ylabel=text("label.of_optimal", lang), ax=ax)


def _event_x(date) -> float:
    d = pd.Timestamp(date)
    return d.year + (d.dayofyear - 1) / 365.25


def trajectories(traj: pd.DataFrame, *, events: pd.DataFrame | None = None, lang: str = "sv",
                 codebook=None, ax=None):
    """One panel per score: each organisation's scores over rounds with intervals and event
    markers (dashed vertical lines at the event date).

    Parameters
    ----------
    traj : DataFrame
        :func:`mognad.longitudinal.trajectories` output (``org_id``, ``org_name``, ``round``,
        ``level``, ``name``, ``score_pct``, ``ci_low``, ``ci_high``).
    events : DataFrame, optional
        :func:`mognad.longitudinal.org_events` output.
    ax : array of Axes, optional
        One axes per score (e.g. from ``plt.subplots(2, 3)``); default a new figure.

    Examples
    --------
    >>> traj = pd.DataFrame({"org_id": "R12", "org_name": "Region X", "round": [2019, 2020],
    ...                      "level": "category", "name": "innovation",
    ...                      "score_pct": [45.0, 50.0], "ci_low": [40.0, 45.0],
    ...                      "ci_high": [50.0, 55.0]})
    >>> trajectories(traj).axes[0].get_title()
    'Innovation'
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    keys = list(dict.fromkeys(zip(traj["level"], traj["name"], strict=True)))
    n = len(keys)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    orgs = list(dict.fromkeys(traj["org_id"].astype(str)))
    org_name = dict(zip(traj["org_id"].astype(str),
                        traj.get("org_name", traj["org_id"]).astype(str), strict=True))
    rounds = sorted(int(r) for r in traj["round"].unique())
    with plot_style():
        if ax is None:
            fig, grid = plt.subplots(nrow, ncol, figsize=(7.6, 2.5 * nrow + 0.7), sharey=True,
                                     squeeze=False)
            panels = list(grid.ravel())
        else:
            panels = list(np.ravel(ax))
            fig = panels[0].figure
        for k, (lv, nm) in enumerate(keys):
            a = panels[k]
            for i, org in enumerate(orgs):
                g = traj[(traj["org_id"].astype(str) == org) & (traj["name"] == nm)
                         & (traj["level"] == lv)].sort_values("round")
                color = SERIES[i % len(SERIES)]
                a.plot(g["round"], g["score_pct"], "o-", color=color, ms=3.5, lw=1.5,
                       label=plain(org_name.get(org, org)) if k == 0 else None)
                a.fill_between(g["round"], g["ci_low"], g["ci_high"], color=color, alpha=0.15)
                if events is not None and len(events):
                    for e in events[events["org_id"].astype(str) == org].itertuples():
                        a.axvline(_event_x(e.date), color=color, ls="--", lw=1.0, alpha=0.8)
            a.set_title(_area(lv, nm, lang, codebook), fontsize=10)
            a.set_xticks(rounds, [str(r) for r in rounds])
            a.tick_params(axis="x", labelrotation=45, labelsize=7.5)
            a.tick_params(axis="y", labelsize=8)
            a.set_ylim(0, 100)
            number_ticks(a, lang, axis="y")
        for k in range(n, len(panels)):
            panels[k].set_visible(False)
        panels[0].set_ylabel("%")
        if len(panels) > ncol:
            panels[ncol].set_ylabel("%")
        handles, labels = panels[0].get_legend_handles_labels()
        if events is not None and len(events):
            handles.append(Line2D([], [], color="black", ls="--", lw=1.0))
            labels.append(text("long.event", lang))
        fig.legend(handles, labels, loc="upper center", ncol=min(4, len(labels)),
                   frameon=False, fontsize=8.5)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def forest(frame: pd.DataFrame, *, label: str, estimate: str = "change", low: str = "ci_low",
           high: str = "ci_high", lang: str = "sv", xlabel: str | None = None, ax=None):
    """Estimates with intervals as a horizontal forest plot (changes, movers, event effects).

    The first row of *frame* is drawn at the top, so the chart reads like its table.

    Examples
    --------
    >>> frame = pd.DataFrame({"who": ["A", "B"], "change": [3.0, -2.0],
    ...                       "ci_low": [1.0, -4.0], "ci_high": [5.0, 0.0]})
    >>> ax = forest(frame, label="who").axes[0]
    >>> {t.get_text(): int(y) for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    {'A': 1, 'B': 0}
    """
    rows = frame.dropna(subset=[estimate]).reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    with plot_style():
        fig, ax = axes(ax, figsize=(7.5, 0.36 * max(len(rows), 1) + 1.2))
        ax.hlines(y, rows[low], rows[high], color=OWN, lw=3, alpha=0.45,
                  label=text("label.interval", lang))
        ax.plot(rows[estimate], y, "o", color=OWN, ms=6, label=text("label.score", lang))
        ax.axvline(0, color="black", lw=1)
        number_ticks(ax, lang, axis="x")
        ax.set_yticks(y, [plain(v) for v in rows[label]])
        ax.set_xlabel(xlabel or text("label.change_pp", lang))
        ax.tick_params(axis="y", labelsize=8.5)
        fig.tight_layout()
    return fig


def event_change(events: pd.DataFrame, *, lang: str = "sv", codebook=None,
                 names: dict | None = None, ax=None):
    """Net change around each event (:func:`mognad.longitudinal.event_change`) as a forest
    plot, one row per organisation and score (organisation names from *names*)."""
    names = names or {}
    frame = events.copy()
    multi = frame["org_id"].nunique() > 1 or frame[["event_kind", "event_date"]] \
        .drop_duplicates().shape[0] > 1
    frame["label"] = [
        (f"{names.get(o, o)} – " if multi else "") + _area(lv, nm, lang, codebook)
        for o, lv, nm in zip(frame["org_id"], frame["level"], frame["name"], strict=True)]
    return forest(frame, label="label", estimate="net_change", low="net_ci_low",
                  high="net_ci_high", lang=lang, xlabel=text("long.net_change_pp", lang), ax=ax)


def legacy_rc() -> dict:
    """Deprecated: the plot style as rcParams (use :func:`mognad.present.style.plot_style`)."""
    from mognad.present.style import _rc

    return _rc()
