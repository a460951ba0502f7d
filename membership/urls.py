"""Helpers for redirect targets."""

from urllib.parse import urlsplit

from flask import request


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site paths: no scheme, no host, no backslash or control-character tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(char) < 32 or char.isspace() for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def next_url(default: str) -> str:
    """The validated `next` parameter from the form or query string, else the default."""
    target = request.form.get("next") or request.args.get("next")
    return target if is_safe_redirect(target) else default


MAX_PAGE = 10_000


def page_number(name: str = "page") -> int:
    """A page number from the query string, clamped to 1..10,000 (bad values mean page 1)."""
    value = request.args.get(name, 1, type=int) or 1
    return min(max(value, 1), MAX_PAGE)
