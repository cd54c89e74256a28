"""The codebook: which item belongs to which category and dimension, and how answers are scored.

A codebook is a versioned YAML file (see ``mognad/data/mognad-default-1.yaml``). Loading validates
it and raises :class:`~mognad.errors.CodebookError` naming the offending key. Pointing at another
YAML file swaps the instrument without code changes.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mognad.errors import CodebookError

DEFAULT_CODEBOOK = "mognad-default-1"
RESCALING_RULES = ("pomp", "ratio")
LANGS = ("sv", "en")
_WEIGHT_TOL = 1e-6


@dataclass(frozen=True)
class QuadrantType:
    """One of the 2x2 types (A-D) with its texts."""

    code: str
    x: str  # "low" or "high" on the x dimension
    y: str
    name: dict[str, str]
    description: dict[str, str]
    recommendations: dict[str, list[str]]


@dataclass(frozen=True)
class Codebook:
    """A validated codebook.

    Use :func:`load_codebook` to create one. The tidy views :attr:`items`, :attr:`categories` and
    :attr:`dimensions` are DataFrames with one row per element, in codebook order.

    Examples
    --------
    >>> cb = load_codebook()
    >>> cb.id, cb.n_items
    ('mognad-default-1', 30)
    >>> cb.categories["category"].tolist()
    ['effektivitet', 'innovation', 'balansering', 'infrastruktur', 'information', 'forvaltning']
    >>> cb.rescale(3.5)
    50.0
    >>> cb.classify(62.0, 41.0)
    'B'
    """

    id: str
    version: int
    title: dict[str, str]
    scale_min: int
    scale_max: int
    scale_labels: dict[int, dict[str, str]]
    dont_know_codes: tuple[int, ...]
    dont_know_labels: tuple[str, ...]
    rescaling: str
    min_items_per_category: int
    items: pd.DataFrame = field(repr=False)
    categories: pd.DataFrame = field(repr=False)
    dimensions: pd.DataFrame = field(repr=False)
    quadrant_x: str = "formaga"
    quadrant_y: str = "arv"
    cut_x: float = 50.0
    cut_y: float = 50.0
    quadrants_provisional: bool = True
    types: dict[str, QuadrantType] = field(default_factory=dict, repr=False)
    source: str = ""
    fingerprint: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ lookups
    @property
    def item_ids(self) -> list[str]:
        """Item ids in codebook order."""
        return self.items["item_id"].tolist()

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.items)

    def label(self, level: str, name: str, lang: str = "sv") -> str:
        """Human-readable name of a dimension, category or item.

        Examples
        --------
        >>> load_codebook().label("category", "forvaltning", "sv")
        'Förvaltning'
        >>> load_codebook().label("dimension", "arv", "en")
        'Digital legacy'
        """
        lang = _check_lang(lang)
        if level == "total":
            return {"sv": "Totalt", "en": "Overall"}[lang]
        table = {"item": self.items, "category": self.categories, "dimension": self.dimensions}
        if level not in table:
            raise ValueError(f"level must be one of item, category, dimension, total; got {level!r}")
        frame = table[level]
        key = "item_id" if level == "item" else level
        hit = frame.loc[frame[key] == name]
        if hit.empty:
            raise KeyError(f"{level} {name!r} is not in codebook {self.id}")
        column = f"text_{lang}" if level == "item" else f"name_{lang}"
        return str(hit[column].iloc[0])

    # ------------------------------------------------------------------ scoring rules
    def rescale(self, mean):
        """Turn a mean on the answer scale into a percentage of optimal preconditions.

        ``pomp``: ``(mean - min) / (max - min) * 100``; ``ratio``: ``mean / max * 100``.
        Works on scalars and arrays; missing stays missing.

        Examples
        --------
        >>> cb = load_codebook()
        >>> cb.rescale(6), cb.rescale(1)
        (100.0, 0.0)
        """
        mean = np.asarray(mean, dtype=float)
        if self.rescaling == "pomp":
            out = (mean - self.scale_min) / (self.scale_max - self.scale_min) * 100.0
        else:
            out = mean / self.scale_max * 100.0
        return float(out) if out.ndim == 0 else out

    def classify(self, x_pct, y_pct):
        """Type (A-D) from the two dimension percentages, by the quadrant rules.

        A value equal to the cut point counts as high. Missing input gives missing (``None`` for
        scalars, ``NaN``/``None`` in arrays).

        Examples
        --------
        >>> cb = load_codebook()
        >>> cb.classify([40, 60, 40, 60], [40, 40, 60, 60]).tolist()
        ['A', 'B', 'C', 'D']
        """
        x = np.asarray(x_pct, dtype=float)
        y = np.asarray(y_pct, dtype=float)
        x_high = x >= self.cut_x
        y_high = y >= self.cut_y
        lookup = {(t.x == "high", t.y == "high"): code for code, t in self.types.items()}
        out = np.empty(np.broadcast(x, y).shape, dtype=object)
        for (xh, yh), code in lookup.items():
            out[(x_high == xh) & (y_high == yh)] = code
        out[np.isnan(x) | np.isnan(y)] = None
        return out.item() if out.ndim == 0 else out

    def is_dont_know(self, values: pd.Series) -> pd.Series:
        """Boolean mask of answers that mean "don't know" (codes or text labels, any case)."""
        text = values.astype("string").str.strip().str.casefold()
        labels = {lab.casefold() for lab in self.dont_know_labels}
        codes = {str(c) for c in self.dont_know_codes}
        return (text.isin(labels) | text.isin(codes) | values.isna()).fillna(True).astype(bool)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}; got {lang!r}")
    return lang


def _texts(node: Any, key: str, *, required: bool = True) -> dict[str, str]:
    if not isinstance(node, dict) or not all(isinstance(node.get(lang), str) for lang in LANGS):
        if not required and node is None:
            return {"sv": "", "en": ""}
        raise CodebookError(f"codebook key '{key}' needs texts for both 'sv' and 'en'")
    return {lang: node[lang] for lang in LANGS}


def _number(node: Any, key: str) -> float:
    if isinstance(node, bool) or not isinstance(node, int | float) or not math.isfinite(node):
        raise CodebookError(f"codebook key '{key}' must be a number; got {node!r}")
    return float(node)


def _check_weights(weights: list[float], key: str) -> None:
    if any(w < 0 for w in weights):
        raise CodebookError(f"codebook key '{key}': weights must not be negative; got {weights}")
    if abs(sum(weights) - 1.0) > _WEIGHT_TOL:
        raise CodebookError(
            f"codebook key '{key}': weights must sum to 1; they sum to {sum(weights):.6g}"
        )


def resolve_codebook_path(codebook: str | Path | None) -> Path:
    """Path of a codebook given as a file path, a bundled codebook id, or ``None`` (default)."""
    if codebook is None:
        codebook = DEFAULT_CODEBOOK
    path = Path(codebook)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise CodebookError(f"codebook file not found: {path}")
        return path
    bundled = resources.files("mognad") / "data" / f"{codebook}.yaml"
    if not bundled.is_file():
        raise CodebookError(
            f"unknown codebook {str(codebook)!r}: give a .yaml path or a bundled id "
            f"such as {DEFAULT_CODEBOOK!r}"
        )
    return Path(str(bundled))


def load_codebook(codebook: str | Path | Codebook | None = None) -> Codebook:
    """Load and validate a codebook.

    Parameters
    ----------
    codebook : str, Path, Codebook or None
        A YAML file, the id of a bundled codebook, an already loaded codebook (returned as is), or
        ``None`` for the default ``mognad-default-1``.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        With the offending key: duplicate item ids, items in unknown categories, weights that do
        not sum to 1, an unknown rescaling rule, missing texts, a bad scale or quadrant rule.

    Examples
    --------
    >>> cb = load_codebook("mognad-default-1")
    >>> cb.items.loc[cb.items.item_id == "q16", ["category", "dimension"]].values.tolist()
    [['infrastruktur', 'arv']]
    """
    if isinstance(codebook, Codebook):
        return codebook
    path = resolve_codebook_path(codebook)
    text = path.read_bytes()
    return _load_cached(str(path), text)


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, text: bytes) -> Codebook:
    """Parse once per (path, content); a changed file has other bytes and is parsed again."""
    try:
        # libyaml's safe loader when available: the same documents, much faster
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid YAML ({exc})") from None
    try:
        return _parse(raw, source=str(path), fingerprint=hashlib.sha256(text).hexdigest())
    except CodebookError as exc:
        raise CodebookError(f"{path}: {exc}") from None


def _parse(raw: Any, *, source: str, fingerprint: str) -> Codebook:
    if not isinstance(raw, dict):
        raise CodebookError("the codebook must be a YAML mapping")
    for key in ("id", "version", "scale", "rescaling", "dimensions", "quadrants"):
        if key not in raw:
            raise CodebookError(f"missing required key '{key}'")
    if not isinstance(raw["id"], str) or not raw["id"]:
        raise CodebookError("codebook key 'id' must be a non-empty string")
    if not isinstance(raw["version"], int):
        raise CodebookError("codebook key 'version' must be a whole number")

    scale = raw["scale"]
    if not isinstance(scale, dict) or not all(isinstance(scale.get(k), int) for k in ("min", "max")):
        raise CodebookError("codebook key 'scale' needs whole numbers 'min' and 'max'")
    if scale["min"] >= scale["max"]:
        raise CodebookError("codebook key 'scale': 'min' must be below 'max'")
    labels = {
        int(k): _texts(v, f"scale.labels.{k}") for k, v in (scale.get("labels") or {}).items()
    }

    rescaling = raw["rescaling"]
    if rescaling not in RESCALING_RULES:
        raise CodebookError(
            f"codebook key 'rescaling': unknown rule {rescaling!r}; use one of {RESCALING_RULES}"
        )
    dk = raw.get("dont_know") or {}
    dk_codes = tuple(int(c) for c in dk.get("codes", []))
    clash = [c for c in dk_codes if scale["min"] <= c <= scale["max"]]
    if clash:
        raise CodebookError(f"codebook key 'dont_know.codes': {clash} lie on the answer scale")
    dk_labels = tuple(str(s) for s in dk.get("labels", []))
    min_items = raw.get("min_items_per_category", 1)
    if not isinstance(min_items, int) or min_items < 1:
        raise CodebookError("codebook key 'min_items_per_category' must be a whole number >= 1")

    dims = raw["dimensions"]
    if not isinstance(dims, list) or not dims:
        raise CodebookError("codebook key 'dimensions' must be a non-empty list")
    # Items may sit under their category or in a flat top-level list naming their category.
    all_cat_ids = [
        c.get("id") for d in dims if isinstance(d, dict) for c in (d.get("categories") or [])
        if isinstance(c, dict)
    ]
    flat: dict[str, list] = {}
    for i_i, item in enumerate(raw.get("items") or []):
        if not isinstance(item, dict) or item.get("category") not in all_cat_ids:
            raise CodebookError(
                f"codebook key 'items[{i_i}].category': item {item.get('id')!r} is in unknown "
                f"category {item.get('category')!r}; known categories: {all_cat_ids}"
            )
        flat.setdefault(item["category"], []).append(item)
    item_rows, cat_rows, dim_rows = [], [], []
    seen_items: set[str] = set()
    seen_cats: set[str] = set()
    for d_i, dim in enumerate(dims):
        dkey = f"dimensions[{d_i}]"
        if not isinstance(dim, dict) or not isinstance(dim.get("id"), str):
            raise CodebookError(f"codebook key '{dkey}.id' is missing")
        dkey = f"dimensions.{dim['id']}"
        if dim["id"] in {r["dimension"] for r in dim_rows}:
            raise CodebookError(f"codebook key '{dkey}': duplicate dimension id")
        dname = _texts(dim.get("name"), f"{dkey}.name")
        dim_rows.append(
            {
                "dimension": dim["id"],
                "name_sv": dname["sv"],
                "name_en": dname["en"],
                "weight": _number(dim.get("weight"), f"{dkey}.weight"),
            }
        )
        cats = dim.get("categories")
        if not isinstance(cats, list) or not cats:
            raise CodebookError(f"codebook key '{dkey}.categories' must be a non-empty list")
        cat_weights = []
        for c_i, cat in enumerate(cats):
            if not isinstance(cat, dict) or not isinstance(cat.get("id"), str):
                raise CodebookError(f"codebook key '{dkey}.categories[{c_i}].id' is missing")
            ckey = f"{dkey}.categories.{cat['id']}"
            if cat["id"] in seen_cats:
                raise CodebookError(f"codebook key '{ckey}': duplicate category id")
            seen_cats.add(cat["id"])
            cname = _texts(cat.get("name"), f"{ckey}.name")
            weight = _number(cat.get("weight"), f"{ckey}.weight")
            cat_weights.append(weight)
            items = list(cat.get("items") or []) + flat.get(cat["id"], [])
            if not items:
                raise CodebookError(f"codebook key '{ckey}.items' must be a non-empty list")
            if len(items) < min_items:
                raise CodebookError(
                    f"codebook key '{ckey}.items': {len(items)} items, fewer than "
                    f"min_items_per_category={min_items}"
                )
            item_weights = []
            for i_i, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise CodebookError(f"codebook key '{ckey}.items[{i_i}].id' is missing")
                ikey = f"{ckey}.items.{item['id']}"
                if item["id"] in seen_items:
                    raise CodebookError(f"codebook key '{ikey}': duplicate item id {item['id']!r}")
                seen_items.add(item["id"])
                text = _texts(item.get("text"), f"{ikey}.text")
                capability = _texts(item.get("capability"), f"{ikey}.capability", required=False)
                iw = _number(item.get("weight", 1.0 / len(items)), f"{ikey}.weight")
                item_weights.append(iw)
                item_rows.append(
                    {
                        "item_id": item["id"],
                        "category": cat["id"],
                        "dimension": dim["id"],
                        "item_weight": iw,
                        "text_sv": text["sv"],
                        "text_en": text["en"],
                        "capability_sv": capability["sv"],
                        "capability_en": capability["en"],
                    }
                )
            _check_weights(item_weights, f"{ckey}.items[*].weight")
            cat_rows.append(
                {
                    "category": cat["id"],
                    "dimension": dim["id"],
                    "name_sv": cname["sv"],
                    "name_en": cname["en"],
                    "weight": weight,
                }
            )
        _check_weights(cat_weights, f"{dkey}.categories[*].weight")
    _check_weights([r["weight"] for r in dim_rows], "dimensions[*].weight")

    quad = raw["quadrants"]
    dim_ids = [r["dimension"] for r in dim_rows]
    if not isinstance(quad, dict):
        raise CodebookError("codebook key 'quadrants' must be a mapping")
    for axis in ("x", "y"):
        if quad.get(axis) not in dim_ids:
            raise CodebookError(
                f"codebook key 'quadrants.{axis}': {quad.get(axis)!r} is not a dimension; "
                f"known: {dim_ids}"
            )
    types: dict[str, QuadrantType] = {}
    corners = set()
    for code, t in (quad.get("types") or {}).items():
        tkey = f"quadrants.types.{code}"
        if not isinstance(t, dict) or t.get("x") not in ("low", "high") or t.get("y") not in (
            "low",
            "high",
        ):
            raise CodebookError(f"codebook key '{tkey}' needs x and y, each 'low' or 'high'")
        corner = (t["x"], t["y"])
        if corner in corners:
            raise CodebookError(f"codebook key '{tkey}': corner {corner} already has a type")
        corners.add(corner)
        recs = t.get("recommendations") or {}
        if not all(isinstance(recs.get(lang), list) for lang in LANGS):
            raise CodebookError(f"codebook key '{tkey}.recommendations' needs lists for sv and en")
        types[str(code)] = QuadrantType(
            code=str(code),
            x=t["x"],
            y=t["y"],
            name=_texts(t.get("name"), f"{tkey}.name"),
            description=_texts(t.get("description"), f"{tkey}.description"),
            recommendations={lang: [str(r) for r in recs[lang]] for lang in LANGS},
        )
    if len(corners) != 4:
        raise CodebookError("codebook key 'quadrants.types' must define all four corners")

    return Codebook(
        id=raw["id"],
        version=raw["version"],
        title=_texts(raw.get("title"), "title", required=False),
        scale_min=scale["min"],
        scale_max=scale["max"],
        scale_labels=labels,
        dont_know_codes=dk_codes,
        dont_know_labels=dk_labels,
        rescaling=rescaling,
        min_items_per_category=min_items,
        items=pd.DataFrame(item_rows),
        categories=pd.DataFrame(cat_rows),
        dimensions=pd.DataFrame(dim_rows),
        quadrant_x=quad["x"],
        quadrant_y=quad["y"],
        cut_x=_number(quad.get("cut_x", 50), "quadrants.cut_x"),
        cut_y=_number(quad.get("cut_y", 50), "quadrants.cut_y"),
        quadrants_provisional=bool(quad.get("provisional", True)),
        types=types,
        source=source,
        fingerprint=fingerprint,
        raw=raw,
    )


__all__ = ["Codebook", "QuadrantType", "load_codebook"]
