"""HTML to plain text with the standard library's parser (for documentation corpora).

Scripts, styles and the document head are dropped; block elements start new lines. When the
page marks its main content (``role="main"``, as Sphinx pages do), only that part is kept, so
navigation bars and footers do not repeat in every document.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "head", "title", "noscript"})
_BLOCK = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "pre", "section", "h1", "h2", "h3", "h4", "h5", "h6",
     "tr", "table", "dt", "dd", "dl", "blockquote", "hr"}
)  # fmt: skip
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.all: list[str] = []
        self.main: list[str] = []
        self.skip = 0
        self.stack: list[bool] = []  # per open element: does it open the main part?
        self.in_main = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        if tag in _BLOCK:
            self._emit("\n")
        if tag in _VOID:
            return
        opens_main = ("role", "main") in attrs or tag == "main"
        self.stack.append(opens_main)
        self.in_main += opens_main

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self.skip:
            self.skip -= 1
        if tag in _BLOCK:
            self._emit("\n")
        if tag not in _VOID and self.stack:
            self.in_main -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self._emit(data)

    def _emit(self, text: str) -> None:
        self.all.append(text)
        if self.in_main:
            self.main.append(text)


def html_to_text(html: str) -> str:
    """The readable text of an HTML page: main content if marked, blank runs collapsed."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.main) if "".join(parser.main).strip() else "".join(parser.all)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text + "\n" if text else ""
