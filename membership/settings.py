"""Run-time site settings with defaults, kept per process and keyed by the site version.

Each worker keeps what it read while the site version (membership/cache.py, read once per
request) stays the same; `set_setting` bumps it in the change's own transaction, so every worker
reloads the settings on its first request after the commit. `CACHE_SECONDS` only bounds how
long a change made behind the app's back (straight in the database) can go unseen.
"""

import time

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from membership.cache import bump_site_version, site_version
from membership.extensions import db
from membership.models import SiteSetting

CACHE_SECONDS = 15
DEFAULTS: dict[str, object] = {
    # Who may comment: "everyone" signed in and confirmed, "paying" members only, or "closed".
    "comment_policy": "everyone",
    # Close comments this many days after publication; 0 keeps them open.
    "comments_auto_close_days": 0,
    # Open reports that hide a comment until a moderator reviews it.
    "report_threshold": 3,
    # Hold rules: comments held for review instead of published (0 / False / [] hold nothing).
    # The first N comments of a new account,
    "hold_first_comments": 0,
    # comments containing a link,
    "hold_links": False,
    # and comments containing one of these words.
    "hold_words": [],
    # The portal's name in the pages (header, titles); None uses the SITE_NAME configuration.
    "site_name": None,
    # ISO currency of tiers and sponsorships (lower-case, as Stripe writes it).
    "currency": "usd",
    # Sponsorships, in major units of the currency.
    "sponsor_presets": [5, 10, 25, 50, 100],
    "sponsor_min": 1,
    "sponsor_max": 10000,
    # Wall levels: [name, lowest amount]; a gift lands in the highest level it reaches.
    "sponsor_levels": [["Friends", 0], ["Patrons", 25], ["Champions", 100]],
    # Monthly funding goal (0: none) and what it pays for.
    "sponsor_goal_amount": 2000,
    "sponsor_goal_text": "$2,000 a month funds an investigative reporter.",
}


def _cache() -> dict:
    return current_app.extensions.setdefault(
        "site_settings", {"loaded_at": 0.0, "version": None, "values": {}}
    )


def all_settings() -> dict[str, object]:
    """Every setting, stored value over default."""
    cache = _cache()
    version = site_version()
    if cache["version"] != version or time.monotonic() - cache["loaded_at"] > CACHE_SECONDS:
        stored = {row.key: row.value for row in db.session.scalars(db.select(SiteSetting))}
        cache["values"] = {**DEFAULTS, **stored}
        cache["loaded_at"] = time.monotonic()
        cache["version"] = version
    return cache["values"]


def get_setting(key: str):
    return all_settings()[key] if key in DEFAULTS else None


def set_setting(key: str, value) -> None:
    """Store a setting (flushes; the caller commits) and bump the site version with it."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    bump_site_version()
    _cache()["loaded_at"] = 0.0


def site_name() -> str:
    """The portal's name: the "site_name" setting when set, else the SITE_NAME configuration
    (also while the database is unreachable, so that error pages still render)."""
    try:
        with db.session.no_autoflush:  # called while rendering: never flush pending changes
            name = get_setting("site_name")
    except SQLAlchemyError:
        db.session.rollback()
        name = None
    return str(name or current_app.config["SITE_NAME"])
