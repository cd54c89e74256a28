"""Wide survey answers: one row per respondent, one column per codebook item.

The store keeps answers long (one row per respondent and item); many tools, SPSS exports and
the psychometric functions want them wide. :func:`responses_wide` is the one pivot.
"""

from __future__ import annotations

import pandas as pd

from mognad.codebook import load_codebook
from mognad.errors import MognadError

#: The columns that identify one respondent's answers in a round.
RESPONDENT_KEYS = ("org_id", "round", "respondent_id")
#: Respondent columns kept beside the items when present.
RESPONDENT_ATTRIBUTES = ("unit", "role")


def responses_wide(responses: pd.DataFrame, *, codebook=None) -> pd.DataFrame:
    """Pivot long responses to one row per respondent with one column per codebook item.

    Parameters
    ----------
    responses : DataFrame
        The store's long format: ``org_id``, ``round``, ``respondent_id``, ``item_id``, ``value``
        (``<NA>`` = don't know), optionally ``unit`` and ``role``.
    codebook : str, Path, Codebook or None
        Gives the item columns and their order (all items of the codebook, unanswered ones as
        ``<NA>``); the default codebook when omitted.

    Returns
    -------
    DataFrame
        ``org_id``, ``round``, ``respondent_id`` (and ``unit``, ``role`` when given), then the
        items; sorted by respondent. Ids stay strings.

    Raises
    ------
    MognadError
        When columns are missing, an item is not in the codebook, or a respondent answered the
        same item twice in a round.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"org_id": ["0114"] * 3, "round": [2024] * 3,
    ...                      "respondent_id": ["r1", "r1", "r2"], "item_id": ["q01", "q02", "q01"],
    ...                      "value": pd.array([4, pd.NA, 5], dtype="Int64")})
    >>> wide = responses_wide(long)
    >>> wide.shape
    (2, 33)
    >>> wide[["respondent_id", "q01", "q02"]]
      respondent_id  q01   q02
    0            r1    4  <NA>
    1            r2    5  <NA>
    """
    cb = load_codebook(codebook)
    if not isinstance(responses, pd.DataFrame):
        raise MognadError(f"responses must be a DataFrame; got {type(responses).__name__}")
    needed = [*RESPONDENT_KEYS, "item_id", "value"]
    absent = [c for c in needed if c not in responses.columns]
    if absent:
        raise MognadError(
            f"long responses need the columns {needed}; missing {absent} "
            f"(columns are {list(responses.columns)})"
        )
    keys = list(RESPONDENT_KEYS)
    if responses[keys].isna().any().any():
        bad = responses.loc[responses[keys].isna().any(axis=1)].index[0]
        raise MognadError(f"long responses: row {bad} has no {'/'.join(keys)}")
    unknown = sorted(set(responses["item_id"].dropna().astype(str)) - set(cb.item_ids))
    if unknown:
        raise MognadError(
            f"long responses: items {unknown} are not in codebook {cb.id} "
            f"(items are {cb.item_ids[0]}..{cb.item_ids[-1]})"
        )
    long = responses.copy()
    long["item_id"] = long["item_id"].astype(str)
    dup = long.duplicated([*keys, "item_id"], keep=False)
    if dup.any():
        first = long.loc[dup].iloc[0]
        raise MognadError(
            f"long responses: respondent {first['respondent_id']!r} of organisation "
            f"{first['org_id']!r} answered item {first['item_id']!r} more than once in round "
            f"{first['round']!r}"
        )
    values = long["value"]
    if not pd.api.types.is_numeric_dtype(values):
        raise MognadError(
            "long responses: column 'value' must be numeric (<NA> for don't know); "
            f"got dtype {values.dtype}"
        )
    wide = long.pivot(index=keys, columns="item_id", values="value")
    wide = wide.reindex(columns=cb.item_ids)
    wide.columns.name = None
    # Items nobody answered come back as float NaN: keep every item in the answers' dtype family.
    integer = pd.api.types.is_integer_dtype(values)
    wide = wide.astype("Int64" if integer else "float64")
    attributes = [c for c in RESPONDENT_ATTRIBUTES if c in long.columns]
    if attributes:
        wide = long.groupby(keys, sort=False)[attributes].first().join(wide)
    wide = wide.sort_index().reset_index()
    for col in ("org_id", "respondent_id"):
        wide[col] = wide[col].astype(str)
    return wide


__all__ = ["RESPONDENT_ATTRIBUTES", "RESPONDENT_KEYS", "responses_wide"]
