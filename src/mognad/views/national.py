"""National precompute: every organisation's scores, types and peer ranks for a round, computed
once and cached in the study store, so each organisation's report stays thin and fast.

The cache key covers everything the numbers depend on (the study's data fingerprint, the
codebook, the round, the bootstrap settings, the peer grouping and mognad's version), so a cached
result is never stale: new data or a new codebook gives a new key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

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


#: National results already read or computed in this process, by cache key (newest last).
#: The key covers the data fingerprint, so a memorised result is as fresh as the store's cache.
_MEMO: OrderedDict[str, NationalRound] = OrderedDict()
_MEMO_SIZE = 8


def _copy(result: NationalRound, *, from_cache: bool = True) -> NationalRound:
    return dataclasses.replace(result, scores=result.scores.copy(), types=result.types.copy(),
                               ranks=result.ranks.copy(), from_cache=from_cache)


def _remember(key: str, result: NationalRound) -> None:
    _MEMO[key] = _copy(result, from_cache=True)
    _MEMO.move_to_end(key)
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


def cache_key(study: Study, round: int, *, n_boot: int, seed: int, peer: str) -> str:
    """The key under which a round's national results are cached."""
    from mognad import __version__
    from mognad.scoring import DEFAULT_METHOD, RESAMPLING

    payload = json.dumps({
        "data": study.fingerprint, "codebook": study.codebook.fingerprint, "round": int(round),
        "n_boot": int(n_boot), "seed": int(seed), "peer": peer, "version": __version__,
        "interval": DEFAULT_METHOD, "resampling": RESAMPLING,  # caches of other schemes go stale
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

    study = open_study(study)
    round = int(round)
    if round not in study.rounds:
        raise MognadError(f"round {round} is not in the study; rounds: {study.rounds}")
    key = cache_key(study, round, n_boot=n_boot, seed=seed, peer=peer)
    if use_cache:
        if key in _MEMO:  # read or computed before in this process (e.g. a warm worker)
            return _copy(_MEMO[key])
        cached = _read_cache(study, key)
        if cached is not None:
            result = NationalRound(round, *(_restore_types(cached[t]) for t in CACHE_TABLES),
                                   peer=peer, from_cache=True)
            _remember(key, result)
            return _copy(result)
    draws = bootstrap_scores(study.responses_for(round=round), codebook=study.codebook,
                             n_boot=n_boot, seed=seed)
    scores = score(draws)
    types = classify(draws)
    ranks = rank_in_peers(draws, study.organisations, peer=peer)
    result = NationalRound(round, scores, types, ranks, peer=peer, from_cache=False)
    if use_cache:
        _write_cache(study, key, dict(zip(CACHE_TABLES, (scores, types, ranks), strict=True)))
        _remember(key, result)
    return result


def precompute(study: Study | str, rounds: list[int] | None = None, **kwargs) -> list[NationalRound]:
    """Compute and cache :func:`national_round` for several rounds (default: all)."""
    study = open_study(study)
    return [national_round(study, r, **kwargs) for r in (rounds or study.rounds)]


# --------------------------------------------------------------------------------------------
# Per-batch data loaded once per process (warm report workers load it before forking)
# --------------------------------------------------------------------------------------------


def _store_stamp(path: Path) -> tuple:
    """What changes whenever the store is written: size, time and inode of its files."""
    from mognad.io.store import DB_NAME

    stamp = []
    for name in (DB_NAME, DB_NAME + ".wal"):
        try:
            st = os.stat(path / name)
        except FileNotFoundError:
            stamp.append(None)
        else:
            stamp.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


class StudySnapshot(Study):
    """A :class:`~mognad.io.store.Study` whose small per-study tables are read once.

    The organisation registry, invitations, metadata (synthetic flag), provenance, rounds,
    codebook and fingerprint are read when the snapshot is made and served from memory (as
    copies) afterwards; answers and every other query still go to the store. Made by
    :func:`preload`; :func:`study_for` hands it out only while the store files are unchanged.
    """

    _SNAPSHOT_PROPERTIES = ("organisations", "invitations", "meta", "provenance", "rounds",
                            "fingerprint")

    @classmethod
    def of(cls, study: Study) -> StudySnapshot:
        """Snapshot of *study* (the same object, re-classed, with its tables read now)."""
        study.__class__ = cls
        snap = study
        snap._stamp = _store_stamp(Path(snap.path))
        snap._loaded = {}
        snap.codebook  # noqa: B018 - loaded now, kept by Study
        for name in cls._SNAPSHOT_PROPERTIES:
            snap._loaded[name] = getattr(Study, name).fget(snap)
        return snap

    def is_current(self) -> bool:
        """Whether the store is unchanged since the snapshot was made."""
        return _store_stamp(Path(self.path)) == self._stamp

    def _get(self, name: str):
        value = self._loaded[name]
        return value.copy() if hasattr(value, "copy") else value

    organisations = property(lambda self: self._get("organisations"),
                             doc=Study.organisations.__doc__)
    invitations = property(lambda self: self._get("invitations"), doc=Study.invitations.__doc__)
    meta = property(lambda self: self._get("meta"), doc=Study.meta.__doc__)
    provenance = property(lambda self: self._get("provenance"), doc=Study.provenance.__doc__)
    rounds = property(lambda self: self._get("rounds"), doc=Study.rounds.__doc__)
    fingerprint = property(lambda self: self._get("fingerprint"), doc=Study.fingerprint.__doc__)


_PRELOADED: dict[str, StudySnapshot] = {}


def _study_key(path) -> str:
    return str(Path(path).resolve())


def study_for(study: Study | str | os.PathLike) -> Study:
    """The study to analyse: *study* itself, the snapshot :func:`preload` made for its folder
    (while the store is unchanged), or the folder freshly opened.

    Examples
    --------
    >>> import tempfile
    >>> from mognad.io.store import init_study
    >>> folder = init_study(Path(tempfile.mkdtemp()) / "s")
    >>> type(study_for(folder)).__name__
    'Study'
    >>> _ = preload(folder)
    >>> type(study_for(str(folder))).__name__
    'StudySnapshot'
    """
    if isinstance(study, Study):
        return study
    snap = _PRELOADED.get(_study_key(study))
    if snap is not None:
        if snap.is_current():
            return snap
        _PRELOADED.pop(_study_key(study), None)
    return open_study(study)


def preload(study: Study | str | os.PathLike, *, round: int | None = None,
            n_boot: int = 1000, seed: int = 0, peer: str = "org_type") -> StudySnapshot:
    """Read a study's per-batch data once in this process, for many reports to share.

    Makes a :class:`StudySnapshot` (registry, invitations, metadata, codebook, fingerprint) that
    :func:`study_for` hands out, and with *round* also reads (or computes and caches) that
    round's national results with the given settings, so that :func:`national_round` with the
    same arguments needs no query. A warm report worker calls this before forking per report;
    results are identical to reading the store each time.

    Returns
    -------
    StudySnapshot
    """
    snap = study_for(study if not isinstance(study, Study) else study.path)
    if not isinstance(snap, StudySnapshot):
        snap = StudySnapshot.of(open_study(snap.path))
        _PRELOADED[_study_key(snap.path)] = snap
    if round is not None and int(round) in snap.rounds and peer in snap.organisations:
        national_round(snap, int(round), n_boot=n_boot, seed=seed, peer=peer)
    return snap


__all__ = ["NationalRound", "national_round", "precompute", "preload", "study_for"]
