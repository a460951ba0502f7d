"""Secrets kept on the server while a setup is under way."""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from membership.crypto import EncryptedField
from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class PendingTotpSecret(db.Model):
    """A TOTP secret shown on the setup page but not confirmed yet: one per account, encrypted."""

    __tablename__ = "pending_totp_secrets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_ciphertext: Mapped[str] = mapped_column("secret", Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    secret = EncryptedField("secret_ciphertext")
