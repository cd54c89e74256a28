"""National precompute: every organisation's scores, types and peer ranks for a round, computed
once and cached in the study store, so each organisation's report stays thin and fast.

The cache key covers everything the numbers depend on (the study's data fingerprint, the
codebook, the round, the bootstrap settings, the peer grouping and mognad's version), so a cached
result is never stale: new data or a new codebook gives a new key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from mognad.errors import MognadError, StudyError
from mognad.io.store import Study, open_study

CACHE_TABLES = ("cache_scores", "cache_types", "cache_ranks")


@dataclass(frozen=True)
class NationalRound:
    """Organisation-level results of one round for every participating organisation.

    Attributes
    ----------
    round : int
    scores : DataFrame
        :func:`mognad.scoring.score` output for all organisations (levels total, dimension,
        category, item).
    types : DataFrame
        :func:`mognad.scoring.classify` output: type and type probabilities per organisation.
    ranks : DataFrame
        :func:`mognad.scoring.rank_in_peers` output on the total within ``peer``.
    peer : str
        The organisations column the ranks are within.
    from_cache : bool
        Whether the results were read from the store.
    """

    round: int
    scores: pd.DataFrame
    types: pd.DataFrame
    ranks: pd.DataFrame
    peer: str
    from_cache: bool


def cache_key(study: Study, round: int, *, n_boot: int, seed: int, peer: str) -> str:
    """The key under which a round's national results are cached."""
    from mognad import __version__

    payload = json.dumps({
        "data": study.fingerprint, "codebook": study.codebook.fingerprint, "round": int(round),
        "n_boot": int(n_boot), "seed": int(seed), "peer": peer, "version": __version__,
    }, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _read_cache(study: Study, key: str) -> dict[str, pd.DataFrame] | None:
    have = set(study.sql("SELECT table_name FROM information_schema.tables")["table_name"])
    if not set(CACHE_TABLES) <= have:
        return None
    out = {}
    for table in CACHE_TABLES:
        frame = study.sql(f"SELECT * EXCLUDE (cache_key) FROM {table} WHERE cache_key = ?", [key])
        if frame.empty:
            return None
        out[table] = frame
    return out


#: Seconds a cache write waits for a store another process is using (the cache only saves
#: time: when the store stays busy the results are returned without caching them).
CACHE_WRITE_WAIT = 5.0


def _write_cache(study: Study, key: str, tables: dict[str, pd.DataFrame]) -> bool:
    """Store results; returns False (and keeps going) if the store is busy or read-only."""
    try:
        with study.write(timeout=CACHE_WRITE_WAIT) as con:
            for table, frame in tables.items():
                df = frame.copy()
                df.insert(0, "cache_key", key)
                con.register("_cache", df)
                exists = con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                    [table]).fetchall()[0][0]
                if exists:
                    con.execute(f"DELETE FROM {table} WHERE cache_key = ?", [key])
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cache")
                else:
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM _cache")
                con.unregister("_cache")
        return True
    except (StudyError, duckdb.Error):
        return False


def _restore_types(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("str")
    if "round" in out:
        out["round"] = out["round"].astype("int64")
    return out


def national_round(study: Study | str, round: int, *, n_boot: int = 1000, seed: int = 0,
                   peer: str = "org_type", use_cache: bool = True) -> NationalRound:
    """Scores, types and peer ranks of every organisation in a round, cached in the store.

    Parameters
    ----------
    study : Study or path
    round : int
        The measurement round.
    n_boot, seed : int
        Bootstrap settings for intervals, type probabilities and rank intervals.
    peer : str
        Organisations column for the rank within peers (``org_type``, ``kommungrupp`` …).
    use_cache : bool
        Read and write the cache (the default); ``False`` always recomputes.

    Returns
    -------
    NationalRound

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from mognad import synth
    >>> from mognad.io import store, ingest
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = synth.synthesize(root / "data", seed=3, profile="small")
    >>> _ = store.init_study(root / "study")
    >>> _ = ingest.ingest(root / "data" / "inputs", study=root / "study")
    >>> first = national_round(root / "study", 2024, n_boot=50)
    >>> again = national_round(root / "study", 2024, n_boot=50)
    >>> first.from_cache, again.from_cache, again.scores.equals(first.scores)
    (False, True, True)
    """
    from mognad.scoring import bootstrap_scores, classify, rank_in_peers, score

    study = study if isinstance(study, Study) else open_study(study)
    round = int(round)
    if round not in study.rounds:
        raise MognadError(f"round {round} is not in the study; rounds: {study.rounds}")
    key = cache_key(study, round, n_boot=n_boot, seed=seed, peer=peer)
    if use_cache:
        cached = _read_cache(study, key)
        if cached is not None:
            return NationalRound(round, *(_restore_types(cached[t]) for t in CACHE_TABLES),
                                 peer=peer, from_cache=True)
    draws = bootstrap_scores(study.responses_for(round=round), codebook=study.codebook,
                             n_boot=n_boot, seed=seed)
    scores = score(draws)
    types = classify(draws)
    ranks = rank_in_peers(draws, study.organisations, peer=peer)
    if use_cache:
        _write_cache(study, key, dict(zip(CACHE_TABLES, (scores, types, ranks), strict=True)))
    return NationalRound(round, scores, types, ranks, peer=peer, from_cache=False)


def precompute(study: Study | str, rounds: list[int] | None = None, **kwargs) -> list[NationalRound]:
    """Compute and cache :func:`national_round` for several rounds (default: all)."""
    study = study if isinstance(study, Study) else open_study(study)
    return [national_round(study, r, **kwargs) for r in (rounds or study.rounds)]
