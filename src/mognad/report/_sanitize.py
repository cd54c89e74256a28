"""The last line of defence for report pages: nothing in a report may load or run anything.

Data-derived strings are escaped where they are formatted (:mod:`mognad.present`); this module is
the safety net behind that, applied to every exported page. It parses the page (BeautifulSoup),
keeps the template's own style sheets, and neutralises everything else that could load a file or
a URL, or run code, wherever it came from:

- elements that load or run something (``script``, ``iframe``, ``object``, ``embed``, ``link``,
  ``base``, ``meta`` refresh, forms, media, SVG animation …) are removed with their content;
- every event-handler attribute (``on…``) and every URL attribute except a link's ``href`` to
  ``http(s)``/``mailto``/a fragment is removed; ``javascript:``, ``file:``, ``data:`` links go;
- ``<img>`` stays only with an embedded ``data:image/png|jpeg|gif|webp`` source (the figures a
  notebook produced are embedded that way); any other image is removed;
- style sheets and ``style`` attributes that could fetch something (``url(``, ``@import``, CSS
  escapes, ``expression(`` …) are removed, unless the style sheet is one of the template's;
- comments, processing instructions and CDATA sections are dropped.

The page is serialised again from the parsed tree, so the browser sees exactly what was checked.
"""

from __future__ import annotations

import re

__all__ = ["balance_fragment", "sanitize_html"]

#: Elements removed together with everything inside them.
DROP_ELEMENTS = frozenset({
    "script", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "param",
    "link", "base", "form", "input", "button", "select", "textarea", "option", "optgroup",
    "datalist", "keygen", "output", "portal", "fencedframe", "audio", "video", "source", "track",
    "picture", "template", "slot", "xmp", "noembed", "noframes", "plaintext", "listing",
    "foreignobject", "animate", "animatemotion", "animatetransform", "animatecolor", "set",
    "discard", "handler", "listener", "feimage", "annotation-xml",
})

#: Attributes that hold a URL (or URLs) somewhere in HTML or SVG.
URL_ATTRIBUTES = frozenset({
    "href", "xlink:href", "src", "srcset", "imagesrcset", "action", "formaction", "background",
    "poster", "data", "cite", "longdesc", "lowsrc", "dynsrc", "ping", "manifest", "codebase",
    "classid", "archive", "usemap", "profile", "itemtype", "attributionsrc",
})
DROP_ATTRIBUTES = frozenset({"srcdoc", "http-equiv", "content", "is"})

_SAFE_IMAGE = re.compile(r"^data:image/(?:png|jpeg|jpg|gif|webp)(?:;[a-z0-9=._+-]+)*[,;]", re.I)
_LINK_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
_UNSAFE_CSS = re.compile(
    r"url\s*\(|@import|expression\s*\(|image(?:-set)?\s*\(|-moz-binding|behaviou?r\s*:|"
    r"javascript:|\\|<|src\s*:",
    re.I,
)


def _link_ok(value: str) -> bool:
    url = _IGNORED_IN_URL.sub("", value or "")
    if url.startswith("#") or not url:
        return True
    scheme = _SCHEME.match(url)
    if scheme is None:  # a relative link: it loads nothing by itself
        return not url.startswith("//")
    return scheme.group(1).lower() in _LINK_SCHEMES


def _image_ok(value: str) -> bool:
    return bool(_SAFE_IMAGE.match(_IGNORED_IN_URL.sub("", value or "")))


def _css_ok(text: str) -> bool:
    return not _UNSAFE_CSS.search(text or "")


def sanitize_html(html: str, *, trusted_styles: frozenset[str] = frozenset()) -> str:
    """Neutralise everything in *html* that could load or run something (see the module text).

    Parameters
    ----------
    html : str
        A whole page (or a fragment).
    trusted_styles : frozenset of str
        Exact texts of ``<style>`` elements to keep as they are (the export template's own).

    Returns
    -------
    str
        The page, serialised again from the checked tree.

    Examples
    --------
    >>> sanitize_html('<p onclick="x()">Hej <img src="/etc/passwd"><script>alert(1)</script></p>')
    '<p>Hej </p>'
    >>> sanitize_html('<a href="javascript:alert(1)">a</a> <a href="https://digg.se">b</a>')
    '<a>a</a> <a href="https://digg.se">b</a>'
    >>> sanitize_html('<img alt="figur" src="data:image/png;base64,iVBORw0KGgo=">')
    '<img alt="figur" src="data:image/png;base64,iVBORw0KGgo="/>'
    """
    from bs4 import BeautifulSoup
    from bs4.element import Comment, Declaration, Doctype, NavigableString, Tag

    soup = BeautifulSoup(html, "html.parser")
    # Comments, CDATA, processing instructions: dropped (their raw text would be written back
    # as it is, and browsers and parsers disagree on where some of them end).
    for node in list(soup.descendants):
        if isinstance(node, NavigableString) and not isinstance(node, Doctype) and (
            isinstance(node, Comment | Declaration) or type(node).__name__ in
            ("CData", "ProcessingInstruction", "XMLProcessingInstruction")
        ):
            node.extract()
    stack = [child for child in soup.contents if isinstance(child, Tag)]
    while stack:
        tag = stack.pop()
        name = (tag.name or "").lower()
        if name in DROP_ELEMENTS:
            tag.decompose()
            continue
        if name == "meta":
            if set(tag.attrs) - {"charset", "name", "content"} or (
                "name" in tag.attrs and tag.attrs.get("name") != "viewport"
            ):
                tag.decompose()
            continue  # charset / viewport only
        if name == "style":
            text = tag.string if tag.string is not None else tag.get_text()
            if text not in trusted_styles and not _css_ok(text):
                tag.decompose()
            else:
                tag.attrs = {k: v for k, v in tag.attrs.items() if k in ("type", "media")}
            continue
        if name in ("img", "image", "use") and not _image_element_ok(tag, name):
            tag.decompose()
            continue
        for attr in list(tag.attrs):
            if not _attribute_ok(name, attr.lower(), tag.attrs[attr]):
                del tag.attrs[attr]
        stack.extend(child for child in tag.contents if isinstance(child, Tag))
    return str(soup)


def _attribute_ok(name: str, key: str, value) -> bool:
    value = " ".join(value) if isinstance(value, list) else str(value)
    if key.startswith("on") or key in DROP_ATTRIBUTES:
        return False
    if ":" in key and key not in ("xlink:href", "xml:lang", "xml:space") and not key.startswith(
        "xmlns"
    ):
        return False
    if key == "style":
        return _css_ok(value)
    if key in URL_ATTRIBUTES:
        return _url_attribute_ok(name, key, value)
    return True


def _image_element_ok(tag, name: str) -> bool:
    if name == "img":
        return _image_ok(str(tag.get("src", ""))) and not tag.get("srcset")
    href = str(tag.get("href", "") or tag.get("xlink:href", ""))
    if name == "use":
        return href.startswith("#") or not href
    return _image_ok(href)


def _url_attribute_ok(name: str, key: str, value: str) -> bool:
    if key == "src" and name == "img":
        return _image_ok(value)
    if key in ("href", "xlink:href") and name in ("a", "area"):
        return _link_ok(value)
    if key in ("href", "xlink:href") and name == "use":
        return value.startswith("#")
    if key in ("href", "xlink:href") and name == "image":
        return _image_ok(value)
    if key in ("href", "xlink:href") and name in ("lineargradient", "radialgradient", "pattern",
                                                  "textpath", "filter", "mpath", "tref"):
        return value.startswith("#")
    return False


_RAW_HTML = re.compile(r"<[A-Za-z!/?]")


def balance_fragment(text: str) -> str:
    """*text* with its raw HTML closed and comments dropped, so that one notebook output can
    never swallow the outputs after it (an unclosed ``<style>`` or ``<!--`` in a name would
    otherwise run on to the end of the page). Text without raw HTML is returned unchanged.

    Examples
    --------
    >>> balance_fragment("**Enhet:** <style>x")
    '**Enhet:** <style></style>'
    >>> balance_fragment("Escaped: &lt;b&gt; and 1 < 2")
    'Escaped: &lt;b&gt; and 1 < 2'
    """
    if not _RAW_HTML.search(text or ""):
        return text
    from bs4 import BeautifulSoup
    from bs4.element import Comment

    soup = BeautifulSoup(text, "html.parser")
    for node in soup.find_all(string=lambda s: isinstance(s, Comment)):
        node.extract()
    return str(soup)
