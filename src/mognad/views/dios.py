"""Everything a DIOS report shows, computed in one call from a study.

:func:`organisation_inventory` gathers the numbers of the per-organisation report (portfolio,
decommissioning, compliance against the other organisations, legacy index against peers, shared
products, age profile) and :func:`national_inventory` those of the national status, so the
notebooks only display them with :mod:`mognad.present.dios`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mognad import dios
from mognad.errors import MognadError
from mognad.io.store import open_study

#: Defaults of the reports (documented in docs/dios.md).
REPLACEMENT_SHARE = 0.5
OLD_YEARS = 15


@dataclass
class OrganisationInventory:
    """The numbers of one organisation's DIOS report for one inventory year."""

    org_id: str
    name: str
    year: int
    thresholds: dict
    replacement_share: float
    old: int
    systems: pd.DataFrame = field(repr=False)      # every organisation's systems that year
    own: pd.DataFrame = field(repr=False)
    portfolio: pd.DataFrame = field(repr=False)
    time_summary: pd.DataFrame = field(repr=False)
    freed: pd.DataFrame = field(repr=False)
    candidates: pd.DataFrame = field(repr=False)   # every scenario
    compliance: pd.DataFrame = field(repr=False)   # long: group own/others, per requirement
    versus: pd.DataFrame = field(repr=False)       # compliance_vs_others
    peers: pd.DataFrame = field(repr=False)
    products: pd.DataFrame = field(repr=False)
    age_detail: pd.DataFrame = field(repr=False)
    age_summary: pd.DataFrame = field(repr=False)
    fingerprint: str = ""
    synthetic: bool = False

    @property
    def total_cost(self) -> float:
        return float(self.own["annual_cost_sek"].sum())

    @property
    def n_unassessed(self) -> int:
        return int((self.portfolio["time"] == "unassessed").sum())

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        legacy = self.peers.set_index("measure")["value"]
        comp = self.versus.set_index("requirement")
        return {"org_id": self.org_id, "name": self.name, "year": self.year,
                "synthetic": bool(self.synthetic), "n_systems": len(self.own),
                "annual_cost_sek": self.total_cost,
                "time": self.portfolio["time"].value_counts().to_dict(),
                "freed_cost_sek": self.freed.set_index("scenario")["freed_cost_sek"].to_dict(),
                "compliance_all": comp.at["all", "share"],
                "compliance_vs_others": self.versus,
                "legacy_index": legacy.get("legacy_index"), "fingerprint": self.fingerprint}


def organisation_inventory(study, org_id: str, year: int, *, thresholds: dict | None = None,
                           replacement_share: float = REPLACEMENT_SHARE,
                           old: int = OLD_YEARS) -> OrganisationInventory:
    """The numbers of one organisation's DIOS report (see :class:`OrganisationInventory`).

    Raises
    ------
    MognadError
        When the study has no inventory for the organisation that year.
    """
    study = open_study(study)
    org_id, year = str(org_id), int(year)
    systems = dios.load_systems(study, year=year)
    own = dios.load_systems(study, org_id=org_id, year=year)
    orgs = study.organisations
    hit = orgs.loc[orgs["org_id"] == org_id, "name"]
    name = str(hit.iloc[0]) if len(hit) else org_id
    thr = dict(dios.DEFAULT_THRESHOLDS) | dict(thresholds or {})
    port = dios.portfolio(own, thresholds=thr)
    others = systems[systems["org_id"] != org_id]
    if others.empty:
        raise MognadError(f"{org_id} is the only organisation with an inventory in {year}; the "
                          "DIOS report compares it with the others")
    compliance = pd.concat([dios.compliance(own, by=()).assign(group="own"),
                            dios.compliance(others, by=()).assign(group="others")],
                           ignore_index=True)
    versus = dios.compliance_vs_others(systems, org_id)
    peers = dios.peer_comparison(systems, org_id, old=old)
    products = dios.product_comparison(systems, orgs, org_id=org_id)
    return OrganisationInventory(
        org_id=org_id, name=name, year=year, thresholds=thr,
        replacement_share=replacement_share, old=old, systems=systems, own=own, portfolio=port,
        time_summary=dios.portfolio_summary(port, by=(), year=None),
        freed=dios.freed_cost(own, by=(), year=None, total=False, thresholds=thr,
                              replacement_share=replacement_share),
        candidates=dios.decommissioning(own, scenario=["eliminate", "all"], thresholds=thr,
                                        replacement_share=replacement_share),
        compliance=compliance, versus=versus, peers=peers, products=products,
        age_detail=dios.age_profile(own, by=(), year="year", detail=True, old=old),
        age_summary=dios.age_profile(own, by=(), year="year", old=old),
        fingerprint=study.fingerprint, synthetic=study.is_synthetic)


@dataclass
class NationalInventory:
    """The numbers of the national DIOS status report for one inventory year."""

    year: int
    thresholds: dict
    old: int
    systems: pd.DataFrame = field(repr=False)
    names: dict = field(repr=False)
    time_summary: pd.DataFrame = field(repr=False)
    concentration: pd.DataFrame = field(repr=False)
    concentration_cost: pd.DataFrame = field(repr=False)
    by_county: pd.DataFrame = field(repr=False)
    compliance: pd.DataFrame = field(repr=False)
    compliance_by_domain: pd.DataFrame = field(repr=False)
    ages: pd.DataFrame = field(repr=False)
    legacy: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    link: object = None
    fingerprint: str = ""
    synthetic: bool = False

    @property
    def n_orgs(self) -> int:
        return int(self.systems["org_id"].nunique())

    def results(self) -> dict:
        """Key numbers, machine-readable (for ``<report>.results.json``)."""
        comp = self.compliance.set_index("requirement")
        return {"year": self.year, "n_orgs": self.n_orgs, "n_systems": len(self.systems),
                "hhi_by_domain": self.concentration.set_index("domain")["hhi"].to_dict(),
                "compliance_all": comp.at["all", "share"],
                "legacy_link": None if self.link is None else self.link.correlations,
                "fingerprint": self.fingerprint}


def national_inventory(study, year: int, *, thresholds: dict | None = None,
                       old: int = OLD_YEARS, top_domains: int = 2) -> NationalInventory:
    """The numbers of the national DIOS report (see :class:`NationalInventory`)."""
    study = open_study(study)
    year = int(year)
    systems = dios.load_systems(study, year=year)
    orgs = study.organisations
    thr = dict(dios.DEFAULT_THRESHOLDS) | dict(thresholds or {})
    concentration = dios.vendor_concentration(systems)
    top = concentration.nlargest(top_domains, "hhi")["domain"]
    by_county = dios.vendor_concentration(systems, orgs, region="county_code")
    scores = dios.survey_scores(study, year=year)
    return NationalInventory(
        year=year, thresholds=thr, old=old, systems=systems,
        names=dict(zip(orgs["org_id"], orgs["name"], strict=True)),
        time_summary=dios.portfolio_summary(systems, by=(), year=None, thresholds=thr),
        concentration=concentration,
        concentration_cost=dios.vendor_concentration(systems, basis="cost"),
        by_county=by_county[by_county["domain"].isin(top)].reset_index(drop=True),
        compliance=dios.compliance(systems, by=(), year=None),
        compliance_by_domain=dios.compliance(systems, by=("domain",), year=None),
        ages=dios.age_profile(systems, by=("domain",), year="year", old=old),
        legacy=dios.legacy_index(systems, old=old),
        scores=scores, link=dios.legacy_vs_survey(systems, scores, year=year, too_few="none",
                                                  old=old),
        fingerprint=study.fingerprint, synthetic=study.is_synthetic)


__all__ = ["NationalInventory", "OrganisationInventory", "national_inventory",
           "organisation_inventory"]
