"""Passwordless sign-in: emailed one-time links, passkeys and their pending challenges."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class MagicLink(db.Model):
    """An emailed sign-in link: only its hash is stored; it works once, for 15 minutes."""

    __tablename__ = "magic_links"
    __table_args__ = (Index(None, "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuthnCredential(db.Model):
    """A passkey: the public key of a credential the user's authenticator made for this site."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Credential ids are at most 1023 bytes (WebAuthn level 3); stored raw, unique per site.
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuthnChallenge(db.Model):
    """A challenge handed to the browser; deleted when used, so each one verifies once."""

    __tablename__ = "webauthn_challenges"
    __table_args__ = (Index(None, "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The browser's cookie holds a random handle; only its hash is stored.
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
