"""The steps every way of signing in shares: the pending second factor, then the session."""

import time

from flask import flash, request, session, url_for

from membership.auth.sessions import sign_in
from membership.extensions import db
from membership.models import User
from membership.urls import is_safe_redirect

PENDING_2FA = "pending_2fa"
PENDING_2FA_SECONDS = 300


def start_second_factor(user: User, *, remember: bool, destination: str) -> None:
    """The first factor is right; remember who is half-way in (no session starts yet)."""
    session.clear()
    session[PENDING_2FA] = {
        "uid": user.id,
        "remember": bool(remember),
        "next": destination,
        "at": int(time.time()),
    }


def pending_second_factor() -> dict | None:
    """The half-finished sign-in of this browser, if any and still fresh."""
    pending = session.get(PENDING_2FA) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_2FA_SECONDS:
        session.pop(PENDING_2FA, None)
        return None
    return pending


def complete_sign_in(user: User, *, remember: bool, destination: str | None) -> str:
    """Start the session, commit, greet; returns where to go next (always on this site)."""
    sign_in(
        user,
        remember=remember,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    db.session.commit()
    flash(f"Welcome back, {user.display_name}.", "success")
    destination = destination or url_for("articles.home")
    return destination if is_safe_redirect(destination) else "/"
