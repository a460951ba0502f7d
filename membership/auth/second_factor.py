"""Which accounts need a second factor, and what counts as one (TOTP or a passkey)."""

from sqlalchemy import exists, select

from membership.extensions import db
from membership.models import User, WebAuthnCredential


def has_passkey(user: User) -> bool:
    """Whether the user has at least one passkey."""
    return bool(db.session.scalar(select(exists().where(WebAuthnCredential.user_id == user.id))))


def has_second_factor(user: User) -> bool:
    """TOTP turned on, or at least one passkey: what staff must have to open /admin."""
    return user.totp_enabled_at is not None or has_passkey(user)


def needs_second_factor(user: User) -> bool:
    """Whether a password or an emailed link alone is not enough to sign this user in.

    Readers who turned TOTP on, and staff with any second factor. A reader's passkey is an
    alternative way in, not a second step after the password.
    """
    if user.totp_enabled_at is not None:
        return True
    return user.is_staff and has_passkey(user)
