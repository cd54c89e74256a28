"""Escaping, and the Markdown/HTML building blocks of every report.

Every string that comes from data (organisation, unit and role names, system names, free text)
passes :func:`escape_html` before it is put into HTML, or :func:`escape_md` before it is put into
Markdown: a name such as ``<img src="/path/key">`` or ``<script>…</script>`` is shown as text, never
interpreted, and a Markdown link, image or heading cannot be smuggled in either. Texts from the
locale catalogue are trusted; only their ``{fields}`` are escaped (:func:`md`, :func:`html`).
A value that is already safe markup built by this package (a formatted number, a fragment made by
:func:`md_inline`) is wrapped in :class:`Safe` and inserted as it is.
"""

from __future__ import annotations

import html as _html
import re

from mognad.present.catalogue import text as _text
from mognad.present.numbers import check_lang


class Safe(str):
    """A string of markup made by this package: inserted without escaping."""

    __slots__ = ()


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_MD_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:>])")


def _one_line(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return _CONTROL_RE.sub("", text)


def escape_html(value) -> str:
    """Data as HTML text: ``& < > " '`` escaped, line breaks and control characters removed.

    Examples
    --------
    >>> escape_html('<img src="../study.key" onerror=alert(1)>')
    '&lt;img src=&quot;../study.key&quot; onerror=alert(1)&gt;'
    >>> escape_html(None)
    ''
    """
    if isinstance(value, Safe):
        return str(value)
    return _html.escape(_one_line(value), quote=True)


def escape_md(value) -> str:
    """Data as Markdown text: HTML-escaped, and every Markdown mark backslash-escaped.

    The result renders as the literal value: no tag, link, image, emphasis, heading, list, code
    or maths can start from it, and it stays on one line.

    Examples
    --------
    >>> escape_md("<script>alert(1)</script>")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt;'
    >>> escape_md("![x](file:///etc/passwd)")
    '\\\\!\\\\[x\\\\]\\\\(file\\\\:///etc/passwd\\\\)'
    >>> escape_md("Kultur/Bibliotek")
    'Kultur/Bibliotek'
    """
    if isinstance(value, Safe):
        return str(value)
    return _MD_SPECIAL_RE.sub(r"\\\1", _html.escape(_one_line(value), quote=False))


def _escaped_fields(fields: dict, escape) -> dict:
    return {k: (v if isinstance(v, Safe) else escape(v)) for k, v in fields.items()}


def md_inline(key: str, lang: str = "sv", **fields) -> Safe:
    """One catalogue text as Markdown with escaped fields (a :class:`Safe` string).

    Examples
    --------
    >>> md_inline("org.title", "sv", round=2024, name="<b>X</b>")
    'Digital mognad 2024: &lt;b&gt;X&lt;/b&gt;'
    """
    return Safe(_text(key, check_lang(lang), **_escaped_fields(fields, escape_md)))


def md(key: str, lang: str = "sv", **fields):
    """One catalogue text as an IPython ``Markdown`` output, fields escaped.

    Examples
    --------
    >>> md("org.peer_text", "sv", peer="kommun", n=178).data
    'Jämförelsegrupp: kommun (178 organisationer).'
    """
    from IPython.display import Markdown

    return Markdown(md_inline(key, lang, **fields))


def html_inline(key: str, lang: str = "sv", **fields) -> Safe:
    """One catalogue text as HTML text with escaped fields (catalogue markup is not rendered).

    Examples
    --------
    >>> html_inline("org.title", "en", round=2024, name="A & B")
    'Digital maturity 2024: A &amp; B'
    """
    return Safe(_text(key, check_lang(lang), **_escaped_fields(fields, escape_html)))


def heading(level: int, key: str, lang: str = "sv", **fields):
    """A heading (``#`` × *level*) from the catalogue, as Markdown output with escaped fields.

    Examples
    --------
    >>> heading(1, "org.title", "sv", round=2024, name="Asknäs kommun").data
    '# Digital mognad 2024: Asknäs kommun'
    """
    from IPython.display import Markdown

    return Markdown("#" * int(level) + " " + md_inline(key, lang, **fields))


def bullets(items) -> Safe:
    """A Markdown list of already safe items (e.g. from :func:`md_inline`); data is escaped.

    Examples
    --------
    >>> bullets(["a", Safe("**b**")])
    '- a\\n- **b**'
    """
    return Safe("\n".join(f"- {escape_md(item)}" for item in items))


BANNER_STYLE = ("border:3px solid #c0504d;background:#fbeaea;color:#7a1f1d;padding:10px 14px;"
                "font-weight:bold;font-size:1.1em;margin:8px 0 16px 0")


def banner_html(lang: str = "sv", message: str | None = None) -> str:
    """The synthetic-data banner as an HTML block (*message*, escaped, replaces the text).

    Examples
    --------
    >>> "SYNTETISKA DATA" in banner_html("sv")
    True
    """
    body = escape_html(message) if message is not None else escape_html(
        _text("common.synthetic_banner", check_lang(lang)))
    return f'<div class="mognad-synthetic" style="{BANNER_STYLE}">{body}</div>'


def synthetic_banner(study, lang: str = "sv", message: str | None = None):
    """The banner for a notebook: IPython ``HTML``, empty when the data is not synthetic.

    Parameters
    ----------
    study : Study or bool
        The study (its ``is_synthetic``) or the flag itself.

    Examples
    --------
    >>> synthetic_banner(False).data
    ''
    >>> "SYNTETISKA DATA" in synthetic_banner(True).data
    True
    """
    from IPython.display import HTML

    synthetic = study if isinstance(study, bool) else bool(getattr(study, "is_synthetic", False))
    return HTML(banner_html(lang, message) if synthetic else "")


__all__ = ["Safe", "banner_html", "bullets", "escape_html", "escape_md", "heading", "html_inline",
           "md", "md_inline", "synthetic_banner"]
