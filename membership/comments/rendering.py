"""Comment text to HTML: escaped, paragraphs and line breaks kept, bare URLs made into links."""

import re
from functools import lru_cache

from markupsafe import Markup, escape

URL_PATTERN = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def _linkify(text: str) -> Markup:
    """Escape the text; wrap each http(s) URL in a link that passes no ranking and no opener."""
    parts: list[str] = []
    position = 0
    for match in URL_PATTERN.finditer(text):
        url = match.group(0)
        trimmed = url.rstrip(TRAILING_PUNCTUATION)
        end = match.start() + len(trimmed)
        parts.append(escape(text[position : match.start()]))
        parts.append(Markup('<a href="{0}" rel="nofollow noopener ugc">{0}</a>').format(trimmed))
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


@lru_cache(maxsize=4096)
def render_comment(body: str) -> Markup:
    """Plain text with paragraphs (blank lines) and line breaks; nothing the author typed runs."""
    paragraphs = [p for p in re.split(r"\r?\n\s*\r?\n", body.strip()) if p.strip()]
    html = Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(_linkify(line) for line in p.splitlines()))
        for p in paragraphs
    )
    return html
