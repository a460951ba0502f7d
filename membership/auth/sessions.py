"""Server-side sessions: every sign-in is a row that logout or an admin can revoke."""

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app, flash, g, has_app_context, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import aliased

from membership.access import LIVE_STATUSES, remember_live_subscriptions
from membership.cache import remember_site_version, site_version_column
from membership.extensions import db
from membership.models import Subscription, Tier, User, UserSession
from membership.models.types import utcnow

SESSION_KEY = "sid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(user: User, *, remember: bool, ip_address: str | None, user_agent: str | None) -> None:
    """Start a fresh session (new cookie, new CSRF token) backed by a new server-side row."""
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    config = current_app.config
    lifetime = config["SESSION_ABSOLUTE_TIMEOUT"] if remember else config["BROWSER_SESSION_TIMEOUT"]
    record = UserSession(
        user=user,
        token_hash=_digest(token),
        created_at=now,
        authenticated_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        remember=remember,
        ip_address=(ip_address or "")[:45] or None,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(record)
    user.last_login_at = now
    db.session.flush()
    session[SESSION_KEY] = token
    session.permanent = remember
    login_user(user)
    g.user_session = record


def sign_out() -> None:
    """Revoke this browser's session row and clear the cookie."""
    record = current_session()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    forget_browser()


def forget_browser() -> None:
    """Drop the login from this browser's cookie (the server-side row is handled elsewhere)."""
    logout_user()  # current_session() answers None from here on: nobody is signed in
    session.clear()


def current_session() -> UserSession | None:
    """The server-side row behind this request's cookie, as the user loader found it valid;
    None for a visitor who is not signed in (an expired or revoked row is never returned)."""
    if current_user.is_authenticated:  # runs Flask-Login's loader if nothing has asked yet
        return g.get("user_session")
    return None


def _idle_timeout(user: User) -> timedelta:
    return current_app.config["STAFF_IDLE_TIMEOUT" if user.is_staff else "SESSION_IDLE_TIMEOUT"]


def touch_interval(user: User) -> timedelta:
    """How stale `last_seen_at` may get before a page view writes it again.

    A plain page view must not write every time; since `last_seen_at` then lags real activity
    by up to this much, an idle session can end early by as much (never late), so the interval
    is kept to a sixth of the idle timeout (5 of the staff's 30 minutes).
    """
    return min(current_app.config["SESSION_TOUCH_INTERVAL"], _idle_timeout(user) / 6)


def _expired(record: UserSession, user: User, now: datetime) -> bool:
    if record.revoked_at is not None or record.expires_at <= now:
        return True
    return record.last_seen_at + _idle_timeout(user) <= now


@lru_cache(maxsize=1)
def _session_statement():
    """The session row, its user, the user's live subscriptions with their tiers (usually none
    or one, so one or two rows), the user's complimentary tier and the site version: what every
    signed-in page needs before it renders (the gate, the membership banner, the navigation),
    in one round trip."""
    complimentary = aliased(Tier)
    return (
        select(UserSession, User, Subscription, Tier, complimentary, site_version_column())
        .join(User, User.id == UserSession.user_id)
        .outerjoin(
            Subscription,
            and_(Subscription.user_id == User.id, Subscription.status.in_(LIVE_STATUSES)),
        )
        .outerjoin(Tier, Tier.id == Subscription.tier_id)
        .outerjoin(complimentary, complimentary.id == User.complimentary_tier_id)
        .where(
            UserSession.token_hash == bindparam("token_hash"),
            UserSession.user_id == bindparam("user_id"),
        )
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )


def load_user_from_session(user_id: str) -> User | None:
    """Flask-Login's user loader: the cookie counts only while its server-side row is valid."""
    token = session.get(SESSION_KEY)
    if not token or not user_id.isdigit():
        return None
    rows = db.session.execute(
        _session_statement(), {"token_hash": _digest(token), "user_id": int(user_id)}
    ).all()
    if not rows:
        return None
    record, user, _subscription, _tier, complimentary, site = rows[0]
    tiers = [row[3] for row in rows if row[3] is not None]
    if complimentary is not None:
        tiers.append(complimentary)
    remember_live_subscriptions(user, [row[2] for row in rows if row[2] is not None], tiers)
    remember_site_version(site)
    now = utcnow()
    if record.revoked_at is not None and user.is_suspended:
        _explain_suspension(user)
        return None
    if user.is_banned or _expired(record, user, now):
        return None
    if now - record.last_seen_at >= touch_interval(user):
        g.touch_session_id = record.id
    g.user_session = record
    return user


def suspension_notice(user: User) -> str:
    """Why a suspended member was signed out, and until when."""
    until = (
        f" until {user.suspended_until.strftime('%d %B %Y, %H:%M UTC')}"
        if user.suspended_until
        else " until further notice"
    )
    reason = f" Reason: {user.status_reason}." if user.status_reason else ""
    return (
        f"You were signed out because your account is suspended{until}.{reason} You can sign in "
        "again to read; commenting and payments are paused while the suspension lasts."
    )


def _explain_suspension(user: User) -> None:
    """The first request from a session the suspension ended (an open tab) says why, once."""
    session.pop(SESSION_KEY)  # the loader runs only for a cookie that holds it
    flash(suspension_notice(user), "warning")


def is_recent_login(window: timedelta | None = None) -> bool:
    """Whether the user typed their password (or 2FA code) within the window."""
    record = current_session()
    window = window or current_app.config["RECENT_LOGIN_WINDOW"]
    return record is not None and utcnow() - record.authenticated_at <= window


def mark_reauthenticated() -> None:
    record = current_session()
    if record is not None:
        record.authenticated_at = utcnow()


def revoke_sessions(user: User, *, keep: UserSession | None = None) -> int:
    """End every session of the user except `keep`; returns how many were ended."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = db.session.execute(query.values(revoked_at=utcnow()))
    return result.rowcount or 0


def active_sessions(user: User) -> list[UserSession]:
    now = utcnow()
    rows = db.session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if not _expired(row, user, now)]


def touch_current_session() -> None:
    """Record activity for the idle timeout; runs after the view, in its own small commit."""
    session_id = g.pop("touch_session_id", None)
    if session_id is not None:
        db.session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
        )
        db.session.commit()


def stamp_activity_in_commit(db_session) -> None:
    """A `before_commit` hook: the activity stamp rides in the request's own transaction.

    A request that commits anyway (a comment, a like, a form) then needs no second
    transaction after the view; `touch_current_session` still commits alone for plain reads.
    """
    if not has_app_context():
        return
    session_id = g.pop("touch_session_id", None)
    if session_id is not None:
        db_session.execute(
            update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
        )
