"""Case studies: transformation around an event, training evaluation and internal comparison.

The analyses behind the case-study notebooks (``notebooks/*_case.ipynb``,
``notebooks/training_evaluation.ipynb``, ``notebooks/internal_comparison.ipynb``); governance
and pacing live in :mod:`mognad.governance`, which also defines the input formats.

- **Transformation** (a reorganisation such as an IT split): :func:`category_trajectory` (the
  organisation's DiMiOS categories per round against comparison organisations),
  :func:`difference_in_differences` (against the comparison organisations' round effects),
  :func:`budget_trend` (resources over time), :func:`initiative_shares`
  (decentralisation: initiatives owned by business units; coordination: initiatives aligned with
  a strategic priority; Wilson intervals).
- **Training evaluation**: :func:`training_effects` (paired pre/post per item, category,
  dimension and total; mean change with a t interval, Cohen's d_z with a noncentral-t interval,
  Wilcoxon signed-rank test; by function under disclosure control) and
  :func:`course_challenges` (the course's challenges as tagged qualitative outcomes).
- **Internal comparison**: :func:`internal_comparison` (units of one organisation at any depth
  with mean, SD, IQR and rwg(j), under the organisation-round's publication plan; a wrapper of
  :func:`mognad.internal.compare_groups`, which the organisation report uses too) and
  :func:`unit_agreement` (ICC over the units shown).
- Report helpers: :func:`markdown`/:func:`text` (Swedish by default, English with
  ``lang="en"``), :func:`localise`, :func:`synthetic_banner`, :func:`provenance_table`,
  :func:`environment`.

Examples
--------
>>> initiative_shares(pd.DataFrame({"org_id": "0114", "received": pd.to_datetime(
...     ["2023-02-01", "2023-05-01", "2023-09-01", "2024-01-10"]),
...     "owner": ["verksamhet", "central_it", "verksamhet", "verksamhet"]}), measure="owner"
... ).round(3)
  org_id  year    measure  n  k  share  ci_low  ci_high
0   0114  2023  decentral  3  2  0.667   0.208    0.939
1   0114  2024  decentral  1  1  1.000   0.207    1.000
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mognad.errors import MognadError
from mognad.intervals import wilson_interval
from mognad.present.text import check_lang, fmt_number, fmt_pct, fmt_pp

__all__ = [
    "CHALLENGES",
    "budget_trend",
    "category_trajectory",
    "course_challenges",
    "difference_in_differences",
    "environment",
    "event_orgs",
    "footer",
    "initiative_shares",
    "internal_comparison",
    "internal_rounds",
    "label",
    "linked_participants",
    "localise",
    "markdown",
    "org_names",
    "paired_scores",
    "plot_budget",
    "plot_forest",
    "plot_initiatives",
    "plot_trajectory",
    "plot_units",
    "provenance_table",
    "show",
    "synthetic_banner",
    "text",
    "training_effects",
    "unit_agreement",
    "unit_contrast",
    "wilson_interval",
    "with_labels",
]


# ============================================================================================
# Texts (Swedish default, English on request)
# ============================================================================================
TEXTS = {
    "sv": {
        "synthetic": "SYNTETISKA DATA – fiktiva organisationer, ärenden och svar, endast för "
                     "test och demonstration",
        "gov_title": "# Styrning och taktning av digital utveckling: {names}",
        "gov_intro": (
            "Fallet bygger på studier av kommuner som styr sin IT för att undvika svängningar i "
            "efterfrågan och hålla den interna IT-verksamheten effektiv. Med **intern "
            "prissättning (köp–sälj)** blir ny IT-kostnad något verksamheten drar sig för, "
            "samtidigt som trycket att digitalisera växer. Rapporten följer efterfrågan på "
            "digital utveckling (inkomna beställningar) mot leveransförmågan månad för månad, "
            "ledtider, kön och den kapacitet som behövs för att stabilisera den, effekten av "
            "bytet av finansieringsmodell och hur stor del av de digitala kostnaderna som går "
            "till utveckling."),
        "gov_flow": (
            "## Efterfrågan och leverans\n"
            "Inkomna beställningar per månad mot påbörjade och levererade. Den streckade "
            "linjen visar när finansieringsmodellen byttes. Till höger kön (beviljade men inte "
            "påbörjade) och alla öppna ärenden vid månadens slut."),
        "gov_gap": (
            "## Kapacitetsglapp\n"
            "Glappet är beviljade beställningar per månad minus påbörjade per månad, det vill "
            "säga hur mycket kön växer varje månad. Positivt glapp betyder att kö och väntetid "
            "fortsätter att växa. Intervallen är 95 % med Newey–West-medelfel (autokorrelation "
            "upp till tre månader); de tre första månaderna efter bytet räknas som övergång."),
        "gov_capacity": "## Kapacitet som behövs\n{bullets}",
        "gov_capacity_bullet": (
            "- **{name}**: {accepted} beviljade beställningar per månad (95 %: {lo}–{hi}) mot "
            "{capacity} påbörjade; kön är {queue} ärenden. För att stabilisera kön krävs minst "
            "{accepted} per månad, för att korta den till en månads väntan inom {months} "
            "månader {needed} per månad ({extra} mer än i dag)."),
        "gov_littles": (
            "## Rimlighetskontroll: Littles lag\n"
            "I ett stabilt system är genomsnittligt antal öppna ärenden *L* lika med "
            "ankomsttakten *λ* gånger genomsnittlig tid i systemet *W*. En kvot λW/L klart "
            "över 1 betyder att systemet inte är i jämvikt: ärendena stannar allt längre. "
            "År där många ärenden ännu är öppna kan inte kontrolleras."),
        "gov_its": (
            "## Effekten av bytet av finansieringsmodell\n"
            "Avbruten tidsserie per kommun: inkomna beställningar per månad (Poissonmodell, "
            "kvoter) och medelledtider för beställningar inkomna varje månad (dagar). "
            "Segmenterad regression ger nivåskiftet vid bytet mot den förlängda trenden; "
            "före/efter-skillnaden jämför medelvärdena. Medelfel enligt Newey–West.\n\n"
            "{bullets}"),
        "gov_its_bullet": (
            "- **{name}** (byte {date}): inkomna beställningar ändrades med faktorn {rr} "
            "(95 %: {rr_lo}–{rr_hi}); beslutstiden ökade med {dec} dagar ({dec_lo}–{dec_hi}) "
            "och den totala ledtiden med {lead} dagar ({lead_lo}–{lead_hi}) i genomsnitt."),
        "gov_leadtime": (
            "## Ledtider\n"
            "Ledtid från inkommen till levererad beställning, före och efter bytet "
            "(Kaplan–Meier: ärenden som ännu inte levererats räknas med som censurerade, så "
            "att en växande kö inte ser snabbare ut än den är)."),
        "gov_spending": (
            "## Utveckling eller förvaltning?\n"
            "Andelen av de digitala kostnaderna som går till utforskande "
            "(vidareutveckling och nyutveckling) i stället för till att driva och förvalta det "
            "som finns. Jämförelsen gäller de andra organisationerna med budgetdata samma år.\n\n"
            "{bullets}"),
        "gov_spending_bullet": (
            "- **{name}**: utvecklingsandelen var {before} före bytet och {after} efter "
            "({change}, 95 %: {lo} till {hi})."),
        "gov_maturity": (
            "## Mot DiMiOS-kategorierna innovation och effektivitet\n"
            "Utvecklingsandelen bredvid kategorierna innovation (utforskande) och effektivitet "
            "(nyttjande) samma år, med 95 % konfidensintervall. Tomma celler: organisationen "
            "deltog inte det året."),
        "tr_title": "# Transformation: {name}",
        "tr_intro": (
            "{name} genomförde {date} en omorganisation: *{event}*. Rapporten följer "
            "organisationens DiMiOS-kategorier över mätomgångarna kring händelsen, "
            "resurserna över tid, hur stor del av initiativen som ägs av verksamheten "
            "(decentralisering) och hur stor del som knyter an till strategiska prioriteringar "
            "(samordning)."),
        "tr_trajectory": (
            "## Kategorierna kring händelsen\n"
            "Organisationens resultat per kategori och mätomgång (95 % konfidensintervall) mot "
            "medelvärdet för jämförelseorganisationerna ({comparison}, {n_comp} organisationer). "
            "Den streckade linjen markerar händelsen."),
        "tr_effect": (
            "## Förändring efter händelsen\n"
            "Skillnad i skillnader: organisationens förändring från omgångarna före "
            "{first_round} till omgångarna därefter, rensad för den förändring "
            "jämförelseorganisationerna hade samma omgångar (omgångseffekter med fasta "
            "organisationseffekter). Intervallen bygger på variationen mellan organisationens "
            "omgångar (t-fördelning), så de är breda med få omgångar.\n\n{bullets}"),
        "tr_effect_bullet": "- **{label}**: {estimate} (95 %: {lo} till {hi})",
        "tr_resources": (
            "## Resurser över tid\n"
            "Digitala kostnader per år och utvecklingsandel. Stegfaktorn skattar den "
            "bestående förändringen av budgetnivån från {first_year} utöver den årliga "
            "trenden: {step} (95 %: {lo}–{hi}). Utvecklingsandelen var {before} före och "
            "{after} från {first_year}."),
        "tr_resources_missing": "## Resurser över tid\nInga budgetdata för {name}.",
        "tr_initiatives": (
            "## Decentralisering och samordning\n"
            "Andel initiativ (utvecklingsbeställningar) som ägs av verksamheten och andel som "
            "knyter an till en strategisk prioritering, per år med Wilsonintervall (95 %). "
            "{note}"),
        "tr_initiatives_note_missing": (
            "{name} har ingen ärendelogg i studien; figuren visar de organisationer som har "
            "en ({names}) som illustration av analysen."),
        "trn_title": "# Utvärdering av kursen i {name}",
        "trn_intro": (
            "En femveckorskurs för en tvärfunktionell grupp chefer och experter (inspelat "
            "material varje vecka, ett möte i veckan) startade {date}. Deltagarna besvarade "
            "DiMiOS-påståendena före och efter kursen: {n} deltagare, {n_pairs} med båda "
            "mätningarna. {n_linked} av deltagarna finns också bland kommunens svarande i "
            "DiMiOS-mätningarna."),
        "trn_effects": (
            "## Förändring före–efter\n"
            "Parvis jämförelse av samma deltagare: medelförändring i procentenheter (95 % "
            "t-intervall), effektstorlek Cohens d_z (medelförändring delad med "
            "standardavvikelsen för förändringarna, med intervall från den icke-centrala "
            "t-fördelningen) och Wilcoxons teckenrangtest.\n\n{bullets}"),
        "trn_effect_bullet": "- **{label}**: {change} (95 %: {lo} till {hi}), d_z = {d}",
        "trn_function": (
            "## Per funktion\n"
            "Funktioner slås ihop till {groups}. Grupper med färre än {k} deltagare visas inte, "
            "och ytterligare grupper döljs där det behövs för att en dold grupp inte ska kunna "
            "räknas fram ur totalen."),
        "trn_items": "## Påståenden\nDe påståenden som förändrades mest.",
        "trn_challenges": (
            "## Kursens utmaningar\n"
            "Kursen avslutades med fyra utmaningar att arbeta vidare med. De är kvalitativa "
            "utfall: de redovisas med tema och koppling till förmågorna att känna av, ta vara "
            "på och omvandla, och följs upp med de källor som anges, inte med enkätdata."),
        "ic_title": "# Intern jämförelse: {name} {round}",
        "ic_intro": (
            "En första DiMiOS-mätning kan ligga till grund för en ny strategi; mognaden "
            "varierar ofta mycket mellan avdelningar. Här jämförs enheterna i {name} med "
            "spridning (standardavvikelse och kvartilavstånd för de svarandes totalresultat) "
            "och samstämmighet (rwg(j)). {n} svarande mätomgången {round}."),
        "ic_units": (
            "## Enheterna\n"
            "Enheter med färre än {k} svarande visas inte, och ytterligare enheter döljs där "
            "det behövs för att en dold enhet inte ska kunna räknas fram ur helheten. "
            "{hidden}"),
        "ic_hidden": "{n_hidden} enheter döljs.",
        "ic_none_hidden": "Ingen enhet döljs.",
        "ic_agreement": (
            "## Samstämmighet\n"
            "rwg(j) nära 1 betyder att de svarande i en enhet bedömer organisationen lika; "
            "0,7 brukar ses som tillräckligt för att tala om en gemensam bild. ICC(1) är "
            "andelen av variationen som ligger mellan de visade enheterna: {icc1}; ICC(2), "
            "tillförlitligheten i enheternas medelvärden: {icc2}."),
        "ic_rounds": (
            "## Uppföljande mätomgångar\n"
            "Totalresultat per enhet och mätomgång, under samma röjandekontroll i varje omgång."),
        "footer": (
            "## Data och miljö\n"
            "Studiens fingeravtryck (SHA-256): `{fingerprint}`. Kodbok {codebook}. Filer och "
            "programversioner nedan."),
    },
    "en": {
        "synthetic": "SYNTHETIC DATA – fictional organisations, requests and answers, for "
                     "testing and demonstration only",
        "gov_title": "# Governance and pacing of digital development: {names}",
        "gov_intro": (
            "The case builds on studies of municipalities that govern IT to avoid swings in "
            "demand and keep internal IT efficient. Under **internal pricing (buy–sell)** new "
            "IT cost is something the business shies away from while the pressure to digitalise "
            "grows. This report follows the demand for digital development (requests received) "
            "against delivery month by month, lead times, the queue and the capacity needed "
            "to stabilise it, the effect of the change of funding model, and the share of "
            "digital spending that goes to development."),
        "gov_flow": (
            "## Demand and delivery\n"
            "Requests received per month against requests started and delivered. The dashed "
            "line marks the change of funding model. Right: the queue (accepted, not started) "
            "and all open requests at the end of each month."),
        "gov_gap": (
            "## Capacity gap\n"
            "The gap is accepted requests per month minus requests started per month: how much "
            "the queue grows each month. A positive gap means the queue and the wait keep "
            "growing. Intervals are 95% with Newey–West errors (autocorrelation up to three "
            "months); the first three months after the change are left out as a transition."),
        "gov_capacity": "## Capacity needed\n{bullets}",
        "gov_capacity_bullet": (
            "- **{name}**: {accepted} accepted requests per month (95%: {lo}–{hi}) against "
            "{capacity} started; the queue holds {queue} requests. Stabilising the queue needs "
            "at least {accepted} per month; bringing it down to a one-month wait within "
            "{months} months needs {needed} per month ({extra} more than today)."),
        "gov_littles": (
            "## Consistency check: Little's law\n"
            "In a stable system the average number of open requests *L* equals the arrival "
            "rate *λ* times the average time in the system *W*. A ratio λW/L clearly above 1 "
            "means the system is not in equilibrium: requests stay longer and longer. Years "
            "in which many requests are still open cannot be checked."),
        "gov_its": (
            "## The effect of the change of funding model\n"
            "Interrupted time series per municipality: requests received per month (Poisson "
            "model, ratios) and the mean lead times of the requests received each month (days). "
            "Segmented regression gives the level shift at the change against the continued "
            "trend; the before/after difference compares the means. Newey–West errors.\n\n"
            "{bullets}"),
        "gov_its_bullet": (
            "- **{name}** (change {date}): requests received changed by a factor of {rr} "
            "(95%: {rr_lo}–{rr_hi}); the decision time grew by {dec} days ({dec_lo}–{dec_hi}) "
            "and the total lead time by {lead} days ({lead_lo}–{lead_hi}) on average."),
        "gov_leadtime": (
            "## Lead times\n"
            "Lead time from a request's receipt to its delivery, before and after the change "
            "(Kaplan–Meier: requests not yet delivered count as censored, so that a growing "
            "queue does not look faster than it is)."),
        "gov_spending": (
            "## Development or maintenance?\n"
            "The share of digital spending that goes to exploration (further and new "
            "development) rather than to running and maintaining what exists. Peers are the "
            "other organisations with budget data the same year.\n\n{bullets}"),
        "gov_spending_bullet": (
            "- **{name}**: the development share was {before} before the change and {after} "
            "after ({change}, 95%: {lo} to {hi})."),
        "gov_maturity": (
            "## Against the DiMiOS categories innovation and efficiency\n"
            "The development share next to the categories innovation (exploration) and "
            "efficiency (exploitation) the same year, with 95% confidence intervals. Empty "
            "cells: the organisation did not take part that year."),
        "tr_title": "# Transformation: {name}",
        "tr_intro": (
            "On {date} {name} reorganised: *{event}*. This report follows the organisation's "
            "DiMiOS categories across the rounds around the event, resources over time, the "
            "share of initiatives owned by business units (decentralisation) and the share "
            "aligned with strategic priorities (coordination)."),
        "tr_trajectory": (
            "## The categories around the event\n"
            "The organisation's score per category and round (95% confidence intervals) "
            "against the mean of the comparison organisations ({comparison}, {n_comp} "
            "organisations). The dashed line marks the event."),
        "tr_effect": (
            "## Change after the event\n"
            "Difference in differences: the organisation's change from the rounds before "
            "{first_round} to the rounds from then on, net of the change the comparison "
            "organisations had in the same rounds (round effects with organisation fixed "
            "effects). The intervals rest on the variation between the organisation's rounds "
            "(t distribution), so they are wide with few rounds.\n\n{bullets}"),
        "tr_effect_bullet": "- **{label}**: {estimate} (95%: {lo} to {hi})",
        "tr_resources": (
            "## Resources over time\n"
            "Digital spending per year and the development share. The step factor estimates "
            "the lasting change of the budget level from {first_year} on top of the yearly "
            "trend: {step} (95%: {lo}–{hi}). The development share was {before} before and "
            "{after} from {first_year}."),
        "tr_resources_missing": "## Resources over time\nNo budget data for {name}.",
        "tr_initiatives": (
            "## Decentralisation and coordination\n"
            "Share of initiatives (development requests) owned by business units and share "
            "aligned with a strategic priority, per year with Wilson intervals (95%). {note}"),
        "tr_initiatives_note_missing": (
            "{name} has no request log in the study; the figure shows the organisations that "
            "have one ({names}) to illustrate the analysis."),
        "trn_title": "# Evaluation of the course in {name}",
        "trn_intro": (
            "A five-week course for a cross-functional group of managers and experts (weekly "
            "recorded material, one meeting a week) started on {date}. Participants answered "
            "the DiMiOS statements before and after the course: {n} participants, {n_pairs} "
            "with both measurements. {n_linked} of the participants are also among the "
            "municipality's DiMiOS respondents."),
        "trn_effects": (
            "## Change from before to after\n"
            "Paired comparison of the same participants: mean change in percentage points "
            "(95% t interval), effect size Cohen's d_z (mean change divided by the standard "
            "deviation of the changes, with an interval from the noncentral t distribution) "
            "and Wilcoxon's signed-rank test.\n\n{bullets}"),
        "trn_effect_bullet": "- **{label}**: {change} (95%: {lo} to {hi}), d_z = {d}",
        "trn_function": (
            "## By function\n"
            "Functions are merged into {groups}. Groups with fewer than {k} participants are "
            "not shown, and further groups are hidden where needed so that a hidden group "
            "cannot be derived from the total."),
        "trn_items": "## Statements\nThe statements that changed most.",
        "trn_challenges": (
            "## The course's challenges\n"
            "The course ended with four challenges to work on. They are qualitative outcomes: "
            "listed with a theme and a link to the capabilities to sense, seize and transform, "
            "and followed up with the sources given, not with survey data."),
        "ic_title": "# Internal comparison: {name} {round}",
        "ic_intro": (
            "A first DiMiOS measurement can underpin a new strategy; maturity often varies "
            "widely between departments. This compares the units of {name} with dispersion "
            "(standard deviation and interquartile range of respondents' totals) and agreement "
            "(rwg(j)). {n} respondents in {round}."),
        "ic_units": (
            "## The units\n"
            "Units with fewer than {k} respondents are not shown, and further units are hidden "
            "where needed so that a hidden unit cannot be derived from the whole. {hidden}"),
        "ic_hidden": "{n_hidden} units are hidden.",
        "ic_none_hidden": "No unit is hidden.",
        "ic_agreement": (
            "## Agreement\n"
            "rwg(j) near 1 means a unit's respondents see the organisation alike; 0.7 is often "
            "taken as enough to speak of a shared view. ICC(1), the share of variance between "
            "the units shown: {icc1}; ICC(2), the reliability of the unit means: {icc2}."),
        "ic_rounds": (
            "## Follow-up rounds\n"
            "Total score per unit and round, under the same disclosure control in each round."),
        "footer": (
            "## Data and environment\n"
            "Study fingerprint (SHA-256): `{fingerprint}`. Codebook {codebook}. Files and "
            "software versions below."),
    },
}

#: Column and value labels for tables shown in reports.
LABELS = {
    "sv": {
        "org_id": "Org.-id", "name": "Organisation", "period": "Period", "before": "före",
        "after": "efter", "all": "hela perioden", "month": "Månad", "year": "År",
        "round": "Mätomgång", "n_months": "Månader", "accepted_per_month": "Beviljade/mån",
        "starts_per_month": "Påbörjade/mån", "completions_per_month": "Levererade/mån",
        "capacity_per_month": "Kapacitet/mån", "gap_per_month": "Glapp/mån",
        "gap_ci_low": "Glapp, nedre", "gap_ci_high": "Glapp, övre", "queue_end": "Kö vid slut",
        "period_start": "Från", "L": "L (öppna)", "lambda_per_month": "λ (per mån)",
        "W_days": "W (dagar)", "ratio": "λW/L", "censored_share": "Andel öppna",
        "consistent": "Stämmer", "n": "Antal", "n_censored": "Ej klara", "q50": "Median",
        "q50_ci_low": "Median, nedre", "q50_ci_high": "Median, övre", "q75": "75:e perc.",
        "q90": "90:e perc.", "exploration_share": "Utvecklingsandel",
        "peer_median": "Jämförelse (median)", "funding_model": "Finansieringsmodell",
        "central": "central", "intern_prissattning": "intern prissättning",
        "effektivitet_pct": "Effektivitet %", "innovation_pct": "Innovation %",
        "arrivals": "Inkomna", "completions": "Levererade", "starts": "Påbörjade",
        "queue": "Kö (beviljade, ej påbörjade)", "backlog": "Öppna ärenden",
        "decision_days": "Beslutstid (dagar)", "lead_time_days": "Ledtid (dagar)",
        "wait_days": "Väntetid (dagar)", "level_change": "nivåskifte", "slope_change":
        "trendskifte/mån", "mean_change": "före/efter", "outcome": "Utfall", "term": "Effekt",
        "estimate": "Skattning", "ci_low": "95 %, nedre", "ci_high": "95 %, övre",
        "unit": "Enhet", "n_respondents": "Svarande", "score_pct": "Total %", "sd": "SD",
        "q1": "Nedre kvartil", "median": "Median", "q3": "Övre kvartil", "iqr": "IQR",
        "rwg_j": "rwg(j)", "level": "Nivå", "label": "Namn", "n_pairs": "Par",
        "design": "Design", "difference_in_differences": "skillnad i skillnader",
        "score_pre": "Före %", "score_post": "Efter %", "change_pp": "Förändring (procentenheter)",
        "d_z": "d_z", "d_z_ci_low": "d_z, nedre", "d_z_ci_high": "d_z, övre",
        "wilcoxon_p": "Wilcoxon p", "group": "Grupp", "no": "Nr", "challenge": "Utmaning",
        "theme": "Tema", "capability": "Förmåga", "follow_up": "Uppföljning",
        "outcome_type": "Typ av utfall", "total_sek": "Totalt (kr)",
        "development_share": "Utvecklingsandel", "measure": "Mått", "share": "Andel",
        "k": "Antal", "decentral": "ägs av verksamheten", "strategic": "strategiskt prioriterade",
        "category": "kategori", "dimension": "dimension", "total": "total", "item": "påstående",
        "file_name": "Fil", "kind": "Slag", "rows_added": "Rader", "sha256": "SHA-256 (början)",
        "package": "Paket", "version": "Version", "comparison_pct": "Jämförelse %",
        "relative_round": "Omgång rel. händelsen", "all_units": "Hela organisationen",
        "pre_slope": "trend före/mån", "baseline": "nivå vid start", "n_before": "Före (antal)",
        "n_after": "Efter (antal)", "naive_change": "Förändring utan justering",
        "item_id": "Påstående", "org_type": "organisationer av samma typ utan händelser",
        "change_year": "Bytesår", "mean_before": "Före", "mean_after": "Efter",
        "change": "Förändring",
    },
    "en": {
        "org_id": "Org. id", "name": "Organisation", "period": "Period", "before": "before",
        "after": "after", "all": "whole period", "month": "Month", "year": "Year",
        "round": "Round", "n_months": "Months", "accepted_per_month": "Accepted/month",
        "starts_per_month": "Started/month", "completions_per_month": "Delivered/month",
        "capacity_per_month": "Capacity/month", "gap_per_month": "Gap/month",
        "gap_ci_low": "Gap, lower", "gap_ci_high": "Gap, upper", "queue_end": "Queue at end",
        "period_start": "From", "L": "L (open)", "lambda_per_month": "λ (per month)",
        "W_days": "W (days)", "ratio": "λW/L", "censored_share": "Share open",
        "consistent": "Consistent", "n": "N", "n_censored": "Not done", "q50": "Median",
        "q50_ci_low": "Median, lower", "q50_ci_high": "Median, upper", "q75": "75th pct.",
        "q90": "90th pct.", "exploration_share": "Development share",
        "peer_median": "Peers (median)", "funding_model": "Funding model",
        "central": "central", "intern_prissattning": "internal pricing",
        "effektivitet_pct": "Efficiency %", "innovation_pct": "Innovation %",
        "arrivals": "Received", "completions": "Delivered", "starts": "Started",
        "queue": "Queue (accepted, not started)", "backlog": "Open requests",
        "decision_days": "Decision time (days)", "lead_time_days": "Lead time (days)",
        "wait_days": "Wait (days)", "level_change": "level shift", "slope_change":
        "slope change/month", "mean_change": "before/after", "outcome": "Outcome",
        "term": "Effect", "estimate": "Estimate", "ci_low": "95%, lower",
        "ci_high": "95%, upper", "unit": "Unit", "n_respondents": "Respondents",
        "score_pct": "Total %", "sd": "SD", "q1": "Lower quartile", "median": "Median",
        "q3": "Upper quartile", "iqr": "IQR", "rwg_j": "rwg(j)", "level": "Level",
        "label": "Name", "n_pairs": "Pairs", "score_pre": "Before %", "score_post": "After %",
        "change_pp": "Change (pp)", "d_z": "d_z", "d_z_ci_low": "d_z, lower",
        "d_z_ci_high": "d_z, upper", "wilcoxon_p": "Wilcoxon p", "group": "Group",
        "design": "Design", "difference_in_differences": "difference in differences",
        "no": "No.", "challenge": "Challenge", "theme": "Theme", "capability": "Capability",
        "follow_up": "Follow-up", "outcome_type": "Type of outcome",
        "total_sek": "Total (SEK)", "development_share": "Development share",
        "measure": "Measure", "share": "Share", "k": "Count",
        "decentral": "owned by business units", "strategic": "aligned with a strategic priority",
        "category": "category", "dimension": "dimension", "total": "total", "item": "statement",
        "file_name": "File", "kind": "Kind", "rows_added": "Rows", "sha256": "SHA-256 (start)",
        "package": "Package", "version": "Version", "comparison_pct": "Comparison %",
        "relative_round": "Round rel. to the event", "all_units": "Whole organisation",
        "pre_slope": "trend before/month", "baseline": "level at start",
        "n_before": "Before (n)", "n_after": "After (n)", "naive_change": "Unadjusted change",
        "item_id": "Statement", "org_type": "organisations of the same type without events",
        "change_year": "Year of change", "mean_before": "Before", "mean_after": "After",
        "change": "Change",
    },
}


def text(key: str, lang: str = "sv", **fields) -> str:
    """A report text in the report's language, with ``fields`` filled in.

    Examples
    --------
    >>> text("ic_hidden", "en", n_hidden=2)
    '2 units are hidden.'
    """
    return TEXTS[check_lang(lang)][key].format(**fields)


def markdown(key: str, lang: str = "sv", **fields):
    """:func:`text` as an IPython ``Markdown`` object for a notebook cell."""
    from IPython.display import Markdown

    return Markdown(text(key, lang, **fields))


def label(key: str, lang: str = "sv") -> str:
    """A column or value label (the key itself when there is none).

    Columns ending in ``_pct``, ``_ci_low`` or ``_ci_high`` get the label of their stem.

    Examples
    --------
    >>> label("exploration_share"), label("exploration_share", "en")
    ('Utvecklingsandel', 'Development share')
    >>> label("innovation_ci_low")
    'Innovation, nedre'
    """
    labels = LABELS[check_lang(lang)]
    if key in labels:
        return labels[key]
    for suffix, words in (("_ci_low", (", nedre", ", lower")),
                          ("_ci_high", (", övre", ", upper"))):
        if key.endswith(suffix):
            stem = key[: -len(suffix)]
            base = labels.get(stem + "_pct", labels.get(stem, stem)).removesuffix(" %")
            return base + words[0 if lang == "sv" else 1]
    return key


def comparison_label(comparison, lang: str = "sv") -> str:
    """How a report names the comparison organisations of :func:`category_trajectory`.

    Examples
    --------
    >>> comparison_label("org_type"), comparison_label(["9001", "9002"], "en")
    ('organisationer av samma typ utan händelser', 'selected organisations')
    """
    sv = check_lang(lang) == "sv"
    if comparison == "org_type":
        return label("org_type", lang)
    if comparison == "all":
        return "alla organisationer utan händelser" if sv else "all organisations without events"
    return "utvalda organisationer" if sv else "selected organisations"


def localise(frame: pd.DataFrame, lang: str = "sv", *, values: Sequence[str] = ()
             ) -> pd.DataFrame:
    """A table with its column names (and the codes in ``values`` columns) in the report
    language.

    Examples
    --------
    >>> localise(pd.DataFrame({"period": ["before"], "gap_per_month": [0.4]}),
    ...          values=["period"])
       Period  Glapp/mån
    0    före        0.4
    """
    out = frame.copy()
    for c in values:
        if c in out:
            out[c] = out[c].map(lambda v: label(str(v), lang) if isinstance(v, str) else v)
    return out.rename(columns={c: label(c, lang) for c in out.columns})


def synthetic_banner(study, lang: str = "sv"):
    """A visible banner for reports on synthetic data (an empty ``HTML`` otherwise)."""
    from mognad.present.text import synthetic_banner as _banner

    return _banner(study, lang, text('synthetic', lang))


def provenance_table(study, lang: str = "sv") -> pd.DataFrame:
    """The files behind the study: name, kind, rows added and the start of their SHA-256."""
    prov = study.provenance
    out = pd.DataFrame({"file_name": prov["file_name"], "kind": prov["kind"],
                        "rows_added": prov["rows_added"].astype("int64"),
                        "sha256": prov["sha256"].str.slice(0, 12)})
    return localise(out, lang)


def environment(lang: str = "sv") -> pd.DataFrame:
    """Python and package versions (for the end of every report).

    Examples
    --------
    >>> environment()["Paket"].tolist()[:3]
    ['python', 'mognad', 'pandas']
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from mognad import __version__

    rows = [("python", platform.python_version()), ("mognad", __version__)]
    for pkg in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "duckdb"):
        try:
            rows.append((pkg, version(pkg)))
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            rows.append((pkg, "-"))
    return localise(pd.DataFrame(rows, columns=["package", "version"]), lang)


def _name(study_or_orgs, org_id: str) -> str:
    orgs = study_or_orgs.organisations if hasattr(study_or_orgs, "organisations") \
        else study_or_orgs
    hit = orgs.loc[orgs["org_id"] == org_id, "name"]
    return str(hit.iloc[0]) if len(hit) else str(org_id)


def _fmt_date(value, lang: str = "sv") -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _require(frame: Any, cols, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise MognadError(f"{what}: needs a DataFrame; got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise MognadError(f"{what}: missing column(s) {missing}; the table has "
                          f"{list(frame.columns)}")


def event_orgs(study, kind: str) -> pd.DataFrame:
    """Organisations with events of one kind: ``org_id, name, date, text`` (first per org).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mognad.io.store import init_study, open_study
    >>> event_orgs(open_study(init_study(Path(tempfile.mkdtemp()) / "s")), "reorganisation")
    Empty DataFrame
    Columns: [org_id, name, date, text]
    Index: []
    """
    ev = study.events
    ev = ev[ev["kind"] == kind].sort_values(["org_id", "date"])
    ev = ev.drop_duplicates("org_id")
    names = study.organisations.set_index("org_id")["name"]
    out = pd.DataFrame({"org_id": ev["org_id"].astype("str"),
                        "name": ev["org_id"].map(names).astype("str"),
                        "date": ev["date"], "text": ev["text"]})
    return out.reset_index(drop=True)


# ============================================================================================
# Transformation: categories around an event, resources, decentralisation and coordination
# ============================================================================================
def _comparison_orgs(study, org_id: str, comparison) -> list[str]:
    orgs = study.organisations
    if isinstance(comparison, str):
        with_events = set(study.events["org_id"])
        if comparison == "org_type":
            own = orgs.loc[orgs["org_id"] == org_id, "org_type"]
            pool = orgs[orgs["org_type"].isin(own)]
        elif comparison == "all":
            pool = orgs
        else:
            raise MognadError("comparison must be 'org_type', 'all' or a list of org ids; got "
                              f"{comparison!r}")
        ids = [o for o in pool["org_id"] if o != org_id and o not in with_events]
    else:
        ids = [str(o) for o in comparison if str(o) != org_id]
    return ids


def category_trajectory(study, org_id: str, *, comparison: str | Sequence[str] = "org_type",
                        event_date=None, levels: Sequence[str] = ("category",),
                        n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """An organisation's DiMiOS scores per round, next to comparison organisations.

    Parameters
    ----------
    study : Study
    org_id : str
    comparison : "org_type", "all" or list of org ids
        ``"org_type"`` (default): other organisations of the same type without any recorded
        event (programme, reorganisation, funding change, course), so that their changes are
        the background trend; ``"all"``: every organisation without events; or explicit ids.
    event_date : date-like, optional
        Adds ``relative_round`` (round minus the event's year).
    levels : sequence of str
        Score levels: ``"category"``, ``"dimension"``, ``"total"``.
    n_boot, seed : int
        Cluster bootstrap of the organisation's scores (:func:`mognad.scoring.score`).

    Returns
    -------
    DataFrame
        ``round, level, name, score_pct, ci_low, ci_high, n_respondents`` of the organisation,
        ``comparison_pct`` (unweighted mean of the comparison organisations' scores that round),
        ``n_comparison`` and, with ``event_date``, ``relative_round``.
    """
    from mognad.scoring import score

    comp = _comparison_orgs(study, org_id, comparison)
    own = study.responses_for(org_id=org_id)
    if not len(own):
        raise MognadError(f"organisation {org_id} has no survey responses in this study")
    sc = score(own, codebook=study.codebook, n_boot=n_boot, seed=seed, levels=list(levels))
    out = sc[["round", "level", "name", "score_pct", "ci_low", "ci_high", "n_respondents"]]
    if comp:
        cs = score(study.responses_for(org_id=comp), codebook=study.codebook, method="none",
                   levels=list(levels))
        mean = (cs.groupby(["round", "level", "name"])
                .agg(comparison_pct=("score_pct", "mean"), n_comparison=("org_id", "nunique"))
                .reset_index())
        out = out.merge(mean, on=["round", "level", "name"], how="left")
    else:
        out = out.assign(comparison_pct=np.nan, n_comparison=0)
    out["n_comparison"] = out["n_comparison"].fillna(0).astype("int64")
    if event_date is not None:
        out["relative_round"] = out["round"] - pd.Timestamp(event_date).year
    return out.reset_index(drop=True)


def _round_effects(scores: pd.DataFrame) -> pd.Series:
    """Round effects of an org x round table (two-way fixed effects, least squares)."""
    orgs = pd.Index(sorted(scores["org_id"].unique()))
    rounds = pd.Index(sorted(scores["round"].unique()))
    X = np.zeros((len(scores), len(orgs) + len(rounds) - 1))
    X[np.arange(len(scores)), orgs.get_indexer(scores["org_id"])] = 1.0
    r = rounds.get_indexer(scores["round"])
    has = r > 0
    X[np.flatnonzero(has), len(orgs) + r[has] - 1] = 1.0
    beta, *_ = np.linalg.lstsq(X, scores["score_pct"].to_numpy(float), rcond=None)
    effects = np.concatenate([[0.0], beta[len(orgs):]])
    return pd.Series(effects, index=rounds)


def difference_in_differences(study, org_id: str, *, event_date, first_round: int | None = None,
                              comparison: str | Sequence[str] = "org_type",
                              levels: Sequence[str] = ("category", "dimension", "total"),
                              ci: float = 0.95) -> pd.DataFrame:
    """Change in an organisation's scores after an event, net of the comparison organisations.

    The design is a **difference in differences** on organisation-round scores (column
    ``design``); :func:`mognad.longitudinal.pre_post_change` is the respondent-level
    before/after comparison of the same event (design ``pre_post``, with a national
    adjustment). Both are legitimate; a report says which one it shows.

    For each score, the organisation's round scores ``y_r`` are adjusted by round effects
    ``g_r`` estimated from the comparison organisations with organisation fixed effects
    (``y_or = a_o + g_r``, so changes in which organisations took part do not shift them):
    ``z_r = y_r - g_r``. The effect is ``mean(z, rounds >= first_round) - mean(z, earlier
    rounds)``, a difference in differences with one treated organisation. Its interval is a
    pooled two-sample t interval on the ``z_r`` (``n_rounds - 2`` degrees of freedom): it rests
    on how much the organisation's adjusted score varies from round to round, which includes
    sampling error, the organisation's own round-to-round variation and the error in ``g_r``.

    Parameters
    ----------
    study : Study
    org_id : str
    event_date : date-like
        The event (e.g. the reorganisation date from the events table).
    first_round : int, optional
        First round counted as *after*; default the year after the event's year (answers
        given in the year of a reorganisation mostly describe the organisation before it takes
        effect; set it to the event's year to count that round as after).
    comparison : "org_type", "all" or list of org ids
        See :func:`category_trajectory`.
    levels : sequence of str
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        ``design`` (``"difference_in_differences"``), ``level, name, n_before, n_after``
        (rounds), ``naive_change`` (after minus before, unadjusted), ``change`` (the effect,
        percentage points), ``se``, ``df``, ``ci_low``, ``ci_high``, ``n_comparison``
        (organisations).
    """
    from scipy import stats

    from mognad.scoring import score

    first_round = (pd.Timestamp(event_date).year + 1 if first_round is None
                   else int(first_round))
    comp = _comparison_orgs(study, org_id, comparison)
    if not comp:
        raise MognadError(f"no comparison organisations for {org_id}; give comparison= as a "
                          "list of org ids")
    resp = study.responses_for(org_id=[org_id, *comp])
    sc = score(resp, codebook=study.codebook, method="none", levels=list(levels))
    rows = []
    for (level, name), g in sc.groupby(["level", "name"], sort=False):
        own = g[g["org_id"] == org_id].set_index("round")["score_pct"].dropna()
        others = g[g["org_id"] != org_id].dropna(subset=["score_pct"])
        effects = _round_effects(others)
        own = own[own.index.isin(effects.index)]
        z = own - effects.reindex(own.index)
        pre, post = z[z.index < first_round], z[z.index >= first_round]
        raw_pre, raw_post = own[own.index < first_round], own[own.index >= first_round]
        row = {"design": "difference_in_differences", "level": level, "name": name,
               "n_before": len(pre), "n_after": len(post),
               "naive_change": (raw_post.mean() - raw_pre.mean()) if len(pre) and len(post)
               else np.nan,
               "change": (post.mean() - pre.mean()) if len(pre) and len(post) else np.nan,
               "n_comparison": int(others["org_id"].nunique())}
        df = len(pre) + len(post) - 2
        if len(pre) and len(post) and df >= 1:
            ss = ((pre - pre.mean()) ** 2).sum() + ((post - post.mean()) ** 2).sum()
            se = math.sqrt(ss / df * (1 / len(pre) + 1 / len(post)))
            half = stats.t.ppf(0.5 + ci / 2, df) * se
            row |= {"se": se, "df": df, "ci_low": row["change"] - half,
                    "ci_high": row["change"] + half}
        else:
            row |= {"se": np.nan, "df": max(df, 0), "ci_low": np.nan, "ci_high": np.nan}
        rows.append(row)
    return pd.DataFrame(rows)


def budget_trend(budgets: pd.DataFrame, *, org_id: str, first_year: int,
                 ci: float = 0.95) -> dict:
    """Resources over time: digital spending per year, its development share, and the step.

    The step is estimated from ``log(total) = a + b (year - first) + c [year >= first_year]``
    by OLS: ``step = exp(c)`` is the lasting change of the budget level from ``first_year`` on
    top of the trend (t interval, ``n_years - 3`` degrees of freedom).

    Returns
    -------
    dict
        ``table`` (DataFrame: ``year, total_sek, exploration_sek, exploitation_sek,
        exploration_share``), ``step``, ``step_ci_low``, ``step_ci_high``, ``trend`` (yearly
        growth factor), ``share_before``, ``share_after`` and ``share_change`` (a row of
        :func:`mognad.governance.share_change`).

    Examples
    --------
    >>> b = pd.DataFrame({"org_id": "R99", "year": np.repeat(np.arange(2018, 2025), 4),
    ...                   "kind": ["drift", "forvaltning", "vidareutveckling", "nyutveckling"] * 7,
    ...                   "funding_model": "central"})
    >>> level = 100 * 1.03 ** (b["year"] - 2018) * np.where(b["year"] >= 2021, 1.12, 1.0)
    >>> share = np.where(b["year"] >= 2021, [0.36, 0.26, 0.21, 0.17] * 7, [0.42, 0.30, 0.16, 0.12] * 7)
    >>> b["amount_sek"] = level * share
    >>> out = budget_trend(b, org_id="R99", first_year=2021)
    >>> round(out["step"], 3), round(out["trend"], 3), round(out["share_after"], 2)
    (1.12, 1.03, 0.38)
    """
    import statsmodels.api as sm

    from mognad.governance import share_change, spending_shares

    sh = spending_shares(budgets[budgets["org_id"] == org_id], peers=False)
    if not len(sh):
        raise MognadError(f"no budget lines for {org_id}")
    years = sh["year"].to_numpy(float)
    X = np.column_stack([np.ones_like(years), years - first_year,
                         (years >= first_year).astype(float)])
    out: dict = {"table": sh[["year", "total_sek", "exploitation_sek", "exploration_sek",
                              "exploration_share"]].reset_index(drop=True)}
    if len(years) >= 4 and 0 < (years >= first_year).sum() < len(years):
        res = sm.OLS(np.log(sh["total_sek"].to_numpy(float)), X).fit()
        lo, hi = res.conf_int(alpha=1 - ci)[2]
        out |= {"step": float(np.exp(res.params[2])), "step_ci_low": float(np.exp(lo)),
                "step_ci_high": float(np.exp(hi)), "trend": float(np.exp(res.params[1]))}
    else:
        out |= {"step": np.nan, "step_ci_low": np.nan, "step_ci_high": np.nan,
                "trend": np.nan}
    change = share_change(sh, change_dates={org_id: f"{first_year}-01-01"}, ci=ci)
    row = change.iloc[0] if len(change) else pd.Series(dtype=float)
    out |= {"share_before": float(row.get("mean_before", np.nan)),
            "share_after": float(row.get("mean_after", np.nan)),
            "share_change": row}
    return out


_INITIATIVE_MEASURES = {"decentral": ("owner", "verksamhet"), "strategic": ("strategic", "ja")}


def initiative_shares(requests: pd.DataFrame, *, measure: str | Sequence[str] = (
                      "decentral", "strategic"), by: Sequence[str] = ("org_id", "year"),
                      ci: float = 0.95) -> pd.DataFrame:
    """Decentralisation and coordination of initiatives, per group, with Wilson intervals.

    ``decentral`` (alias ``owner``): the share of initiatives (development requests) owned by a
    business unit (``owner == "verksamhet"``) rather than central IT; ``strategic``: the share
    aligned with a strategic priority (``strategic == "ja"``). Requests with the field empty are
    left out of that measure. ``year`` is the year the request was received.

    Returns
    -------
    DataFrame
        ``by`` columns, ``measure``, ``n`` (initiatives with the field known), ``k`` (with the
        property), ``share``, ``ci_low``, ``ci_high``.
    """
    measures = [measure] if isinstance(measure, str) else list(measure)
    measures = ["decentral" if m == "owner" else m for m in measures]
    bad = [m for m in measures if m not in _INITIATIVE_MEASURES]
    if bad:
        raise MognadError(f"unknown measure(s) {bad}; use 'decentral' (owner) or 'strategic'")
    frame = requests.copy()
    if "year" in by and "year" not in frame:
        _require(frame, ("received",), "initiative_shares")
        frame["year"] = pd.to_datetime(frame["received"]).dt.year.astype("int64")
    rows = []
    for m in measures:
        col, yes = _INITIATIVE_MEASURES[m]
        _require(frame, (*by, col), "initiative_shares")
        known = frame[frame[col].notna()]
        g = known.groupby(list(by), sort=True)[col]
        agg = pd.DataFrame({"n": g.size(), "k": g.apply(lambda s, yes=yes: int((s == yes).sum()))}
                           ).reset_index()
        agg.insert(len(by), "measure", m)
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    out["share"] = out["k"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["k"], out["n"], ci)
    out[["n", "k"]] = out[["n", "k"]].astype("int64")
    return out


# ============================================================================================
# Training evaluation
# ============================================================================================
#: The four challenges the Mölndal course ended with (DOMAIN.md), as tagged qualitative
#: outcomes. ``capability``: the dynamic capability it mainly builds (sense, seize,
#: transform); themes and follow-up sources are this project's reading, not the course's.
CHALLENGES = (
    {"no": 1,
     "challenge": {"sv": "Gemensam definition av digitalisering i alla planer",
                   "en": "A shared definition of digitalisation in all plans"},
     "theme": {"sv": "styrning och styrdokument", "en": "governance and plans"},
     "capability": {"sv": "omvandla", "en": "transform"},
     "follow_up": {"sv": "andel av nämndernas planer med definitionen",
                   "en": "share of the committees' plans that use the definition"}},
    {"no": 2,
     "challenge": {"sv": "Mer politiskt engagemang", "en": "More political involvement"},
     "theme": {"sv": "politisk förankring", "en": "political ownership"},
     "capability": {"sv": "ta vara på", "en": "seize"},
     "follow_up": {"sv": "digitaliseringsärenden och dragningar i nämnder och fullmäktige",
                   "en": "digitalisation items and briefings in committees and council"}},
    {"no": 3,
     "challenge": {"sv": "Ett nytt utvecklingsforum", "en": "A new development forum"},
     "theme": {"sv": "samverkan och prioritering", "en": "collaboration and prioritisation"},
     "capability": {"sv": "känna av", "en": "sense"},
     "follow_up": {"sv": "forumets möten, deltagande funktioner och prioriterade initiativ",
                   "en": "the forum's meetings, functions taking part and initiatives "
                         "prioritised"}},
    {"no": 4,
     "challenge": {"sv": "Mer HR-engagemang", "en": "More HR involvement"},
     "theme": {"sv": "kompetens och arbetssätt", "en": "skills and ways of working"},
     "capability": {"sv": "omvandla", "en": "transform"},
     "follow_up": {"sv": "HR:s roll i kompetensförsörjnings- och utvecklingsplaner",
                   "en": "HR's part in skills and development plans"}},
)


def course_challenges(lang: str = "sv") -> pd.DataFrame:
    """The course's four challenges as a tidy table of tagged, qualitative outcomes.

    Examples
    --------
    >>> course_challenges("en")[["no", "theme", "capability"]]
       no                             theme capability
    0   1              governance and plans  transform
    1   2               political ownership      seize
    2   3  collaboration and prioritisation      sense
    3   4        skills and ways of working  transform
    """
    lang = check_lang(lang)
    rows = [{"no": c["no"], "challenge": c["challenge"][lang], "theme": c["theme"][lang],
             "capability": c["capability"][lang],
             "outcome_type": "kvalitativt" if lang == "sv" else "qualitative",
             "follow_up": c["follow_up"][lang]} for c in CHALLENGES]
    return pd.DataFrame(rows)


def paired_scores(training: pd.DataFrame, *, codebook=None,
                  levels: Sequence[str] = ("total", "dimension", "category", "item")
                  ) -> pd.DataFrame:
    """Each participant's scores before and after, side by side.

    Scores are :func:`mognad.scoring.respondent_scores` of each participant and phase (a
    category is the weighted mean of the answered items, missing with fewer than the codebook's
    minimum; don't know is missing), in percent of optimal.

    Returns
    -------
    DataFrame
        ``org_id, course, participant, function, level, name, score_pre, score_post, change``
        (missing where a phase is missing).
    """
    from mognad.codebook import load_codebook
    from mognad.scoring import respondent_scores

    _require(training, ("org_id", "course", "participant", "phase", "item_id", "value"),
             "paired_scores")
    cb = load_codebook(codebook) if not hasattr(codebook, "item_ids") else codebook
    sc = respondent_scores(training, codebook=cb, by=["org_id", "course", "phase"],
                           respondent="participant", levels=list(levels))
    wide = sc.pivot_table(index=["org_id", "course", "participant", "level", "name"],
                          columns="phase", values="score_pct", dropna=False).reset_index()
    for phase in ("pre", "post"):
        if phase not in wide:
            wide[phase] = np.nan
    wide = wide.rename(columns={"pre": "score_pre", "post": "score_post"})
    wide.columns.name = None
    func = (training.drop_duplicates(["org_id", "course", "participant"])
            .set_index(["org_id", "course", "participant"])["function"]
            if "function" in training else None)
    wide["function"] = (wide.set_index(["org_id", "course", "participant"]).index.map(func)
                        if func is not None else pd.NA)
    wide["change"] = wide["score_post"] - wide["score_pre"]
    wide = wide.dropna(subset=["score_pre", "score_post"], how="all")
    order = {lv: i for i, lv in enumerate(("total", "dimension", "category", "item"))}
    names = {("item", i): n for n, i in enumerate(cb.item_ids)}
    names |= {("category", c): n for n, c in enumerate(cb.categories["category"])}
    names |= {("dimension", d): n for n, d in enumerate(cb.dimensions["dimension"])}
    wide["_o"] = wide["level"].map(order) * 1000 + [names.get(k, 0) for k in zip(
        wide["level"], wide["name"], strict=True)]
    wide = wide.sort_values(["org_id", "course", "_o", "participant"]).drop(columns="_o")
    cols = ["org_id", "course", "participant", "function", "level", "name", "score_pre",
            "score_post", "change"]
    return wide[cols].reset_index(drop=True)


def _dz_interval(d: float, n: int, ci: float) -> tuple[float, float]:
    """Interval for Cohen's d_z by inverting the noncentral t distribution."""
    from scipy import optimize, stats

    if n < 2 or not np.isfinite(d):
        return np.nan, np.nan
    df, t = n - 1, d * math.sqrt(n)
    alpha = 1 - ci

    def f(ncp, p):
        return float(stats.nct.cdf(t, df, ncp)) - p

    def solve(p):
        # the cdf falls from 1 to 0 as ncp grows; T has about sd sqrt(1 + ncp²/2df) around
        # ncp, so widen a bracket of that scale until the sign changes
        scale = math.sqrt(1 + t * t / (2 * df))
        for span in (4.0, 8.0, 16.0, 32.0):
            a, b = t - span * scale, t + span * scale
            fa, fb = f(a, p), f(b, p)
            if np.isfinite(fa) and np.isfinite(fb) and fa > 0 > fb:
                try:
                    return optimize.brentq(f, a, b, args=(p,))
                except ValueError:
                    return np.nan
        return np.nan

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return solve(1 - alpha / 2) / math.sqrt(n), solve(alpha / 2) / math.sqrt(n)


def _paired_stats(pre: np.ndarray, post: np.ndarray, ci: float) -> dict:
    from scipy import stats

    diff = post - pre
    n = len(diff)
    out = {"n_pairs": n, "score_pre": pre.mean() if n else np.nan,
           "score_post": post.mean() if n else np.nan, "change": diff.mean() if n else np.nan,
           "sd_change": diff.std(ddof=1) if n >= 2 else np.nan}
    if n >= 2 and out["sd_change"] > 0:
        half = stats.t.ppf(0.5 + ci / 2, n - 1) * out["sd_change"] / math.sqrt(n)
        d = out["change"] / out["sd_change"]
        lo, hi = _dz_interval(d, n, ci)
        out |= {"ci_low": out["change"] - half, "ci_high": out["change"] + half,
                "d_z": d, "d_z_ci_low": lo, "d_z_ci_high": hi}
    else:
        out |= {"ci_low": np.nan, "ci_high": np.nan, "d_z": np.nan, "d_z_ci_low": np.nan,
                "d_z_ci_high": np.nan}
    if n >= 1 and np.any(diff != 0):
        res = stats.wilcoxon(diff, zero_method="wilcox")
        out |= {"wilcoxon_w": float(res.statistic), "wilcoxon_p": float(res.pvalue)}
    else:
        out |= {"wilcoxon_w": np.nan, "wilcoxon_p": np.nan}
    return out


_EFFECT_VALUES = ("score_pre", "score_post", "change", "sd_change", "ci_low", "ci_high", "d_z",
                  "d_z_ci_low", "d_z_ci_high", "wilcoxon_w", "wilcoxon_p")


def training_effects(training: pd.DataFrame, *, codebook=None,
                     levels: Sequence[str] = ("total", "dimension", "category"),
                     by: str | None = None, groups: Mapping[str, str] | None = None,
                     k_min: int = 5, ci: float = 0.95) -> pd.DataFrame:
    """Paired pre/post change per score, with effect sizes, optionally by function.

    For each score (total, dimension, category, item) and the participants with both phases:
    the mean before and after, the mean change in percentage points with a paired t interval,
    Cohen's ``d_z`` (mean change / SD of the changes) with an exact interval from the noncentral
    t distribution (Cumming & Finch 2001), and Wilcoxon's signed-rank test (``scipy.stats.
    wilcoxon``, zero differences dropped).

    Parameters
    ----------
    training : DataFrame
        Course answers, long (:func:`mognad.governance.load_training`).
    codebook : Codebook, str or None
    levels : sequence of str
    by : str, optional
        ``"function"`` for a breakdown by the participants' function. Groups are protected
        like respondents in a report: those with fewer than ``k_min`` participants with both
        phases are hidden, plus complementary groups so that none can be derived from the
        total (:func:`mognad.disclosure.suppress`, then :func:`~mognad.disclosure.
        check_disclosure`); hidden groups are left out of the result.
    groups : mapping, optional
        Merge functions into larger groups first, ``{function: group}`` (unmapped functions
        keep their name).
    k_min : int, default 5
    ci : float, default 0.95

    Returns
    -------
    DataFrame
        (``group``,) ``level, name, n_pairs, score_pre, score_post, change, sd_change, ci_low,
        ci_high, d_z, d_z_ci_low, d_z_ci_high, wilcoxon_w, wilcoxon_p``. With ``by``, the
        attribute ``attrs["n_hidden"]`` says how many groups were hidden.

    Examples
    --------
    Five participants, every answer one step higher after the course (20 points on the 0-100
    scale); the changes differ only through one answer, so d_z is large:

    >>> rows = []
    >>> for p in range(5):
    ...     for phase, add in (("pre", 0), ("post", 1)):
    ...         for i in range(1, 31):
    ...             v = 3 + add + (1 if (p == 0 and phase == "post" and i == 1) else 0)
    ...             rows.append(("0114", "k1", f"p{p}", "chef", phase, f"q{i:02d}", v))
    >>> t = pd.DataFrame(rows, columns=["org_id", "course", "participant", "function", "phase",
    ...                                 "item_id", "value"])
    >>> out = training_effects(t, levels=["total"])
    >>> out[["name", "n_pairs", "score_pre", "score_post", "change"]].round(2)
        name  n_pairs  score_pre  score_post  change
    0  total        5     40.0     60.13      20.13
    """
    from mognad.disclosure import check_disclosure, suppress

    scores = paired_scores(training, codebook=codebook, levels=levels)
    both = scores.dropna(subset=["score_pre", "score_post"])
    keys = ["level", "name"]
    if by is not None:
        if by != "function":
            raise MognadError(f"by must be None or 'function'; got {by!r}")
        groups = dict(groups or {})
        both = both.assign(group=both["function"].map(lambda f: groups.get(f, f)))
        keys = ["group", *keys]
    rows = []
    for key, g in both.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        stats_ = _paired_stats(g["score_pre"].to_numpy(float), g["score_post"].to_numpy(float),
                               ci)
        rows.append(dict(zip(keys, key, strict=True)) | stats_)
    out = pd.DataFrame(rows, columns=[*keys, "n_pairs", *_EFFECT_VALUES])
    if by is None:
        return out
    table, _log = suppress(out, k=k_min, count="n_pairs", by=None, group="group",
                           values=list(_EFFECT_VALUES), within=("level", "name"))
    check_disclosure(table, k=k_min, count="n_pairs", values=list(_EFFECT_VALUES))
    shown = table[~table["suppressed"]].drop(columns=["suppressed", "suppression_reason"])
    shown = shown.reset_index(drop=True)
    shown["n_pairs"] = shown["n_pairs"].astype("int64")
    shown.attrs["n_hidden"] = int(table.loc[table["suppressed"], "group"].nunique())
    return shown


def linked_participants(study, training: pd.DataFrame) -> int:
    """How many course participants are also survey respondents of the same organisation.

    Participants and respondents are pseudonymised with the same key, so the same person has
    the same pseudonym in both (the raw ids never reach the store).
    """
    n = 0
    for org, g in training.groupby("org_id"):
        resp = study.sql("SELECT DISTINCT respondent_id FROM respondents WHERE org_id = ?",
                         [org])
        n += len(set(g["participant"]) & set(resp["respondent_id"]))
    return n


# ============================================================================================
# Internal comparison under disclosure control
# ============================================================================================
_UNIT_VALUES = ("score_pct", "ci_low", "ci_high", "sd", "q1", "median", "q3", "iqr", "rwg_j")
_UNIT_COLUMNS = ("unit", "depth", "parent", "n_respondents", *_UNIT_VALUES)


def _latest_round(study, org_id: str) -> int:
    rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? ORDER BY round",
                       [org_id])["round"]
    if not len(rounds):
        raise MognadError(f"organisation {org_id} has no survey responses in this study")
    return int(rounds.iloc[-1])


def internal_comparison(study, org_id: str, *, round: int | None = None, k_min: int = 5,
                        depth: int | None = None, method: str | None = None, n_boot: int = 1000,
                        seed: int = 0) -> dict:
    """Units of one organisation compared, with dispersion and agreement, under disclosure
    control.

    A study-aware wrapper of :func:`mognad.internal.compare_groups`, the same function (same
    publication plan, figures and intervals) as the organisation report's units. Per shown unit
    node down to ``depth`` (each the aggregate of everyone in its subtree): the total score with
    the interval of :func:`mognad.scoring.score`, the SD and quartiles (IQR) of the respondents'
    totals and rwg(j) over all items. Which units are shown is decided once for the
    organisation-round over every depth of the hierarchy and the roles
    (:func:`mognad.disclosure.publication_plan`), so this report at any ``depth`` and the
    organisation report together reveal no group of fewer than ``k_min``; hidden units are left
    out (not even their names). ICC(1)/ICC(2) are computed over the finest shown units only.

    Parameters
    ----------
    study : Study
    org_id : str
    round : int, optional
        Default the organisation's latest round.
    k_min : int, default 5
    depth : int, optional
        Show units down to this depth of the unit path (``1``: top-level units, each with
        everyone below it); default every depth.
    method : str, optional
        Interval method of :func:`mognad.scoring.score` (default: its default).
    n_boot, seed : int

    Returns
    -------
    dict
        ``units`` (DataFrame of the shown units in tree order: ``unit, depth, parent,
        n_respondents`` and the values ``score_pct, ci_low, ci_high, sd, q1, median, q3, iqr,
        rwg_j``), ``organisation`` (one row with the same columns for all respondents, ``unit``
        = ``"all_units"``), ``n_hidden`` and ``n_units`` (unit nodes down to ``depth``),
        ``round``, ``k_min``, ``depth``, ``icc1``, ``icc2``. Nothing respondent-level.
    """
    round = _latest_round(study, org_id) if round is None else int(round)
    result = _unit_view(study, org_id, round, k_min=k_min, depth=depth, method=method,
                        n_boot=n_boot, seed=seed)
    if result is None:
        raise MognadError(f"organisation {org_id} has fewer than k_min={k_min} respondents in "
                          f"round {round}: nothing of it can be shown")
    return result


def _unit_view(study, org_id: str, round: int, **kw) -> dict | None:
    """:func:`internal_comparison` of one round, ``None`` when the organisation total itself
    has fewer than ``k_min`` respondents."""
    from mognad.internal import compare_groups

    resp = study.responses_for(org_id=org_id, round=round)
    if not len(resp):
        raise MognadError(f"organisation {org_id} has no responses in round {round}")
    res = compare_groups(resp, codebook=study.codebook, roles=False, **kw)
    if not len(res.organisation()):
        return None
    units = res.units()
    units["n_respondents"] = units["n_respondents"].astype("int64")
    org = res.organisation().assign(unit="all_units", depth=0, parent=pd.NA)
    return {
        "units": units[list(_UNIT_COLUMNS)],
        "organisation": org[list(_UNIT_COLUMNS)],
        "n_hidden": res.n_hidden_units,
        "n_units": res.n_units,
        "round": round, "k_min": res.k_min, "depth": res.depth, "icc1": res.icc1,
        "icc2": res.icc2,
    }


def internal_rounds(study, org_id: str, *, rounds: Sequence[int] | None = None,
                    k_min: int = 5, depth: int | None = None, method: str | None = None,
                    n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """:func:`internal_comparison` for several rounds (follow-up measurements), long.

    Each round has its own respondents and so its own publication plan; a round with fewer than
    ``k_min`` respondents is left out. Returns ``round, unit, depth, n_respondents, score_pct,
    ci_low, ci_high, sd, iqr, rwg_j`` for the units shown in each round.
    """
    if rounds is None:
        rounds = study.sql("SELECT DISTINCT round FROM respondents WHERE org_id = ? ORDER BY 1",
                           [org_id])["round"].astype(int).tolist()
    parts = []
    for r in rounds:
        res = _unit_view(study, org_id, int(r), k_min=k_min, depth=depth, method=method,
                         n_boot=n_boot, seed=seed)
        if res is not None:  # a round with fewer than k_min respondents shows nothing
            parts.append(res["units"].assign(round=int(r)))
    cols = ["round", "unit", "depth", "n_respondents", "score_pct", "ci_low", "ci_high", "sd",
            "iqr", "rwg_j"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def unit_contrast(result: Mapping, unit_a: str, unit_b: str, *, ci: float = 0.95) -> dict:
    """Difference between two *shown* units' mean totals, with a Welch t interval.

    Only units that :func:`internal_comparison` shows can be contrasted; asking for a hidden
    unit raises (its figures must not be used), and so does a unit and one of its sub-units
    (they share respondents, so the samples are not independent).

    Examples
    --------
    >>> res = {"units": pd.DataFrame({"unit": ["A", "B"], "n_respondents": [8, 5],
    ...                               "score_pct": [70.0, 45.0], "sd": [10.0, 15.0]})}
    >>> out = unit_contrast(res, "A", "B")
    >>> round(out["difference"], 1), round(out["ci_low"], 1), round(out["ci_high"], 1)
    (25.0, 6.6, 43.4)
    """
    from mognad.intervals import welch_from_summary

    units = result["units"].set_index("unit")
    for u in (unit_a, unit_b):
        if u not in units.index:
            raise MognadError(f"unit {u!r} is not shown (too few respondents, or hidden to "
                              "protect another unit); it cannot be contrasted")
    if unit_a == unit_b or unit_a.startswith(unit_b + "/") or unit_b.startswith(unit_a + "/"):
        raise MognadError(f"units {unit_a!r} and {unit_b!r} share respondents (one contains "
                          "the other); contrast units that do not overlap")
    a, b = units.loc[unit_a], units.loc[unit_b]
    w = welch_from_summary(a["score_pct"], a["sd"], a["n_respondents"], b["score_pct"], b["sd"],
                           b["n_respondents"], ci=ci)
    return {"difference": w["change"], "se": w["se"], "df": w["df"], "ci_low": w["ci_low"],
            "ci_high": w["ci_high"]}


def unit_agreement(result: Mapping) -> dict:
    """ICC(1) and ICC(2) of an :func:`internal_comparison` result (over the shown units)."""
    return {"icc1": result["icc1"], "icc2": result["icc2"]}


# ============================================================================================
# Figures
# ============================================================================================
_OWN, _PEER, _ACCENT = "#1f4e79", "#8c96a5", "#c0504d"


def _plt():
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    return plt


def _pct_axis(lang: str) -> str:
    return "% av optimala förutsättningar" if lang == "sv" else "% of optimal preconditions"


def plot_trajectory(trajectory: pd.DataFrame, *, codebook=None, event_date=None,
                    first_round: int | None = None, lang: str = "sv", name: str = ""):
    """Category scores per round with intervals against the comparison mean, one panel per
    category; a dashed line before ``first_round`` (default: the year after the event), the
    first round counted as after the event.

    Examples
    --------
    >>> tr = pd.DataFrame({"round": [2019, 2020, 2021], "level": "category",
    ...                    "name": "innovation", "score_pct": [40.0, 42, 50],
    ...                    "ci_low": [35.0, 37, 45], "ci_high": [45.0, 47, 55],
    ...                    "comparison_pct": [45.0, 46, 47]})
    >>> len(plot_trajectory(tr, event_date="2020-03-01").axes)
    1
    """
    from mognad.codebook import load_codebook

    plt = _plt()
    cb = load_codebook(codebook) if not hasattr(codebook, "label") else codebook
    names = list(dict.fromkeys(trajectory["name"]))
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False,
                             sharey=True)
    for k, nm in enumerate(names):
        ax = axes[k // ncol, k % ncol]
        g = trajectory[trajectory["name"] == nm].sort_values("round")
        ax.errorbar(g["round"], g["score_pct"],
                    yerr=[g["score_pct"] - g["ci_low"], g["ci_high"] - g["score_pct"]],
                    fmt="o-", color=_OWN, capsize=3, label=name or "organisation")
        if "comparison_pct" in g and g["comparison_pct"].notna().any():
            ax.plot(g["round"], g["comparison_pct"], "s--", color=_PEER, ms=4,
                    label="jämförelse" if lang == "sv" else "comparison")
        if first_round is not None or event_date is not None:
            cut = first_round if first_round is not None else pd.Timestamp(event_date).year + 1
            ax.axvline(cut - 0.5, color="0.3", ls="--", lw=1)
        level = str(g["level"].iloc[0])
        try:
            title = cb.label(level, nm, lang)
        except (KeyError, ValueError):
            title = nm
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xticks(sorted(g["round"].unique()))
    for k in range(len(names), nrow * ncol):
        axes[k // ncol, k % ncol].set_visible(False)
    axes[0, 0].set_ylabel("%")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_forest(frame: pd.DataFrame, *, estimate: str = "estimate", low: str = "ci_low",
                high: str = "ci_high", label_col: str = "label", group: str | None = None,
                xlabel: str = "", lang: str = "sv"):
    """Point estimates with intervals, one row each (effects, changes); zero marked.

    Examples
    --------
    >>> f = pd.DataFrame({"label": ["A", "B"], "estimate": [2.0, -1.0],
    ...                   "ci_low": [0.5, -3.0], "ci_high": [3.5, 1.0]})
    >>> len(plot_forest(f).axes)
    1
    """
    plt = _plt()
    rows = frame.reset_index(drop=True)
    groups = [None] if group is None else list(dict.fromkeys(rows[group]))
    n = len(rows[label_col].unique())
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * n * max(1, len(groups) ** 0.5) + 1.3))
    labels = list(dict.fromkeys(rows[label_col]))
    y = {lab: len(labels) - 1 - i for i, lab in enumerate(labels)}
    for k, gval in enumerate(groups):
        sub = rows if gval is None else rows[rows[group] == gval]
        off = 0 if gval is None else (k - (len(groups) - 1) / 2) * 0.18
        yy = [y[lab] + off for lab in sub[label_col]]
        colour = [_OWN, _ACCENT, "#4f8a3c", "#8064a2"][k % 4]
        ax.hlines(yy, sub[low], sub[high], color=colour, lw=3, alpha=0.5)
        ax.plot(sub[estimate], yy, "o", color=colour, label=None if gval is None else gval)
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(list(y.values()), list(y.keys()))
    ax.set_xlabel(xlabel)
    if group is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_budget(trend: Mapping, *, first_year: int | None = None, lang: str = "sv",
                name: str = ""):
    """Digital spending per year (bars, MSEK; exploration darker) and the development share.

    ``trend`` is :func:`budget_trend` (or ``None``, which draws nothing and returns ``None``).
    """
    if trend is None:
        return None
    plt = _plt()
    t = trend["table"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.bar(t["year"], t["exploitation_sek"] / 1e6, color=_PEER,
           label="drift och förvaltning" if lang == "sv" else "operation and maintenance")
    ax.bar(t["year"], t["exploration_sek"] / 1e6, bottom=t["exploitation_sek"] / 1e6,
           color=_OWN, label="vidare- och nyutveckling" if lang == "sv"
           else "further and new development")
    ax.set_ylabel("MSEK" if lang == "en" else "mnkr")
    ax2 = ax.twinx()
    ax2.plot(t["year"], 100 * t["exploration_share"], "o-", color=_ACCENT)
    ax2.set_ylabel(label("development_share", lang) + " (%)", color=_ACCENT)
    ax2.set_ylim(0, 100)
    ax2.grid(False)
    if first_year is not None:
        ax.axvline(first_year - 0.5, color="0.3", ls="--", lw=1)
    ax.set_title(name, loc="left", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_initiatives(shares: pd.DataFrame, *, names: Mapping | None = None, lang: str = "sv"):
    """Shares of initiatives per year with Wilson intervals: one panel per measure."""
    plt = _plt()
    measures = list(dict.fromkeys(shares["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(5.5 * len(measures), 3.4),
                             squeeze=False, sharey=True)
    names = dict(names or {})
    for j, m in enumerate(measures):
        ax = axes[0, j]
        for k, (org, g) in enumerate(shares[shares["measure"] == m].groupby("org_id")):
            colour = [_OWN, _ACCENT, "#4f8a3c", "#8064a2"][k % 4]
            ax.plot(g["year"], 100 * g["share"], "o-", color=colour, label=names.get(org, org))
            ax.fill_between(g["year"], 100 * g["ci_low"], 100 * g["ci_high"], color=colour,
                            alpha=0.15)
        ax.set_title(label(m, lang).capitalize(), loc="left", fontsize=10)
        ax.set_ylim(0, 100)
        ax.set_xlabel(label("year", lang))
    axes[0, 0].set_ylabel("%")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_units(result: Mapping, *, lang: str = "sv", name: str = ""):
    """Shown units of :func:`internal_comparison`: mean with interval (dot and thin line) and
    the interquartile range of respondents' totals (thick bar); the organisation's mean dashed.
    """
    plt = _plt()
    units = result["units"].sort_values("score_pct")
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(units) + 1.5))
    y = np.arange(len(units))
    ax.hlines(y, units["q1"], units["q3"], color=_PEER, lw=9, alpha=0.6,
              label="kvartilavstånd" if lang == "sv" else "interquartile range")
    ax.hlines(y, units["ci_low"], units["ci_high"], color=_OWN, lw=2,
              label="95 % intervall" if lang == "sv" else "95% interval")
    ax.plot(units["score_pct"], y, "o", color=_OWN)
    org = result["organisation"]["score_pct"].iloc[0]
    ax.axvline(org, color=_ACCENT, ls="--", lw=1, label=label("all_units", lang))
    ax.set_yticks(y, units["unit"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(_pct_axis(lang))
    ax.set_title(name, loc="left", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# ============================================================================================
# Report building blocks: tables and generated sentences
# ============================================================================================
_CODE_COLUMNS = ("period", "funding_model", "term", "outcome", "measure", "level", "unit",
                 "design")


def org_names(study, org_ids: Sequence[str] | None = None) -> dict:
    """``{org_id: name}`` from the study's registry (all organisations when ``org_ids`` is
    None)."""
    orgs = study.organisations
    if org_ids is not None:
        orgs = orgs[orgs["org_id"].isin([str(o) for o in org_ids])]
    return dict(zip(orgs["org_id"], orgs["name"], strict=True))


def with_labels(frame: pd.DataFrame, codebook, lang: str = "sv") -> pd.DataFrame:
    """Add ``label``: the codebook name of each ``level``/``name`` row (items by id)."""
    out = frame.copy()

    def one(level, name):
        if level == "item":
            return name
        try:
            return codebook.label(level, name, lang)
        except (KeyError, ValueError):
            return name

    out["label"] = [one(lv, nm) for lv, nm in zip(out["level"], out["name"], strict=True)]
    return out


def show(frame: pd.DataFrame, columns: Sequence[str] | None = None, *, lang: str = "sv",
         names: Mapping | None = None, decimals: int = 1, percent: Sequence[str] = (),
         precision: Mapping[str, int] | None = None):
    """A table ready for a report: chosen columns, organisation names, codes and headers in the
    report language, numbers with the language's decimal mark (a pandas ``Styler``).

    ``percent`` columns hold shares (0-1) and are shown as percentages; ``precision`` gives
    other decimals for some columns (``{"rwg_j": 2}``). Years and rounds are shown without a
    thousands separator, true/false as ja/nej (yes/no).
    """
    lang = check_lang(lang)
    out = frame.copy()
    if names is not None and "org_id" in out:
        out.insert(0, "name", out["org_id"].map(lambda o: names.get(o, o)))
        if columns is not None and "name" not in columns:
            columns = ["name", *columns]
    if columns is not None:
        out = out[[c for c in columns if c in out.columns]]
    for c in percent:
        if c in out:
            out[c] = 100 * out[c].astype(float)
    yes_no = {True: "ja", False: "nej"} if lang == "sv" else {True: "yes", False: "no"}
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m" if c == "month" else "%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.map(lambda v: yes_no.get(v, "–") if not pd.isna(v) else "–")
        elif c in ("year", "round", "change_year", "first_round") and \
                pd.api.types.is_numeric_dtype(s):
            out[c] = s.map(lambda v: "–" if pd.isna(v) else str(int(v)))
    precision = dict(precision or {})
    sv = lang == "sv"

    def number(dec):
        def fmt(v):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                return "–"
            if isinstance(v, bool | np.bool_):
                return yes_no[bool(v)]
            if isinstance(v, int | np.integer):
                return fmt_number(v, 0, "sv" if sv else "en")
            if isinstance(v, float | np.floating):
                return fmt_number(v, dec, "sv" if sv else "en")
            return str(v)
        return fmt

    formatters = {label(c, lang): number(precision.get(c, decimals)) for c in out.columns
                  if pd.api.types.is_numeric_dtype(out[c])}
    out = localise(out, lang, values=[c for c in _CODE_COLUMNS if c in out])
    return out.style.format(formatters, na_rep="–").hide(axis="index")


def capacity_bullets(need: pd.DataFrame, *, names: Mapping, lang: str = "sv") -> str:
    """One sentence per organisation from :func:`mognad.governance.capacity_needed`."""
    out = []
    for r in need.itertuples(index=False):
        out.append(text(
            "gov_capacity_bullet", lang, name=names.get(r.org_id, r.org_id),
            accepted=fmt_number(r.accepted_per_month, 1, lang),
            lo=fmt_number(r.accepted_ci_low, 1, lang), hi=fmt_number(r.accepted_ci_high, 1, lang),
            capacity=fmt_number(r.capacity_per_month, 1, lang), queue=int(r.queue_now),
            months=int(r.horizon_months), needed=fmt_number(r.capacity_needed, 1, lang),
            extra=fmt_pct(r.extra_capacity_pct, 0, lang)))
    return "\n".join(out)


def effect_bullets(effects: pd.DataFrame, *, names: Mapping, change_dates: Mapping,
                   lang: str = "sv") -> str:
    """One sentence per organisation from :func:`mognad.governance.funding_effect` (the
    before/after terms)."""
    out = []
    for org in dict.fromkeys(effects["org_id"]):
        e = effects[(effects["org_id"] == org) & (effects["term"] == "mean_change")]
        e = e.set_index("outcome")

        def get(outcome, col, e=e):
            return e.at[outcome, col] if outcome in e.index else np.nan

        out.append(text(
            "gov_its_bullet", lang, name=names.get(org, org),
            date=_fmt_date(dict(change_dates)[org]),
            rr=fmt_number(get("arrivals", "estimate"), 2, lang),
            rr_lo=fmt_number(get("arrivals", "ci_low"), 2, lang),
            rr_hi=fmt_number(get("arrivals", "ci_high"), 2, lang),
            dec=fmt_number(get("decision_days", "estimate"), 0, lang),
            dec_lo=fmt_number(get("decision_days", "ci_low"), 0, lang),
            dec_hi=fmt_number(get("decision_days", "ci_high"), 0, lang),
            lead=fmt_number(get("lead_time_days", "estimate"), 0, lang),
            lead_lo=fmt_number(get("lead_time_days", "ci_low"), 0, lang),
            lead_hi=fmt_number(get("lead_time_days", "ci_high"), 0, lang)))
    return "\n".join(out)


def spending_bullets(change: pd.DataFrame, *, names: Mapping, lang: str = "sv") -> str:
    """One sentence per organisation from :func:`mognad.governance.share_change`."""
    out = []
    for r in change.itertuples(index=False):
        out.append(text(
            "gov_spending_bullet", lang, name=names.get(r.org_id, r.org_id),
            before=fmt_pct(100 * r.mean_before, 0, lang), after=fmt_pct(100 * r.mean_after, 0,
                                                                        lang),
            change=fmt_pp(100 * r.change, 1, lang), lo=fmt_number(100 * r.ci_low, 1, lang),
            hi=fmt_number(100 * r.ci_high, 1, lang)))
    return "\n".join(out)


def estimate_bullets(frame: pd.DataFrame, *, codebook, key: str, estimate: str = "estimate",
                     lang: str = "sv", d: str | None = None) -> str:
    """One sentence per score (``level``/``name`` rows), in percentage points."""
    rows = with_labels(frame, codebook, lang)
    out = []
    for r in rows.to_dict("records"):
        fields = {"label": r["label"], "estimate": fmt_pp(r[estimate], 1, lang),
                  "change": fmt_pp(r[estimate], 1, lang),
                  "lo": fmt_number(r["ci_low"], 1, lang), "hi": fmt_number(r["ci_high"], 1, lang)}
        if d is not None:
            word = " till " if lang == "sv" else " to "
            fields["d"] = (f"{fmt_number(r[d], 2, lang)} ({fmt_number(r[d + '_ci_low'], 2, lang)}"
                           f"{word}{fmt_number(r[d + '_ci_high'], 2, lang)})")
        out.append(text(key, lang, **fields))
    return "\n".join(out)


def footer(study, lang: str = "sv"):
    """The end of every case-study report: fingerprint, files and environment (Markdown and two
    tables, for ``display``)."""
    return (markdown("footer", lang, fingerprint=study.fingerprint,
                     codebook=f"{study.codebook.id} ({study.codebook.fingerprint[:12]})"),
            provenance_table(study, lang).style.hide(axis="index"),
            environment(lang).style.hide(axis="index"))


# ============================================================================================
# Choosing what a case-study notebook shows (defaults found in the data)
# ============================================================================================
def join_names(names: Mapping, org_ids: Sequence[str], lang: str = "sv") -> str:
    """``"A, B och C"`` (``"and"`` in English).

    Examples
    --------
    >>> join_names({"1": "Kustvik", "2": "Norrsund"}, ["1", "2"])
    'Kustvik och Norrsund'
    """
    items = [str(names.get(o, o)) for o in org_ids]
    word = " och " if check_lang(lang) == "sv" else " and "
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + word + items[-1]


def find_event(study, kind: str, org_id: str = "") -> dict:
    """The event a transformation report is about: ``org_id``'s first event of ``kind``, or
    (``org_id`` empty) the first organisation's. Raises when there is none."""
    ev = event_orgs(study, kind)
    if org_id:
        ev = ev[ev["org_id"] == str(org_id)]
    if not len(ev):
        who = f"organisation {org_id}" if org_id else "any organisation"
        raise MognadError(f"no {kind!r} event for {who} in the study's events; ingest an "
                          "events file with it, or choose another org_id/event_kind")
    return ev.iloc[0].to_dict()


def resources(study, org_id: str, *, first_year: int) -> dict | None:
    """:func:`budget_trend` from the study's budget lines, or ``None`` without any."""
    from mognad.governance import load_budgets

    budgets = load_budgets(study, org_id=org_id)
    return budget_trend(budgets, org_id=org_id, first_year=first_year) if len(budgets) else None


def resources_text(trend: Mapping | None, *, name: str, first_year: int, lang: str = "sv"):
    """The Markdown describing :func:`resources`."""
    if trend is None:
        return markdown("tr_resources_missing", lang, name=name)
    return markdown("tr_resources", lang, first_year=first_year,
                    step=fmt_number(trend["step"], 2, lang),
                    lo=fmt_number(trend["step_ci_low"], 2, lang),
                    hi=fmt_number(trend["step_ci_high"], 2, lang),
                    before=fmt_pct(100 * trend["share_before"], 0, lang),
                    after=fmt_pct(100 * trend["share_after"], 0, lang))


def initiative_data(study, org_id: str) -> tuple[pd.DataFrame, bool]:
    """The request log used for decentralisation and coordination: the organisation's own, or
    (when it has none) every organisation's as an illustration. Returns ``(requests, own)``."""
    from mognad.governance import load_requests

    requests = load_requests(study)
    own = requests[requests["org_id"] == org_id]
    return (own, True) if len(own) else (requests, False)


def initiatives_text(requests: pd.DataFrame, own: bool, *, name: str, names: Mapping,
                     lang: str = "sv"):
    """The Markdown introducing the initiative shares (with a note when they are not the
    organisation's own)."""
    note = ""
    if not own and len(requests):
        note = text("tr_initiatives_note_missing", lang, name=name,
                    names=join_names(names, sorted(requests["org_id"].unique()), lang))
    return markdown("tr_initiatives", lang, note=note)


def course_data(study, org_id: str = "", course: str = "") -> tuple[dict, pd.DataFrame]:
    """The course a training report evaluates and its answers.

    Default: the organisation and course of the study's training data (the first course when
    there are several). Returns ``(info, training)`` with ``info`` = ``org_id, name, course,
    date`` (the course_start event's date, or the course id).
    """
    from mognad.governance import load_training

    training = load_training(study, org_id=org_id or None, course=course or None)
    if not len(training):
        raise MognadError("no training answers in the study (for this org_id/course); ingest "
                          "a training file first")
    first = training[["org_id", "course"]].drop_duplicates().sort_values(["org_id", "course"])
    org, crs = first.iloc[0]
    training = training[(training["org_id"] == org) & (training["course"] == crs)]
    events = event_orgs(study, "course_start")
    date = events.loc[events["org_id"] == org, "date"]
    info = {"org_id": org, "name": _name(study, org), "course": crs,
            "date": _fmt_date(date.iloc[0]) if len(date) else crs,
            "n": int(training["participant"].nunique()),
            "n_pairs": int(training.groupby("participant")["phase"].nunique().eq(2).sum())}
    return info, training.reset_index(drop=True)


def top_items(effects: pd.DataFrame, *, codebook, n: int = 8, lang: str = "sv") -> pd.DataFrame:
    """The ``n`` statements with the largest absolute change, with their texts."""
    items = effects[effects["level"] == "item"].copy()
    items["label"] = [codebook.label("item", i, lang) for i in items["name"]]
    order = items["change"].abs().sort_values(ascending=False).index[:n]
    return items.loc[order].rename(columns={"name": "item_id"}).reset_index(drop=True)


def pick_internal_org(study, *, k_min: int = 5, prefer_type: str | None = "bolag") -> str:
    """The default organisation of the internal-comparison report.

    The case behind the report is a municipal company's first measurement (a stage company
    comparing its departments), so organisations of type ``prefer_type`` (default ``bolag``)
    come first; among them (or among all, when none has at least two units with ``k_min``
    respondents) the one whose latest round has the most such units (ties: more respondents).
    """
    counts = study.sql(
        "WITH latest AS (SELECT org_id, max(round) AS round FROM respondents GROUP BY org_id) "
        "SELECT r.org_id, r.unit, count(*) AS n FROM respondents r JOIN latest l "
        "ON r.org_id = l.org_id AND r.round = l.round GROUP BY r.org_id, r.unit")
    if not len(counts):
        raise MognadError("the study has no survey responses")
    agg = counts.groupby("org_id").agg(units=("n", lambda s: int((s >= k_min).sum())),
                                       n=("n", "sum")).reset_index()
    types = study.organisations.set_index("org_id")["org_type"]
    agg["preferred"] = agg["org_id"].map(types).eq(prefer_type) & (agg["units"] >= 2)
    agg = agg.sort_values(["preferred", "units", "n", "org_id"],
                          ascending=[False, False, False, True])
    return str(agg["org_id"].iloc[0])


def rounds_wide(rounds: pd.DataFrame) -> pd.DataFrame:
    """:func:`internal_rounds` as units x rounds (total score; missing = not shown)."""
    if not len(rounds):
        return pd.DataFrame()
    wide = rounds.pivot_table(index="unit", columns="round", values="score_pct")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def units_text(result: Mapping, lang: str = "sv"):
    """The Markdown introducing the units of :func:`internal_comparison` (how many are hidden,
    never which)."""
    hidden = (text("ic_hidden", lang, n_hidden=result["n_hidden"]) if result["n_hidden"]
              else text("ic_none_hidden", lang))
    return markdown("ic_units", lang, k=result["k_min"], hidden=hidden)
