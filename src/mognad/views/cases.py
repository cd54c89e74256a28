"""Everything a case-study report shows, computed in one call from a study; the case reports'
file names and the list of case reports a study holds.

- :func:`governance_case`: governance and pacing (Kungsbacka/Sundsvall-like municipalities that
  changed to internal pricing), for ``notebooks/governance_case.ipynb``;
- :func:`transformation_case`: an organisation around a reorganisation (the Västra
  Götalandsregionen-like IT split), for ``notebooks/transformation_case.ipynb``; it uses only
  the organisation's own budgets and initiatives, and says so when there are none;
- :func:`training_case`: a course's pre/post evaluation (the Mölndal-like course), for
  ``notebooks/training_evaluation.ipynb``;
- :func:`report_name` and :func:`case_list`: a case report is named after its case
  (``styrning-kustvik-norrsund``, ``transformation-region-vastkust``,
  ``kursutvardering-kvarndal``), and the cases of a study make the list of ``reports/cases/``
  (with titles: :func:`mognad.present.cases.case_reports`).

The notebooks display the results with :mod:`mognad.present.governance` and
:mod:`mognad.present.cases`.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mognad import casestudy, governance
from mognad.errors import MognadError
from mognad.io.governance import load_budgets, load_requests, load_training
from mognad.io.store import Study, open_study

#: The case-study notebooks and the first word of their report names.
CASE_NOTEBOOKS = {"governance_case": "styrning", "transformation_case": "transformation",
                  "training_evaluation": "kursutvardering",
                  "internal_comparison": "intern-jamforelse"}
#: The default merge of course participants' functions into groups large enough to show.
FUNCTION_GROUPS = {"chef": "chefer och verksamhetsutvecklare",
                   "verksamhetsutvecklare": "chefer och verksamhetsutvecklare",
                   "IT": "stödfunktioner", "HR": "stödfunktioner", "ekonomi": "stödfunktioner",
                   "kommunikation": "stödfunktioner"}


# ============================================================================================
# Governance and pacing
# ============================================================================================
@dataclass
class GovernanceCase:
    """The numbers of the governance report (see :func:`governance_case`)."""

    org_ids: list
    names: dict
    changes: pd.Series = field(repr=False)
    requests: pd.DataFrame = field(repr=False)
    flow: pd.DataFrame = field(repr=False)
    gap: pd.DataFrame = field(repr=False)
    need: pd.DataFrame = field(repr=False)
    littles: pd.DataFrame = field(repr=False)
    effects: pd.DataFrame = field(repr=False)
    its: dict = field(repr=False)
    lead: pd.DataFrame = field(repr=False)
    lead_summary: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    shares: pd.DataFrame = field(repr=False)
    spending: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    maturity: pd.DataFrame = field(repr=False)
    study: Study = field(repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.study.is_synthetic)

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        return {"case": "governance", "org_ids": self.org_ids, "capacity_gap": self.gap,
                "capacity_needed": self.need,
                "funding_effect": self.effects[self.effects["term"].isin(
                    ["level_change", "mean_change"])],
                "share_change": self.spending, "fingerprint": self.study.fingerprint}


def governance_case(study, org_ids: Sequence[str] = (), *, horizon_months: int = 12,
                    target_wait_days: float = 30,
                    outcomes: Sequence[str] = ("arrivals", "decision_days", "lead_time_days"),
                    its_outcomes: Sequence[str] = ("arrivals", "lead_time_days")
                    ) -> GovernanceCase:
    """Demand and delivery, capacity, lead times, the funding-model effect and spending of the
    governance case's organisations."""
    study = open_study(study)
    requests = load_requests(study)
    budgets = load_budgets(study)
    changes = governance.funding_change_dates(study.events, requests=requests, budgets=budgets)
    ids = governance.governance_orgs(study, [str(o) for o in org_ids or ()], requests=requests,
                                     changes=changes)
    requests = requests[requests["org_id"].isin(ids)]
    changes = changes[changes.index.isin(ids)]
    flow = governance.monthly_flow(requests)
    effects = governance.funding_effect(requests, change_dates=changes, outcomes=list(outcomes))
    its = {(org, outcome): governance.its_series(requests, org_id=org, change_date=date,
                                                 outcome=outcome)
           for org, date in changes.items() for outcome in its_outcomes}
    lead = governance.lead_times(requests, change_dates=changes)
    shares = governance.spending_shares(budgets) if len(budgets) else pd.DataFrame(
        columns=["org_id", "year", "funding_model", "exploration_share"])
    scores = governance.category_scores(study, org_id=ids)
    return GovernanceCase(
        org_ids=ids, names=study.organisation_names, changes=changes, requests=requests, flow=flow,
        gap=governance.capacity_gap(flow, change_dates=changes),
        need=governance.capacity_needed(flow, months=horizon_months,
                                        target_wait_days=target_wait_days),
        littles=governance.littles_law(requests), effects=effects, its=its, lead=lead,
        lead_summary=governance.lead_time_summary(lead), curves=governance.survival_curves(lead),
        shares=shares,
        spending=governance.share_change(shares, change_dates=changes) if len(shares)
        else pd.DataFrame(),
        scores=scores,
        maturity=governance.spending_vs_maturity(shares[shares["org_id"].isin(ids)], scores)
        if len(shares) else pd.DataFrame(),
        study=study)


# ============================================================================================
# Transformation
# ============================================================================================
def find_event(study, kind: str = "reorganisation", org_id: str = "") -> dict:
    """The event a transformation report is about: *org_id*'s first event of *kind*, or (with
    no *org_id*) the first organisation's. Raises when there is none."""
    ev = casestudy.event_orgs(open_study(study), kind)
    if org_id:
        ev = ev[ev["org_id"] == str(org_id)]
    if not len(ev):
        who = f"organisation {org_id}" if org_id else "any organisation"
        raise MognadError(f"no {kind!r} event for {who} in the study's events; ingest an "
                          "events file with it, or choose another org_id/event_kind")
    return ev.iloc[0].to_dict()


@dataclass
class TransformationCase:
    """The numbers of the transformation report (see :func:`transformation_case`)."""

    org_id: str
    name: str
    event: dict
    first_round: int
    comparison: object
    trajectory: pd.DataFrame = field(repr=False)
    effect: pd.DataFrame = field(repr=False)
    trend: dict | None = field(repr=False)
    requests: pd.DataFrame = field(repr=False)     # the organisation's own, possibly empty
    shares: pd.DataFrame = field(repr=False)       # empty without an own request log
    study: Study = field(repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.study.is_synthetic)

    @property
    def n_comparison(self) -> int:
        n = self.trajectory.get("n_comparison", pd.Series(dtype="int64"))
        return int(n.max()) if len(n) else 0

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        return {"case": "transformation", "org_id": self.org_id,
                "event_date": self.event["date"], "first_round": self.first_round,
                "event_effect": self.effect,
                "budget_step": None if self.trend is None else self.trend["step"],
                "initiative_shares": self.shares if len(self.shares) else None,
                "fingerprint": self.study.fingerprint}


def transformation_case(study, org_id: str = "", *, event_kind: str = "reorganisation",
                        first_round: int | None = None, comparison="org_type",
                        n_boot: int = 1000, seed: int = 0) -> TransformationCase:
    """The organisation's DiMiOS categories around the event, its resources over time and its
    own initiatives (decentralisation and coordination).

    Only the organisation's own budget lines and request log are used: without them the
    report says that the analysis cannot be made, never shows other organisations instead.
    """
    study = open_study(study)
    event = find_event(study, event_kind, org_id)
    org = str(event["org_id"])
    first = int(first_round or pd.Timestamp(event["date"]).year + 1)
    trajectory = casestudy.category_trajectory(study, org, comparison=comparison,
                                               event_date=event["date"], n_boot=n_boot,
                                               seed=seed)
    effect = casestudy.difference_in_differences(study, org, event_date=event["date"], first_round=first,
                                    comparison=comparison)
    budgets = load_budgets(study, org_id=org)
    trend = casestudy.budget_trend(budgets, org_id=org, first_year=first) if len(budgets) \
        else None
    requests = load_requests(study, org_id=org)
    shares = casestudy.initiative_shares(requests) if len(requests) else pd.DataFrame(
        columns=["org_id", "year", "measure", "n", "k", "share", "ci_low", "ci_high"])
    return TransformationCase(org_id=org, name=str(event["name"]), event=event,
                              first_round=first, comparison=comparison, trajectory=trajectory,
                              effect=effect, trend=trend, requests=requests, shares=shares,
                              study=study)


# ============================================================================================
# Training evaluation
# ============================================================================================
def course_info(study, org_id: str = "", course: str = "") -> tuple[dict, pd.DataFrame]:
    """The course a training report evaluates and its answers.

    Default: the organisation and course of the study's training data (the first when there
    are several). Returns ``(info, training)`` with ``info`` = ``org_id, name, course, date``
    (the course_start event's date, or the course id), ``n`` participants and ``n_pairs`` with
    both phases.
    """
    study = open_study(study)
    training = load_training(study, org_id=org_id or None, course=course or None)
    if not len(training):
        raise MognadError("no training answers in the study (for this org_id/course); ingest "
                          "a training file first")
    first = training[["org_id", "course"]].drop_duplicates().sort_values(["org_id", "course"])
    org, crs = first.iloc[0]
    training = training[(training["org_id"] == org) & (training["course"] == crs)]
    events = casestudy.event_orgs(study, "course_start")
    date = events.loc[events["org_id"] == org, "date"]
    info = {"org_id": str(org), "name": study.organisation_names.get(str(org), str(org)),
            "course": crs, "date": pd.Timestamp(date.iloc[0]) if len(date) else crs,
            "n": int(training["participant"].nunique()),
            "n_pairs": int(training.groupby("participant")["phase"].nunique().eq(2).sum())}
    return info, training.reset_index(drop=True)


@dataclass
class TrainingCase:
    """The numbers of the training report (see :func:`training_case`)."""

    info: dict
    effects: pd.DataFrame = field(repr=False)       # every level, items included
    by_function: pd.DataFrame = field(repr=False)
    groups: dict = field(repr=False)
    k_min: int = 5
    n_linked: int = 0
    challenges: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    study: Study = field(default=None, repr=False)

    @property
    def synthetic(self) -> bool:
        return bool(self.study.is_synthetic)

    @property
    def main(self) -> pd.DataFrame:
        """The effects on the total, the dimensions and the categories."""
        return self.effects[self.effects["level"] != "item"].reset_index(drop=True)

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        return {"case": "training", "org_id": self.info["org_id"], "course": self.info["course"],
                "n_participants": self.info["n"], "n_pairs": self.info["n_pairs"],
                "effects": self.main, "by_function": self.by_function,
                "fingerprint": self.study.fingerprint}


def training_case(study, org_id: str = "", course: str = "", *,
                  function_groups: Mapping[str, str] | None = None,
                  k_min: int = 5) -> TrainingCase:
    """Paired pre/post change of the course participants, by (merged) function under
    disclosure control, and the course's challenges."""
    study = open_study(study)
    info, training = course_info(study, org_id, course)
    groups = dict(FUNCTION_GROUPS if function_groups is None else function_groups)
    effects = casestudy.training_effects(training, codebook=study.codebook,
                                         levels=["total", "dimension", "category", "item"])
    by_function = casestudy.training_effects(training, codebook=study.codebook,
                                             levels=["total", "dimension"], by="function",
                                             groups=groups, k_min=k_min)
    return TrainingCase(info=info, effects=effects, by_function=by_function, groups=groups,
                        k_min=k_min, n_linked=casestudy.linked_participants(study, training),
                        challenges=casestudy.course_challenges(), study=study)


# ============================================================================================
# Report names and the list of case reports
# ============================================================================================
_TYPE_WORDS = {"kommun"}


def name_slug(name: str) -> str:
    """A case name as part of a file name: ASCII, lower case, hyphens, without "kommun".

    Examples
    --------
    >>> name_slug("Kustvik kommun"), name_slug("Region Västkust"), name_slug("<img src=x>")
    ('kustvik', 'region-vastkust', 'img-src-x')
    """
    ascii_text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^a-z0-9]+", ascii_text.lower()) if w]
    kept = [w for w in words if w not in _TYPE_WORDS] or words
    return "-".join(kept)[:60].strip("-") or "fall"


def _case_orgs(notebook: str, study, parameters: Mapping) -> list[tuple[str, str]]:
    names = study.organisation_names
    if notebook == "governance_case":
        ids = governance.governance_orgs(study, [str(o) for o in parameters.get("org_ids") or ()])
    elif notebook == "transformation_case":
        ids = [str(find_event(study, parameters.get("event_kind", "reorganisation"),
                              str(parameters.get("org_id") or ""))["org_id"])]
    elif notebook == "training_evaluation":
        ids = [course_info(study, str(parameters.get("org_id") or ""),
                           str(parameters.get("course") or ""))[0]["org_id"]]
    elif notebook == "internal_comparison":
        ids = [str(parameters.get("org_id") or casestudy.pick_internal_org(
            study, k_min=int(parameters.get("k_min", 5))))]
    else:
        raise MognadError(f"{notebook} is not a case-study notebook; case notebooks: "
                          f"{', '.join(CASE_NOTEBOOKS)}")
    return [(i, names.get(i, i)) for i in ids]


def report_name(notebook: str, study, *, parameters: Mapping | None = None,
                lang: str = "sv") -> str:
    """The file stem of a case report: the kind of case and the case's organisations.

    The organisations are resolved exactly as the notebook resolves them from its parameters
    (``org_ids`` / ``org_id``, ``event_kind``, ``course``; defaults from the data). English
    reports get ``-en`` so that both languages fit in one folder.

    Examples
    --------
    >>> report_name("governance_case", "data/demo/study")       # doctest: +SKIP
    'styrning-kustvik-norrsund'
    """
    from pathlib import Path

    notebook = Path(notebook).stem
    orgs = _case_orgs(notebook, open_study(study), dict(parameters or {}))
    stem = "-".join([CASE_NOTEBOOKS[notebook], *(name_slug(n) for _, n in orgs)])
    return stem + ("-en" if lang == "en" else "")


def case_list(study) -> list[dict]:
    """The cases a study holds: ``notebook`` and ``parameters`` of each case report.

    The governance case (organisations with a request log and a change of funding model), one
    transformation report per organisation with a ``reorganisation`` event, one training report
    per course, and the internal comparison of the organisation it picks by default.
    """
    study = open_study(study)
    out = []
    try:
        ids = governance.governance_orgs(study)
    except MognadError:
        ids = []
    if ids:
        out.append({"notebook": "governance_case", "parameters": {"org_ids": ids}})
    for org in casestudy.event_orgs(study, "reorganisation")["org_id"]:
        out.append({"notebook": "transformation_case", "parameters": {"org_id": str(org)}})
    training = load_training(study)
    if len(training):
        for org, crs in training[["org_id", "course"]].drop_duplicates().itertuples(index=False):
            out.append({"notebook": "training_evaluation",
                        "parameters": {"org_id": str(org), "course": str(crs)}})
    with contextlib.suppress(MognadError):  # MognadError: no survey responses
        out.append({"notebook": "internal_comparison",
                    "parameters": {"org_id": casestudy.pick_internal_org(study)}})
    return out


__all__ = ["CASE_NOTEBOOKS", "FUNCTION_GROUPS", "GovernanceCase", "TrainingCase",
           "TransformationCase", "case_list", "course_info", "find_event", "governance_case",
           "name_slug", "report_name", "training_case",
           "transformation_case"]
