"""Reading what a page tells the reader, exactly (a message wrapped in other text is a bug)."""

import html
import re

ALERT = re.compile(r'<p[^>]*role="alert"[^>]*>(.*?)</p>', re.S)


def alerts(response) -> list[str]:
    """The texts of the page's alerts (refusals, form-level errors), unescaped."""
    return [html.unescape(text).strip() for text in ALERT.findall(response.get_data(as_text=True))]
