"""Site-wide settings that editors change at run time (stored as JSON values)."""

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class SiteSetting(db.Model):
    """One named setting; defaults live in `membership.settings.DEFAULTS`."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
