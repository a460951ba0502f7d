"""Sign-in links by email: random, stored hashed, single use, valid 15 minutes."""

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import render_template
from sqlalchemy import select, update

from membership.auth.services import TokenOutcome, find_user_by_email
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import MagicLink, User
from membership.models.types import utcnow

log = logging.getLogger(__name__)

LIFETIME = timedelta(minutes=15)
TOKEN_MAX = 100
SUBJECT = "Your sign-in link"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def send_sign_in_link(email: str) -> None:
    """Email a one-time sign-in link if an account (not banned) has this email; silent otherwise.

    Both paths make a token and render the message, so they take the same steps until the
    database write; what differs is only that the real one is stored and queued.
    """
    token = secrets.token_urlsafe(32)
    user = find_user_by_email(email)
    context = {
        "link_url": external_url("auth.magic_link", token=token),
        "minutes": int(LIFETIME.total_seconds() // 60),
    }
    if user is None or user.is_banned:
        render_template("email/magic_link.txt", subject=SUBJECT, user=None, **context)
        log.info("sign-in link requested for an unknown or banned email")
        return
    now = utcnow()
    link = MagicLink(user_id=user.id, token_hash=_digest(token), expires_at=now + LIFETIME)
    db.session.add(link)
    queue_email(user.email, SUBJECT, "magic_link", user=user, **context)
    log.info("sign-in link sent to account #%s", user.id)


def _find(token: str) -> MagicLink | None:
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return None
    return db.session.scalar(select(MagicLink).where(MagicLink.token_hash == _digest(token)))


def check_link(token: str) -> tuple[TokenOutcome, User | None]:
    """What the link would do, without doing it: a GET (or a mail scanner) changes nothing."""
    link = _find(token)
    if link is None:
        return TokenOutcome.INVALID, None
    if link.used_at is not None:
        return TokenOutcome.ALREADY_USED, None
    if link.expires_at <= utcnow():
        return TokenOutcome.EXPIRED, None
    user = db.session.get(User, link.user_id)
    if user is None or user.is_banned:
        return TokenOutcome.INVALID, None
    return TokenOutcome.OK, user


def use_link(token: str) -> tuple[TokenOutcome, User | None]:
    """Spend the link: the first of two simultaneous uses wins, the other finds it used."""
    outcome, user = check_link(token)
    if outcome != TokenOutcome.OK:
        return outcome, None
    now = utcnow()
    spent = db.session.execute(
        update(MagicLink)
        .where(MagicLink.token_hash == _digest(token), MagicLink.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if spent != 1:
        return TokenOutcome.ALREADY_USED, None
    # Opening the emailed link proves the address belongs to the user.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    log.info("account #%s used a sign-in link", user.id)
    return TokenOutcome.OK, user
