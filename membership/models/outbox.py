"""Outgoing email, recorded with the action that causes it and delivered after commit."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from membership.crypto import EncryptedField
from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class OutboxEmail(db.Model):
    """An email waiting for delivery, or already delivered."""

    __tablename__ = "outbox_emails"
    __table_args__ = (Index(None, "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    # Bodies hold signed links (password reset, confirmation): stored encrypted.
    text_body_ciphertext: Mapped[str] = mapped_column("text_body", Text)
    html_body_ciphertext: Mapped[str] = mapped_column("html_body", Text)
    text_body = EncryptedField("text_body_ciphertext")
    html_body = EncryptedField("html_body_ciphertext")
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
