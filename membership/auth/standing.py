"""Account standing: suspend, ban and reactivate (used by the admin area)."""

import logging
from datetime import datetime

from membership.auth.sessions import revoke_sessions
from membership.models import AccountStatus, User

log = logging.getLogger(__name__)


def suspend(user: User, *, reason: str, until: datetime | None = None) -> None:
    """Suspend: the reader may still sign in and read, not comment or pay; sessions end now."""
    user.status = AccountStatus.SUSPENDED
    user.status_reason = reason
    user.suspended_until = until
    revoke_sessions(user)
    log.info("account #%s suspended until %s", user.id, until or "further notice")


def ban(user: User, *, reason: str) -> None:
    """Ban: no sign-in, every session ends, and the email cannot register again."""
    user.status = AccountStatus.BANNED
    user.status_reason = reason
    user.suspended_until = None
    revoke_sessions(user)
    log.info("account #%s banned", user.id)


def reactivate(user: User) -> None:
    """Lift a suspension or a ban."""
    user.status = AccountStatus.ACTIVE
    user.status_reason = None
    user.suspended_until = None
    log.info("account #%s reactivated", user.id)
