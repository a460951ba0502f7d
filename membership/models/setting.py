"""Site-wide settings that editors change at run time (stored as JSON values)."""

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class SiteSetting(db.Model):
    """One named setting; defaults live in `membership.settings.DEFAULTS`."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CacheVersion(db.Model):
    """A named counter that cache keys include; "site" covers settings, tiers and listings.

    A missing row counts as version 0; `membership.cache.bump_site_version` creates it.
    """

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
