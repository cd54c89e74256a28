"""Synthetic national study: a fictional DiMiOS population with planted effects and their truth.

:func:`synthesize` writes a complete study (organisations, wide response files per round,
invitations, events), the inputs of the case studies (DIOS inventory, IT budgets, development
requests, a course's pre/post survey) and the truth behind them (``truth.json``,
``truth_org_rounds.csv``, ``truth_orgs.csv``). Everything is fictional: organisation ids cannot
collide with real Swedish codes, names are invented, e-mail addresses use the reserved
``.example`` domain. Only county codes (public) are real.

The answers come from an ordinal latent-variable model. For respondent *r* of organisation-round
*o* and item *i* in category *c*::

    y*_ri = b_i + lambda_i * (m_rc + u_r + v_rc) + e_ri,      answer = min + #{k : y*_ri > tau_k}

with ``m_rc`` the latent level of the organisation-round (national trend, organisation capability
and legacy factors, category deviations, planted effects) plus the offsets of the respondent's unit
and role, ``u_r ~ N(0, s_u)``, ``v_rc ~ N(0, s_v)`` and ``e_ri ~ N(0, s_e)``. The truth is the
*analytic* expectation of the codebook score under this model (normal CDFs), conditional on the
design (which units and roles answered) and marginal over the respondent and item noise; see
``docs/synthetic_study.md``.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.special import ndtr

from mognad.codebook import Codebook, load_codebook
from mognad.errors import MognadError

GENERATOR = "mognad synth"
GENERATOR_VERSION = "1.0"
DEFAULT_SEED = 20240501
PROFILES = ("national", "small")
ROUNDS = (2019, 2020, 2021, 2022, 2023, 2024)
DONT_KNOW_TEXT = "vet ej"
DONT_KNOW_RATE = 0.03
ROLES = ("ledning", "chef", "verksamhetsutvecklare", "strateg", "systemförvaltare")
ROLE_PROBS = (0.08, 0.40, 0.22, 0.10, 0.20)
# latent offsets of a role on (capability dimension, legacy dimension)
ROLE_OFFSETS = {
    "ledning": (0.20, 0.10),
    "chef": (0.05, 0.00),
    "verksamhetsutvecklare": (0.00, -0.05),
    "strateg": (-0.05, -0.05),
    "systemförvaltare": (-0.10, -0.20),
}

# ----------------------------------------------------------------------------- model constants
_THRESHOLD_STEP = 0.75  # equally spaced thresholds, centred at 0
_SD_ITEM = 0.55  # e_ri
_SD_RESP = 0.50  # u_r, shared by all categories of a respondent
_SD_RESP_CAT = 0.30  # v_rc
_ITEM_INTERCEPT_SD = 0.15
_LOADING_RANGE = (0.75, 1.0)
_SD_ORG_FACTOR = 0.40  # capability and legacy factors of an organisation
_ORG_FACTOR_CORR = 0.55
_SD_ORG_CATEGORY = 0.15
_SD_ORG_ROUND = 0.08
_SD_ORG_UNIT = 0.15
# latent category means by position within the capability and the legacy dimension
_CATEGORY_MEANS = ((0.05, -0.05, -0.15), (0.10, -0.05, -0.20))
_TREND = {2019: -0.20, 2020: 0.00, 2021: -0.08, 2022: 0.04, 2023: 0.10, 2024: 0.12}
_ORG_TYPE_EFFECT = {"kommun": 0.0, "region": 0.05, "myndighet": 0.15, "bolag": 0.0}
_SIZE_EFFECT = {"S": -0.10, "M": 0.0, "L": 0.05, "XL": 0.10}

_PROGRAMME = {
    "name": "Digital mognad (nationellt program, fiktivt)",
    "start": "2021-03-01",
    "end": "2023-02-28",
    "effect_latent": 0.20,
    "first_round": 2022,
}
_REORG = {"date": "2020-03-01", "first_round": 2021, "effects": (0.45, 0.40)}  # cap. cats 2 and 3
_GOVERNANCE_SURVEY_EFFECT = -0.30  # on the third capability category (balansering)
_COURSE = {"date": "2022-09-05", "survey_effect_latent": 0.15, "survey_first_round": 2023,
           "pre_date": "2022-08-29", "post_date": "2022-11-14"}
_TRAINING_EFFECT = (0.50, 0.15)  # latent pre->post change on capability / legacy categories
_COMPANY_DEPARTMENTS = (  # unit, latent offset, respondents in the latest round
    ("Marknad och kommunikation", 0.70, 8),
    ("Publikservice", 0.35, 6),
    ("Administration", 0.15, 3),
    ("Scenteknik", 0.00, 7),
    ("Konstnärlig verksamhet/Kör", -0.35, 6),
    ("Konstnärlig verksamhet/Orkester", -0.45, 9),
    ("Konstnärlig verksamhet/Balett", -0.60, 5),
)
_COMPANY_FIRST_ROUND = 2022

# ----------------------------------------------------------------------------- fictional names
_REAL_COUNTIES = ("01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14", "17",
                  "18", "19", "20", "21", "22", "23", "24", "25")
# municipalities per county: the real counts scaled to 260
_MUNIS_PER_COUNTY = (23, 7, 8, 12, 12, 7, 11, 1, 4, 30, 5, 45, 14, 11, 9, 13, 9, 6, 7, 13, 13)
_METRO = {"01", "12", "14"}
_NORTH = {"20", "21", "22", "23", "24", "25"}
_KOMMUNGRUPPER = ("A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9")
_KG_PROBS = {
    "metro": (0.45, 0.08, 0.20, 0.07, 0.05, 0.10, 0.03, 0.02),
    "north": (0.00, 0.08, 0.10, 0.10, 0.12, 0.15, 0.30, 0.15),
    "other": (0.00, 0.10, 0.22, 0.15, 0.15, 0.20, 0.12, 0.06),
}
_NAME_PREFIXES = (
    "Fjäll", "Sjö", "Björk", "Ek", "Gran", "Lind", "Ask", "Dal", "Norr", "Sör", "Väst", "Öst",
    "Kvarn", "Hav", "Strand", "Ljung", "Rönn", "Asp", "Hag", "Holm", "Vik", "Tall", "Myr", "Ängs",
    "Sten", "Kall", "Forn", "Ulv", "Räv", "Örn", "Svan", "Trast", "Löv", "Bäck", "Mos", "Kul",
    "Sol", "Vind", "Is", "Ler", "Sand", "Malm", "Kopp", "Hed", "Al", "Hassel", "Lönn", "Ros",
)
_NAME_SUFFIXES = (
    "by", "backa", "vik", "dal", "sund", "ås", "holm", "torp", "hult", "fors", "näs", "ryd",
    "berga", "lunda", "mark", "hamn", "tuna", "vall", "bo", "stad", "ed", "sjö", "åker", "myra",
)
# combinations that equal, or come too close to, a real municipality or a large town
_NAME_BLOCKLIST = frozenset((
    "Aled", "Alhult", "Altorp", "Asktorp", "Asptorp", "Björkholm", "Bäckstad", "Eksjö",
    "Fornholm", "Granfors", "Grantorp", "Granåker", "Granås", "Hagbo", "Hagfors", "Haglunda",
    "Hasselholm", "Havbo", "Havfors", "Havsjö", "Hedby", "Holmfors", "Holmhult", "Holmstad",
    "Istorp", "Kallfors", "Kallhamn", "Kallhult", "Kallmark", "Kallstad", "Kvarnnäs",
    "Kvarnstad", "Kvarnåker", "Lindåker", "Ljungbo", "Ljungby", "Ljungdal", "Ljungryd",
    "Malmbo", "Malmhult", "Malmstad", "Mosby", "Norrberga", "Norrholm", "Norrsjö", "Rosby",
    "Rävlunda", "Rävsjö", "Rönnby", "Sandvall", "Sandvik", "Sjöbo", "Sjöby", "Solnäs",
    "Stenfors", "Stensund", "Stenåker", "Stenås", "Strandnäs", "Strandås", "Svanholm",
    "Svannäs", "Svanåker", "Sörberga", "Sörby", "Sörfors", "Sörsjö", "Sörås", "Tallfors",
    "Tallhult", "Tallstad", "Trastnäs", "Trasttorp", "Trastvik", "Vindåker", "Västholm",
    "Västtorp", "Ängsbacka", "Ängsholm", "Ängstorp", "Östby", "Holmsund", "Lindås",
))
# the planted case organisations (fictional stand-ins for the public case studies)
_SPECIAL_MUNIS = {
    # key: (name stem, county, kommungrupp, size class)
    "storstad_01": ("Norrhamn", "01", "A1", "XL"),
    "storstad_12": ("Sundhamn", "12", "A1", "XL"),
    "storstad_14": ("Älvhamn", "14", "A1", "XL"),  # owner of the company
    "governance_a": ("Kustvik", "13", "A2", "L"),  # Kungsbacka-like
    "governance_b": ("Norrsund", "22", "B3", "L"),  # Sundsvall-like
    "course": ("Kvarndal", "14", "A2", "M"),  # Mölndal-like
}
_REGION_NAMES = (
    "Region Östersjökusten", "Region Fyrisslätten", "Region Mälardal", "Region Östslätten",
    "Region Höglandet", "Region Skogsbygden", "Region Kustlandet", "Region Ön",
    "Region Skärgården", "Region Sydslätten", "Region Laxkusten", "Region Västkust",
    "Region Älvlandet", "Region Mellanbygd", "Region Kopparbygd", "Region Fäboland",
    "Region Skogskusten", "Region Mittkusten", "Region Fjällsjön", "Region Norrmark",
    "Region Polarmark",
)
_REORG_REGION_COUNTY = "14"  # Region Västkust: the VGR-like case
_LARGE_REGION_COUNTIES = {"01", "12", "14"}
_SMALL_REGION_COUNTIES = {"09", "10", "23"}
_AGENCY_NAMES = (
    "Statens ärendeverk", "Registermyndigheten", "Tillståndsverket",
    "Myndigheten för samhällsdata", "Statens stödverk", "Bidragsverket",
    "Statens kartinstitut", "Kulturarvsdataverket", "Vattenvårdsverket",
    "Statens utbildningsstöd", "Bostadsstödsmyndigheten", "Statens arkivservice",
    "Transportdataverket", "Ärendeinspektionen", "Statens tolkverk",
)
_AGENCY_COUNTIES = ("01", "01", "01", "03", "12", "14", "22", "24", "18", "05", "20", "21")
_COMPANY_NAME = "Älvhamns Scenkonst AB"
_FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Emma", "Kerstin", "Sofia", "Ingrid",
    "Johanna", "Linnea", "Elin", "Malin", "Ida", "Hanna", "Åsa", "Fatima", "Leila", "Noor",
    "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Mikael", "Nils", "Jan", "Olof",
    "Fredrik", "Magnus", "Jonas", "Oskar", "Björn", "Göran", "Amir", "Ali", "Mohammed", "Emil",
)
_LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Berg",
    "Lindberg", "Lundqvist", "Ström", "Holm", "Sandberg", "Ek", "Lund", "Åberg", "Öberg",
    "Lindström", "Sjöberg", "Forsberg", "Engström", "Hassan", "Ali", "Mohammed", "Nyström",
    "Dahl", "Björk", "Wikström", "Håkansson", "Falk", "Bergström", "Axelsson",
)

# units: (top unit, latent offset, subunits)
_MUNI_UNITS = (
    ("Kommunledningskontoret", 0.20, ("Ledningsstab", "Digitalisering och IT", "Ekonomi", "HR")),
    ("Socialförvaltningen", -0.20,
     ("Äldreomsorg", "Individ- och familjeomsorg", "Funktionsstöd", "Hemtjänst")),
    ("Utbildningsförvaltningen", -0.15, ("Grundskola", "Förskola", "Gymnasieskola", "Elevhälsa")),
    ("Samhällsbyggnadsförvaltningen", 0.05, ("Bygglov", "Planering", "Gata och park", "Miljö")),
    ("Kultur- och fritidsförvaltningen", 0.00, ("Bibliotek", "Fritid", "Kulturskola", "Museum")),
    ("Tekniska förvaltningen", 0.00, ("VA", "Fastighet", "Avfall", "Trafik")),
    ("Serviceförvaltningen", 0.05, ("Kontaktcenter", "Måltid", "Lokalvård", "Upphandling")),
)
_REGION_UNITS = (
    ("Hälso- och sjukvård", -0.10, ("Akutsjukvård", "Primärvård", "Psykiatri", "Tandvård")),
    ("Koncernkontoret", 0.15, ("Ledningsstab", "IT-avdelningen", "Ekonomi", "HR")),
    ("Regional utveckling", 0.05, ("Kollektivtrafik", "Näringsliv", "Kultur", "Miljö")),
    ("Regionservice", 0.00, ("Fastighet", "Upphandling", "Måltid", "Tolkservice")),
)
_AGENCY_UNITS = (
    ("Verksamhetsstöd", 0.10, ("IT", "HR", "Ekonomi")),
    ("Handläggning", -0.05, ("Ärenden", "Kundtjänst", "Tillsyn")),
    ("Analys och utveckling", 0.15, ("Analys", "Utveckling", "Statistik")),
    ("Ledningsstab", 0.10, ("Ledning", "Kommunikation", "Juridik")),
)
_UNITS_BY_SIZE = {"S": (4, 2), "M": (5, 2), "L": (6, 3), "XL": (7, 4)}  # (top units, subunits)
_REORG_OLD_UNIT = "Koncernkontoret/IT-avdelningen"
_REORG_NEW_UNITS = ("Koncernkontoret/IT-drift", "Koncernkontoret/Digitalisering och utveckling")
_REORG_NEW_OFFSETS = (0.05, 0.30)
_N_FOLLOW_UP = {"reorg_region": 20, "course": 12}
_FOLLOW_UP_PARTICIPATION = 0.85


@dataclass(frozen=True)
class _Profile:
    name: str
    participation: dict[int, int]
    respondents: dict[str, tuple[int, int]]
    n_dios_orgs: int
    # small profile: how many organisations of each kind to keep besides the case organisations
    keep_cohort_munis: int | None = None
    keep_other_munis: int | None = None
    keep_other_regions: int | None = None
    keep_agencies: int | None = None


_PROFILES = {
    "national": _Profile(
        name="national",
        participation={2019: 40, 2020: 70, 2021: 105, 2022: 140, 2023: 170, 2024: 200},
        respondents={"S": (10, 25), "M": (20, 50), "L": (40, 100), "XL": (80, 150)},
        n_dios_orgs=36,
    ),
    "small": _Profile(
        name="small",
        participation={2019: 9, 2020: 12, 2021: 15, 2022: 18, 2023: 21, 2024: 23},
        respondents={"S": (6, 12), "M": (8, 16), "L": (10, 20), "XL": (12, 26)},
        n_dios_orgs=8,
        keep_cohort_munis=6,
        keep_other_munis=5,
        keep_other_regions=3,
        keep_agencies=5,
    ),
}
_N_COHORT = 60  # programme municipalities in the national universe


# ============================================================================= public API
def synthesize(
    out: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    profile: str = "national",
    codebook: str | Path | Codebook | None = None,
) -> dict[str, Path]:
    """Write a synthetic study with planted effects and the truth behind it.

    Parameters
    ----------
    out : str or Path
        Output folder (created if needed; files of an earlier run are overwritten).
    seed : int
        Seed of :func:`numpy.random.default_rng`. The same seed and profile give byte-identical
        files on any machine.
    profile : {"national", "small"}
        ``"national"``: about 300 organisations and 6 rounds (2019-2024), 10-150 respondents per
        organisation-round. ``"small"``: 25 organisations with fewer respondents, containing every
        planted case organisation (runs in about a second, for tests).
    codebook : str, Path, Codebook or None
        The instrument to simulate (default ``mognad-default-1``). Planted category effects refer
        to category *positions* within the capability and legacy dimensions (the quadrant axes).

    Returns
    -------
    dict of str to Path
        Every written file: ``dataset``, ``organisations``, ``responses_<round>``,
        ``invitations``, ``events``, ``systems``, ``budgets``, ``requests``, ``training``,
        ``truth``, ``truth_org_rounds``, ``truth_orgs``.

    Raises
    ------
    MognadError
        For an unknown profile or a codebook the model cannot simulate.

    Examples
    --------
    >>> import json, tempfile
    >>> import pandas as pd
    >>> paths = synthesize(tempfile.mkdtemp(), seed=7, profile="small")
    >>> paths["responses_2024"].name, paths["truth"].name
    ('responses_2024.csv', 'truth.json')
    >>> orgs = pd.read_csv(paths["organisations"], dtype=str, keep_default_na=False)
    >>> sorted(orgs["org_type"].unique())
    ['bolag', 'kommun', 'myndighet', 'region']
    >>> truth = json.loads(paths["truth"].read_text(encoding="utf-8"))
    >>> truth["synthetic"], truth["dont_know_rate"]
    (True, 0.03)
    """
    if profile not in _PROFILES:
        raise MognadError(f"unknown synth profile {profile!r}; use one of {list(PROFILES)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise MognadError(f"seed must be a non-negative whole number; got {seed!r}")
    cb = load_codebook(codebook)
    gen = _Generator(int(seed), _PROFILES[profile], cb)
    return gen.run(Path(out))


# ============================================================================= helpers
def _fold(text: str) -> str:
    """Lower-case ASCII for e-mail addresses and slugs ("Älvhamn" -> "alvhamn")."""
    return unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    return "".join(ch for ch in _fold(text) if ch.isalnum())


def _combine(prefix: str, suffix: str) -> str | None:
    if prefix.casefold() == suffix:
        return None
    if len(prefix) >= 2 and prefix[-1] == suffix[0] and prefix[-2] == prefix[-1]:
        prefix = prefix[:-1]  # Kall + lunda -> Kallunda, not Kalllunda
    return prefix + suffix


def _name_pool() -> list[str]:
    specials = {v[0] for v in _SPECIAL_MUNIS.values()}
    pool = []
    for p in _NAME_PREFIXES:
        for s in _NAME_SUFFIXES:
            name = _combine(p, s)
            if name and name not in _NAME_BLOCKLIST and name not in specials:
                pool.append(name)
    return pool


def _r(x, nd: int = 4):
    """Round floats (recursively) so that JSON output does not depend on the last bits."""
    if isinstance(x, dict):
        return {str(k): _r(v, nd) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_r(v, nd) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = round(float(x), nd)
        return 0.0 if v == 0 else v
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_csv(path: Path, frame: pd.DataFrame, float_format: str | None = None) -> None:
    text = frame.to_csv(index=False, lineterminator="\n", float_format=float_format, na_rep="")
    _write_bytes(path, text.encode("utf-8"))


def _iso(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (float or int) to ISO date strings; NaN becomes ''."""
    days = np.asarray(days, dtype=float)
    ok = np.isfinite(days)
    out = np.full(days.shape, "", dtype=object)
    dates = np.floor(days[ok]).astype("int64").astype("datetime64[D]")
    out[ok] = np.datetime_as_string(dates, unit="D")
    return out


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype("int64"))


# ============================================================================= the generator
class _Generator:
    def __init__(self, seed: int, profile: _Profile, cb: Codebook):
        self.seed = seed
        self.profile = profile
        self.cb = cb
        names = ("orgs", "latent", "select", "participation", "respondents", "answers", "ids",
                 "dios", "requests", "budgets", "training", "invitations", "mc")
        children = np.random.SeedSequence(seed).spawn(len(names))
        self.rng = {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}
        self._setup_codebook()

    # ------------------------------------------------------------------ codebook structure
    def _setup_codebook(self) -> None:
        cb = self.cb
        cats = cb.categories.reset_index(drop=True)
        self.cat_ids = cats["category"].tolist()
        self.n_cat = len(self.cat_ids)
        self.cat_dim = cats["dimension"].tolist()
        self.dim_ids = cb.dimensions["dimension"].tolist()
        self.dim_weight = cb.dimensions["weight"].to_numpy(float)
        self.cat_weight = cats["weight"].to_numpy(float)
        cap, leg = cb.quadrant_x, cb.quadrant_y
        if cap == leg:
            raise MognadError("synth needs a codebook whose quadrant axes are two dimensions")
        self.cap_cats = [i for i, d in enumerate(self.cat_dim) if d == cap]
        self.leg_cats = [i for i, d in enumerate(self.cat_dim) if d == leg]
        # which of the two factors drives each category (other dimensions: mean of both)
        self.cat_is_cap = np.array([d == cap for d in self.cat_dim])
        self.cat_is_leg = np.array([d == leg for d in self.cat_dim])
        mu = np.zeros(self.n_cat)
        for pos, i in enumerate(self.cap_cats):
            mu[i] = _CATEGORY_MEANS[0][min(pos, 2)]
        for pos, i in enumerate(self.leg_cats):
            mu[i] = _CATEGORY_MEANS[1][min(pos, 2)]
        self.cat_mean = mu
        # planted category targets, by position in the capability dimension
        cc = self.cap_cats
        self.reorg_cats = [cc[min(1, len(cc) - 1)], cc[min(2, len(cc) - 1)]]
        self.balance_cat = cc[min(2, len(cc) - 1)]
        items = cb.items.reset_index(drop=True)
        self.item_ids = items["item_id"].tolist()
        self.n_items = len(items)
        self.item_cat = np.array([self.cat_ids.index(c) for c in items["category"]])
        self.item_weight = items["item_weight"].to_numpy(float)
        k = cb.scale_max - cb.scale_min
        self.tau = (np.arange(1, k + 1) - (k + 1) / 2) * _THRESHOLD_STEP
        rng = self.rng["latent"]
        self.item_b = rng.normal(0.0, _ITEM_INTERCEPT_SD, self.n_items)
        self.item_lambda = rng.uniform(*_LOADING_RANGE, self.n_items)
        self.item_sigma = np.sqrt(
            self.item_lambda**2 * (_SD_RESP**2 + _SD_RESP_CAT**2) + _SD_ITEM**2
        )
        # dimension of each category as 0 (capability), 1 (legacy) or 2 (other)
        self.cat_axis = np.where(self.cat_is_cap, 0, np.where(self.cat_is_leg, 1, 2))

    # ------------------------------------------------------------------ the expected score
    def expected_cat_pct(self, m: np.ndarray) -> np.ndarray:
        """Expected category score (%) for latent category levels m (rows x categories),
        marginal over respondent and item noise (analytic: sums of normal CDFs)."""
        m = np.atleast_2d(m)
        lvl = m[:, self.item_cat]  # rows x items
        z = (self.item_b + self.item_lambda * lvl)[:, :, None] - self.tau[None, None, :]
        exp_item = self.cb.scale_min + ndtr(z / self.item_sigma[None, :, None]).sum(axis=2)
        out = np.zeros((m.shape[0], self.n_cat))
        np.add.at(out.T, self.item_cat, (exp_item * self.item_weight).T)
        return np.asarray(self.cb.rescale(out), dtype=float)

    def combine(self, cat_pct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dimension and total % from category % (codebook weights)."""
        dims = np.zeros((cat_pct.shape[0], len(self.dim_ids)))
        for j, d in enumerate(self.dim_ids):
            idx = [i for i, cd in enumerate(self.cat_dim) if cd == d]
            w = self.cat_weight[idx] / self.cat_weight[idx].sum()
            dims[:, j] = cat_pct[:, idx] @ w
        total = dims @ (self.dim_weight / self.dim_weight.sum())
        return dims, total

    def reference_total(self, delta: np.ndarray | float = 0.0) -> float:
        """Total % of the reference organisation (category means, no other offsets)."""
        m = (self.cat_mean + delta)[None, :]
        return float(self.combine(self.expected_cat_pct(m))[1][0])

    def reference_pp(self, delta) -> dict:
        """Implied percentage points of a latent shift at the reference organisation."""
        delta = np.broadcast_to(np.asarray(delta, dtype=float), (self.n_cat,))
        base = self.expected_cat_pct(self.cat_mean[None, :])
        moved = self.expected_cat_pct((self.cat_mean + delta)[None, :])
        db, tb = self.combine(base)
        dm, tm = self.combine(moved)
        out = {c: moved[0, i] - base[0, i] for i, c in enumerate(self.cat_ids)}
        out.update({d: dm[0, j] - db[0, j] for j, d in enumerate(self.dim_ids)})
        out["total"] = tm[0] - tb[0]
        return out

    # ================================================================== pipeline
    def run(self, out: Path) -> dict[str, Path]:
        self._organisations()
        self._select()
        self._org_latents()
        self._participation()
        self._units()
        self._respondents()
        self._answers()
        self._truth()
        files: dict[str, Path] = {}
        files.update(self._write_inputs(out))
        files.update(self._write_cases(out))
        files.update(self._write_truth(out))
        return files

    # ------------------------------------------------------------------ organisations
    def _organisations(self) -> None:
        rng = self.rng["orgs"]
        pool = _name_pool()
        order = rng.permutation(len(pool))
        rows = []
        taken = 0
        special_by_county: dict[str, list[str]] = {}
        for key, (_stem, county, _kg, _size) in _SPECIAL_MUNIS.items():
            special_by_county.setdefault(county, []).append(key)
        for county, n in zip(_REAL_COUNTIES, _MUNIS_PER_COUNTY, strict=True):
            specials = special_by_county.get(county, [])
            for key in specials:
                stem, _, kg, size = _SPECIAL_MUNIS[key]
                rows.append({"stem": stem, "county_code": county, "kommungrupp": kg,
                             "size_class": size, "case": key})
            group = "metro" if county in _METRO else "north" if county in _NORTH else "other"
            probs = np.array(_KG_PROBS[group])
            for _ in range(n - len(specials)):
                stem = pool[order[taken]]
                taken += 1
                kg = str(rng.choice(_KOMMUNGRUPPER, p=probs / probs.sum()))
                rows.append({"stem": stem, "county_code": county, "kommungrupp": kg,
                             "size_class": self._muni_size(kg, rng), "case": ""})
        munis = pd.DataFrame(rows).sort_values(["county_code", "stem"]).reset_index(drop=True)
        munis["org_id"] = [str(9001 + i) for i in range(len(munis))]
        munis["name"] = munis["stem"] + " kommun"
        munis["org_type"] = "kommun"
        munis["parent_org_id"] = ""
        munis["domain"] = munis["stem"].map(_slug) + ".example"

        regions = pd.DataFrame({
            "org_id": [f"R{i + 1:02d}" for i in range(len(_REAL_COUNTIES))],
            "name": list(_REGION_NAMES),
            "county_code": list(_REAL_COUNTIES),
        })
        regions["org_type"] = "region"
        regions["kommungrupp"] = ""
        regions["parent_org_id"] = ""
        regions["size_class"] = [
            "XL" if c in _LARGE_REGION_COUNTIES else "M" if c in _SMALL_REGION_COUNTIES else "L"
            for c in _REAL_COUNTIES
        ]
        regions["case"] = np.where(regions["county_code"] == _REORG_REGION_COUNTY,
                                   "reorg_region", "")
        regions["domain"] = regions["name"].map(_slug) + ".example"

        agencies = pd.DataFrame({
            "org_id": [f"M{i + 1:03d}" for i in range(len(_AGENCY_NAMES))],
            "name": list(_AGENCY_NAMES),
        })
        agencies["org_type"] = "myndighet"
        agencies["county_code"] = rng.choice(_AGENCY_COUNTIES, size=len(agencies))
        agencies["kommungrupp"] = ""
        agencies["parent_org_id"] = ""
        agencies["size_class"] = rng.choice(["S", "M", "L"], size=len(agencies), p=[0.3, 0.45, 0.25])
        agencies["case"] = ""
        agencies["domain"] = agencies["name"].map(_slug) + ".example"

        owner = munis.loc[munis["case"] == "storstad_14", "org_id"].iloc[0]
        company = pd.DataFrame([{
            "org_id": "B001", "name": _COMPANY_NAME, "org_type": "bolag", "county_code": "14",
            "kommungrupp": "", "parent_org_id": owner, "size_class": "M", "case": "company",
            "domain": _slug(_COMPANY_NAME.removesuffix(" AB")) + ".example",
        }])
        cols = ["org_id", "name", "org_type", "county_code", "kommungrupp", "parent_org_id",
                "size_class", "case", "domain"]
        self.universe = pd.concat(
            [munis[cols], regions[cols], agencies[cols], company[cols]], ignore_index=True
        )
        # programme cohort: municipalities other than the case municipalities, uniformly at random
        eligible = np.flatnonzero((self.universe["org_type"] == "kommun")
                                  & (self.universe["case"] == "").to_numpy())
        cohort = rng.choice(eligible, size=_N_COHORT, replace=False)
        self.universe["cohort"] = False
        self.universe.loc[cohort, "cohort"] = True

    @staticmethod
    def _muni_size(kg: str, rng: np.random.Generator) -> str:
        if kg == "B3":
            return "L"
        if kg == "A2":
            return str(rng.choice(["M", "L"]))
        if kg in ("B4", "C6"):
            return str(rng.choice(["M", "S"], p=[0.7, 0.3]))
        return str(rng.choice(["S", "M"], p=[0.8, 0.2]))

    def _select(self) -> None:
        u = self.universe
        p = self.profile
        if p.keep_cohort_munis is None:
            self.orgs = u.copy()
        else:
            rng = self.rng["select"]
            keep = set(np.flatnonzero(u["case"].isin(
                ["reorg_region", "company", "governance_a", "governance_b", "course",
                 "storstad_14"]).to_numpy()))
            kommun = (u["org_type"] == "kommun").to_numpy()
            case = (u["case"] != "").to_numpy()
            cohort = u["cohort"].to_numpy()

            def pick(mask, n):
                return set(rng.choice(np.flatnonzero(mask), size=n, replace=False).tolist())

            keep |= pick(kommun & cohort, p.keep_cohort_munis)
            keep |= pick(kommun & ~cohort & ~case, p.keep_other_munis)
            keep |= pick((u["org_type"] == "region").to_numpy() & ~case, p.keep_other_regions)
            keep |= pick((u["org_type"] == "myndighet").to_numpy(), p.keep_agencies)
            self.orgs = u.iloc[sorted(keep)].copy()
        self.orgs = self.orgs.sort_values("org_id").reset_index(drop=True)
        self.n_org = len(self.orgs)
        self.case_index = {c: int(i) for i, c in zip(self.orgs.index, self.orgs["case"],
                                                     strict=True) if c}

    # ------------------------------------------------------------------ latent organisation levels
    def _org_latents(self) -> None:
        # drawn for the whole universe, so that the small profile shares the national values
        rng = self.rng["latent"]
        n_u = len(self.universe)
        # correlated capability and legacy factors by explicit arithmetic (no LAPACK, so the
        # same bits on every machine)
        z = rng.normal(0.0, 1.0, (n_u, 2))
        rho = _ORG_FACTOR_CORR
        factors = _SD_ORG_FACTOR * np.column_stack(
            [z[:, 0], rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]])
        dev = rng.normal(0.0, _SD_ORG_CATEGORY, (n_u, self.n_cat))
        round_dev = rng.normal(0.0, _SD_ORG_ROUND, (n_u, len(ROUNDS)))
        engagement = rng.normal(0.0, 1.0, n_u)
        pos = self.universe.reset_index(drop=True).reset_index().set_index("org_id")["index"]
        idx = pos.loc[self.orgs["org_id"]].to_numpy()
        self.F = factors[idx, 0]
        self.L = factors[idx, 1]
        self.org_cat_dev = dev[idx]
        self.org_round_dev = round_dev[idx]
        self.engagement = engagement[idx]
        o = self.orgs
        base = np.zeros((self.n_org, self.n_cat))
        base += self.cat_mean
        base += o["org_type"].map(_ORG_TYPE_EFFECT).to_numpy(float)[:, None]
        base += o["size_class"].map(_SIZE_EFFECT).to_numpy(float)[:, None]
        other = ~(self.cat_is_cap | self.cat_is_leg)
        base += np.outer(self.F, self.cat_is_cap) + np.outer(self.L, self.cat_is_leg)
        base += np.outer((self.F + self.L) / 2, other)
        base += self.org_cat_dev
        self.org_base = base

    # ------------------------------------------------------------------ participation
    def _participation(self) -> None:
        rng = self.rng["participation"]
        o = self.orgs
        z = (self.engagement + 1.0 * o["cohort"].to_numpy(float)
             + 0.5 * self.F / _SD_ORG_FACTOR
             + np.where(o["org_type"] == "region", 0.5, 0.0)
             + np.where(o["org_type"] == "myndighet", -0.2, 0.0))
        score = z[:, None] + 0.7 * rng.normal(size=(self.n_org, len(ROUNDS)))
        forced = np.zeros((self.n_org, len(ROUNDS)), dtype=int)  # 1 in, -1 out
        for key in ("reorg_region", "governance_a", "governance_b", "course"):
            forced[self.case_index[key], :] = 1
        ci = self.case_index["company"]
        forced[ci, :] = [1 if r >= _COMPANY_FIRST_ROUND else -1 for r in ROUNDS]
        part = np.zeros_like(forced, dtype=bool)
        for t, r in enumerate(ROUNDS):
            k = self.profile.participation[r]
            part[forced[:, t] == 1, t] = True
            free = np.flatnonzero(forced[:, t] == 0)
            n_more = k - int((forced[:, t] == 1).sum())
            best = free[np.argsort(-score[free, t], kind="stable")[:n_more]]
            part[best, t] = True
        self.part = part
        oi, ti = np.nonzero(part)
        order = np.lexsort((ti, oi))
        self.or_org = oi[order]
        self.or_t = ti[order]
        self.or_round = np.array(ROUNDS)[self.or_t]
        self.n_or = len(self.or_org)

        # latent level of each organisation-round, with the planted effects kept apart
        eta = self.org_base[self.or_org] + self.org_round_dev[self.or_org, self.or_t][:, None]
        trend = np.array([_TREND[r] for r in self.or_round])
        eta += trend[:, None]
        eff: dict[str, np.ndarray] = {}
        cohort = o["cohort"].to_numpy()[self.or_org]
        e = np.zeros((self.n_or, self.n_cat))
        e[cohort & (self.or_round >= _PROGRAMME["first_round"])] = _PROGRAMME["effect_latent"]
        eff["programme"] = e
        e = np.zeros((self.n_or, self.n_cat))
        rows = (self.or_org == self.case_index["reorg_region"]) & (
            self.or_round >= _REORG["first_round"])
        for c, d in zip(self.reorg_cats, _REORG["effects"], strict=True):
            e[rows, c] += d
        eff["reorganisation"] = e
        e = np.zeros((self.n_or, self.n_cat))
        for key, info in self.governance_info().items():
            rows = (self.or_org == self.case_index[key]) & (self.or_round >= info["first_round"])
            e[rows, self.balance_cat] += _GOVERNANCE_SURVEY_EFFECT
        eff["funding_change"] = e
        e = np.zeros((self.n_or, self.n_cat))
        rows = (self.or_org == self.case_index["course"]) & (
            self.or_round >= _COURSE["survey_first_round"])
        e[np.ix_(rows, self.cap_cats)] += _COURSE["survey_effect_latent"]
        eff["course"] = e
        self.effects = eff
        self.eta = eta + sum(eff.values())

    @staticmethod
    def governance_info() -> dict[str, dict]:
        # planted funding-model change and the queue of development requests, per municipality
        return {
            "governance_a": {
                "date": "2020-01-01", "first_round": 2020,
                "arrivals_per_month": (14.0, 9.0), "reject_share": (0.10, 0.20),
                "decision_days_mean": (14.0, 42.0), "capacity_per_month": (11.5, 6.8),
                "delivery_days_mean": 45.0, "it_budget_msek_2018": 60.0,
                "budget_shares": ((0.40, 0.25, 0.20, 0.15), (0.45, 0.31, 0.14, 0.10)),
            },
            "governance_b": {
                "date": "2021-01-01", "first_round": 2021,
                "arrivals_per_month": (18.0, 12.0), "reject_share": (0.08, 0.18),
                "decision_days_mean": (10.0, 35.0), "capacity_per_month": (15.9, 9.5),
                "delivery_days_mean": 50.0, "it_budget_msek_2018": 85.0,
                "budget_shares": ((0.38, 0.27, 0.20, 0.15), (0.44, 0.32, 0.14, 0.10)),
            },
        }

    # ------------------------------------------------------------------ units
    def _units(self) -> None:
        rng = self.rng["orgs"]
        rows = []
        for oi, org in self.orgs.iterrows():
            t = org["org_type"]
            if t == "bolag":
                for name, off, _n in _COMPANY_DEPARTMENTS:
                    rows.append((oi, name, off, 0.0))
                continue
            template = {"kommun": _MUNI_UNITS, "region": _REGION_UNITS,
                        "myndighet": _AGENCY_UNITS}[t]
            n_top, n_sub = _UNITS_BY_SIZE[org["size_class"]]
            n_top = min(n_top, len(template))
            for top, off, subs in template[:n_top]:
                for sub in subs[:n_sub]:
                    path = f"{top}/{sub}"
                    rows.append((oi, path, off, rng.normal(0.0, _SD_ORG_UNIT)))
            if org["case"] == "reorg_region":
                if not any(r[1] == _REORG_OLD_UNIT for r in rows if r[0] == oi):
                    rows.append((oi, _REORG_OLD_UNIT, 0.15, rng.normal(0.0, _SD_ORG_UNIT)))
                for path, off in zip(_REORG_NEW_UNITS, _REORG_NEW_OFFSETS, strict=True):
                    rows.append((oi, path, off, rng.normal(0.0, _SD_ORG_UNIT)))
        units = pd.DataFrame(rows, columns=["org", "unit", "type_offset", "org_offset"])
        units["offset"] = units["type_offset"] + units["org_offset"]
        self.units = units
        counts = units.groupby("org").size().reindex(range(self.n_org), fill_value=0)
        self.unit_count = counts.to_numpy()
        self.unit_start = np.concatenate([[0], np.cumsum(self.unit_count)[:-1]])
        ri = self.case_index["reorg_region"]
        path = units["unit"].to_numpy()
        self.reorg_old = int(np.flatnonzero((units["org"] == ri).to_numpy()
                                            & (path == _REORG_OLD_UNIT))[0])
        self.reorg_new = np.array([int(np.flatnonzero((units["org"] == ri).to_numpy()
                                                      & (path == p))[0])
                                   for p in _REORG_NEW_UNITS])

    # ------------------------------------------------------------------ respondents
    def _respondents(self) -> None:
        rng = self.rng["respondents"]
        o = self.orgs
        size = o["size_class"].to_numpy()[self.or_org]
        lo = np.array([self.profile.respondents[s][0] for s in size])
        hi = np.array([self.profile.respondents[s][1] for s in size])
        n = rng.integers(lo, hi + 1)
        ci = self.case_index["company"]
        n_dept = len(_COMPANY_DEPARTMENTS)
        latest = self.or_round == ROUNDS[-1]
        company_counts = {}
        for k in np.flatnonzero(self.or_org == ci):
            if latest[k]:
                cnt = np.array([d[2] for d in _COMPANY_DEPARTMENTS])
            else:
                cnt = rng.integers(3, 11, n_dept)
            company_counts[k] = cnt
            n[k] = cnt.sum()
        self.n_resp = n
        N = int(n.sum())
        resp_or = np.repeat(np.arange(self.n_or), n)
        org = self.or_org[resp_or]
        rnd = self.or_round[resp_or]
        unit = self.unit_start[org] + np.floor(rng.random(N) * self.unit_count[org]).astype(int)
        block_start = np.concatenate([[0], np.cumsum(n)[:-1]])
        for k, cnt in company_counts.items():
            s = block_start[k]
            unit[s:s + n[k]] = self.unit_start[ci] + np.repeat(np.arange(n_dept), cnt)
        role = rng.choice(len(ROLES), size=N, p=ROLE_PROBS)
        person = np.full(N, -1)
        u_r = rng.normal(0.0, _SD_RESP, N)
        v_rc = rng.normal(0.0, _SD_RESP_CAT, (N, self.n_cat))

        # named follow-up respondents: the same person (id, unit, role, latent) across rounds
        persons = []
        for key, n_p in _N_FOLLOW_UP.items():
            oi = self.case_index[key]
            for _ in range(n_p):
                persons.append({
                    "org": oi,
                    "unit": int(self.unit_start[oi] + rng.integers(self.unit_count[oi])),
                    "new_unit": int(rng.integers(2)),
                    "role": int(rng.choice(len(ROLES), p=ROLE_PROBS)),
                    "u": rng.normal(0.0, _SD_RESP),
                    "v": rng.normal(0.0, _SD_RESP_CAT, self.n_cat),
                })
        self.persons = persons
        person_org = np.array([info["org"] for info in persons])
        for k in np.flatnonzero(np.isin(self.or_org, person_org)):
            members = np.flatnonzero(person_org == self.or_org[k]).tolist()
            take = [p for p in members if rng.random() < _FOLLOW_UP_PARTICIPATION][: n[k]]
            s = block_start[k]
            for j, p in enumerate(take):
                info = persons[p]
                person[s + j] = p
                unit[s + j] = info["unit"]
                role[s + j] = info["role"]
                u_r[s + j] = info["u"]
                v_rc[s + j] = info["v"]
        # the reorganised region: the IT department exists up to 2019, its two successors after
        ri = self.case_index["reorg_region"]
        in_region = org == ri
        split_round = int(_REORG["date"][:4])
        old = in_region & (rnd >= split_round) & (unit == self.reorg_old)
        person_new_unit = np.array([info["new_unit"] for info in persons] + [0])
        pick = np.where(person >= 0, person_new_unit[person], rng.integers(0, 2, N))
        unit[old] = self.reorg_new[pick[old]]
        new = in_region & (rnd < split_round) & np.isin(unit, self.reorg_new)
        unit[new] = self.reorg_old
        self.resp = pd.DataFrame({"or": resp_or, "org": org, "round": rnd, "unit": unit,
                                  "role": role, "person": person})
        self.u_r = u_r
        self.v_rc = v_rc
        self.N = N

        # latent category levels of every respondent (without respondent noise)
        role_off = np.array([ROLE_OFFSETS[r] for r in ROLES])  # roles x 2
        role_cat = np.where(self.cat_axis[None, :] == 0, role_off[:, [0]],
                            np.where(self.cat_axis[None, :] == 1, role_off[:, [1]],
                                     role_off.mean(axis=1, keepdims=True)))
        self.resp_m = (self.eta[resp_or] + self.units["offset"].to_numpy()[unit][:, None]
                       + role_cat[role])

    # ------------------------------------------------------------------ answers
    def _answers(self) -> None:
        rng = self.rng["answers"]
        lvl = self.resp_m + self.u_r[:, None] + self.v_rc  # N x categories
        ystar = (self.item_b + self.item_lambda * lvl[:, self.item_cat]
                 + rng.normal(0.0, _SD_ITEM, (self.N, self.n_items)))
        self.answers = self.cb.scale_min + np.searchsorted(self.tau, ystar, side="left")
        self.dont_know = rng.random((self.N, self.n_items)) < DONT_KNOW_RATE

    # ------------------------------------------------------------------ truth
    def _truth_rows(self, m: np.ndarray, or_index: np.ndarray, n_groups: int) -> np.ndarray:
        pct = self.expected_cat_pct(m)
        sums = np.zeros((n_groups, self.n_cat))
        np.add.at(sums, or_index, pct)
        cnt = np.bincount(or_index, minlength=n_groups)
        return sums / np.maximum(cnt, 1)[:, None]

    def _truth(self) -> None:
        r = self.resp
        cats = self._truth_rows(self.resp_m, r["or"].to_numpy(), self.n_or)
        dims, total = self.combine(cats)
        self.true_cats, self.true_dims, self.true_total = cats, dims, total
        ix, iy = self.dim_ids.index(self.cb.quadrant_x), self.dim_ids.index(self.cb.quadrant_y)
        self.true_type = self.cb.classify(dims[:, ix], dims[:, iy])
        # counterfactual truth without each planted effect, for the realised effects in pp
        self.realised = {}
        for name, e in self.effects.items():
            hit = np.flatnonzero(np.abs(e).sum(axis=1) > 0)
            if len(hit) == 0:
                self.realised[name] = {}
                continue
            rows = np.flatnonzero(np.isin(r["or"].to_numpy(), hit))
            local = np.searchsorted(hit, r["or"].to_numpy()[rows])
            cf = self._truth_rows(self.resp_m[rows] - e[r["or"].to_numpy()[rows]], local, len(hit))
            cf_dims, cf_total = self.combine(cf)
            self.realised[name] = {
                "or": hit, "cats": cats[hit] - cf, "dims": dims[hit] - cf_dims,
                "total": total[hit] - cf_total,
            }

    # ================================================================== writing: inputs
    def _write_inputs(self, out: Path) -> dict[str, Path]:
        files: dict[str, Path] = {}
        inp = out / "inputs"
        meta = {
            "name": f"Syntetisk studie ({self.profile.name}, seed {self.seed})",
            "synthetic": True,
            "seed": self.seed,
            "profile": self.profile.name,
            "generator": f"{GENERATOR} {GENERATOR_VERSION}",
            "generator_version": GENERATOR_VERSION,
            "codebook": self.cb.id,
            "rounds": list(ROUNDS),
            "description": "Fiktiva organisationer och svar med planterade effekter; "
                           "sanningen finns i truth.json.",
        }
        files["dataset"] = inp / "dataset.yaml"
        _write_bytes(files["dataset"], yaml.safe_dump(
            meta, allow_unicode=True, sort_keys=False, default_flow_style=None,
            line_break="\n").encode("utf-8"))

        orgs = self.orgs[["org_id", "name", "org_type", "county_code", "kommungrupp",
                          "parent_org_id", "size_class"]]
        files["organisations"] = inp / "organisations.csv"
        _write_csv(files["organisations"], orgs)

        resp = self._response_frame()
        for r in ROUNDS:
            key = f"responses_{r}"
            files[key] = inp / f"{key}.csv"
            _write_csv(files[key], resp.loc[resp["round"] == r])

        files["invitations"] = inp / "invitations.csv"
        _write_csv(files["invitations"], self._invitations())
        files["events"] = inp / "events.csv"
        _write_csv(files["events"], self._events())
        return files

    def _response_frame(self) -> pd.DataFrame:
        r = self.resp
        o = self.orgs
        org_id = o["org_id"].to_numpy()[r["org"]]
        ids = self._respondent_ids()
        frame = pd.DataFrame({
            "org_id": org_id,
            "round": r["round"].to_numpy(),
            "respondent_id": ids,
            "unit": self.units["unit"].to_numpy()[r["unit"]],
            "role": np.array(ROLES, dtype=object)[r["role"]],
        })
        values = self.answers.astype(str).astype(object)
        values[self.dont_know] = DONT_KNOW_TEXT
        answers = pd.DataFrame(values, columns=self.item_ids)
        frame = pd.concat([frame, answers], axis=1)
        self.respondent_ids = ids
        return frame.sort_values(["org_id", "round", "respondent_id"], kind="stable")

    def _respondent_ids(self) -> np.ndarray:
        rng = self.rng["ids"]
        r = self.resp
        o = self.orgs
        first = rng.integers(len(_FIRST_NAMES), size=self.N)
        last = rng.integers(len(_LAST_NAMES), size=self.N)
        # numbers 1000-9999, unique within an organisation over all rounds
        numbers = rng.permuted(np.tile(np.arange(1000, 10000), (self.n_org, 1)), axis=1)
        n_persons = np.zeros(self.n_org, dtype=int)
        person_no = np.zeros(len(self.persons), dtype=int)
        person_first = np.zeros(len(self.persons), dtype=int)
        person_last = np.zeros(len(self.persons), dtype=int)
        for p, info in enumerate(self.persons):
            person_no[p] = n_persons[info["org"]]
            n_persons[info["org"]] += 1
            person_first[p] = rng.integers(len(_FIRST_NAMES))
            person_last[p] = rng.integers(len(_LAST_NAMES))
        fresh = r["person"].to_numpy() < 0
        org = r["org"].to_numpy()
        rank = np.zeros(self.N, dtype=int)
        rank[fresh] = (pd.Series(org[fresh]).groupby(org[fresh]).cumcount().to_numpy()
                       + n_persons[org[fresh]])
        pers = r["person"].to_numpy()
        rank[~fresh] = person_no[pers[~fresh]]
        first[~fresh] = person_first[pers[~fresh]]
        last[~fresh] = person_last[pers[~fresh]]
        fold_first = np.array([_fold(x) for x in _FIRST_NAMES], dtype=object)
        fold_last = np.array([_fold(x) for x in _LAST_NAMES], dtype=object)
        domain = o["domain"].to_numpy()[org]
        num = numbers[org, rank].astype(str).astype(object)
        ids = fold_first[first] + "." + fold_last[last] + "." + num + "@" + domain
        # agencies run anonymous rounds: a code per answer, no e-mail
        anon = (o["org_type"].to_numpy()[org] == "myndighet")
        if anon.any():
            seq = pd.Series(np.arange(self.N))[anon].groupby(r["or"].to_numpy()[anon]).cumcount()
            code = (o["org_id"].to_numpy()[org[anon]].astype(object) + "-"
                    + r["round"].to_numpy()[anon].astype(str).astype(object) + "-"
                    + np.char.zfill((seq.to_numpy() + 1).astype(str), 4).astype(object))
            ids[anon] = code
        return ids

    def _invitations(self) -> pd.DataFrame:
        rng = self.rng["invitations"]
        r = self.resp
        g = r.groupby(["or", "unit"], sort=True).size().rename("n").reset_index()
        rate = rng.uniform(0.4, 0.9, self.n_or)
        invited = np.maximum(g["n"].to_numpy(),
                             np.round(g["n"].to_numpy() / rate[g["or"].to_numpy()]).astype(int))
        out = pd.DataFrame({
            "org_id": self.orgs["org_id"].to_numpy()[self.or_org[g["or"].to_numpy()]],
            "round": self.or_round[g["or"].to_numpy()],
            "unit": self.units["unit"].to_numpy()[g["unit"].to_numpy()],
            "invited": invited,
        })
        self.response_rate = rate
        return out.sort_values(["org_id", "round", "unit"], kind="stable")

    def _events(self) -> pd.DataFrame:
        o = self.orgs
        rows = []
        for oid in o.loc[o["cohort"], "org_id"]:
            rows.append((oid, _PROGRAMME["start"], "programme_start",
                         "Går med i det nationella programmet Digital mognad (2021-03 – 2023-02)"))
            rows.append((oid, _PROGRAMME["end"], "programme_end",
                         "Det nationella programmet Digital mognad avslutas"))
        ri = self.case_index["reorg_region"]
        rows.append((o.at[ri, "org_id"], _REORG["date"], "reorganisation",
                     "IT delas i drift (IT-chef) och utveckling/innovation (digitaliseringsdirektör)"))
        for key, info in self.governance_info().items():
            rows.append((o.at[self.case_index[key], "org_id"], info["date"], "funding_change",
                         "Intern prissättning (köp–sälj) införs för IT- och utvecklingstjänster"))
        rows.append((o.at[self.case_index["course"], "org_id"], _COURSE["date"], "course_start",
                     "Femveckorskurs i digital transformation för chefer och experter startar"))
        ev = pd.DataFrame(rows, columns=["org_id", "date", "kind", "text"])
        return ev.sort_values(["date", "org_id", "kind"], kind="stable")

    # ================================================================== writing: cases
    def _write_cases(self, out: Path) -> dict[str, Path]:
        files = {}
        cases = out / "cases"
        files["systems"] = cases / "systems.csv"
        _write_csv(files["systems"], self._systems())
        files["budgets"] = cases / "budgets.csv"
        _write_csv(files["budgets"], self._budgets())
        files["requests"] = cases / "requests.csv"
        _write_csv(files["requests"], self._requests())
        files["training"] = cases / "training.csv"
        _write_csv(files["training"], self._training())
        return files

    # ------------------------------------------------------------------ DIOS
    _DOMAINS = (
        # domain, vendors, products, system names, median cost (kSEK), importance (mean)
        ("Ekonomi", ("Ekonomera AB", "Kassaboken Nord AB", "Fjärdingen Data AB"),
         ("Ekonomi", "Fakturor", "Budget"), ("Ekonomisystem", "Fakturahantering",
                                              "Budget och prognos"), 600, 3.3),
        ("HR och lön", ("Lönekraft AB", "Personalia System AB", "Fjärdingen Data AB"),
         ("Lön", "HR", "Schema"), ("Lönesystem", "HR-system", "Schemaläggning"), 500, 3.2),
        ("Ärende och dokument", ("Ärendia AB", "Arkivum Norden AB", "Diariehuset AB"),
         ("Ärende", "Diarium", "Arkiv"), ("Ärendehantering", "Diarium", "E-arkiv"), 350, 3.0),
        ("Socialtjänst", ("Omsorgia AB", "Välfärdsdata AB"),
         ("Social", "Hemtjänst", "Mobil"), ("Verksamhetssystem socialtjänst", "Hemtjänstplanering",
                                             "Mobil dokumentation"), 1200, 3.7),
        ("Skola", ("Skolplattan AB", "Lärbron AB", "Elevia AB"),
         ("Lärplattform", "Elevregister", "Frånvaro"), ("Lärplattform", "Elevregister",
                                                        "Frånvarohantering"), 450, 3.0),
        ("Bygg och miljö", ("Kartex AB", "Planritningen AB"),
         ("Bygglov", "GIS", "Tillsyn"), ("Bygglovshantering", "Kartsystem", "Miljötillsyn"),
         250, 2.6),
        ("E-tjänster", ("Blankettfabriken AB", "Medborgarportalen AB", "Ärendia AB"),
         ("E-tjänst", "Portal", "Formulär"), ("E-tjänsteplattform", "Invånarportal",
                                              "Formulärverktyg"), 150, 2.8),
        ("Samarbete och kommunikation", ("Molnkontoret AB", "Intranätet Nord AB"),
         ("Intranät", "Kontor", "Webb"), ("Intranät", "Kontorsstöd", "Webbpublicering"), 200, 2.5),
        ("Infrastruktur och drift", ("Serverhallen AB", "Nätbolaget Mitt AB", "Molnkontoret AB"),
         ("Katalog", "Backup", "Övervakning"), ("Katalogtjänst", "Säkerhetskopiering",
                                                "Driftövervakning"), 300, 3.4),
        ("Vård", ("Journalia AB", "Vårdsystem Syd AB"),
         ("Journal", "Remiss", "Labb"), ("Vårdjournal", "Remisshantering", "Labbsystem"), 3000, 3.9),
    )
    _MONOPOLY_DOMAIN = "Socialtjänst"
    _MONOPOLY_VENDOR = "Omsorgia AB"
    _MONOPOLY_ORG_SHARE = 0.92
    _DIOS_YEARS = (2022, 2023, 2024)
    _QUALITY_BETA = 0.6  # per SD of the organisation's survey legacy factor
    _QUALITY_ORG_SD = 0.3  # organisation-level quality deviation unrelated to the survey
    _QUALITY_AGE = -0.04  # per year of system age
    _QUALITY_CUTS = (-1.0, 0.0, 1.0)
    _UNASSESSED = 0.06
    _COMPLIANCE = {  # logistic P(ja) = a + b * (introduced_year - 2010) / 10 + c * legacy_z
        "open_standards": (1.6, 0.8, 0.4),
        "open_api": (1.3, 1.0, 0.4),
        "data_ownership": (1.4, 0.6, 0.4),  # latent for ja / delvis / nej
    }

    def _systems(self) -> pd.DataFrame:
        rng = self.rng["dios"]
        o = self.orgs
        t_last = len(ROUNDS) - 1
        cand = np.flatnonzero(self.part[:, t_last] & o["org_type"].isin(["kommun", "region"])
                              .to_numpy())
        must = [self.case_index[k] for k in ("reorg_region", "governance_a", "governance_b",
                                             "course")]
        rest = np.setdiff1d(cand, must)
        n_more = max(0, min(len(rest), self.profile.n_dios_orgs - len(must)))
        chosen = np.sort(np.concatenate([must, rng.choice(rest, size=n_more, replace=False)]))
        self.dios_orgs = chosen
        size_factor = {"S": 0.7, "M": 1.0, "L": 1.4, "XL": 2.0}
        legacy_z = self.L / _SD_ORG_FACTOR
        org_q = self._QUALITY_BETA * legacy_z + rng.normal(0.0, self._QUALITY_ORG_SD, self.n_org)
        rows = []
        monopoly_orgs = {}
        for oi in chosen:
            org = o.loc[oi]
            sf = size_factor[org["size_class"]]
            is_region = org["org_type"] == "region"
            sys_no = 0
            systems = []
            for domain, vendors, products, names, cost, imp in self._DOMAINS:
                if domain == "Vård" and not is_region:
                    continue
                if domain in ("Skola", "Socialtjänst", "Bygg och miljö") and is_region:
                    continue
                n_sys = 1 + rng.poisson(2.0 * sf)
                if domain == self._MONOPOLY_DOMAIN:
                    mono = rng.random() < self._MONOPOLY_ORG_SHARE
                    monopoly_orgs[oi] = mono
                    primary = 0 if mono else 1 + rng.integers(len(vendors) - 1)
                else:
                    shares = rng.dirichlet(np.ones(len(vendors)) * 2.0)
                    primary = int(rng.choice(len(vendors), p=shares))
                for _ in range(n_sys):
                    if domain == self._MONOPOLY_DOMAIN or rng.random() < 0.7:
                        v = primary
                    else:
                        v = int(rng.integers(len(vendors)))
                    p_i = int(rng.integers(len(products)))
                    vendor = vendors[v]
                    sys_no += 1
                    age = min(int(rng.gamma(2.0, 5.0)), 30)
                    introduced = 2021 - age
                    systems.append(self._new_system(rng, oi, sys_no, vendor, p_i, introduced,
                                                    org_q[oi], legacy_z[oi], sf, names, cost, imp,
                                                    domain, products))
            # yearly dynamics: decommissioning, new systems, lifecycle changes, cost inflation
            for y_i, year in enumerate(self._DIOS_YEARS):
                if y_i > 0:
                    kept = []
                    for s in systems:
                        if s["lifecycle"] == "avveckling" and rng.random() < 0.6:
                            continue
                        if s["lifecycle"] == "införande":
                            s["lifecycle"] = "förvaltning"
                        elif (s["lifecycle"] == "förvaltning" and s["technical_quality"] in (1, 2)
                              and year - s["introduced_year"] > 12 and rng.random() < 0.15):
                            s["lifecycle"] = "avveckling"
                        s["annual_cost_sek"] = int(round(s["annual_cost_sek"] * 1.03, -3))
                        kept.append(s)
                    systems = kept
                    for _ in range(int(rng.integers(1, 4))):
                        d_i = int(rng.integers(len(self._DOMAINS)))
                        domain, vendors, products, names, cost, imp = self._DOMAINS[d_i]
                        if domain == "Vård" and not is_region:
                            continue
                        if domain in ("Skola", "Socialtjänst", "Bygg och miljö") and is_region:
                            continue
                        sys_no += 1
                        if domain == self._MONOPOLY_DOMAIN:
                            vendor = vendors[0] if monopoly_orgs.get(oi, True) else vendors[1]
                        else:
                            vendor = vendors[int(rng.integers(len(vendors)))]
                        systems.append(self._new_system(
                            rng, oi, sys_no, vendor, int(rng.integers(len(products))), year,
                            org_q[oi], legacy_z[oi], sf, names, cost, imp, domain, products))
                for s in systems:
                    if y_i == 0 and s["introduced_year"] >= year:
                        s["lifecycle"] = "införande"
                    rows.append({"org_id": org["org_id"], "year": year, **s})
        cols = ["org_id", "year", "system_id", "system_name", "domain", "vendor", "product",
                "hosting", "introduced_year", "lifecycle", "annual_cost_sek", "importance",
                "technical_quality", "functional_quality", "rated_by", "open_standards",
                "open_api", "data_ownership", "integrations"]
        frame = pd.DataFrame(rows)[cols]
        for c in ("technical_quality", "functional_quality"):
            frame[c] = frame[c].astype("Int64")
        self.systems = frame.sort_values(["org_id", "year", "system_id"], kind="stable")
        self.monopoly_orgs = monopoly_orgs
        return self.systems

    def _new_system(self, rng, oi, sys_no, vendor, p_i, introduced, org_q, legacy_z, sf, names,
                    cost, imp, domain, products) -> dict:
        age = 2024 - introduced
        q = org_q + self._QUALITY_AGE * (age - 10)
        tq = 1 + int(np.searchsorted(self._QUALITY_CUTS, q + rng.normal(0.0, 0.8)))
        fq = 1 + int(np.searchsorted(self._QUALITY_CUTS, 0.6 * q + rng.normal(0.0, 0.8)))
        assessed = rng.random() >= self._UNASSESSED
        x = (introduced - 2010) / 10.0

        def yes(key):
            a, b, c = self._COMPLIANCE[key]
            return rng.random() < 1.0 / (1.0 + np.exp(-(a + b * x + c * legacy_z)))

        a, b, c = self._COMPLIANCE["data_ownership"]
        own_lat = a + b * x + c * legacy_z + rng.logistic()
        ownership = "ja" if own_lat > 0.5 else "delvis" if own_lat > -1.0 else "nej"
        lifecycle = "förvaltning"
        if age > 15 and tq <= 2 and rng.random() < 0.3:
            lifecycle = "avveckling"
        importance = int(np.clip(np.round(imp + rng.normal(0.0, 0.7)), 1, 4))
        hosting = str(rng.choice(["lokal", "driftpartner", "saas", "publikt_moln"],
                                 p=_hosting_probs(introduced)))
        return {
            "system_id": f"{self.orgs.at[oi, 'org_id']}-S{sys_no:03d}",
            "system_name": names[p_i],
            "domain": domain,
            "vendor": vendor,
            "product": f"{vendor.removesuffix(' AB')} {products[p_i]}",
            "hosting": hosting,
            "introduced_year": int(introduced),
            "lifecycle": "införande" if introduced >= 2022 else lifecycle,
            "annual_cost_sek": int(round(cost * 1000 * sf * np.exp(rng.normal(0.0, 0.6)), -3)),
            "importance": importance,
            "technical_quality": tq if assessed else None,
            "functional_quality": fq if assessed else None,
            "rated_by": str(rng.choice(["systemförvaltare", "systemägare", "IT-avdelningen"]))
            if assessed else "",
            "open_standards": "ja" if yes("open_standards") else "nej",
            "open_api": "ja" if yes("open_api") else "nej",
            "data_ownership": ownership,
            "integrations": int(rng.poisson(1.5 + 2.5 * (importance >= 3))),
        }

    # ------------------------------------------------------------------ budgets
    _REGION_BUDGET = {"msek_2018": 900.0, "step_from": 2021, "step": 1.12,
                      "shares": ((0.42, 0.30, 0.16, 0.12), (0.36, 0.26, 0.21, 0.17))}
    _COURSE_BUDGET = {"msek_2018": 40.0, "shares": (0.40, 0.27, 0.19, 0.14)}
    _BUDGET_KINDS = ("drift", "forvaltning", "vidareutveckling", "nyutveckling")
    _BUDGET_YEARS = tuple(range(2018, 2025))

    def _budgets(self) -> pd.DataFrame:
        rng = self.rng["budgets"]
        rows = []

        def emit(oi, year, total, shares, model):
            noise = np.exp(rng.normal(0.0, 0.03, len(shares)))
            for kind, s, e in zip(self._BUDGET_KINDS, shares, noise, strict=True):
                rows.append((self.orgs.at[oi, "org_id"], year, kind,
                             int(round(total * s * e * 1e6, -3)), model))

        for key, info in self.governance_info().items():
            oi = self.case_index[key]
            change = int(info["date"][:4])
            for year in self._BUDGET_YEARS:
                after = year >= change
                total = info["it_budget_msek_2018"] * 1.03 ** (year - 2018)
                emit(oi, year, total, info["budget_shares"][after],
                     "intern_prissattning" if after else "central")
        rb = self._REGION_BUDGET
        for year in self._BUDGET_YEARS:
            after = year >= rb["step_from"]
            total = rb["msek_2018"] * 1.03 ** (year - 2018) * (rb["step"] if after else 1.0)
            emit(self.case_index["reorg_region"], year, total, rb["shares"][after], "central")
        cbud = self._COURSE_BUDGET
        for year in self._BUDGET_YEARS:
            emit(self.case_index["course"], year, cbud["msek_2018"] * 1.03 ** (year - 2018),
                 cbud["shares"], "central")
        frame = pd.DataFrame(rows, columns=["org_id", "year", "kind", "amount_sek",
                                            "funding_model"])
        return frame.sort_values(["org_id", "year"], kind="stable")

    # ------------------------------------------------------------------ development requests
    _REQUEST_START = "2018-01-01"
    _REQUEST_END = "2024-12-31"
    _OWNER_BUSINESS_SHARE = 0.45
    _STRATEGIC_SHARE = 0.30

    def _requests(self) -> pd.DataFrame:
        rng = self.rng["requests"]
        end = _day(self._REQUEST_END)
        months = pd.date_range(self._REQUEST_START, self._REQUEST_END, freq="MS")
        frames = []
        for key, info in self.governance_info().items():
            oi = self.case_index[key]
            oid = self.orgs.at[oi, "org_id"]
            change = _day(info["date"])
            units = self.units.loc[self.units["org"] == oi, "unit"].to_numpy()
            month_day = months.to_numpy().astype("datetime64[D]").astype("int64")
            month_len = np.append(np.diff(month_day), 31)
            after_m = month_day >= change
            lam = np.where(after_m, info["arrivals_per_month"][1], info["arrivals_per_month"][0])
            counts = rng.poisson(lam)
            received = np.repeat(month_day, counts) + np.floor(
                rng.random(counts.sum()) * np.repeat(month_len, counts))
            received = np.sort(received)
            n = len(received)
            after = received >= change
            dmean = np.where(after, info["decision_days_mean"][1], info["decision_days_mean"][0])
            decided = received + np.ceil(rng.gamma(2.0, dmean / 2.0))
            rejected = rng.random(n) < np.where(after, info["reject_share"][1],
                                                info["reject_share"][0])
            # accepted requests start in decision order, no faster than the capacity allows
            started = np.full(n, np.nan)
            acc = np.flatnonzero(~rejected)
            acc = acc[np.argsort(decided[acc], kind="stable")]
            last = -np.inf
            for i in acc:
                cap = info["capacity_per_month"][1] if last >= change or decided[i] >= change \
                    else info["capacity_per_month"][0]
                s = max(decided[i], last + 30.4375 / cap)
                started[i] = s
                last = s
            started = np.ceil(started)
            delivered = started + np.ceil(rng.gamma(2.0, info["delivery_days_mean"] / 2.0, n))
            status = np.full(n, "levererad", dtype=object)
            status[delivered > end] = "pagaende"
            status[started > end] = "i_ko"
            status[rejected] = "avslagen"
            status[decided > end] = "ej_beslutad"
            decided_out = np.where(decided > end, np.nan, decided)
            started_out = np.where((started > end) | rejected | (decided > end), np.nan, started)
            delivered_out = np.where(np.isnan(started_out) | (delivered > end), np.nan, delivered)
            cost = np.round(np.exp(rng.normal(np.log(120_000), 1.0, n)), -3).astype(int)
            frames.append(pd.DataFrame({
                "request_id": [f"{oid}-U{i + 1:05d}" for i in range(n)],
                "org_id": oid,
                "unit": units[rng.integers(len(units), size=n)],
                "received": _iso(received),
                "decided": _iso(decided_out),
                "started": _iso(started_out),
                "delivered": _iso(delivered_out),
                "status": status,
                "estimated_cost_sek": np.maximum(cost, 5000),
                "funding_model": np.where(after, "intern_prissattning", "central"),
                "owner": np.where(rng.random(n) < self._OWNER_BUSINESS_SHARE, "verksamhet",
                                  "central_it"),
                "strategic": np.where(rng.random(n) < self._STRATEGIC_SHARE, "ja", "nej"),
            }))
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ training (course)
    _TRAINING_FUNCTIONS = ("chef", "verksamhetsutvecklare", "IT", "HR", "ekonomi",
                           "kommunikation")
    _N_TRAINING = 22
    _TRAINING_DROPOUTS = 2

    def _training(self) -> pd.DataFrame:
        rng = self.rng["training"]
        oi = self.case_index["course"]
        round_t = ROUNDS.index(int(_COURSE["date"][:4]))
        n = self._N_TRAINING
        function = rng.choice(len(self._TRAINING_FUNCTIONS), size=n)
        # the course municipality's follow-up respondents take part, plus new participants
        ids = [self.respondent_ids[np.flatnonzero(self.resp["person"].to_numpy() == p)[0]]
               for p, info in enumerate(self.persons) if info["org"] == oi
               and (self.resp["person"].to_numpy() == p).any()]
        ids = ids[: n // 2]
        n_follow_up = len(ids)
        domain = self.orgs.at[oi, "domain"]
        used = set(self.respondent_ids[self.resp["org"].to_numpy() == oi].tolist())
        while len(ids) < n:
            cand = (f"{_fold(_FIRST_NAMES[rng.integers(len(_FIRST_NAMES))])}."
                    f"{_fold(_LAST_NAMES[rng.integers(len(_LAST_NAMES))])}."
                    f"{rng.integers(1000, 10000)}@{domain}")
            if cand not in used:
                used.add(cand)
                ids.append(cand)
        # pre level: the municipality's latent level in the course year (no unit/role offsets)
        base = self.org_base[oi] + self.org_round_dev[oi, round_t] + _TREND[ROUNDS[round_t]]
        func_off = rng.normal(0.0, 0.15, len(self._TRAINING_FUNCTIONS))
        u = rng.normal(0.0, _SD_RESP, n)
        v = rng.normal(0.0, _SD_RESP_CAT, (n, self.n_cat))
        effect = np.where(self.cat_axis == 0, _TRAINING_EFFECT[0],
                          np.where(self.cat_axis == 1, _TRAINING_EFFECT[1],
                                   np.mean(_TRAINING_EFFECT)))
        m_pre = base[None, :] + func_off[function][:, None]
        frames = []
        for phase, m in (("pre", m_pre), ("post", m_pre + effect)):
            lvl = m + u[:, None] + v
            ystar = (self.item_b + self.item_lambda * lvl[:, self.item_cat]
                     + rng.normal(0.0, _SD_ITEM, (n, self.n_items)))
            x = (self.cb.scale_min + np.searchsorted(self.tau, ystar)).astype(str).astype(object)
            x[rng.random((n, self.n_items)) < DONT_KNOW_RATE] = DONT_KNOW_TEXT
            f = pd.DataFrame(x, columns=self.item_ids)
            f.insert(0, "phase", phase)
            f.insert(0, "function", np.array(self._TRAINING_FUNCTIONS)[function])
            f.insert(0, "participant", ids)
            if phase == "post":
                f = f.iloc[: n - self._TRAINING_DROPOUTS]
            frames.append(f)
        both = n - self._TRAINING_DROPOUTS
        pre = self.expected_cat_pct(m_pre[:both]).mean(axis=0)
        post = self.expected_cat_pct((m_pre + effect)[:both]).mean(axis=0)
        self.training_truth = {
            "org_id": self.orgs.at[oi, "org_id"],
            "course_start": _COURSE["date"],
            "pre_date": _COURSE["pre_date"],
            "post_date": _COURSE["post_date"],
            "n_participants": n,
            "n_with_post": both,
            "participants_without_post": ids[both:],
            "follow_up_respondents_among_participants": n_follow_up,
            "effect_latent": {c: float(effect[i]) for i, c in enumerate(self.cat_ids)},
            "function_offsets_latent": dict(zip(self._TRAINING_FUNCTIONS, func_off.tolist(),
                                                strict=True)),
            "implied_pp_reference": self.reference_pp(effect),
            "expected_pct_pre": dict(zip(self.cat_ids, pre.tolist(), strict=True)),
            "expected_pct_post": dict(zip(self.cat_ids, post.tolist(), strict=True)),
            "expected_change_pp": dict(zip(self.cat_ids, (post - pre).tolist(), strict=True)),
            "challenges": [
                "gemensam definition av digitalisering i alla planer",
                "mer politiskt engagemang",
                "nytt utvecklingsforum",
                "mer HR-engagemang",
            ],
        }
        frame = pd.concat(frames, ignore_index=True)
        order = np.lexsort((frame["phase"].map({"pre": 0, "post": 1}).to_numpy(),
                            frame["participant"].to_numpy().astype(str)))
        return frame.iloc[order]

    # ================================================================== writing: truth
    def _write_truth(self, out: Path) -> dict[str, Path]:
        files = {}
        o = self.orgs
        tor = pd.DataFrame({
            "org_id": o["org_id"].to_numpy()[self.or_org],
            "round": self.or_round,
            "n_respondents": self.n_resp,
        })
        for i, c in enumerate(self.cat_ids):
            tor[c] = self.true_cats[:, i]
        for j, d in enumerate(self.dim_ids):
            tor[d] = self.true_dims[:, j]
        tor["total"] = self.true_total
        tor["true_type"] = self.true_type
        files["truth_org_rounds"] = out / "truth_org_rounds.csv"
        _write_csv(files["truth_org_rounds"], tor, float_format="%.4f")

        torg = pd.DataFrame({
            "org_id": o["org_id"], "case": o["case"],
            "programme_cohort": o["cohort"].astype(int),
            "capability_factor": self.F, "legacy_factor": self.L,
            "in_dios": np.isin(np.arange(self.n_org), self.dios_orgs).astype(int),
        })
        files["truth_orgs"] = out / "truth_orgs.csv"
        _write_csv(files["truth_orgs"], torg, float_format="%.4f")

        files["truth"] = out / "truth.json"
        text = json.dumps(_r(self._truth_json(tor)), ensure_ascii=False, indent=2) + "\n"
        _write_bytes(files["truth"], text.encode("utf-8"))
        return files

    def _national_means(self, tor: pd.DataFrame, column: str) -> dict:
        return {int(r): float(v) for r, v in tor.groupby("round")[column].mean().items()}

    def _realised_by_round(self, name: str, kind: str = "total", index: int | None = None) -> dict:
        info = self.realised.get(name) or {}
        if not info:
            return {}
        vals = info[kind] if index is None else info[kind][:, index]
        rounds = self.or_round[info["or"]]
        return {int(r): float(vals[rounds == r].mean()) for r in np.unique(rounds)}

    def _truth_json(self, tor: pd.DataFrame) -> dict:
        o = self.orgs
        cb = self.cb
        ref_trend = {r: self.reference_total(_TREND[r]) for r in ROUNDS}
        n_by_round = {int(r): int(v) for r, v in tor.groupby("round").size().items()}
        total_dk = float(self.dont_know.mean())
        cohort_ids = o.loc[o["cohort"], "org_id"].tolist()
        prog_rounds = {r: (_PROGRAMME["effect_latent"] if r >= _PROGRAMME["first_round"] else 0.0)
                       for r in ROUNDS}
        ri = self.case_index["reorg_region"]
        reorg_delta = np.zeros(self.n_cat)
        for c, d in zip(self.reorg_cats, _REORG["effects"], strict=True):
            reorg_delta[c] += d
        gov_delta = np.zeros(self.n_cat)
        gov_delta[self.balance_cat] = _GOVERNANCE_SURVEY_EFFECT
        course_delta = np.zeros(self.n_cat)
        course_delta[self.cap_cats] = _COURSE["survey_effect_latent"]
        ci = self.case_index["company"]
        latest = ROUNDS[-1]
        comp_rows = self.resp.loc[(self.resp["org"] == ci) & (self.resp["round"] == latest)]
        dept_counts = (self.units["unit"].to_numpy()[comp_rows["unit"]])
        dept_counts = pd.Series(dept_counts).value_counts().to_dict()
        # expected department scores in the latest round (analytic, same estimand as the orgs)
        mask = ((self.resp["org"] == ci) & (self.resp["round"] == latest)).to_numpy()
        dept_of = self.resp.loc[mask, "unit"].to_numpy()
        dept_pct = {}
        for uidx in np.unique(dept_of):
            sel = np.flatnonzero(mask)[dept_of == uidx]
            _, tot = self.combine(self.expected_cat_pct(self.resp_m[sel]).mean(axis=0)[None, :])
            dept_pct[str(self.units.at[uidx, "unit"])] = float(tot[0])
        gov = {}
        for key, info in self.governance_info().items():
            oi = self.case_index[key]
            before, after = info["arrivals_per_month"]
            rb, ra = info["reject_share"]
            cb_, ca = info["capacity_per_month"]
            gov[str(o.at[oi, "org_id"])] = {
                "name": o.at[oi, "name"],
                "stands_in_for": "Kungsbacka" if key == "governance_a" else "Sundsvall",
                "funding_change_date": info["date"],
                "funding_model_before": "central",
                "funding_model_after": "intern_prissattning",
                "survey_effect_latent": {self.cat_ids[self.balance_cat]:
                                         _GOVERNANCE_SURVEY_EFFECT},
                "survey_effect_first_round": info["first_round"],
                "survey_effect_implied_pp_reference": self.reference_pp(gov_delta),
                "requests": {
                    "period": [self._REQUEST_START, self._REQUEST_END],
                    "arrivals_per_month": {"before": before, "after": after},
                    "arrival_change_relative": after / before - 1.0,
                    "reject_share": {"before": rb, "after": ra},
                    "decision_days_mean": {"before": info["decision_days_mean"][0],
                                           "after": info["decision_days_mean"][1]},
                    "decision_days_increase": info["decision_days_mean"][1]
                    - info["decision_days_mean"][0],
                    "capacity_per_month": {"before": cb_, "after": ca},
                    "capacity_gap_per_month": {"before": before * (1 - rb) - cb_,
                                               "after": after * (1 - ra) - ca},
                    "delivery_days_mean": info["delivery_days_mean"],
                    "decision_days_distribution": "gamma(shape 2), rounded up to whole days",
                    "owner_verksamhet_share": self._OWNER_BUSINESS_SHARE,
                    "strategic_share": self._STRATEGIC_SHARE,
                    "estimated_cost_sek": "lognormal, median 120000, sdlog 1.0",
                },
                "budgets": {
                    "it_budget_msek_2018": info["it_budget_msek_2018"],
                    "growth_per_year": 0.03,
                    "shares_before": dict(zip(self._BUDGET_KINDS, info["budget_shares"][0],
                                              strict=True)),
                    "shares_after": dict(zip(self._BUDGET_KINDS, info["budget_shares"][1],
                                             strict=True)),
                    "development_share_before": sum(info["budget_shares"][0][2:]),
                    "development_share_after": sum(info["budget_shares"][1][2:]),
                    "noise_sdlog": 0.03,
                },
            }
        sysf = self.systems
        last_year = sysf["year"] == self._DIOS_YEARS[-1]
        noncomp = ((sysf["open_standards"] == "nej") | (sysf["open_api"] == "nej")
                   | (sysf["data_ownership"] == "nej"))
        mono = sysf.loc[last_year & (sysf["domain"] == self._MONOPOLY_DOMAIN)]
        mono_org_share = float((mono.groupby("org_id")["vendor"].agg(
            lambda s: (s == self._MONOPOLY_VENDOR).all())).mean()) if len(mono) else float("nan")
        mono_sys_share = float((mono["vendor"] == self._MONOPOLY_VENDOR).mean()) if len(mono) \
            else float("nan")
        q = sysf.loc[last_year].groupby("org_id")["technical_quality"].mean()
        lf = pd.Series(self.L, index=o["org_id"]).loc[q.index]
        arv_col = cb.quadrant_y
        latest_arv = tor.loc[tor["round"] == latest].set_index("org_id")[arv_col]
        common = q.index.intersection(latest_arv.index)
        dios = {
            "org_ids": o["org_id"].to_numpy()[self.dios_orgs].tolist(),
            "years": list(self._DIOS_YEARS),
            "non_compliance_definition": "open_standards == 'nej' or open_api == 'nej' or "
                                         "data_ownership == 'nej' ('delvis' is not a failure)",
            "compliance_model": {k: {"intercept": a, "per_decade_since_2010": b,
                                     "per_sd_legacy_factor": c}
                                 for k, (a, b, c) in self._COMPLIANCE.items()},
            "data_ownership_cuts": "logistic latent > 0.5: ja; > -1.0: delvis; else nej",
            "non_compliant_share_by_year": {int(y): float(v) for y, v in
                                            noncomp.groupby(sysf["year"]).mean().items()},
            "monopoly": {
                "domain": self._MONOPOLY_DOMAIN,
                "vendor": self._MONOPOLY_VENDOR,
                "planted_org_probability": self._MONOPOLY_ORG_SHARE,
                "org_share_latest_year": mono_org_share,
                "system_share_latest_year": mono_sys_share,
            },
            "legacy_link": {
                "quality_latent": "beta * legacy_factor / sd + N(0, org_sd) per organisation "
                                  "+ age_effect * (age - 10) + N(0, 0.8) per system",
                "beta_per_sd_legacy_factor": self._QUALITY_BETA,
                "org_sd": self._QUALITY_ORG_SD,
                "age_effect_per_year": self._QUALITY_AGE,
                "quality_cuts": list(self._QUALITY_CUTS),
                "functional_quality_scale": 0.6,
                "corr_org_mean_technical_quality_vs_legacy_factor": float(np.corrcoef(q, lf)[0, 1])
                if len(q) > 2 else None,
                f"corr_org_mean_technical_quality_vs_true_{arv_col}_pct_{latest}":
                    float(np.corrcoef(q.loc[common], latest_arv.loc[common])[0, 1])
                    if len(common) > 2 else None,
            },
            "unassessed_share": self._UNASSESSED,
        }
        truth = {
            "synthetic": True,
            "generator": GENERATOR,
            "generator_version": GENERATOR_VERSION,
            "seed": self.seed,
            "profile": self.profile.name,
            "codebook": cb.id,
            "rounds": list(ROUNDS),
            "n_organisations": int(self.n_org),
            "n_organisations_by_type": {str(k): int(v) for k, v in
                                        o["org_type"].value_counts().sort_index().items()},
            "participating_by_round": n_by_round,
            "n_respondents_by_round": {int(r): int(v) for r, v in
                                       tor.groupby("round")["n_respondents"].sum().items()},
            "truth_method": "analytic: expected codebook score from normal CDFs of the ordinal "
                            "model, conditional on each respondent's unit and role, marginal over "
                            "respondent and item noise; don't-know ignored (missing completely at "
                            "random)",
            "dont_know_rate": DONT_KNOW_RATE,
            "dont_know_share_realised": total_dk,
            "dont_know_text": DONT_KNOW_TEXT,
            "measurement_model": {
                "thresholds": self.tau.tolist(),
                "item_intercepts": dict(zip(self.item_ids, self.item_b.tolist(), strict=True)),
                "item_loadings": dict(zip(self.item_ids, self.item_lambda.tolist(), strict=True)),
                "sd_item_noise": _SD_ITEM,
                "sd_respondent": _SD_RESP,
                "sd_respondent_category": _SD_RESP_CAT,
                "category_means_latent": dict(zip(self.cat_ids, self.cat_mean.tolist(),
                                                  strict=True)),
                "org_factor_sd": _SD_ORG_FACTOR,
                "org_factor_correlation": _ORG_FACTOR_CORR,
                "org_factor_loads_on": {"capability": cb.quadrant_x, "legacy": cb.quadrant_y},
                "sd_org_category": _SD_ORG_CATEGORY,
                "sd_org_round": _SD_ORG_ROUND,
                "sd_org_unit": _SD_ORG_UNIT,
                "org_type_effects_latent": _ORG_TYPE_EFFECT,
                "size_effects_latent": _SIZE_EFFECT,
                "unit_type_offsets_latent": {
                    "kommun": {t[0]: t[1] for t in _MUNI_UNITS},
                    "region": {t[0]: t[1] for t in _REGION_UNITS},
                    "myndighet": {t[0]: t[1] for t in _AGENCY_UNITS},
                },
                "role_offsets_latent": {r: {"capability": a, "legacy": b}
                                        for r, (a, b) in ROLE_OFFSETS.items()},
                "role_probabilities": dict(zip(ROLES, ROLE_PROBS, strict=True)),
                "reference_total_pct": self.reference_total(),
            },
            "national_trend": {
                "latent": _TREND,
                "dip_round": 2021,
                "dip_latent": _TREND[2021] - _TREND[2020],
                "reference_total_pct": ref_trend,
                "dip_pp_reference": ref_trend[2021] - ref_trend[2020],
            },
            "national_true_mean_total_pct": self._national_means(tor, "total"),
            "national_true_mean_pct": {
                col: self._national_means(tor, col) for col in [*self.cat_ids, *self.dim_ids]
            },
            "national_mean_definition": "unweighted mean over participating organisations of "
                                        "truth_org_rounds.csv",
            "participation_model": {
                "score": "engagement N(0,1) + 1.0 * cohort + 0.5 * capability_factor/sd + "
                         "0.5 * region - 0.2 * myndighet + 0.7 * N(0,1) per round; the top k "
                         "per round take part (case organisations forced in)",
                "targets": self.profile.participation,
                "company_first_round": _COMPANY_FIRST_ROUND,
            },
            "respondents_per_org_round": {k: list(v) for k, v in
                                          self.profile.respondents.items()},
            "response_rate_range": [0.4, 0.9],
            "programme": {
                "name": _PROGRAMME["name"],
                "start": _PROGRAMME["start"],
                "end": _PROGRAMME["end"],
                "cohort_org_ids": cohort_ids,
                "n_cohort": len(cohort_ids),
                "selection": "uniform among non-case municipalities; non-participants get no "
                             "effect; no cohort-specific trend (parallel pre-trends)",
                "effect_latent": _PROGRAMME["effect_latent"],
                "effect_first_round": _PROGRAMME["first_round"],
                "effect_by_round_latent": prog_rounds,
                "effect_applies_to": "all categories",
                "implied_pp_reference": self.reference_pp(_PROGRAMME["effect_latent"]),
                "att_total_pp_by_round": self._realised_by_round("programme"),
                "att_total_pp": float(self.realised["programme"]["total"].mean())
                if self.realised.get("programme") else None,
            },
            "reorganisation": {
                "org_id": o.at[ri, "org_id"],
                "name": o.at[ri, "name"],
                "stands_in_for": "Västra Götalandsregionen",
                "date": _REORG["date"],
                "text": "IT split into operations (IT chief) and development/innovation (CDO)",
                "units_before": [_REORG_OLD_UNIT],
                "units_after": list(_REORG_NEW_UNITS),
                "units_change_from_round": int(_REORG["date"][:4]),
                "effect_first_round": _REORG["first_round"],
                "effect_latent": {self.cat_ids[c]: d for c, d in
                                  zip(self.reorg_cats, _REORG["effects"], strict=True)},
                "implied_pp_reference": self.reference_pp(reorg_delta),
                "realised_pp_by_round": {
                    self.cat_ids[c]: self._realised_by_round("reorganisation", "cats", c)
                    for c in self.reorg_cats},
                "budgets": {
                    "it_budget_msek_2018": self._REGION_BUDGET["msek_2018"],
                    "growth_per_year": 0.03,
                    "step_from_year": self._REGION_BUDGET["step_from"],
                    "step_factor": self._REGION_BUDGET["step"],
                    "shares_before": dict(zip(self._BUDGET_KINDS, self._REGION_BUDGET["shares"][0],
                                              strict=True)),
                    "shares_after": dict(zip(self._BUDGET_KINDS, self._REGION_BUDGET["shares"][1],
                                             strict=True)),
                },
                "follow_up_respondent_ids": self._person_ids("reorg_region"),
            },
            "company": {
                "org_id": o.at[ci, "org_id"],
                "name": o.at[ci, "name"],
                "parent_org_id": o.at[ci, "parent_org_id"],
                "first_round": _COMPANY_FIRST_ROUND,
                "department_offsets_latent": {d[0]: d[1] for d in _COMPANY_DEPARTMENTS},
                "latest_round": latest,
                "department_counts_latest_round": {k: int(v) for k, v in
                                                   sorted(dept_counts.items())},
                "small_department": "Administration",
                "small_department_n": 3,
                "department_true_total_pct_latest_round": dict(sorted(dept_pct.items())),
            },
            "governance": gov,
            "course": {
                "org_id": o.at[self.case_index["course"], "org_id"],
                "name": o.at[self.case_index["course"], "name"],
                "stands_in_for": "Mölndal",
                "date": _COURSE["date"],
                "survey_effect_latent": {self.cat_ids[c]: _COURSE["survey_effect_latent"]
                                         for c in self.cap_cats},
                "survey_effect_first_round": _COURSE["survey_first_round"],
                "survey_effect_implied_pp_reference": self.reference_pp(course_delta),
                "budgets": {"it_budget_msek_2018": self._COURSE_BUDGET["msek_2018"],
                            "shares": dict(zip(self._BUDGET_KINDS, self._COURSE_BUDGET["shares"],
                                               strict=True))},
                "follow_up_respondent_ids": self._person_ids("course"),
            },
            "training": self.training_truth,
            "dios": dios,
            "reliability": self._reliability(),
        }
        return truth

    def _person_ids(self, key: str) -> list[str]:
        oi = self.case_index[key]
        person = self.resp["person"].to_numpy()
        out = []
        for p, info in enumerate(self.persons):
            if info["org"] == oi:
                hit = np.flatnonzero(person == p)
                if len(hit):
                    out.append(str(self.respondent_ids[hit[0]]))
        return sorted(out)

    def _reliability(self, n: int = 40_000) -> dict:
        """Cronbach's alpha per category in the pooled respondent population (Monte Carlo)."""
        rng = self.rng["mc"]
        pick = rng.integers(self.N, size=n)
        lvl = (self.resp_m[pick] + rng.normal(0.0, _SD_RESP, n)[:, None]
               + rng.normal(0.0, _SD_RESP_CAT, (n, self.n_cat)))
        ystar = (self.item_b + self.item_lambda * lvl[:, self.item_cat]
                 + rng.normal(0.0, _SD_ITEM, (n, self.n_items)))
        x = np.searchsorted(self.tau, ystar).astype(float)
        alpha = {}
        for i, c in enumerate(self.cat_ids):
            cols = x[:, self.item_cat == i]
            k = cols.shape[1]
            if k < 2:
                continue
            alpha[c] = k / (k - 1) * (1 - cols.var(axis=0, ddof=1).sum()
                                      / cols.sum(axis=1).var(ddof=1))
        return {"method": "monte_carlo", "n": n, "population": "pooled respondents of all "
                "organisation-rounds, no don't-know", "cronbach_alpha": alpha}


def _hosting_probs(introduced: int) -> list[float]:
    if introduced >= 2018:
        return [0.10, 0.20, 0.50, 0.20]
    if introduced >= 2010:
        return [0.35, 0.35, 0.20, 0.10]
    return [0.60, 0.35, 0.05, 0.00]


__all__ = ["synthesize"]
