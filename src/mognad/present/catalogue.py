"""The locale catalogue: every text of every report, one YAML file per language.

``present/locale/sv.yaml`` (the default) and ``present/locale/en.yaml`` hold the same keys, nested
by report part (``common``, ``col`` for column headers, ``value`` for labels of codes, ``org`` for
the organisation report, …); a dotted key names one text: ``text("org.title", "sv", round=2024,
name="Asknäs kommun")``. Texts are trusted (they are part of the package); the ``{fields}`` are
filled with data, so anything that renders a text into HTML or Markdown escapes the fields
(:mod:`mognad.present.markup`), never the text.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

from mognad.errors import MognadError
from mognad.present.numbers import LANGS, check_lang


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = "" if value is None else str(value)
    return out


@cache
def catalogue(lang: str = "sv") -> dict[str, str]:
    """Every text of one language, by dotted key.

    Examples
    --------
    >>> catalogue("sv")["col.score"], catalogue("en")["col.score"]
    ('Resultat', 'Score')
    """
    import yaml

    lang = check_lang(lang)
    source = resources.files("mognad.present").joinpath("locale", f"{lang}.yaml")
    # libyaml's safe loader when available: the same documents, about ten times faster
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _flatten(yaml.load(source.read_text(encoding="utf-8"), Loader=loader) or {})


def has(key: str, lang: str = "sv") -> bool:
    """Whether the catalogue has *key*.

    Examples
    --------
    >>> has("org.title"), has("org.no_such_text")
    (True, False)
    """
    return key in catalogue(lang)


def text(key: str, lang: str = "sv", **fields) -> str:
    """One text of the catalogue with its ``{fields}`` filled in (as plain text, unescaped).

    Use it for plot labels and file contents; for HTML or Markdown use
    :func:`mognad.present.markup.md`, which escapes the fields.

    Raises
    ------
    MognadError
        For an unknown key or a missing field (a bug in the caller, named clearly).

    Examples
    --------
    >>> text("org.title", "sv", round=2024, name="Asknäs kommun")
    'Digital mognad 2024: Asknäs kommun'
    >>> text("org.title", "en", round=2024, name="Asknäs kommun")
    'Digital maturity 2024: Asknäs kommun'
    """
    texts = catalogue(lang)
    if key not in texts:
        raise MognadError(f"no text {key!r} in the {lang} catalogue")
    try:
        return texts[key].format(**fields)
    except KeyError as exc:
        raise MognadError(f"text {key!r} needs the field {exc.args[0]!r}") from None


def value_label(field: str, value, lang: str = "sv") -> str:
    """The label of a code (``value.<field>.<code>``), or the code itself when there is none.

    Examples
    --------
    >>> value_label("org_type", "kommun"), value_label("kommungrupp", "B3", "en")
    ('Kommun', 'Medium-sized town')
    >>> value_label("unit", "Kultur/Bibliotek")
    'Kultur/Bibliotek'
    """
    texts = catalogue(lang)
    return texts.get(f"value.{field}.{value}", "" if value is None else str(value))


def fields(key: str, lang: str = "sv") -> set[str]:
    """The ``{fields}`` a text needs.

    Examples
    --------
    >>> sorted(fields("org.title"))
    ['name', 'round']
    """
    return {name for _, name, _, _ in string.Formatter().parse(catalogue(lang)[key]) if name}


def keys(lang: str = "sv") -> set[str]:
    """All keys of one language's catalogue."""
    return set(catalogue(lang))


__all__ = ["LANGS", "catalogue", "fields", "has", "keys", "text", "value_label"]
