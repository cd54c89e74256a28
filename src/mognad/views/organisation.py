"""Everything one organisation's report shows, computed in one call.

:func:`organisation_profile` gathers the numbers of the per-organisation report (overall
maturity, type with probability, categories against similar organisations and against several
peer groups side by side, the 30 statements against peers, the 2 x 2 map, the weakest
categories, change since the previous round, units and roles under the organisation-round's
publication plan (:func:`mognad.internal.compare_groups`, shared with the internal-comparison
report), response rate, data-quality findings as codes, provenance), so the report notebook
only formats and plots (:mod:`mognad.present.survey`).
National figures come from :func:`mognad.views.national.national_round`, computed once per batch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mognad.errors import MognadError
from mognad.internal import compare_groups
from mognad.io.store import Study

PEER_COLUMNS = ("org_type", "kommungrupp", "county_code", "size_class")
#: ``peer_group="auto"``: similar organisations (:func:`mognad.benchmark.similar_organisations`).
AUTO_PEER = "auto"
#: The groupings shown side by side (``None``: all organisations of the round).
SIDE_BY_SIDE = (None, "org_type", "kommungrupp")
#: Columns of ``OrganisationProfile.change`` (those of :func:`mognad.longitudinal.change`).
CHANGE_COLUMNS = ["org_id", "from_round", "to_round", "level", "name", "score_from", "score_to",
                  "change", "ci_low", "ci_high", "design", "n_from", "n_to", "n_paired"]


@dataclass
class OrganisationProfile:
    """The numbers of one organisation's report for one round (see :func:`organisation_profile`).

    Tables are tidy DataFrames; figures that would rest on fewer than ``k_min`` respondents are
    already suppressed. ``units`` and ``roles`` hold the shown groups only (from
    :func:`mognad.internal.compare_groups`: unit nodes at every depth, each the aggregate of its
    subtree, with ``depth`` and ``parent``); ``n_hidden_units`` / ``n_hidden_roles`` say how many
    are hidden, never which.
    """

    org: dict
    round: int
    lang: str
    k_min: int
    peer_group: str
    total: dict
    type: dict
    comparison: pd.DataFrame
    weakest: pd.DataFrame
    types: pd.DataFrame
    peer_mask: pd.Series
    peer_groups: pd.DataFrame
    items: pd.DataFrame
    history: pd.DataFrame
    change: pd.DataFrame
    previous_round: int | None
    units: pd.DataFrame
    roles: pd.DataFrame
    response_rate: float | None
    quality: list[dict] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    synthetic: bool = False
    n_hidden_units: int = 0
    n_hidden_roles: int = 0
    n_boot: int = 1000
    codebook: object = field(default=None, repr=False)

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        cats = self.comparison[self.comparison["level"].isin(["category", "dimension", "total"])]
        cols = ["level", "name", "score_pct", "ci_low", "ci_high", "peer_mean", "difference",
                "diff_ci_low", "diff_ci_high", "percentile_rank", "n_peers"]
        return {
            "org_id": self.org["org_id"],
            "name": self.org["name"],
            "round": self.round,
            "synthetic": self.synthetic,
            "total": self.total,
            "type": {k: v for k, v in self.type.items() if k != "recommendations"},
            "scores": cats[[c for c in cols if c in cats]].to_dict("records"),
            "weakest_categories": self.weakest["name"].tolist(),
            "previous_round": self.previous_round,
            "change": self.change.to_dict("records"),
            "response_rate": self.response_rate,
            # counts only: hidden groups (names, sizes) never reach results.json
            "units_shown": len(self.units),
            "units_suppressed": self.n_hidden_units,
            "roles_shown": len(self.roles),
            "roles_suppressed": self.n_hidden_roles,
            "peer_group": self.peer_group,
            "peer_groups": self.peer_groups.loc[
                self.peer_groups["level"] == "total",
                ["peer", "peer_group", "n_peers", "peer_mean", "difference", "diff_ci_low",
                 "diff_ci_high", "percentile_rank"]].to_dict("records"),
            "quality": self.quality,
            "k_min": self.k_min,
            "provenance": self.provenance,
        }


def _scalar(frame: pd.DataFrame, column: str):
    value = frame[column].iloc[0] if len(frame) else np.nan
    return None if pd.isna(value) else float(value)


def national_grouping(peer_group: str) -> str:
    """The grouping the round's national figures are computed (and cached) with for a report
    asking for *peer_group*: ``org_type`` for ``auto`` (the ranks in them are not used), else
    the grouping itself.

    Examples
    --------
    >>> national_grouping("auto"), national_grouping("kommungrupp")
    ('org_type', 'kommungrupp')
    """
    return "org_type" if peer_group == AUTO_PEER else peer_group


def organisation_profile(study: Study | str, org_id: str, round: int, *, lang: str = "sv",
                         peer_group: str = AUTO_PEER, k_min: int = 5, n_boot: int = 1000,
                         seed: int = 0) -> OrganisationProfile:
    """All numbers of one organisation's report for one round.

    Parameters
    ----------
    study : Study or path
    org_id : str
    round : int
    lang : {"sv", "en"}
        Language of the codebook texts of the type (name, description, recommendations).
    peer_group : str
        The main comparison: ``auto`` (default: similar organisations, the municipality group
        for municipalities and the organisation type for others, see
        :func:`mognad.benchmark.similar_organisations`), or an organisations column:
        ``org_type``, ``kommungrupp``, ``county_code``, ``size_class``. Peer groups with fewer
        than 5 organisations are merged upward (see
        :func:`mognad.disclosure.merge_small_peer_groups`). Besides it, the profile compares
        with all organisations, the organisation type and the municipality group side by side
        (``peer_groups``).
    k_min : int
        Smallest group of respondents shown (default 5).
    n_boot, seed : int
        Bootstrap settings (national figures are cached with the same settings).

    Returns
    -------
    OrganisationProfile

    Raises
    ------
    MognadError
        When the organisation or the round is not in the study.
    """
    from mognad.agreement import response_rate
    from mognad.benchmark import (
        compare_to_peer_groups,
        compare_to_peers,
        similar_organisations,
        weakest_categories,
    )
    from mognad.codebook import LANGS
    from mognad.views.national import national_round, study_for

    if lang not in LANGS:
        raise MognadError(f"lang must be 'sv' or 'en'; got {lang!r}")
    study = study_for(study)  # a warm report worker's preloaded snapshot, or the folder opened
    org_id, round = str(org_id), int(round)
    if peer_group not in (AUTO_PEER, *PEER_COLUMNS):
        raise MognadError(f"peer_group must be one of {AUTO_PEER}, {', '.join(PEER_COLUMNS)}; "
                          f"got {peer_group!r}")
    orgs = study.organisations
    hit = orgs[orgs["org_id"] == org_id]
    if hit.empty:
        raise MognadError(f"organisation {org_id!r} is not in the study's registry")
    org = {k: (None if pd.isna(v) else v) for k, v in hit.iloc[0].to_dict().items()}
    # the national figures are cached under the grouping the batch precomputed them with (the
    # ranks in them are not used here): org_type unless a grouping was asked for explicitly
    national = national_round(study, round, n_boot=n_boot, seed=seed,
                              peer=national_grouping(peer_group))
    if peer_group == AUTO_PEER:
        peer_group = similar_organisations(orgs, org_id)
    cb = study.codebook
    own_scores = national.scores[national.scores["org_id"] == org_id]
    if own_scores.empty:
        raise MognadError(f"organisation {org_id} ({org['name']}) has no answers in round {round}")

    # the categories, dimensions, total and statements against the peers in one comparison
    compared = compare_to_peers(national.scores, orgs, org_id=org_id, round=round,
                                peer=peer_group,
                                levels=("category", "dimension", "total", "item"))
    is_item = compared["level"] == "item"
    comparison = compared[~is_item].reset_index(drop=True)
    items = compared[is_item].reset_index(drop=True)
    weakest = weakest_categories(national.scores, orgs, org_id=org_id, round=round,
                                 peer=peer_group, comparison=comparison)
    side = tuple(dict.fromkeys(p for p in (*SIDE_BY_SIDE, peer_group)))
    peer_groups = compare_to_peer_groups(national.scores, orgs, org_id=org_id, round=round,
                                         peers=side)
    total_row = own_scores[own_scores["level"] == "total"]
    total = {"score_pct": _scalar(total_row, "score_pct"), "ci_low": _scalar(total_row, "ci_low"),
             "ci_high": _scalar(total_row, "ci_high"),
             "n_respondents": int(total_row["n_respondents"].iloc[0])}
    trow = national.types[national.types["org_id"] == org_id].iloc[0]
    code = None if pd.isna(trow["type"]) else str(trow["type"])
    qt = cb.types.get(code) if code else None
    type_info = {
        "code": code,
        "probability": None if pd.isna(trow["type_probability"]) else float(trow["type_probability"]),
        "probabilities": {c: (None if pd.isna(trow[f"p_{c}"]) else float(trow[f"p_{c}"]))
                          for c in sorted(cb.types)},
        "x_pct": float(trow["x_pct"]), "y_pct": float(trow["y_pct"]),
        "name": qt.name[lang] if qt else None,
        "description": qt.description[lang] if qt else None,
        "recommendations": qt.recommendations[lang] if qt else [],
        "provisional": cb.quadrants_provisional,
    }
    peer_value = org.get(peer_group)
    peer_orgs = set(orgs.loc[orgs[peer_group] == peer_value, "org_id"]) if peer_value else set()
    peer_mask = national.types["org_id"].isin(peer_orgs)

    responses = study.responses_for(org_id=org_id)
    own_rounds = sorted(int(r) for r in responses["round"].unique())
    earlier = [r for r in own_rounds if r < round]
    history = pd.DataFrame(columns=["round", "x_pct", "y_pct"])
    if earlier:
        from mognad.scoring import classify

        hist = classify(responses[responses["round"].isin(earlier)], codebook=cb, n_boot=1,
                        seed=seed)
        history = hist[["round", "x_pct", "y_pct"]].astype({"round": int})
    previous = earlier[-1] if earlier else None
    if previous is not None:
        from mognad.longitudinal import change as change_between

        change = change_between(responses, codebook=cb, org_id=org_id, from_round=previous,
                                to_round=round, level=["total", "dimension", "category"],
                                n_boot=n_boot, seed=seed)
    else:
        change = pd.DataFrame(columns=CHANGE_COLUMNS)
    current = responses[responses["round"] == round]
    # units (every depth) and roles under the one publication plan of this organisation-round,
    # the same groups, figures and intervals as the internal-comparison report
    groups = compare_groups(current, codebook=cb, k_min=k_min, n_boot=n_boot, seed=seed,
                            dispersion=False)
    group_cols = ["n_respondents", "score_pct", "ci_low", "ci_high"]
    units = groups.units()[["unit", "depth", "parent", *group_cols]]
    roles = groups.roles()[["role", *group_cols]]
    inv = study.invitations
    inv = inv[(inv["org_id"] == org_id) & (inv["round"] == round)]
    rate = None
    if len(inv):
        rr = response_rate(current, inv)
        if len(rr) and not pd.isna(rr["response_rate"].iloc[0]):
            rate = float(rr["response_rate"].iloc[0])

    quality = _quality_findings(current, total["n_respondents"], rate, groups.n_hidden_units,
                                k_min=k_min)
    from mognad import __version__

    provenance = {
        "data_fingerprint": study.fingerprint,
        "codebook": f"{cb.id} (version {cb.version}, sha256 {cb.fingerprint[:12]})",
        "parameters": {"org_id": org_id, "round": round, "lang": lang, "peer_group": peer_group,
                       "k_min": k_min, "n_boot": n_boot, "seed": seed},
        "mognad_version": __version__,
        "synthetic": study.is_synthetic,
    }
    return OrganisationProfile(
        org=org, round=round, lang=lang, k_min=k_min, peer_group=peer_group, total=total,
        type=type_info, comparison=comparison, weakest=weakest, types=national.types,
        peer_mask=peer_mask, peer_groups=peer_groups, items=items, history=history,
        change=change, previous_round=previous, units=units, roles=roles, response_rate=rate,
        quality=quality, provenance=provenance, synthetic=study.is_synthetic,
        n_hidden_units=groups.n_hidden_units, n_hidden_roles=groups.n_hidden_roles,
        n_boot=n_boot, codebook=cb,
    )


def warm_up(study, round: int, *, n_boot: int = 1000, seed: int = 0,
            peer_group: str = AUTO_PEER) -> None:
    """Compute one organisation's profile and throw it away, to fill this process's caches.

    A warm report worker calls this once before it forks per report (each fork then starts
    with what the first profile of a process loads and builds: about a third of its time).
    Results do not depend on it. Errors are left to the reports themselves.
    """
    from mognad.views.national import study_for

    snap = study_for(study)
    with contextlib.suppress(Exception):
        orgs = snap.sql("SELECT DISTINCT org_id FROM respondents WHERE round = ? ORDER BY 1 "
                        "LIMIT 1", [int(round)])["org_id"].astype(str).tolist()
        if orgs:
            organisation_profile(snap, orgs[0], int(round), n_boot=n_boot, seed=seed,
                                 peer_group=peer_group)


def _quality_findings(current: pd.DataFrame, n: int, rate, hidden: int, *,
                      k_min: int) -> list[dict]:
    """Data-quality findings as codes with their numbers (texts: ``org.quality_<code>``)."""
    found: list[dict] = []
    if n < 10:
        found.append({"code": "few", "n": int(n)})
    share = float(current["value"].isna().mean()) if len(current) else 0.0
    found.append({"code": "dont_know", "share": share})
    per_item = current.assign(dk=current["value"].isna()).groupby("item_id")["dk"].mean()
    high = per_item[per_item > 0.20].index.tolist()
    if high:
        found.append({"code": "dont_know_items", "items": [str(i) for i in high]})
    if rate is None:
        found.append({"code": "no_rate"})
    elif rate < 0.5:
        found.append({"code": "low_rate", "rate": float(rate)})
    if hidden:
        found.append({"code": "units_hidden", "n": int(hidden), "k": int(k_min)})
    return found


__all__ = ["OrganisationProfile", "national_grouping", "organisation_profile", "warm_up"]
