"""Reader accounts and their server-side sessions."""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.crypto import EncryptedField
from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class Role(enum.StrEnum):
    READER = "reader"
    EDITOR = "editor"
    MODERATOR = "moderator"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.EDITOR, Role.MODERATOR, Role.ADMIN})


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANNED = "banned"


class User(UserMixin, db.Model):
    """A reader, editor, moderator or administrator."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('reader', 'editor', 'moderator', 'admin')", name="role"),
        CheckConstraint("status IN ('active', 'suspended', 'banned')", name="status"),
        Index(None, "created_at"),
        Index(None, "status", "created_at"),
        # Prefix searches (LIKE 'abc%') on PostgreSQL need pattern operator classes.
        Index(
            "ix_users_email_pattern",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.READER)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A complimentary membership: a tier granted by the newsroom, optionally until a date.
    complimentary_tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="SET NULL")
    )
    complimentary_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    notify_replies: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Written under a row lock by every comment post: serialises one reader's posts.
    last_comment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in (TOTP). The secret is stored encrypted (membership/crypto.py); the last
    # accepted time step makes every code work once.
    totp_secret_ciphertext: Mapped[str | None] = mapped_column("totp_secret", Text)
    totp_secret = EncryptedField("totp_secret_ciphertext")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    sessions: Mapped[list["UserSession"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    @property
    def is_active(self) -> bool:
        """Flask-Login's "may sign in": everyone but banned accounts."""
        return self.status != AccountStatus.BANNED

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def is_suspended(self) -> bool:
        """Suspended now; a suspension with an end date lapses by itself."""
        if self.status != AccountStatus.SUSPENDED:
            return False
        return self.suspended_until is None or self.suspended_until > utcnow()

    @property
    def is_banned(self) -> bool:
        return self.status == AccountStatus.BANNED

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Editors, moderators and administrators: they open /admin and need two factors."""
        return self.role in STAFF_ROLES

    @property
    def is_in_good_standing(self) -> bool:
        """Confirmed and neither suspended nor banned: may comment and pay."""
        return self.is_confirmed and not self.is_suspended and not self.is_banned


class UserSession(db.Model):
    """One signed-in browser; revoking the row ends the session even for a copied cookie."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index(None, "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="sessions")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class RecoveryCode(db.Model):
    """A one-time recovery code for two-factor sign-in, stored hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberLabel(db.Model):
    """A label an admin puts on a member ("press", "founding member", ...)."""

    __tablename__ = "member_labels"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class MemberNote(db.Model):
    """An admin's private note about a member."""

    __tablename__ = "member_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
