"""Texts and tables of the survey reports: the organisation report, the national status, the
longitudinal study and the index of a batch round.

The analyses (:mod:`mognad.benchmark`, :mod:`mognad.longitudinal`, :mod:`mognad.psychometrics`)
and the assembler :func:`mognad.views.organisation.organisation_profile` return numbers and
codes; this module turns them into report sections: catalogue texts (``org.*``,
``national.*``, ``long.*``, ``index.*`` in ``present/locale``), numbers through
:mod:`mognad.present.numbers`, tables through :func:`mognad.present.tables.table`, figures
from :mod:`mognad.present.plots`, blocks from :mod:`mognad.present.page`. Every data-derived
string (organisation, unit, role and event names) is escaped on the way.

Uncertainty is put into words: a difference or a change is *clear* when its 95 % interval
excludes 0 (:func:`verdict`), otherwise *within the margin of error*; the reports say which.

The column names of the analysis results are read through :data:`COLUMN_ALIASES` only: when an
analysis renames a column, add the new name there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mognad.present import numbers as fmt
from mognad.present import page, plots
from mognad.present.catalogue import has, text, value_label
from mognad.present.markup import Safe, escape_html
from mognad.present.numbers import check_lang
from mognad.present.tables import Col, table

#: The one place where analysis column names meet the presentation: each name this module uses
#: and the other names an analysis result may carry for it (older or newer vocabularies). A
#: frame is read through :func:`standard_columns`, which renames an alias when the name itself
#: is absent.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "score_from": ("from_pct",),
    "score_before": ("mean_before",),
    "score_after": ("mean_after",),
    "score_to": ("to_pct",),
    "change": ("change_pp",),
    "ci_low": ("change_ci_low",),
    "ci_high": ("change_ci_high",),
    "n_respondents": ("n",),
    "net_ci_low": ("net_change_ci_low",),
    "net_ci_high": ("net_change_ci_high",),
}

_LEVEL_ORDER = {"total": 0, "dimension": 1, "category": 2, "item": 3}


def standard_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* with analysis column aliases renamed to this module's names (see
    :data:`COLUMN_ALIASES`); a name already present is never overwritten.

    Examples
    --------
    >>> standard_columns(pd.DataFrame({"from_pct": [1.0], "change_pp": [2.0]})).columns.tolist()
    ['score_from', 'change']
    """
    renames = {}
    for name, aliases in COLUMN_ALIASES.items():
        if name in frame.columns:
            continue
        for alias in aliases:
            if alias in frame.columns and alias not in renames:
                renames[alias] = name
                break
    return frame.rename(columns=renames) if renames else frame


# ============================================================================== shared pieces
def area_label(level: str, name: str, lang: str = "sv", *, codebook=None) -> str:
    """The name of a score: "Total mognad", a dimension's or a category's name, an item's id.

    Examples
    --------
    >>> area_label("total", "total"), area_label("category", "forvaltning", "en")
    ('Total mognad', 'Management of systems')
    >>> area_label("category", "<unknown>")
    '<unknown>'
    """
    if level == "total":
        return text("label.total", lang)
    from mognad.codebook import load_codebook

    try:
        return load_codebook(codebook).label(level, name, lang)
    except (KeyError, ValueError):
        return str(name)


def verdict(low, high) -> str | None:
    """Whether an interval of a difference excludes 0: ``"above"``, ``"below"`` or ``"noise"``
    (``None`` when a bound is missing).

    Examples
    --------
    >>> verdict(0.4, 5.0), verdict(-6.0, -0.1), verdict(-2.0, 3.0), verdict(None, 1.0)
    ('above', 'below', 'noise', None)
    """
    if fmt.is_missing(low) or fmt.is_missing(high):
        return None
    if float(low) > 0:
        return "above"
    if float(high) < 0:
        return "below"
    return "noise"


def join(items: Iterable, lang: str = "sv") -> str:
    """Items joined for a sentence: ``"A, B och C"`` / ``"A, B and C"``.

    Examples
    --------
    >>> join(["Innovation"]), join(["A", "B", "C"]), join(["A", "B"], "en")
    ('Innovation', 'A, B och C', 'A and B')
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {text('common.and', lang)} " + items[-1]


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def peer_label(peer: str | None, group, lang: str = "sv") -> str:
    """A peer group in words: "kommungruppen Större stad", "kommuner", "riket".

    Parameters
    ----------
    peer : str or None
        The grouping (``org_type``, ``kommungrupp``, ``county_code``, ``size_class``;
        ``None``/``"national"`` for all organisations).
    group : str
        The group (after merging small groups upward): ``B3``, ``B``, ``kommun``, ``riket`` …

    Examples
    --------
    >>> peer_label("kommungrupp", "B3"), peer_label("kommungrupp", "B")
    ('kommungruppen Större stad', 'Större städer och kommuner nära större stad')
    >>> peer_label("kommungrupp", "kommun"), peer_label("org_type", "region", "en")
    ('alla kommuner', 'regions')
    >>> peer_label(None, "riket"), peer_label("org_type", "riket")
    ('riket', 'riket')
    """
    group = "" if fmt.is_missing(group) else str(group)
    if peer in (None, "national") or group == "riket":
        return text("org.peers.national", lang)
    if peer == "kommungrupp":
        if group == "kommun":
            return text("org.peers.kommungrupp_top", lang)
        if len(group) == 1:
            return text("org.peers.kommungrupp_main", lang,
                        name=value_label("kommungrupp_main", group, lang))
        return text("org.peers.kommungrupp", lang, name=value_label("kommungrupp", group, lang))
    if peer == "org_type" and has(f"org.peers.org_type.{group}", lang):
        return text(f"org.peers.org_type.{group}", lang)
    if peer == "size_class" and has(f"org.peers.size_class.{group}", lang):
        return text(f"org.peers.size_class.{group}", lang)
    if peer == "county_code":
        return text("org.peers.county_code", lang, code=group)
    return text("org.peers.other", lang, code=group)


def _type_short_name(name: str | None, code: str) -> str:
    head, sep, rest = str(name or "").partition(": ")
    return rest if sep and code in head else str(name or "")


def type_text(type_info: Mapping, lang: str = "sv") -> Safe:
    """The type in words with its probability: "sannolikt typ B (82 %)", the runner-up named
    when the placement is not clear.

    Parameters
    ----------
    type_info : mapping
        ``code``, ``probability`` (0-1), ``probabilities`` (code -> 0-1) and ``name`` (the
        codebook's name of the type), as in ``OrganisationProfile.type``.

    Examples
    --------
    >>> t = {"code": "B", "probability": 0.82, "probabilities": {"A": 0.1, "B": 0.82, "D": 0.08},
    ...      "name": "Typ B: Hög förmåga, begränsande arv"}
    >>> type_text(t)
    'Organisationen är <strong>sannolikt typ B</strong> (82\\xa0%): Hög förmåga, begränsande arv.'
    >>> type_text(dict(t, probability=0.55, probabilities={"B": 0.55, "D": 0.45},
    ...                name="Type B: High capability, limiting legacy"), "en")
    'The organisation is <strong>likely type B</strong> (55%), but close to the border with type D (45%): High capability, limiting legacy.'
    """
    code = type_info.get("code")
    if not code:
        return page.inline("org.type_none", lang)
    p = type_info.get("probability")
    others = sorted(((v, c) for c, v in (type_info.get("probabilities") or {}).items()
                     if c != code and not fmt.is_missing(v)), reverse=True)
    other, p_other = (others[0][1], others[0][0]) if others else (None, None)
    name = _type_short_name(type_info.get("name"), code)
    fields = {"code": code, "p": fmt.share(p, lang=lang), "name": name}
    if fmt.is_missing(p) or p >= 0.8 or other is None:
        return page.inline("org.type_clear", lang, **fields)
    fields |= {"other": other, "p_other": fmt.share(p_other, lang=lang)}
    key = "org.type_likely" if p >= 0.5 else "org.type_uncertain"
    return page.inline(key, lang, **fields)


def _areas(frame: pd.DataFrame, lang: str, codebook) -> list[str]:
    return [area_label(lv, nm, lang, codebook=codebook)
            for lv, nm in zip(frame["level"], frame["name"], strict=True)]


def _in_codebook_order(frame: pd.DataFrame, codebook) -> pd.DataFrame:
    from mognad.codebook import load_codebook

    cb = load_codebook(codebook)
    order = {("total", "total"): 0}
    order |= {("dimension", d): 1 + i for i, d in enumerate(cb.dimensions["dimension"])}
    order |= {("category", c): 10 + i for i, c in enumerate(cb.categories["category"])}
    order |= {("item", q): 100 + i for i, q in enumerate(cb.item_ids)}
    keys = [order.get((lv, nm), 1000) for lv, nm in zip(frame["level"], frame["name"],
                                                           strict=True)]
    return frame.assign(_order=keys).sort_values("_order", kind="stable").drop(
        columns="_order").reset_index(drop=True)


def _verdict_sentences(frame: pd.DataFrame, low: str, high: str, keys: Mapping[str, str],
                       lang: str, codebook, **fields) -> list[Safe]:
    """Sentences naming the areas whose interval lies above 0, below 0, or includes 0."""
    v = [verdict(lo, hi) for lo, hi in zip(frame[low], frame[high], strict=True)]
    names = _areas(frame, lang, codebook)
    groups = {k: [n for n, x in zip(names, v, strict=True) if x == k]
              for k in ("above", "below", "noise")}
    out = []
    if not groups["above"] and not groups["below"]:
        if groups["noise"]:
            out.append(page.inline(keys["none"], lang, **fields))
        return out
    for k in ("above", "below", "noise"):
        if groups[k]:
            out.append(page.inline(keys[k], lang, areas=join(groups[k], lang), **fields))
    return out


def _verdict_words(low, high, lang: str, *, change: bool = False) -> str:
    v = verdict(low, high)
    if v is None:
        return fmt.MISSING
    if v == "noise":
        return text("org.verdict_noise", lang)
    if change:
        return text("org.verdict_up" if v == "above" else "org.verdict_down", lang)
    return text("org.verdict_above" if v == "above" else "org.verdict_below", lang)


def group_table(groups: pd.DataFrame, *, group: str = "unit", lang: str = "sv",
                k_min: int = 5):
    """Shown units (or roles) with respondents and score; a sentence when none can be shown.

    Hidden groups (``suppressed``) are left out entirely, not even their names are shown.

    Examples
    --------
    >>> t = pd.DataFrame({"unit": ["<b>IT</b>", "HR"], "n_respondents": [12, None],
    ...                   "score_pct": [55.0, None], "ci_low": [48.0, None],
    ...                   "ci_high": [62.0, None], "suppressed": [False, True]})
    >>> html = str(group_table(t, group="unit"))
    >>> "&lt;b&gt;IT&lt;/b&gt;" in html, "HR" in html, "55\\xa0% (48–62)" in html
    (True, False, True)
    >>> str(group_table(t.iloc[1:], group="unit"))
    '<p class="mognad-empty">Inga enheter med minst 5 svarande att visa.</p>'
    """
    shown = groups[~groups["suppressed"].astype(bool)] if "suppressed" in groups else groups
    empty = text("org.no_units" if group == "unit" else "org.no_roles", lang, k=k_min)
    return table(shown, [Col(group, f"col.{group}"),
                         Col("n_respondents", "col.respondents", "int"),
                         Col(("score_pct", "ci_low", "ci_high"), "org.col_score_ci", "pct_ci")],
                 lang=lang, empty=empty)


# ============================================================================== organisation
def org_head(profile, lang: str = "sv") -> page.ReportHead:
    """Title block of the organisation report (with the running header for the printer)."""
    return page.report_head(profile.synthetic, title="org.title",
                            running_header="org.running_header", lang=lang,
                            round=profile.round, name=profile.org["name"])


def _primary(profile) -> pd.DataFrame:
    comp = profile.comparison
    return _in_codebook_order(comp[comp["level"].isin(["total", "dimension", "category"])],
                              profile.codebook)


def _peer_of(profile, lang: str) -> tuple[str, int]:
    comp = profile.comparison
    group = comp["peer_group"].dropna()
    n = int(comp["n_peers"].max()) if len(comp) and comp["n_peers"].notna().any() else 0
    return (peer_label(profile.peer_group, group.iloc[0], lang) if len(group) else ""), n


def org_summary(profile, lang: str = "sv", codebook=None) -> page.Block:
    """The summary: overall score with its interval explained, type in words, the peer group
    with the percentile rank, and which differences against it are clear."""
    t = profile.total
    rate = ("" if profile.response_rate is None else
            text("org.lead_rate", lang, rate=fmt.share(profile.response_rate, lang=lang)))
    parts = [page.heading(2, "org.summary", lang),
             page.paragraph("org.lead", lang, score=fmt.pct(t["score_pct"], lang=lang),
                            low=fmt.pct(t["ci_low"], lang=lang),
                            high=fmt.pct(t["ci_high"], lang=lang),
                            n=fmt.integer(t["n_respondents"], lang), rate=rate),
             Safe(f"<p>{type_text(profile.type, lang)}</p>")]
    parts += _peer_sentences(profile, lang, codebook)
    weak = _weakest_flag(profile, lang, codebook)
    if weak:
        parts.append(Safe(f"<p>{weak}</p>"))
    return page.section(*parts)


def _peer_sentences(profile, lang: str, codebook) -> list[Safe]:
    comp = _primary(profile)
    peer = peer_label(profile.peer_group, comp["peer_group"].dropna().iloc[0], lang) \
        if comp["peer_group"].notna().any() else None
    if peer is None or not comp["peer_mean"].notna().any():
        return [page.paragraph("org.no_peers", lang, k=5)]
    n = int(comp["n_peers"].max())
    total = comp[comp["level"] == "total"]
    rank = total["percentile_rank"].iloc[0] if len(total) else np.nan
    if fmt.is_missing(rank):
        out = [page.paragraph("org.peer_lead_no_rank", lang, peer=peer, n=n)]
    else:
        out = [page.paragraph("org.peer_lead", lang, peer=peer, n=n,
                              rank=fmt.integer(rank, lang))]
    sentences = _verdict_sentences(
        comp, "diff_ci_low", "diff_ci_high",
        {"above": "org.clear_above", "below": "org.clear_below", "noise": "org.within_noise",
         "none": "org.none_clear"}, lang, codebook)
    if sentences:
        out.append(page.bullet_list(sentences))
    return out


def _weakest_flag(profile, lang: str, codebook) -> Safe | None:
    weak = profile.weakest
    if not len(weak) or weak.get("basis", pd.Series(["peers"])).iloc[0] != "peers":
        return None
    above = weak[weak["difference"] > 0]
    if len(above) == len(weak):
        return page.inline("org.weakest_above", lang)
    if len(above):
        names = [area_label("category", n, lang, codebook=codebook) for n in above["name"]]
        return page.inline("org.weakest_some_above", lang, areas=join(names, lang))
    return None


def org_type(profile, lang: str = "sv") -> page.Block:
    """The type with its probability, description and the codebook's recommendations."""
    ty = profile.type
    parts = [page.heading(2, "org.type", lang)]
    if ty.get("code"):
        parts.append(Safe(f"<p><strong>{escape_html(ty.get('name') or ty['code'])}.</strong> "
                          f"{escape_html(ty.get('description') or '')}</p>"))
    else:
        parts.append(Safe(f"<p>{type_text(ty, lang)}</p>"))
    if ty.get("recommendations"):
        parts.append(page.bullet_list(ty["recommendations"]))
    notes = [page.inline("org.type_probability_note", lang,
                         n_boot=fmt.integer(getattr(profile, "n_boot", 1000), lang))]
    if ty.get("provisional"):
        notes.append(Safe(escape_html(text("common.provisional", lang))))
    parts.append(Safe(f'<p class="mognad-note">{" ".join(notes)}</p>'))
    return page.section(*parts)


def org_categories(profile, lang: str = "sv", codebook=None) -> page.Block:
    """Categories against the main peer group: figure, table (score, peer mean, difference with
    interval, percentile rank, assessment in words)."""
    comp = _primary(profile)
    peer, n = _peer_of(profile, lang)
    intro = (page.paragraph("org.categories_text", lang, peer=peer, n=n) if peer
             else page.paragraph("org.no_peers", lang, k=5))
    fig = plots.category_profile(comp, codebook=codebook, lang=lang)
    rows = comp.assign(area=_areas(comp, lang, codebook),
                       verdict=[_verdict_words(lo, hi, lang) for lo, hi in
                                zip(comp["diff_ci_low"], comp["diff_ci_high"], strict=True)])
    tbl = table(rows, [
        Col("area", "org.col_area"),
        Col(("score_pct", "ci_low", "ci_high"), "org.col_score_ci", "pct_ci"),
        Col("peer_mean", "org.col_peer_mean", "pct"),
        Col(("difference", "diff_ci_low", "diff_ci_high"), "org.col_difference_ci", "pp_ci"),
        Col("percentile_rank", "org.col_percentile", "int"),
        Col("verdict", "org.col_verdict"),
    ], lang=lang, note="org.categories_note", highlight=(rows["level"] == "total").tolist())
    return page.section(page.section(page.heading(2, "org.categories", lang), intro,
                                     page.figure_html(fig, width="80%")), tbl, keep=False)


def org_peer_groups(profile, lang: str = "sv", codebook=None) -> page.Block:
    """The organisation against several peer groups side by side: the total per group (peer
    mean, difference, percentile rank) and the categories' peer means per group."""
    pg = profile.peer_groups
    parts = [page.heading(3, "org.peer_groups", lang),
             page.paragraph("org.peer_groups_text", lang, k=5)]
    if pg is None or not len(pg):
        return page.section(*parts, page.paragraph("org.no_peers", lang, k=5))
    groups = (pg[["peer", "peer_group", "peer_order"]].drop_duplicates("peer_order")
              .sort_values("peer_order"))
    labels = {int(o): _capital(peer_label(p, g, lang)) for p, g, o in
              zip(groups["peer"], groups["peer_group"], groups["peer_order"], strict=True)}
    total = pg[pg["level"] == "total"].sort_values("peer_order").copy()
    total["label"] = [labels[int(o)] for o in total["peer_order"]]
    total["verdict"] = [_verdict_words(lo, hi, lang) for lo, hi in
                        zip(total["diff_ci_low"], total["diff_ci_high"], strict=True)]
    first = table(total, [
        Col("label", "org.col_peer_group"),
        Col("n_peers", "org.col_n_orgs", "int"),
        Col("peer_mean", "org.col_group_mean", "pct"),
        Col(("difference", "diff_ci_low", "diff_ci_high"), "org.col_difference_ci", "pp_ci"),
        Col("percentile_rank", "org.col_percentile", "int"),
        Col("verdict", "org.col_verdict"),
    ], lang=lang)
    cats = pg[pg["level"].isin(["dimension", "category"])]
    wide = cats.pivot_table(index=["level", "name"], columns="peer_order", values="peer_mean",
                            aggfunc="first").reset_index()
    own = cats.drop_duplicates(["level", "name"]).set_index(["level", "name"])["score_pct"]
    wide["score_pct"] = [own.get((lv, nm)) for lv, nm in zip(wide["level"], wide["name"],
                                                             strict=True)]
    wide = _in_codebook_order(wide, codebook)
    wide["area"] = _areas(wide, lang, codebook)
    cols = [Col("area", "org.col_area"), Col("score_pct", "col.score", "pct")]
    cols += [Col(o, labels[int(o)], "pct") for o in sorted(labels) if o in wide.columns]
    second = table(wide, cols, lang=lang, note="org.peer_groups_note")
    return page.section(page.section(*parts, first), second, keep=False)


def org_map(profile, lang: str = "sv", codebook=None) -> page.Block:
    """The 2 x 2 map with the organisation (named), its peers and its earlier rounds."""
    name = str(profile.org["name"])
    fig = plots.quadrant_map(profile.types, org_id=profile.org["org_id"],
                             history=profile.history, peers=profile.peer_mask,
                             codebook=codebook, lang=lang, own_label=name)
    return page.section(page.heading(2, "org.map", lang),
                        page.paragraph("org.map_text", lang, round=profile.round, name=name),
                        page.figure_html(fig, width="70%"))


def org_weakest(profile, lang: str = "sv", codebook=None) -> page.Block:
    """The three weakest categories relative to peers, flagged when they are still above."""
    weak = profile.weakest.copy()
    by_peers = len(weak) and weak.get("basis", pd.Series(["peers"])).iloc[0] == "peers"
    weak["area"] = [area_label("category", n, lang, codebook=codebook) for n in weak["name"]]
    weak["verdict"] = [_verdict_words(lo, hi, lang) for lo, hi in
                       zip(weak["diff_ci_low"], weak["diff_ci_high"], strict=True)]
    parts = [page.heading(2, "org.weakest", lang),
             page.paragraph("org.weakest_text" if by_peers else "org.weakest_own", lang),
             table(weak, [
                 Col("rank", "org.col_rank", "int"), Col("area", "org.col_area"),
                 Col(("score_pct", "ci_low", "ci_high"), "org.col_score_ci", "pct_ci"),
                 Col("peer_mean", "org.col_peer_mean", "pct"),
                 Col(("difference", "diff_ci_low", "diff_ci_high"), "org.col_difference_ci",
                     "pp_ci"),
                 Col("verdict", "org.col_verdict"),
             ], lang=lang)]
    flag = _weakest_flag(profile, lang, codebook)
    if flag:
        parts.append(Safe(f"<p>{flag}</p>"))
    return page.section(*parts)


def org_change(profile, lang: str = "sv", codebook=None) -> page.Block:
    """Change since the previous round with intervals, and which changes are clear."""
    if profile.previous_round is None:
        return page.section(Safe(f"<h2>{escape_html(text('label.change', lang))}</h2>"),
                            page.paragraph("org.no_change", lang))
    ch = _in_codebook_order(standard_columns(profile.change), codebook)
    ch = ch.assign(area=_areas(ch, lang, codebook),
                   verdict=[_verdict_words(lo, hi, lang, change=True) for lo, hi in
                            zip(ch["ci_low"], ch["ci_high"], strict=True)])
    prev, cur = profile.previous_round, profile.round
    tbl = table(ch, [
        Col("area", "org.col_area"),
        Col("score_from", fmt.year(prev, lang), "pct"),
        Col("score_to", fmt.year(cur, lang), "pct"),
        Col(("change", "ci_low", "ci_high"), "org.col_change_ci", "pp_ci"),
        Col("verdict", "org.col_change_verdict"),
    ], lang=lang, highlight=(ch["level"] == "total").tolist())
    sentences = _verdict_sentences(
        ch, "ci_low", "ci_high",
        {"above": "org.change_up", "below": "org.change_down", "noise": "org.change_noise",
         "none": "org.change_none_clear"}, lang, codebook, previous=prev)
    return page.section(
        page.section(page.heading(2, "org.change", lang, previous=prev),
                     page.paragraph("org.change_text", lang, previous=prev, round=cur), tbl),
        page.bullet_list(sentences), keep=False)


def _indented_units(units: pd.DataFrame) -> pd.DataFrame:
    """Units with ``unit`` shown as a tree: a sub-unit by its own name, indented by depth."""
    if "depth" not in units or not len(units):
        return units
    out = units.copy()
    out["unit"] = ["\u2003" * (int(d) - 1) + (str(u).rsplit("/", 1)[-1] if int(d) > 1 else str(u))
                   for u, d in zip(units["unit"], units["depth"], strict=True)]
    return out


def org_internal(profile, lang: str = "sv") -> page.Block:
    """Units (at every depth, each with everyone in its subtree) and roles, as the
    organisation-round's publication plan allows; hidden groups are only counted, never named.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> units = pd.DataFrame({"unit": ["<b>IT</b>", "<b>IT</b>/Drift"], "depth": [1, 2],
    ...                       "n_respondents": [12, 7], "score_pct": [55.0, 50.0],
    ...                       "ci_low": [48.0, 40.0], "ci_high": [62.0, 60.0]})
    >>> roles = units.iloc[:0].rename(columns={"unit": "role"})
    >>> p = SimpleNamespace(units=units, roles=roles, n_hidden_units=2, n_hidden_roles=0,
    ...                     k_min=5, total={"score_pct": 53.0})
    >>> html = str(org_internal(p))
    >>> "&lt;b&gt;IT&lt;/b&gt;" in html, "<b>IT" in html, "Drift" in html, "2 enheter" in html
    (True, False, True, True)
    >>> "Inga roller med minst 5 svarande att visa." in html
    True
    """
    import matplotlib.pyplot as plt

    units = _indented_units(profile.units)
    unit_parts = [page.heading(3, "org.units", lang)]
    if len(units) and units["score_pct"].notna().any():
        fig = plots.group_comparison(units, group="unit", lang=lang,
                                     reference=profile.total["score_pct"],
                                     reference_label=text("org.overall", lang))
        unit_parts.append(page.figure_html(fig))
        plt.close(fig)
    unit_parts.append(group_table(units, group="unit", lang=lang, k_min=profile.k_min))
    if profile.n_hidden_units:
        unit_parts.append(page.paragraph("org.hidden_units", lang, k=profile.k_min,
                                         n=fmt.integer(profile.n_hidden_units, lang)))
    role_parts = [page.heading(3, "org.roles", lang),
                  group_table(profile.roles, group="role", lang=lang, k_min=profile.k_min)]
    if profile.n_hidden_roles:
        role_parts.append(page.paragraph("org.hidden_roles", lang, k=profile.k_min,
                                         n=fmt.integer(profile.n_hidden_roles, lang)))
    return page.section(page.section(page.heading(2, "org.internal", lang), *unit_parts),
                        page.section(*role_parts), keep=False)


def org_quality(profile, lang: str = "sv") -> page.Block:
    """The data-quality findings (codes of the profile) as a list."""
    items = []
    for f in profile.quality:
        code = f["code"]
        fields = {}
        if code == "few":
            fields = {"n": fmt.integer(f["n"], lang)}
        elif code == "dont_know":
            fields = {"share": fmt.share(f["share"], 1, lang)}
        elif code == "dont_know_items":
            fields = {"items": join(f["items"], lang)}
        elif code == "low_rate":
            fields = {"rate": fmt.share(f["rate"], lang=lang)}
        elif code == "units_hidden":
            fields = {"n": fmt.integer(f["n"], lang), "k": fmt.integer(f["k"], lang)}
        items.append(page.inline(f"org.quality_{code}", lang, **fields))
    return page.section(page.heading(2, "org.quality", lang), page.bullet_list(items))


def org_about(profile, lang: str = "sv") -> page.Block:
    """Provenance: data fingerprint, codebook, parameters, version."""
    prov = profile.provenance
    params = ", ".join(f"{k}={v}" for k, v in prov.get("parameters", {}).items())
    parts = [page.heading(2, "org.about", lang),
             Safe('<p class="mognad-note">' + page.inline(
                 "org.about_text", lang, fingerprint=str(prov.get("data_fingerprint", ""))[:16],
                 codebook=prov.get("codebook", ""), parameters=params,
                 version=prov.get("mognad_version", "")) + "</p>")]
    if prov.get("synthetic"):
        parts.append(page.paragraph("org.about_synthetic", lang))
    return page.section(*parts)


def org_items(profile, lang: str = "sv", codebook=None) -> page.Block:
    """Appendix (on a new page): the statements against the main peer group, one table per
    category."""
    from mognad.codebook import load_codebook

    cb = load_codebook(codebook)
    items = _in_codebook_order(profile.items[profile.items["level"] == "item"], cb)
    by_item = cb.items.set_index("item_id")
    known = items["name"].isin(by_item.index)
    items = items[known].assign(
        item=[by_item.loc[q, f"text_{lang}"] for q in items.loc[known, "name"]],
        category=[by_item.loc[q, "category"] for q in items.loc[known, "name"]],
        number=[str(q).lstrip("q") for q in items.loc[known, "name"]])
    peer, _ = _peer_of(profile, lang)
    tables = [table(g, [
        Col("number", "org.col_rank"), Col("item", "org.col_item"),
        Col("score_pct", "col.score", "pct"), Col("peer_mean", "org.col_peer_mean", "pct"),
        Col("difference", "col.difference", "pp"),
    ], lang=lang, caption=area_label("category", cat, lang, codebook=cb))
        for cat, g in items.groupby("category", sort=False)]
    return page.section(
        page.section(page.heading(2, "org.items", lang),
                     page.paragraph("org.items_text", lang, peer=peer or fmt.MISSING)),
        *tables, keep=False, new_page=True)


# ============================================================================== national status
def national_head(study, round: int, lang: str = "sv") -> page.ReportHead:
    """Title block of the national status report."""
    return page.report_head(study, title="national.title",
                            running_header="national.running_header", lang=lang, round=round)


def participation_table(participation: pd.DataFrame, lang: str = "sv"):
    """Organisations (respondents) per organisation type and round, with a total row.

    Parameters
    ----------
    participation : DataFrame
        :func:`mognad.longitudinal.participation` output (tidy: ``round``, ``org_type``,
        ``n_orgs``, ``n_respondents``).

    Examples
    --------
    >>> p = pd.DataFrame({"round": [2023, 2024, 2024], "org_type": ["kommun", "kommun", "region"],
    ...                   "n_orgs": [1, 2, 1], "n_respondents": [10, 1200, 8]})
    >>> html = str(participation_table(p))
    >>> "2\\xa0(1\\xa0200)" in html, "Totalt" in html, ">–<" in html
    (True, True, True)
    """
    p = standard_columns(participation)
    rounds = sorted(int(r) for r in p["round"].unique())
    types = sorted(p["org_type"].astype(str).unique(), key=lambda t: (t == "okänd", t))
    rows = []
    for t in types + ["__total__"]:
        sel = p if t == "__total__" else p[p["org_type"].astype(str) == t]
        row = {"org_type": text("national.total_row", lang) if t == "__total__" else (
            text("national.unknown_type", lang) if t == "okänd" else value_label("org_type", t,
                                                                                  lang))}
        for r in rounds:
            s = sel[sel["round"] == r]
            row[str(r)] = (fmt.MISSING if s.empty else
                           f"{fmt.integer(s['n_orgs'].sum(), lang)}{fmt.NBSP}"
                           f"({fmt.integer(s['n_respondents'].sum(), lang)})")
        rows.append(row)
    frame = pd.DataFrame(rows)
    cols = [Col("org_type", "national.col_org_type")]
    cols += [Col(str(r), fmt.year(r, lang), "formatted") for r in rounds]
    return table(frame, cols, lang=lang, highlight=[False] * len(types) + [True])


def quadrant_table(shares: pd.DataFrame, lang: str = "sv", codebook=None):
    """Organisations per type A-D: number, share and the mean certainty of the placement."""
    from mognad.codebook import load_codebook

    cb = load_codebook(codebook)
    rows = shares.assign(type_name=[
        _type_short_name(cb.types[c].name.get(lang, c), c) if c in cb.types else c
        for c in shares["type"]])
    return table(rows, [
        Col("type", "national.col_type"), Col("type_name", "national.col_type_name"),
        Col("n_orgs", "national.col_n_orgs", "int"), Col("share", "national.col_share", "share"),
        Col("mean_probability", "national.col_mean_probability", "share"),
    ], lang=lang)


def national_profile_table(profile: pd.DataFrame, lang: str = "sv", codebook=None):
    """The national mean per area (:func:`mognad.longitudinal.national_category_profile`)."""
    rows = _in_codebook_order(profile, codebook)
    rows = rows.assign(area=_areas(rows, lang, codebook))
    return table(rows, [
        Col("area", "national.col_area"),
        Col(("score_pct", "ci_low", "ci_high"), "national.col_score_ci", "pct_ci"),
        Col("n_orgs", "national.col_n_orgs", "int"),
    ], lang=lang, highlight=(rows["level"] == "total").tolist())


def trend_table(trend: pd.DataFrame, lang: str = "sv"):
    """The national trend per round: model estimate (all participants) with interval, its
    change with interval, the balanced panel, the participants' plain mean, organisations."""
    t = standard_columns(trend)
    t = t[t["name"] == t["name"].iloc[0]]
    al = t[t["panel"] == "all"].set_index("round")
    ba = t[t["panel"] == "balanced"].set_index("round")
    rows = al.reset_index()
    for col in ("estimate", "ci_low", "ci_high"):
        rows[f"b_{col}"] = rows["round"].map(ba[col]) if len(ba) else np.nan
    ch_low = "change_ci_low" if "change_ci_low" in trend.columns else "ci_low"
    ch_high = "change_ci_high" if "change_ci_high" in trend.columns else "ci_high"
    rows["chg"] = rows["round"].map(trend[(trend["panel"] == "all") & (
        trend["name"] == trend["name"].iloc[0])].set_index("round")["change"])
    rows["chg_low"] = rows["round"].map(trend[(trend["panel"] == "all") & (
        trend["name"] == trend["name"].iloc[0])].set_index("round")[ch_low])
    rows["chg_high"] = rows["round"].map(trend[(trend["panel"] == "all") & (
        trend["name"] == trend["name"].iloc[0])].set_index("round")[ch_high])
    cols = [Col("round", "national.col_round", "year"),
            Col(("estimate", "ci_low", "ci_high"), "national.col_estimate_ci", "pct_ci", 1),
            Col(("chg", "chg_low", "chg_high"), "national.col_change_ci", "pp_ci")]
    if len(ba):
        cols.append(Col(("b_estimate", "b_ci_low", "b_ci_high"), "national.col_balanced_ci",
                        "pct_ci", 1))
    cols += [Col("participants_mean", "national.col_participants", "pct", 1),
             Col("n_orgs", "national.col_n_orgs", "int")]
    return table(rows, cols, lang=lang)


def describe_trend(trend: pd.DataFrame, lang: str = "sv") -> page.Block:
    """The trend in words: first to last round in both panels, which round-to-round changes are
    clear, and the rounds where composition drives the change."""
    t = trend[trend["name"] == trend["name"].iloc[0]]
    al = t[t["panel"] == "all"].sort_values("round")
    ba = t[t["panel"] == "balanced"].sort_values("round")
    parts = []
    if len(al) >= 2:
        first, last = al.iloc[0], al.iloc[-1]
        change_b = (fmt.pp(ba["estimate"].iloc[-1] - ba["estimate"].iloc[0], lang=lang,
                           long=True) if len(ba) >= 2 else fmt.MISSING)
        parts.append(page.paragraph(
            "national.trend_summary", lang, first=fmt.year(first["round"]),
            last=fmt.year(last["round"]), v_first=fmt.pct(first["estimate"], 1, lang),
            v_last=fmt.pct(last["estimate"], 1, lang),
            interval=fmt.interval(last["ci_low"], last["ci_high"], 1, lang),
            change=fmt.pp(last["estimate"] - first["estimate"], lang=lang, long=True),
            change_b=change_b, raw_first=fmt.pct(first["participants_mean"], 1, lang),
            raw_last=fmt.pct(last["participants_mean"], 1, lang)))
        ch_low = "change_ci_low" if "change_ci_low" in al.columns else None
        if ch_low:
            steps = al.dropna(subset=["change"])
            prev = dict(zip(al["round"].iloc[1:], al["round"].iloc[:-1], strict=True))
            clear, noise = [], []
            for r, c, lo, hi in zip(steps["round"], steps["change"], steps["change_ci_low"],
                                    steps["change_ci_high"], strict=True):
                label = (f"{fmt.year(prev.get(r, r))}–{fmt.year(r)} "
                         f"({fmt.pp(c, lang=lang)})")
                (noise if verdict(lo, hi) == "noise" else clear).append(label)
            items = []
            if clear:
                items.append(page.inline("national.trend_clear", lang, rounds=join(clear, lang)))
            else:
                items.append(page.inline("national.trend_none_clear", lang))
            if noise:
                items.append(page.inline("national.trend_noise", lang, rounds=join(noise, lang)))
            parts.append(page.bullet_list(items))
    flagged = t[t["composition_flag"].astype(bool)] if "composition_flag" in t else t.iloc[0:0]
    if len(flagged):
        rounds = join(sorted({fmt.year(r) for r in flagged["round"]}), lang)
        parts.append(page.paragraph("national.composition", lang, rounds=rounds))
    else:
        parts.append(page.paragraph("national.no_composition", lang))
    return page.section(*parts, keep=False)


def describe_target(trend: pd.DataFrame, path: pd.DataFrame, lang: str = "sv") -> page.Block:
    """The target path in words, and the national value against it in each of its rounds
    (clearly below/above the path when the interval excludes it)."""
    p = path.sort_values("round")
    fields = {"start": fmt.year(p["round"].iloc[0]), "end": fmt.year(p["round"].iloc[-1]),
              "start_value": fmt.pct(p["target"].iloc[0], lang=lang),
              "end_value": fmt.pct(p["target"].iloc[-1], lang=lang)}
    al = trend[(trend["panel"] == "all") & (trend["name"] == trend["name"].iloc[0])]
    lines = []
    for r, goal in zip(p["round"], p["target"], strict=True):
        row = al[al["round"] == int(r)]
        if row.empty:
            continue
        e = row.iloc[0]
        v = verdict(e["ci_low"] - goal, e["ci_high"] - goal)
        tail = {"above": "national.target_above", "below": "national.target_below",
                "noise": "national.target_within"}.get(v)
        lines.append(page.inline(
            "national.target_summary", lang, round=fmt.year(r),
            value=fmt.pct(e["estimate"], 1, lang),
            interval=fmt.interval(e["ci_low"], e["ci_high"], 1, lang),
            target=fmt.pct(goal, 1, lang), gap=fmt.pp(e["estimate"] - goal, lang=lang),
            verdict=text(tail, lang) if tail else ""))
    return page.section(page.heading(2, "national.target", lang, **fields),
                        page.paragraph("national.target_text", lang, **fields),
                        page.bullet_list(lines))


def describe_programme(effect: pd.DataFrame | None, lang: str = "sv") -> page.Block:
    """The programme effect in words with its interval, whether it is clear, and the pre-trend
    verdict."""
    head = page.heading(2, "national.programme", lang)
    if effect is None or len(effect) == 0:
        return page.section(head, page.paragraph("national.no_programme", lang))
    e = standard_columns(effect).iloc[0]
    parts = [head, page.paragraph(
        "national.programme_text", lang, n_par=fmt.integer(e["n_participants"], lang),
        n_com=fmt.integer(e["n_comparison"], lang), start=fmt.year(e["start_round"]),
        effect=fmt.pp(e["estimate"], lang=lang, long=True),
        interval=fmt.interval(e["ci_low"], e["ci_high"], 1, lang, unit="pp"))]
    v = verdict(e["ci_low"], e["ci_high"])
    if v is not None:
        parts.append(page.paragraph("national.programme_noise" if v == "noise"
                                    else "national.programme_clear", lang))
    if fmt.is_missing(e.get("pretrend_p")):
        parts.append(page.paragraph("national.pretrend_none", lang))
    elif bool(e.get("flag")):
        parts.append(page.paragraph("national.pretrend_flag", lang,
                                    p=fmt.p_value(e["pretrend_p"], lang),
                                    slope=fmt.pp(e["pretrend_slope"], lang=lang)))
    else:
        parts.append(page.paragraph("national.pretrend_ok", lang,
                                    p=fmt.number(e["pretrend_p"], 2, lang)))
    return page.section(*parts)


def movers_table(movers: pd.DataFrame, *, from_round: int, to_round: int, lang: str = "sv",
                 min_n: int = 5):
    """The largest rises and falls with intervals and whether each change is clear."""
    m = standard_columns(movers)
    if not len(m):
        return table(m, [Col("org_name", "national.col_organisation")], lang=lang,
                     empty=text("national.no_movers", lang, min_n=min_n))
    rows = m.assign(
        direction_label=[text(f"national.{d}", lang) for d in m["direction"]],
        verdict=[_verdict_words(lo, hi, lang, change=True)
                 for lo, hi in zip(m["ci_low"], m["ci_high"], strict=True)])
    return table(rows, [
        Col("direction_label", "national.col_direction"),
        Col("org_name", "national.col_organisation"),
        Col("org_type", "national.col_org_type", "label:org_type"),
        Col("score_from", fmt.year(from_round, lang), "pct"),
        Col("score_to", fmt.year(to_round, lang), "pct"),
        Col(("change", "ci_low", "ci_high"), "national.col_change_ci", "pp_ci"),
        Col("verdict", "org.col_change_verdict"),
    ], lang=lang)


def reliability_table(reliability: pd.DataFrame, lang: str = "sv", codebook=None):
    """Alpha with interval and omega (and omega h, when the analysis gives it) per scale
    (:func:`mognad.psychometrics.reliability_table`)."""
    rel = reliability.rename(columns={"group": "name"})
    rel = rel.assign(area=_areas(rel, lang, codebook),
                     level_label=[value_label("level", lv, lang) for lv in rel["level"]])
    n_col = "n_respondents" if "n_respondents" in rel.columns else "n"
    cols = [Col("area", "national.col_scale"), Col("level_label", "national.col_level"),
            Col("k", "national.col_items", "int"), Col(n_col, "national.col_respondents", "int"),
            Col(("alpha", "alpha_ci_low", "alpha_ci_high"), "national.col_alpha_ci",
                "number_ci", 2),
            Col("omega", "national.col_omega", "number", 2)]
    if "omega_h" in rel.columns:
        cols.append(Col("omega_h", "national.col_omega_h", "number", 2))
    return table(rel, cols, lang=lang)


# ============================================================================== longitudinal
def org_names(organisations: pd.DataFrame, org_ids: Sequence[str], lang: str = "sv") -> str:
    """The organisations' names joined for a title (plain text; escape it for HTML).

    Examples
    --------
    >>> orgs = pd.DataFrame({"org_id": ["R12", "9117"], "name": ["Region Västkust", "Kustvik"]})
    >>> org_names(orgs, ["R12", "9117"]), org_names(orgs, ["R12", "X"], "en")
    ('Region Västkust och Kustvik', 'Region Västkust and X')
    """
    names = dict(zip(organisations["org_id"].astype(str), organisations["name"], strict=True))
    return join([names.get(str(o), str(o)) for o in org_ids], lang)


def long_head(study, names: str, lang: str = "sv") -> page.ReportHead:
    """Title block of the longitudinal study."""
    return page.report_head(study, title="long.title", running_header="long.running_header",
                            lang=lang, names=names)


def _event_kind(kind: str, lang: str) -> str:
    key = f"long.kinds.{kind}"
    return text(key, lang) if has(key, lang) else text("long.kinds.other", lang)


def trajectory_tables(traj: pd.DataFrame, lang: str = "sv", codebook=None) -> page.Block:
    """Per organisation: one row per category, one column per round (score), and the number
    of respondents per round in the last row."""
    blocks = []
    for org, g in traj.groupby(traj["org_id"].astype(str), sort=False):
        g = _in_codebook_order(g, codebook)
        rounds = sorted(int(r) for r in g["round"].unique())
        wide = g.pivot_table(index=["level", "name"], columns="round", values="score_pct",
                             aggfunc="first").reset_index()
        wide = _in_codebook_order(wide, codebook)
        wide["area"] = _areas(wide, lang, codebook)
        counts = (g.groupby("round")["n_respondents"].max() if "n_respondents" in g
                  else pd.Series(dtype=float))
        name = str(g["org_name"].iloc[0]) if "org_name" in g else org
        blocks.append(_trajectory_table(wide, counts, rounds, name, lang))
    return page.section(*blocks, keep=False)


def _trajectory_table(wide: pd.DataFrame, counts: pd.Series, rounds: list[int], name: str,
                      lang: str):
    shown = wide.copy()
    for r in rounds:
        shown[r] = [fmt.pct(v, lang=lang) for v in wide[r]]
    n_row = {"area": text("long.respondents_row", lang),
             **{r: fmt.integer(counts.get(r), lang) for r in rounds}}
    shown = pd.concat([shown, pd.DataFrame([n_row])], ignore_index=True)
    cols = [Col("area", "long.col_area")] + [Col(r, fmt.year(r, lang), "formatted")
                                             for r in rounds]
    return table(shown, cols, lang=lang, caption="long.trajectories_table",
                 note="long.trajectories_note", org=name,
                 highlight=[False] * len(wide) + [True])


def event_tables(events: pd.DataFrame, names: Mapping[str, str] | None = None,
                 lang: str = "sv", codebook=None) -> page.Block:
    """One table per organisation and event: before, after, change, national change and the
    net change with its interval (in one cell, so the table fits a portrait page)."""
    names = dict(names or {})
    ev = standard_columns(events)
    if not len(ev):
        return page.section(page.paragraph("long.no_events", lang))
    blocks = []
    for (org, kind, date), g in ev.groupby(["org_id", "event_kind", "event_date"], sort=False):
        g = _in_codebook_order(g, codebook)
        g = g.assign(area=_areas(g, lang, codebook))
        blocks.append(table(g, [
            Col("area", "long.col_area"),
            Col("score_before", "long.col_before", "pct", 1),
            Col("score_after", "long.col_after", "pct", 1),
            Col("change", "long.col_change", "pp"),
            Col("national_change", "long.col_national", "pp"),
            Col(("net_change", "net_ci_low", "net_ci_high"), "long.col_net_ci", "pp_ci"),
        ], lang=lang, caption="long.event_caption", org=names.get(str(org), str(org)),
            kind=_event_kind(kind, lang), date=fmt.date(date)))
        blocks.append(page.bullet_list(_verdict_sentences(
            g, "net_ci_low", "net_ci_high",
            {"above": "long.event_clear", "below": "long.event_clear",
             "noise": "long.event_noise", "none": "long.event_none_clear"}, lang, codebook)))
    return page.section(*blocks, keep=False)


def describe_events(events: pd.DataFrame, names: Mapping[str, str] | None = None,
                    lang: str = "sv", codebook=None) -> page.Block:
    """For each organisation event: the largest net change with its interval."""
    names = dict(names or {})
    ev = standard_columns(events)
    if ev is None or not len(ev):
        return page.section(page.paragraph("long.no_events", lang))
    parts = []
    for (org, kind, date), g in ev.groupby(["org_id", "event_kind", "event_date"], sort=False):
        g = g.dropna(subset=["net_change"])
        if g.empty:
            continue
        top = g.loc[g["net_change"].abs().idxmax()]
        parts.append(page.paragraph(
            "long.event_summary", lang, org=names.get(str(org), str(org)),
            kind=_event_kind(kind, lang), date=fmt.date(date),
            top=area_label(top["level"], top["name"], lang, codebook=codebook),
            net=fmt.pp(top["net_change"], lang=lang, long=True),
            interval=fmt.interval(top["net_ci_low"], top["net_ci_high"], 1, lang, unit="pp")))
    return page.section(*(parts or [page.paragraph("long.no_events", lang)]), keep=False)


def decomposition_tables(decomposition: pd.DataFrame, names: Mapping[str, str] | None = None,
                         lang: str = "sv", codebook=None) -> page.Block:
    """Per organisation: the change of each area with its interval, its weight in the total and
    its contribution (the contributions of the categories add up to the total's change)."""
    names = dict(names or {})
    d = standard_columns(decomposition)
    blocks = []
    for org, g in d.groupby(d["org_id"].astype(str), sort=False):
        g = _in_codebook_order(g, codebook)
        g = g.assign(area=_areas(g, lang, codebook),
                     design_label=[text(f"long.design_{x}", lang)
                                   if has(f"long.design_{x}", lang) else str(x)
                                   for x in g.get("design", pd.Series([""] * len(g)))])
        blocks.append(table(g, [
            Col("area", "long.col_area"),
            Col(("change", "ci_low", "ci_high"), "long.col_change_ci", "pp_ci"),
            Col("weight", "long.col_weight", "number", 2),
            Col("contribution", "long.col_contribution", "pp", 2),
            Col("design_label", "long.col_design"),
        ], lang=lang, caption="long.decomposition_caption", org=names.get(org, org),
            from_round=fmt.year(g["from_round"].iloc[0]),
            to_round=fmt.year(g["to_round"].iloc[0]),
            highlight=(g["level"] == "total").tolist()))
    return page.section(*blocks, keep=False)


def describe_decomposition(decomposition: pd.DataFrame, names: Mapping[str, str] | None = None,
                           lang: str = "sv", codebook=None) -> page.Block:
    """For each organisation: the total change with its interval and the largest contribution."""
    names = dict(names or {})
    d = standard_columns(decomposition)
    parts = []
    for org, g in d.groupby(d["org_id"].astype(str), sort=False):
        tot = g[g["level"] == "total"].iloc[0]
        cats = g[g["level"] == "category"].dropna(subset=["contribution"])
        if cats.empty:
            continue
        top = cats.loc[cats["contribution"].abs().idxmax()]
        parts.append(page.paragraph(
            "long.decomposition_summary", lang, org=names.get(org, org),
            total=fmt.pp(tot["change"], lang=lang, long=True),
            interval=fmt.interval(tot["ci_low"], tot["ci_high"], 1, lang, unit="pp"),
            from_round=fmt.year(tot["from_round"]), to_round=fmt.year(tot["to_round"]),
            top=area_label("category", top["name"], lang, codebook=codebook),
            contribution=fmt.pp(top["contribution"], lang=lang, long=True)))
    return page.section(*parts, keep=False)


# ============================================================================== round index
_REASONS = {
    "MognadError": "data", "ValidationError": "data", "CodebookError": "data",
    "TimeoutError": "timeout", "CellTimeoutError": "timeout", "DeadKernelError": "timeout",
    "PDFError": "pdf", "KeyboardInterrupt": "interrupted",
}


def failure_reason(record: Mapping, lang: str = "sv") -> str:
    """A short reason for a report that did not finish, for people: a fixed catalogue text
    chosen from the error's class, never the exception text (that stays in ``manifest.json``).

    Examples
    --------
    >>> failure_reason({"status": "failed", "error": "MognadError: organisation 'X' has no answers"})
    'indata saknas eller är ogiltiga'
    >>> failure_reason({"status": "failed", "error": "OSError: [Errno 28] No space left"}, "en")
    'the disk is full'
    >>> failure_reason({"status": "interrupted"}), failure_reason({"status": "ok"})
    ('körningen avbröts', '')
    """
    status = record.get("status")
    if status in ("ok", "skipped", "pending"):
        return ""
    if status == "interrupted":
        return text("index.reason_interrupted", lang)
    error = str(record.get("ename") or record.get("error") or "")
    ename = error.split(":", 1)[0].strip()
    code = _REASONS.get(ename)
    if code is None and ("Errno 28" in error or "No space left" in error):
        code = "disk"
    return text(f"index.reason_{code or 'other'}", lang)


def index_frame(records: Sequence[Mapping], lang: str = "sv") -> pd.DataFrame:
    """One row per report of a batch (from its manifest records and their ``results``):
    ``organisation``, ``score_pct``, ``ci_low``, ``ci_high``, ``type`` (survey reports),
    ``n_systems``, ``annual_cost_sek``, ``legacy_index`` (DIOS reports), ``status``, ``links``,
    ``reason``, ``failed``."""
    rows = []
    for rec in records:
        res = rec.get("results") or {}
        total = res.get("total") or {}
        kind = res.get("type") or {}
        code, p = kind.get("code"), kind.get("probability")
        status = str(rec.get("status") or "")
        ok = status in ("ok", "skipped")
        files = rec.get("files") or rec.get("outputs") or {}
        links = [(label, files[k]) for k, label in
                 (("html", "HTML"), ("pdf", "PDF"), ("results", text("index.results", lang)))
                 if ok and files.get(k)]
        rows.append({
            "organisation": res.get("name") or rec.get("label") or rec.get("stem") or "",
            "score_pct": total.get("score_pct") if ok else None,
            "ci_low": total.get("ci_low") if ok else None,
            "ci_high": total.get("ci_high") if ok else None,
            "type": (text("index.type_cell", lang, code=code, p=fmt.share(p, lang=lang))
                     if ok and code and not fmt.is_missing(p) else (code if ok and code
                                                                    else fmt.MISSING)),
            "n_systems": res.get("n_systems") if ok else None,
            "annual_cost_sek": res.get("annual_cost_sek") if ok else None,
            "legacy_index": res.get("legacy_index") if ok else None,
            "status": (text(f"index.status_{status}", lang)
                       if has(f"index.status_{status}", lang) else status),
            "links": links,
            "reason": failure_reason(rec, lang),
            "failed": status in ("failed", "interrupted"),
        })
    return pd.DataFrame(rows, columns=["organisation", "score_pct", "ci_low", "ci_high", "type",
                                       "n_systems", "annual_cost_sek", "legacy_index",
                                       "status", "links", "reason", "failed"])


def index_table(records: Sequence[Mapping], lang: str = "sv"):
    """The index of a batch round as a report table (rows of :func:`index_frame`): the total
    score and type for survey reports, systems, annual cost and legacy index for DIOS reports
    (whichever the reports' results hold)."""
    frame = index_frame(records, lang)
    inventory = frame["n_systems"].notna().any() and not frame["score_pct"].notna().any()
    key_columns = ([Col("n_systems", "index.col_systems", "int"),
                    Col("annual_cost_sek", "index.col_annual_cost", "sek"),
                    Col("legacy_index", "index.col_legacy_index", "number", decimals=1)]
                   if inventory else
                   [Col(("score_pct", "ci_low", "ci_high"), "index.col_score_ci", "pct_ci"),
                    Col("type", "index.col_type", "formatted")])
    return table(frame, [
        Col("organisation", "index.col_organisation"),
        *key_columns,
        Col("status", "index.col_status"),
        Col("links", "index.col_reports", "links"),
        Col("reason", "index.col_reason"),
    ], lang=lang, empty=text("index.empty", lang), highlight=frame["failed"].tolist())


def index_body(records: Sequence[Mapping], *, lang: str = "sv", round: int | None = None,
               synthetic: bool | None = None) -> Safe:
    """The content of a round's ``index.html``: synthetic banner, title, summary, the table,
    and a pointer to the manifest when reports failed (HTML to put inside ``<body>``).

    Parameters
    ----------
    records : sequence of mapping
        The batch's manifest records (``stem``, ``label``, ``status``, ``files``, ``error``,
        ``results`` – the report's ``results.json``).
    round : int, optional
        The round in the title.
    synthetic : bool, optional
        Show the synthetic-data banner; default: when any report's results say so.

    Examples
    --------
    >>> recs = [{"label": "<script>x</script>", "status": "ok",
    ...          "files": {"html": "1 a.html", "pdf": "1 a.pdf"},
    ...          "results": {"name": "<script>x</script>", "synthetic": True,
    ...                      "total": {"score_pct": 51.2, "ci_low": 44.1, "ci_high": 58.0},
    ...                      "type": {"code": "B", "probability": 0.82}}},
    ...         {"label": "Y", "status": "failed", "error": "KeyError: 'secret'"}]
    >>> html = index_body(recs, round=2024)
    >>> "<script>" in html, "&lt;script&gt;" in html, "SYNTETISKA" in html
    (False, True, True)
    >>> "51\\xa0% (44–58)" in html, "B (82\\xa0%)" in html, "secret" in html
    (True, True, False)
    >>> 'href="1%20a.pdf"' in html, "rapporten kunde inte skapas" in html
    (True, True)
    """
    lang = check_lang(lang)
    if synthetic is None:
        synthetic = any(bool((r.get("results") or {}).get("synthetic")) for r in records)
    counts = {s: sum(1 for r in records if r.get("status") == s)
              for s in ("ok", "skipped", "failed", "interrupted")}
    summary = text("index.summary", lang, n=fmt.integer(len(records), lang),
                   **{k: fmt.integer(v, lang) for k, v in counts.items()})
    if counts["interrupted"]:
        summary += text("index.summary_interrupted", lang,
                        interrupted=fmt.integer(counts["interrupted"], lang))
    title = (text("index.title", lang, round=fmt.year(round)) if round is not None
             else text("index.title", lang, round="").strip())
    parts = [page.report_css()]
    if synthetic:
        from mognad.present.markup import banner_html

        parts.append(banner_html(lang))
    parts += [f'<h1 class="mognad-title">{escape_html(title)}</h1>',
              f'<p class="mognad-summary">{escape_html(summary)}</p>', str(index_table(records,
                                                                                       lang))]
    if counts["failed"] or counts["interrupted"]:
        parts.append(f'<p class="mognad-note">{escape_html(text("index.details", lang))}</p>')
    return Safe("".join(parts))


_INDEX_PAGE_CSS = """
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #222; max-width: 64rem;
       margin: 0 auto; padding: 1.5rem 1.25rem; }
p.mognad-meta { color: #555; font-size: .9rem; }
div.mognad-table table.mognad { width: 100%; }
div.mognad-table table.mognad td a { white-space: nowrap; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; } }
"""


def index_page(records: Sequence[Mapping], *, lang: str = "sv", round: int | None = None,
               notebook: str = "", created: str = "", version: str = "",
               synthetic: bool | None = None) -> str:
    """A round's whole ``index.html`` (a self-contained page around :func:`index_body`).

    Examples
    --------
    >>> page_ = index_page([], round=2024, notebook="organisation_report.ipynb",
    ...                    created="2024-05-01 10:00", version="0.1.0")
    >>> page_.startswith("<!DOCTYPE html>"), "<title>Rapporter 2024</title>" in page_
    (True, True)
    >>> "Inga rapporter" in page_, "organisation_report.ipynb" in page_
    (True, True)
    """
    lang = check_lang(lang)
    title = (text("index.title", lang, round=fmt.year(round)) if round is not None
             else text("index.title", lang, round="").strip())
    meta = " · ".join(escape_html(x) for x in (notebook, created,
                                                f"mognad {version}" if version else "") if x)
    return ("<!DOCTYPE html>\n"
            f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape_html(title)}</title>\n<style>{_INDEX_PAGE_CSS}</style>\n"
            "</head>\n<body>\n"
            f"{index_body(records, lang=lang, round=round, synthetic=synthetic)}\n"
            + (f'<p class="mognad-meta">{meta}</p>\n' if meta else "")
            + "</body>\n</html>\n")


__all__ = [
    "COLUMN_ALIASES", "area_label", "decomposition_tables", "describe_decomposition",
    "describe_events", "describe_programme", "describe_target", "describe_trend",
    "event_tables", "failure_reason", "group_table", "index_body", "index_frame", "index_page",
    "index_table",
    "join", "long_head", "movers_table", "national_head", "national_profile_table",
    "org_about", "org_categories", "org_change", "org_head", "org_internal", "org_items", "org_map",
    "org_names", "org_peer_groups", "org_quality", "org_summary", "org_type", "org_weakest",
    "participation_table", "peer_label", "quadrant_table", "reliability_table",
    "standard_columns", "trajectory_tables", "trend_table", "type_text", "verdict",
]
