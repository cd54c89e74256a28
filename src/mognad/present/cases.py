"""Report parts of the case studies (transformation, training) and the pieces every case and
DIOS report shares: the page start (style sheet and synthetic-data banner), sentences that put
uncertainty into words, and the footer with the study's files and the software versions.

Texts come from the catalogue (``cases.*`` keys in ``present/locale/*.yaml``), numbers from
:mod:`mognad.present.numbers`, tables from :func:`mognad.present.tables.table` (escaped), figures
are drawn in :func:`mognad.present.style.plot_style` on ``ax`` or a new figure. Data-derived
strings (organisation names, event texts, file names) are escaped by the table renderer and
:func:`mognad.present.markup.md`; on figures they pass :func:`mognad.present.style.plain`.

The column names of the analyses this module reads are named once, in :data:`TRAINING` and
:data:`EVENT_EFFECT`, so that a renamed column of :func:`mognad.casestudy.training_effects` or
:func:`mognad.casestudy.difference_in_differences` is a one-line change here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mognad.present import numbers as fmt
from mognad.present.catalogue import has, text
from mognad.present.markup import Safe, bullets, escape_md, md_inline, synthetic_banner
from mognad.present.style import ACCENT, OWN, PEER, REPORT_CSS, SERIES, axes, plain, plot_style
from mognad.present.tables import Col, Table, table

#: Columns of :func:`mognad.casestudy.training_effects` (and ``paired_scores``) read here.
TRAINING = {"n": "n_pairs", "pre": "score_pre", "post": "score_post", "change": "change",
            "low": "ci_low", "high": "ci_high", "d": "d_z", "d_low": "d_z_ci_low",
            "d_high": "d_z_ci_high", "p": "wilcoxon_p"}
#: Columns of :func:`mognad.casestudy.difference_in_differences` read here.
EVENT_EFFECT = {"estimate": "change", "low": "ci_low", "high": "ci_high",
                "naive": "naive_change", "n_before": "n_before", "n_after": "n_after"}


# ============================================================================================
# Pieces every case and DIOS report shares
# ============================================================================================
def page_start(study, lang: str = "sv", *, title: str | None = None, **fields):
    """The first output of a report: the report style sheet and, for synthetic data, the banner;
    with *title* (a catalogue key and its ``fields``) also the page metadata the PDF printer
    uses for the document title and the running header (:class:`mognad.present.page.ReportHead`;
    the report shows its heading itself).

    Parameters
    ----------
    study : Study or bool
        The study (its ``is_synthetic``) or the flag itself.

    Examples
    --------
    >>> html = page_start(True).data
    >>> "<style>" in html and "SYNTETISKA DATA" in html
    True
    >>> "SYNTETISKA" in page_start(False).data
    False
    >>> head = page_start(False, title="cases.tr.title", name="Region <X>")
    >>> head.meta()["report_title"], "<h1" in head.html()
    ('Transformation: Region <X>', False)
    """
    from IPython.display import HTML

    from mognad.present.page import ReportHead

    synthetic = study if isinstance(study, bool) else bool(getattr(study, "is_synthetic", False))
    if title is not None:
        heading = text(title, fmt.check_lang(lang), **fields).lstrip("#").strip()
        return ReportHead(title=heading, running_header=heading, lang=lang, synthetic=synthetic,
                          show_title=False)
    return HTML(f"<style>{REPORT_CSS}</style>" + synthetic_banner(synthetic, fmt.check_lang(lang)).data)


def markdown(*parts) -> object:
    """Several safe Markdown parts (from :func:`mognad.present.markup.md_inline`) as one
    IPython ``Markdown`` output, separated by blank lines (empty parts left out).

    Examples
    --------
    >>> markdown(md_inline("cases.tr.title", name="<b>"), "").data
    'Transformation: &lt;b&gt;'
    """
    from IPython.display import Markdown

    return Markdown("\n\n".join(str(p) if isinstance(p, Safe) else escape_md(p)
                                for p in parts if p))


def title(key: str, lang: str = "sv", **fields) -> Safe:
    """A catalogue text as the report's first-level heading (fields escaped).

    Examples
    --------
    >>> title("cases.tr.title", name="Region <X>")
    '# Transformation: Region &lt;X&gt;'
    """
    return Safe("# " + md_inline(key, lang, **fields))


def figure(fig):
    """*fig* closed in pyplot (so that a notebook shows it once, where it is displayed).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = figure(plt.figure())
    >>> plt.fignum_exists(fig.number)
    False
    """
    import matplotlib.pyplot as plt

    if fig is not None:
        plt.close(fig)
    return fig


def lead(*parts):
    """One output holding a section's heading and text and its first figure or table, so that
    print never separates them (each output stays on one page).

    *parts* are safe Markdown (:func:`mognad.present.markup.md_inline`, :func:`bullets`; data in
    it is already escaped), Matplotlib figures (closed here) and rendered tables, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> from mognad.present.tables import table
    >>> out = lead(md_inline("gov.flow"), table(pd.DataFrame({"a": ["<b>"]}), [("a", "A")]))
    >>> html = str(out)
    >>> "<h2>Efterfrågan och leverans</h2>" in html, "&lt;b&gt;" in html, "<b>" in html
    (True, True, False)
    """
    import mistune

    from mognad.present import page

    out = []
    for part in parts:
        if part is None or (isinstance(part, str) and not part):
            continue
        if isinstance(part, Table) or hasattr(part, "savefig"):
            out.append(part)  # a rendered table, or a figure (embedded and closed by the page)
        else:
            out.append(Safe(mistune.html(str(part) if isinstance(part, Safe) else escape_md(part))))
    return page.section(*out)


def clear(low, high, null: float = 0.0) -> bool | None:
    """Whether an interval excludes *null* (a clear difference); ``None`` when it is missing.

    Examples
    --------
    >>> clear(0.4, 2.1), clear(-0.3, 2.1), clear(0.52, 0.89, null=1.0), clear(None, 1.0)
    (True, False, True, None)
    """
    if fmt.is_missing(low) or fmt.is_missing(high):
        return None
    return bool(float(low) > null or float(high) < null)


def join_names(names: Sequence, lang: str = "sv") -> str:
    """``"A, B och C"`` (``"and"`` in English), as plain text.

    Examples
    --------
    >>> join_names(["Kustvik", "Norrsund"]), join_names(["A", "B", "C"], "en")
    ('Kustvik och Norrsund', 'A, B and C')
    """
    items = [str(n) for n in names]
    if not items:
        return ""
    word = " " + text("common.and", lang) + " "
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + word + items[-1]


def provenance_table(study, lang: str = "sv") -> Table:
    """The files behind the study: name, kind, rows added and the start of their SHA-256."""
    prov = study.provenance
    frame = pd.DataFrame({"file": prov["file_name"], "kind": prov["kind"],
                          "rows": prov["rows_added"], "sha": prov["sha256"].str.slice(0, 12)})
    return table(frame, [("file", "cases.col.file"), ("kind", "cases.col.kind"),
                         ("rows", "cases.col.rows", "int"), ("sha", "cases.col.sha256")],
                 lang=lang)


def environment(lang: str = "sv") -> Table:
    """Python and package versions (for the end of every report).

    Examples
    --------
    >>> "pandas" in str(environment())
    True
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from mognad import __version__

    rows = [("python", platform.python_version()), ("mognad", __version__)]
    for pkg in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "duckdb"):
        try:
            rows.append((pkg, version(pkg)))
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            rows.append((pkg, fmt.MISSING))
    return table(pd.DataFrame(rows, columns=["package", "version"]),
                 [("package", "cases.col.package"), ("version", "cases.col.version")], lang=lang)


def footer(study, lang: str = "sv") -> tuple:
    """The end of every case-study report: fingerprint and codebook, the files, the versions
    (outputs for ``display(*footer(study, lang))``)."""
    head = md_inline("cases.footer", lang, fingerprint=study.fingerprint,
                     codebook=f"{study.codebook.id} ({study.codebook.fingerprint[:12]})")
    return lead(head, provenance_table(study, lang)), environment(lang)


def show(frame: pd.DataFrame, columns: Sequence[str] | None = None, *, lang: str = "sv",
         names: Mapping | None = None, decimals: int = 1, percent: Sequence[str] = (),
         precision: Mapping[str, int] | None = None, headers: Mapping[str, str] | None = None
         ) -> Table:
    """A quick report table through :func:`mognad.present.tables.table`, kinds from dtypes.

    For tables whose columns are not declared one by one (e.g. the internal comparison's):
    ``percent`` columns hold shares 0-1, ``precision`` gives decimals per column, integer
    columns are whole numbers, ``year``/``round`` columns years, booleans ja/nej. Headers are
    ``headers[column]``, else the catalogue's ``cases.col.<column>`` / ``col.<column>``, else the
    column name. ``names`` (``{org_id: name}``) adds an organisation column.

    Examples
    --------
    >>> frame = pd.DataFrame({"unit": ["<b>IT</b>"], "n": [7], "share": [0.25],
    ...                       "rwg_j": [0.8123], "round": [2024.0]})
    >>> html = str(show(frame, percent=["share"], precision={"rwg_j": 2}))
    >>> "&lt;b&gt;IT" in html, "25\\xa0%" in html, "0,81" in html, ">2024<" in html
    (True, True, True, True)
    """
    out = frame.copy()
    if names is not None and "org_id" in out:
        out.insert(0, "name", out["org_id"].map(lambda o: names.get(o, o)))
        if columns is not None and "name" not in columns:
            columns = ["name", *columns]
    cols = [c for c in (columns if columns is not None else out.columns) if c in out.columns]
    precision = dict(precision or {})
    headers = dict(headers or {})
    specs = []
    for c in cols:
        s = out[c]
        header = headers.get(c) or next((k for k in (f"cases.col.{c}", f"col.{c}")
                                         if has(k, lang)), str(c))
        if c in percent:
            kind, dec = "share", precision.get(c, 0)
        elif c in ("year", "round", "change_year", "first_round"):
            kind, dec = "year", None
        elif pd.api.types.is_bool_dtype(s):
            kind, dec = "yes_no", None
        elif pd.api.types.is_integer_dtype(s):
            kind, dec = "int", None
        elif pd.api.types.is_numeric_dtype(s):
            kind, dec = "number", precision.get(c, decimals)
        elif pd.api.types.is_datetime64_any_dtype(s):
            kind, dec = "date", None
        else:
            kind, dec = "text", None
        specs.append(Col(c, header, kind, dec))
    return table(out, specs, lang=lang)


def comparison_label(comparison, lang: str = "sv") -> str:
    """How a report names the comparison organisations of
    :func:`mognad.casestudy.category_trajectory`.

    Examples
    --------
    >>> comparison_label("org_type"), comparison_label(["9001", "9002"], "en")
    ('organisationer av samma typ utan registrerade händelser', 'selected organisations')
    """
    key = comparison if isinstance(comparison, str) and comparison in ("org_type", "all") \
        else "list"
    return text(f"cases.comparison.{key}", lang)


def score_label(codebook, level: str, name: str, lang: str = "sv") -> str:
    """The codebook name of a score (``level``/``name``); items by their statement text.

    Examples
    --------
    >>> from mognad.codebook import load_codebook
    >>> score_label(load_codebook(), "category", "innovation"), score_label(None, "total", "total")
    ('Innovation', 'Totalt')
    """
    if level == "total":
        return text("common.total", lang)
    if codebook is None:
        return str(name)
    try:
        return codebook.label(level, name, lang)
    except (KeyError, ValueError):
        return str(name)


def _with_labels(frame: pd.DataFrame, codebook, lang: str) -> pd.DataFrame:
    out = frame.copy()
    out["label"] = [score_label(codebook, lv, nm, lang)
                    for lv, nm in zip(out["level"], out["name"], strict=True)]
    return out


def trajectory_figure(trajectory: pd.DataFrame, *, codebook=None, first_round: int,
                      name: str = "", lang: str = "sv"):
    """Category scores per round with 95 % intervals against the comparison mean, one panel per
    category; a dashed line between the last round before and *first_round*.

    Examples
    --------
    >>> tr = pd.DataFrame({"round": [2019, 2020, 2021], "level": "category",
    ...                    "name": "innovation", "score_pct": [40.0, 42, 50],
    ...                    "ci_low": [35.0, 37, 45], "ci_high": [45.0, 47, 55],
    ...                    "comparison_pct": [45.0, 46, 47]})
    >>> len(trajectory_figure(tr, first_round=2021).axes)
    1
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(trajectory["name"]))
    ncol = min(3, max(len(names), 1))
    nrow = max(math.ceil(len(names) / ncol), 1)
    with plot_style():
        fig, grid = plt.subplots(nrow, ncol, figsize=(7.4, 1.8 * nrow + 0.45), squeeze=False,
                                 sharey=True)
        for k, nm in enumerate(names):
            ax = grid[k // ncol, k % ncol]
            g = trajectory[trajectory["name"] == nm].sort_values("round")
            ax.errorbar(g["round"], g["score_pct"],
                        yerr=[g["score_pct"] - g["ci_low"], g["ci_high"] - g["score_pct"]],
                        fmt="o-", color=OWN, capsize=2, ms=4, lw=1.4,
                        label=plain(name) or None)
            if "comparison_pct" in g and g["comparison_pct"].notna().any():
                ax.plot(g["round"], g["comparison_pct"], "s--", color=PEER, ms=3, lw=1,
                        label=text("cases.tr.comparison", lang))
            ax.axvline(first_round - 0.5, color="0.3", ls="--", lw=1)
            ax.set_title(plain(score_label(codebook, str(g["level"].iloc[0]), nm, lang)),
                         loc="left", fontsize=9)
            rounds = sorted(int(r) for r in g["round"].unique())
            ax.set_xticks(rounds, [f"’{r % 100:02d}" for r in rounds], fontsize=8)
            ax.tick_params(axis="y", labelsize=8)
        for k in range(len(names), nrow * ncol):
            grid[k // ncol, k % ncol].set_visible(False)
        for r in range(nrow):
            grid[r, 0].set_ylabel("%", fontsize=8)
        handles, labels = grid[0, 0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=8,
                       bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def effect_table(effect: pd.DataFrame, *, codebook=None, lang: str = "sv") -> Table:
    """The difference-in-differences table of :func:`mognad.casestudy.difference_in_differences`."""
    c = EVENT_EFFECT
    rows = _with_labels(effect, codebook, lang)
    return table(rows, [("level", "cases.col.level", "label:level"),
                        ("label", "cases.col.name"),
                        (c["n_before"], "cases.col.n_before", "int"),
                        (c["n_after"], "cases.col.n_after", "int"),
                        (c["naive"], "cases.col.naive_change", "pp", 1),
                        (c["estimate"], "cases.col.estimate", "pp", 1),
                        ((c["low"], c["high"]), "cases.col.ci", "interval_pp", 1)],
                 lang=lang, note="cases.tr.effect_note")


def effect_sentences(effect: pd.DataFrame, *, codebook=None, lang: str = "sv") -> Safe:
    """One sentence per score with its interval, saying whether the change is clear."""
    c = EVENT_EFFECT
    out = []
    for r in _with_labels(effect, codebook, lang).to_dict("records"):
        key = "cases.tr.effect_clear" if clear(r[c["low"]], r[c["high"]]) else \
            "cases.tr.effect_unclear"
        out.append(md_inline(key, lang, label=r["label"],
                             estimate=fmt.pp(r[c["estimate"]], 1, lang),
                             lo=fmt.signed(r[c["low"]], 1, lang),
                             hi=fmt.signed(r[c["high"]], 1, lang)))
    return bullets(out)


def budget_figure(trend: Mapping, *, first_year: int, name: str = "", lang: str = "sv",
                  ax=None):
    """Digital spending per year (stacked bars, mnkr) and the development share (line)."""
    t = trend["table"]
    with plot_style():
        fig, ax = axes(ax, figsize=(7.4, 2.7))
        ax.bar(t["year"], t["exploitation_sek"] / 1e6, color=PEER,
               label=text("cases.tr.exploitation", lang))
        ax.bar(t["year"], t["exploration_sek"] / 1e6, bottom=t["exploitation_sek"] / 1e6,
               color=OWN, label=text("cases.tr.exploration", lang))
        ax.set_ylabel(text("cases.tr.axis_budget", lang))
        ax2 = ax.twinx()
        ax2.plot(t["year"], 100 * t["exploration_share"], "o-", color=ACCENT,
                 label=text("cases.col.development_share", lang))
        ax2.set_ylabel(text("cases.col.development_share", lang) + " (%)", color=ACCENT)
        ax2.set_ylim(0, 100)
        ax2.grid(False)
        ax.axvline(first_year - 0.5, color="0.3", ls="--", lw=1)
        years = [int(y) for y in t["year"]]
        ax.set_xticks(years, [str(y) for y in years])
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3,
                  fontsize=8)
        if name:
            ax.set_title(plain(name), loc="left", fontsize=10)
        fig.tight_layout()
    return fig


def budget_table(trend: Mapping, lang: str = "sv") -> Table:
    """Spending per year: total, operation and maintenance, development, development share."""
    return table(trend["table"], [("year", "cases.col.year", "year"),
                                  ("total_sek", "cases.col.total", "sek"),
                                  ("exploitation_sek", "cases.col.exploitation", "sek"),
                                  ("exploration_sek", "cases.col.exploration", "sek"),
                                  ("exploration_share", "cases.col.development_share",
                                   "share")], lang=lang)


def resources_text(trend: Mapping | None, *, name: str, first_year: int, lang: str = "sv"
                   ) -> Safe:
    """The section on resources: the step with its interval in words, or that there are no
    budget data for the organisation."""
    if trend is None:
        return md_inline("cases.tr.resources_missing", lang, name=name)
    verdict = text("cases.tr.step_clear" if clear(trend["step_ci_low"], trend["step_ci_high"],
                                                  null=1.0) else "cases.tr.step_unclear", lang)
    return (md_inline(
        "cases.tr.resources", lang, first_year=fmt.year(first_year),
        step=fmt.number(trend["step"], 2, lang), lo=fmt.number(trend["step_ci_low"], 2, lang),
        hi=fmt.number(trend["step_ci_high"], 2, lang), verdict=verdict,
        before=fmt.share(trend["share_before"], 0, lang),
        after=fmt.share(trend["share_after"], 0, lang)))


def initiatives_figure(shares: pd.DataFrame, *, lang: str = "sv"):
    """Shares of the organisation's initiatives per year with Wilson intervals, one panel per
    measure (decentralisation, coordination)."""
    import matplotlib.pyplot as plt

    measures = list(dict.fromkeys(shares["measure"]))
    with plot_style():
        fig, grid = plt.subplots(1, max(len(measures), 1), figsize=(7.4, 2.6), squeeze=False,
                                 sharey=True)
        for j, m in enumerate(measures):
            ax = grid[0, j]
            g = shares[shares["measure"] == m].sort_values("year")
            ax.plot(g["year"], 100 * g["share"], "o-", color=SERIES[j])
            ax.fill_between(g["year"], 100 * g["ci_low"], 100 * g["ci_high"], color=SERIES[j],
                            alpha=0.15)
            ax.set_title(text(f"cases.measure.{m}", lang), loc="left", fontsize=9)
            ax.set_ylim(0, 100)
            years = sorted(int(y) for y in g["year"].unique())
            ax.set_xticks(years, [str(y) for y in years], fontsize=8)
        grid[0, 0].set_ylabel("%")
        fig.tight_layout()
    return fig


def initiatives_table(shares: pd.DataFrame, lang: str = "sv") -> Table:
    """Initiative shares per year and measure, with Wilson intervals."""
    return table(shares, [("year", "cases.col.year", "year"),
                          ("measure", "cases.col.measure", "label:cases.measure"),
                          ("n", "cases.col.n", "int"), ("share", "cases.col.share", "share"),
                          (("ci_low", "ci_high"), "cases.col.ci", "interval_share")], lang=lang)


# ============================================================================================
# Training evaluation
# ============================================================================================
def training_table(effects: pd.DataFrame, *, codebook=None, lang: str = "sv") -> Table:
    """Before, after and change per score (total, dimensions, categories) with effect sizes."""
    c = TRAINING
    rows = _with_labels(effects, codebook, lang)
    return table(rows, [("label", "cases.col.name"), (c["n"], "cases.col.n_pairs", "int"),
                        (c["pre"], "cases.col.pre", "pct", 1),
                        (c["post"], "cases.col.post", "pct", 1),
                        (c["change"], "cases.col.change", "pp", 1),
                        ((c["low"], c["high"]), "cases.col.ci", "interval_pp", 1),
                        (c["d"], "cases.col.d_z", "number", 2),
                        (c["p"], "cases.col.wilcoxon_p", "p")],
                 lang=lang, note="cases.trn.effects_note",
                 highlight=[lv in ("total", "dimension") for lv in rows["level"]])


def training_sentences(effects: pd.DataFrame, *, codebook=None, lang: str = "sv") -> Safe:
    """One sentence per score: the change with its interval, clear or within noise, and d_z."""
    c = TRAINING
    out = []
    for r in _with_labels(effects, codebook, lang).to_dict("records"):
        key = "cases.trn.effect_clear" if clear(r[c["low"]], r[c["high"]]) else \
            "cases.trn.effect_unclear"
        out.append(md_inline(key, lang, label=r["label"], change=fmt.pp(r[c["change"]], 1, lang),
                             lo=fmt.signed(r[c["low"]], 1, lang),
                             hi=fmt.signed(r[c["high"]], 1, lang),
                             d=fmt.number(r[c["d"]], 2, lang),
                             d_lo=fmt.number(r[c["d_low"]], 2, lang),
                             d_hi=fmt.number(r[c["d_high"]], 2, lang)))
    return bullets(out)


def training_figure(effects: pd.DataFrame, *, codebook=None, lang: str = "sv", ax=None):
    """Mean change per score with its 95 % interval (a forest plot); zero marked, totals and
    dimensions darker than categories."""
    c = TRAINING
    rows = _with_labels(effects, codebook, lang).reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    with plot_style():
        fig, ax = axes(ax, figsize=(7.0, 0.26 * len(rows) + 0.8))
        colours = [OWN if lv in ("total", "dimension") else SERIES[5] for lv in rows["level"]]
        ax.hlines(y, rows[c["low"]], rows[c["high"]], color=colours, lw=3, alpha=0.6)
        ax.scatter(rows[c["change"]], y, color=colours, zorder=3)
        ax.axvline(0, color="0.3", lw=1)
        ax.set_yticks(y, [plain(v) for v in rows["label"]])
        ax.set_xlabel(text("cases.trn.axis_change", lang))
        fig.tight_layout()
    return fig


def function_table(by_function: pd.DataFrame, *, codebook=None, lang: str = "sv") -> Table:
    """The change by (merged) function, only the groups shown under disclosure control."""
    c = TRAINING
    rows = _with_labels(by_function, codebook, lang)
    return table(rows, [("group", "cases.col.group"), ("label", "cases.col.name"),
                        (c["n"], "cases.col.n_pairs", "int"),
                        (c["change"], "cases.col.change", "pp", 1),
                        ((c["low"], c["high"]), "cases.col.ci", "interval_pp", 1),
                        (c["d"], "cases.col.d_z", "number", 2)], lang=lang)


def items_table(effects: pd.DataFrame, *, codebook, n: int = 8, lang: str = "sv") -> Table:
    """The *n* statements with the largest absolute change, with their texts."""
    c = TRAINING
    items = effects[effects["level"] == "item"].copy()
    items["text"] = [score_label(codebook, "item", i, lang) for i in items["name"]]
    order = items[c["change"]].abs().sort_values(ascending=False).index[:n]
    items = items.loc[order]
    return table(items, [("name", "cases.col.no"), ("text", "cases.col.item"),
                         (c["n"], "cases.col.n_pairs", "int"),
                         (c["change"], "cases.col.change", "pp", 1),
                         ((c["low"], c["high"]), "cases.col.ci", "interval_pp", 1),
                         (c["p"], "cases.col.wilcoxon_p", "p")], lang=lang)


def challenges_table(challenges: pd.DataFrame, lang: str = "sv") -> Table:
    """The course's challenges (:func:`mognad.casestudy.course_challenges`) as qualitative
    outcomes: text, theme, capability and follow-up from the catalogue."""
    rows = challenges.copy()
    for part in ("text", "theme", "follow_up"):
        rows[part] = [text(f"cases.challenge.{k}.{part}", lang) for k in rows["key"]]
    return table(rows, [("no", "cases.col.no", "int"), ("text", "cases.col.challenge"),
                        ("theme", "cases.col.theme"),
                        ("capability", "cases.col.capability", "label:cases.capability"),
                        ("follow_up", "cases.col.follow_up")], lang=lang)


__all__ = ["EVENT_EFFECT", "TRAINING", "case_index_page", "UNITS", "agreement_section", "internal_header",
           "rounds_section", "units_figure", "units_section", "units_table", "budget_figure", "case_reports", "challenges_section",
           "lead",
           "effect_section", "figure", "function_section", "initiatives_section",
           "items_section", "resources_section", "title", "training_header",
           "training_section", "trajectory_section", "transformation_header", "budget_table", "bullets",
           "challenges_table", "clear", "comparison_label", "effect_sentences", "effect_table",
           "environment", "footer", "function_table", "initiatives_figure", "initiatives_table",
           "items_table", "join_names", "markdown", "page_start",
           "provenance_table", "resources_text", "score_label", "show", "trajectory_figure",
           "training_figure", "training_sentences", "training_table"]


# ============================================================================================
# Report sections (each returns its outputs in order, for ``display(*...)``)
# ============================================================================================
def transformation_header(case, lang: str = "sv") -> list:
    """Style sheet and banner, title and introduction of the transformation report
    (*case*: :class:`mognad.views.cases.TransformationCase`)."""
    return [page_start(case.synthetic, lang, title="cases.tr.title", name=case.name),
            markdown(title("cases.tr.title", lang, name=case.name),
                     md_inline("cases.tr.intro", lang, name=case.name,
                               date=fmt.date(case.event["date"]), event=case.event["text"]))]


def trajectory_section(case, lang: str = "sv") -> list:
    """The categories around the event against the comparison organisations."""
    cb = case.study.codebook
    return [lead(md_inline("cases.tr.trajectory", lang,
                           comparison=comparison_label(case.comparison, lang),
                           n_comp=fmt.integer(case.n_comparison, lang),
                           first_round=fmt.year(case.first_round)),
                 trajectory_figure(case.trajectory, codebook=cb, first_round=case.first_round,
                                   name=case.name, lang=lang))]


def effect_section(case, lang: str = "sv") -> list:
    """The difference in differences: the categories in words, every score in the table."""
    cb = case.study.codebook
    cats = case.effect[case.effect["level"] == "category"]
    return [lead(md_inline("cases.tr.effect", lang, first_round=fmt.year(case.first_round)),
                 effect_sentences(cats, codebook=cb, lang=lang),
                 effect_table(case.effect, codebook=cb, lang=lang))]


def resources_section(case, lang: str = "sv") -> list:
    """Resources over time, from the organisation's own budget lines only."""
    words = resources_text(case.trend, name=case.name, first_year=case.first_round, lang=lang)
    if case.trend is None:
        return [markdown(words)]
    return [lead(words, budget_figure(case.trend, first_year=case.first_round, lang=lang)),
            budget_table(case.trend, lang)]


def initiatives_section(case, lang: str = "sv") -> list:
    """Decentralisation and coordination from the organisation's own initiatives, or the
    sentence that it has none (other organisations' data are never shown instead)."""
    if not len(case.shares):
        return [markdown(md_inline("cases.tr.initiatives_missing", lang, name=case.name))]
    return [lead(md_inline("cases.tr.initiatives", lang),
                 initiatives_figure(case.shares, lang=lang)),
            initiatives_table(case.shares, lang)]


def training_header(case, lang: str = "sv") -> list:
    """Style sheet and banner, title and introduction of the training report
    (*case*: :class:`mognad.views.cases.TrainingCase`)."""
    info = case.info
    return [page_start(case.synthetic, lang, title="cases.trn.title", name=info["name"]),
            markdown(title("cases.trn.title", lang, name=info["name"]),
                     md_inline("cases.trn.intro", lang, date=fmt.date(info["date"])
                               if not isinstance(info["date"], str) else info["date"],
                               n=fmt.integer(info["n"], lang),
                               n_pairs=fmt.integer(info["n_pairs"], lang),
                               n_linked=fmt.integer(case.n_linked, lang)))]


def training_section(case, lang: str = "sv") -> list:
    """The change before–after: the total and dimensions in words, figure, table."""
    cb = case.study.codebook
    main = case.main
    return [lead(md_inline("cases.trn.effects", lang),
                 training_sentences(main[main["level"] != "category"], codebook=cb, lang=lang),
                 training_figure(main, codebook=cb, lang=lang)),
            training_table(main, codebook=cb, lang=lang)]


def function_section(case, lang: str = "sv") -> list:
    """The change by merged function, under disclosure control."""
    groups = sorted(set(case.groups.values()))
    n_hidden = int(case.by_function.attrs.get("n_hidden", 0))
    return [lead(md_inline("cases.trn.function", lang, groups=join_names(groups, lang),
                           k=fmt.integer(case.k_min, lang)),
                 md_inline("cases.trn.function_hidden", lang, n=fmt.integer(n_hidden, lang))
                 if n_hidden else "",
                 function_table(case.by_function, codebook=case.study.codebook, lang=lang))]


def items_section(case, lang: str = "sv", n: int = 8) -> list:
    """The statements that changed most."""
    return [lead(md_inline("cases.trn.items", lang, n=fmt.integer(n, lang)),
                 items_table(case.effects, codebook=case.study.codebook, n=n, lang=lang))]


def challenges_section(case, lang: str = "sv") -> list:
    """The course's four challenges as qualitative outcomes."""
    return [lead(md_inline("cases.trn.challenges", lang), challenges_table(case.challenges, lang))]


# ============================================================================================
# Internal comparison (units of one organisation, under the publication plan)
# ============================================================================================
#: Columns of :func:`mognad.casestudy.internal_comparison`'s ``units`` read here.
UNITS = {"unit": "unit", "depth": "depth", "n": "n_respondents", "score": "score_pct",
         "low": "ci_low", "high": "ci_high", "sd": "sd", "q1": "q1", "median": "median",
         "q3": "q3", "iqr": "iqr", "rwg": "rwg_j"}


def units_figure(result: Mapping, *, lang: str = "sv", name: str = "", ax=None):
    """The shown units of :func:`mognad.casestudy.internal_comparison` in table order: mean with
    its interval (dot and thin line) over the interquartile range of respondents' totals (thick
    bar); the organisation's mean dashed (named in the legend). Sub-units are indented.

    Examples
    --------
    >>> units = pd.DataFrame({"unit": ["IT", "IT/Drift"], "depth": [1, 2],
    ...                       "score_pct": [50.0, 55.0], "ci_low": [40.0, 45.0],
    ...                       "ci_high": [60.0, 65.0], "q1": [42.0, 47.0], "q3": [58.0, 63.0]})
    >>> org = pd.DataFrame({"score_pct": [52.0]})
    >>> fig = units_figure({"units": units, "organisation": org})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['IT', '   Drift']
    """
    c = UNITS
    units = result["units"]
    with plot_style():
        fig, ax = axes(ax, figsize=(8, 0.45 * max(len(units), 1) + 1.6))
        y = np.arange(len(units))[::-1]
        ax.hlines(y, units[c["q1"]], units[c["q3"]], color=PEER, lw=9, alpha=0.5,
                  label=text("cases.ic.iqr_label", lang))
        ax.hlines(y, units[c["low"]], units[c["high"]], color=OWN, lw=2,
                  label=text("label.interval", lang))
        ax.plot(units[c["score"]], y, "o", color=OWN)
        org = result["organisation"]["score_pct"]
        if len(org) and not fmt.is_missing(org.iloc[0]):
            ax.axvline(float(org.iloc[0]), color=ACCENT, ls="--", lw=1,
                       label=text("cases.ic.all_units", lang))
        depth = units[c["depth"]] if c["depth"] in units else pd.Series(1, index=units.index)
        labels = [plain("   " * (int(d) - 1) + (str(u).rsplit("/", 1)[-1] if int(d) > 1
                                                  else str(u)))
                  for u, d in zip(units[c["unit"]], depth, strict=True)]
        ax.set_yticks(y, labels)
        ax.set_xlim(0, 100)
        ax.set_xlabel(text("label.of_optimal", lang))
        if name:  # above the legend, which sits right on top of the axes
            ax.set_title(plain(name, width=80), loc="left", fontsize=10, pad=24)
        ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
        fig.tight_layout()
    return fig


def units_table(result: Mapping, lang: str = "sv") -> Table:
    """The shown units and the whole organisation: n, mean with interval, spread, rwg(j)."""
    c = UNITS
    org = result["organisation"].copy()
    org[c["unit"]] = text("cases.ic.all_units", lang)
    rows = pd.concat([result["units"], org], ignore_index=True)
    mark = [False] * len(result["units"]) + [True] * len(org)
    return table(rows, [(c["unit"], "col.unit"), (c["n"], "col.respondents", "int"),
                        (c["score"], "col.score", "pct"),
                        ((c["low"], c["high"]), "col.ci", "interval"),
                        (c["sd"], "cases.col.sd", "number", 1),
                        ((c["q1"], c["q3"]), "cases.col.quartiles", "interval_number", 0),
                        (c["rwg"], "cases.col.rwg_j", "number", 2)],
                 lang=lang, highlight=mark, note="cases.ic.table_note")


def internal_header(study, result: Mapping, *, name: str, lang: str = "sv") -> list:
    """Banner, title and introduction of the internal-comparison report."""
    n = int(result["organisation"]["n_respondents"].iloc[0])
    return [page_start(study, lang, title="cases.ic.title", name=name, round=result["round"]),
            lead(title("cases.ic.title", lang, name=name, round=result["round"]),
                 md_inline("cases.ic.intro", lang, name=name, round=result["round"], n=n),
                 md_inline("common.ci_explained", lang))]


def units_section(result: Mapping, *, name: str = "", lang: str = "sv") -> list:
    """How many units are hidden (never which), the units figure and table."""
    hidden = (md_inline("cases.ic.hidden", lang, n_hidden=result["n_hidden"])
              if result["n_hidden"] else md_inline("cases.ic.none_hidden", lang))
    head = md_inline("cases.ic.units", lang, k=result["k_min"], hidden=hidden)
    if not len(result["units"]):
        return [lead(head, md_inline("cases.ic.no_units", lang, k=result["k_min"]))]
    return [lead(head, units_figure(result, lang=lang, name=name)), units_table(result, lang)]


def agreement_section(result: Mapping, lang: str = "sv") -> list:
    """ICC(1) and ICC(2) over the shown units, in words."""
    return [lead(md_inline("cases.ic.agreement", lang,
                           icc1=fmt.number(result["icc1"], 2, lang),
                           icc2=fmt.number(result["icc2"], 2, lang)))]


def rounds_section(rounds: pd.DataFrame, lang: str = "sv") -> list:
    """Each shown unit's total per round (the same publication plan in every round)."""
    if not len(rounds):
        return [lead(md_inline("cases.ic.rounds", lang), md_inline("cases.ic.no_rounds", lang))]
    wide = rounds.pivot_table(index="unit", columns="round", values="score_pct", sort=False)
    order = list(dict.fromkeys(rounds["unit"]))
    wide = wide.reindex(order).reset_index()
    cols = [("unit", "col.unit")] + [(c, str(int(c)), "pct") for c in wide.columns[1:]]
    return [lead(md_inline("cases.ic.rounds", lang), table(wide, cols, lang=lang))]


# ============================================================================================
# The list of case reports (for reports/cases/index.html)
# ============================================================================================
def case_reports(study, *, lang: str = "sv") -> list[dict]:
    """The case reports a study holds, with what an index page shows of each.

    One entry per case of :func:`mognad.views.cases.case_list`: ``notebook``, ``parameters``
    (for the notebook), ``title`` and ``description`` (plain text in the report language: escape
    them for HTML, e.g. with :func:`mognad.present.markup.escape_html`) and ``file``
    (``<report name>.html``, :func:`mognad.views.cases.report_name`).
    """
    from mognad.io.store import open_study
    from mognad.views.cases import case_list, report_name

    study = open_study(study)
    names = study.organisation_names
    out = []
    for case in case_list(study):
        nb, params = case["notebook"], case["parameters"]
        ids = params.get("org_ids") or [params["org_id"]]
        who = [names.get(i, i) for i in ids]
        fields = {"names": join_names(who, lang)} if nb == "governance_case" \
            else {"name": who[0]}
        out.append({"notebook": nb, "parameters": params,
                    "title": text(f"cases.index.{nb}", lang, **fields),
                    "description": text(f"cases.index.{nb}_text", lang),
                    "file": report_name(nb, study, parameters=params, lang=lang) + ".html"})
    return out


def case_index_page(entries: Sequence[Mapping], *, lang: str = "sv", synthetic: bool = False,
                    created: str = "", version: str = "") -> str:
    """``reports/cases/index.html``: every case report with its title, contents, status and
    links (the one table renderer: titles escaped; failures as a short reason only).

    Parameters
    ----------
    entries : sequence of mapping
        :func:`case_reports` entries with ``status`` (``ok``/``failed``), ``files``
        (``{"html": …, "pdf": …}``) and for failures ``error`` (never shown; a fixed reason).

    Examples
    --------
    >>> page = case_index_page([{"title": "Transformation: <b>X</b>", "description": "D",
    ...                          "status": "ok", "files": {"html": "t x.html"}}], synthetic=True)
    >>> "&lt;b&gt;X" in page, "<b>X" in page, 'href="t%20x.html"' in page, "SYNTETISKA" in page
    (True, False, True, True)
    """
    from mognad.present.markup import banner_html, escape_html
    from mognad.present.survey import _INDEX_PAGE_CSS, failure_reason

    lang = fmt.check_lang(lang)
    rows = []
    for e in entries:
        ok = e.get("status") == "ok"
        files = e.get("files") or {}
        rows.append({"case": e.get("title", ""), "about": e.get("description", ""),
                     "status": text(f"index.status_{e.get('status', 'failed')}", lang),
                     "links": [(k.upper(), files[k]) for k in ("html", "pdf") if ok and files.get(k)],
                     "reason": failure_reason(e, lang), "failed": not ok})
    frame = pd.DataFrame(rows, columns=["case", "about", "status", "links", "reason", "failed"])
    body = table(frame, [Col("case", "cases.index.col_case"), Col("about", "cases.index.col_about"),
                         Col("status", "index.col_status"), Col("links", "index.col_reports", "links"),
                         Col("reason", "index.col_reason")],
                 lang=lang, highlight=frame["failed"].tolist())
    title = text("cases.index.title", lang)
    meta = " · ".join(escape_html(x) for x in (created, f"mognad {version}" if version else "")
                      if x)
    return ("<!DOCTYPE html>\n"
            f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape_html(title)}</title>\n"
            f"<style>{REPORT_CSS}{_INDEX_PAGE_CSS}</style>\n</head>\n<body>\n"
            + (banner_html(lang) if synthetic else "")
            + f'<h1 class="mognad-title">{escape_html(title)}</h1>\n'
            f"<p>{escape_html(text('cases.index.intro', lang))}</p>\n{body}\n"
            + (f'<p class="mognad-meta">{meta}</p>\n' if meta else "")
            + "</body>\n</html>\n")

