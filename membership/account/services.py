"""Rules for the reader's own account: profile, email, password, data, deletion."""

import logging

from flask import current_app
from sqlalchemy import select

from membership import audit
from membership.auth import passwords, tokens
from membership.auth.services import (
    CHANGE_EMAIL,
    TokenOutcome,
    email_is_taken,
    normalize_email,
    set_password,
)
from membership.auth.sessions import revoke_sessions
from membership.billing.services import cancel_all_for_deletion
from membership.cache import bump_discussions_of_author
from membership.comments.services import delete_comments_of
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import Comment, User, UserSession
from membership.models.types import utcnow
from membership.sponsors.account import end_for_deletion
from membership.sponsors.services import link_guest_gifts

log = logging.getLogger(__name__)


class WrongPassword(Exception):
    """The current password given does not match."""


def _check_password(user: User, password: str) -> None:
    if not passwords.verify_password(user.password_hash, password):
        raise WrongPassword("That is not your current password.")


def update_profile(user: User, display_name: str) -> None:
    """Change the public name; the discussions that show it get new cache keys."""
    name = display_name.strip()
    if name != user.display_name:
        user.display_name = name
        bump_discussions_of_author(user.id)


def set_notifications(user: User, *, notify_replies: bool) -> None:
    user.notify_replies = notify_replies


def request_email_change(user: User, new_email: str, current_password: str) -> None:
    """Send a link to the new address; nothing changes until it is followed."""
    _check_password(user, current_password)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        return
    if email_is_taken(new_email):
        # Tell the owner of that address, not the requester (no enumeration).
        queue_email(
            new_email,
            "Someone tried to use your email address",
            "email_change_taken",
            login_url=external_url("auth.login"),
        )
        return
    token = tokens.make_token(CHANGE_EMAIL, {"uid": user.id, "old": user.email, "new": new_email})
    queue_email(
        new_email,
        "Confirm your new email address",
        "email_change_confirm",
        user=user,
        confirm_url=external_url("account.confirm_email_change", token=token),
    )
    queue_email(
        user.email,
        "A change of email address was requested",
        "email_change_notice",
        user=user,
        new_email=new_email,
    )


def check_email_change(token: str) -> tuple[TokenOutcome, User | None, str | None]:
    """What an email-change link would do, without doing it."""
    try:
        payload = tokens.read_token(
            CHANGE_EMAIL, token, current_app.config["CONFIRM_TOKEN_MAX_AGE"]
        )
    except tokens.TokenExpired:
        return TokenOutcome.EXPIRED, None, None
    except tokens.TokenInvalid:
        return TokenOutcome.INVALID, None, None
    user = db.session.get(User, payload.get("uid"))
    new_email = payload.get("new")
    if user is None or not isinstance(new_email, str):
        return TokenOutcome.INVALID, None, None
    if user.email == new_email:
        return TokenOutcome.ALREADY_USED, user, new_email
    if user.email != payload.get("old") or email_is_taken(new_email):
        return TokenOutcome.INVALID, None, None
    return TokenOutcome.OK, user, new_email


def confirm_email_change(token: str) -> TokenOutcome:
    """Switch the account to the confirmed new address."""
    outcome, user, new_email = check_email_change(token)
    if outcome == TokenOutcome.OK:
        user.email = new_email
        user.email_confirmed_at = utcnow()
        link_guest_gifts(user)
        log.info("account #%s changed its email", user.id)
    return outcome


def change_password(
    user: User, current_password: str, new_password: str, keep: UserSession | None
) -> None:
    """Change the password, end the other sessions and send a notice."""
    _check_password(user, current_password)
    set_password(user, new_password)
    revoke_sessions(user, keep=keep)
    log.info("account #%s changed its password", user.id)


def export_data(user: User) -> dict:
    """Everything we hold about the reader, as a JSON-ready dictionary."""
    sessions = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    ).all()

    def when(value):
        return value.isoformat() if value else None

    return {
        "account": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "status": user.status,
            "status_reason": user.status_reason,
            "suspended_until": when(user.suspended_until),
            "email_confirmed_at": when(user.email_confirmed_at),
            "created_at": when(user.created_at),
            "last_login_at": when(user.last_login_at),
            "password_changed_at": when(user.password_changed_at),
            "notify_replies": user.notify_replies,
        },
        "comments": [
            {
                "id": c.id,
                "article": c.article_id,
                "body": c.body,
                "status": c.status,
                "created_at": when(c.created_at),
                "edited_at": when(c.edited_at),
            }
            for c in db.session.scalars(
                select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)
            )
        ],
        "sessions": [
            {
                "created_at": when(s.created_at),
                "last_seen_at": when(s.last_seen_at),
                "expires_at": when(s.expires_at),
                "revoked_at": when(s.revoked_at),
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
            }
            for s in sessions
        ],
        "exported_at": utcnow().isoformat(),
    }


def delete_account_by_admin(user: User, actor: User) -> None:
    """An administrator deletes a member: Stripe subscriptions are cancelled first."""
    cancel_all_for_deletion(user)
    end_for_deletion(user)
    delete_comments_of(user)
    audit.record(actor, "member.delete", user, email=user.email)
    db.session.delete(user)
    db.session.flush()


def delete_account(user: User, current_password: str) -> None:
    """Delete the account and its sessions; a farewell email confirms it."""
    _check_password(user, current_password)
    # Stripe first: if it cannot be reached, nothing is deleted and no subscription keeps running.
    cancel_all_for_deletion(user)
    end_for_deletion(user)
    delete_comments_of(user)
    queue_email(user.email, "Your account was deleted", "account_deleted", user=user)
    log.info("account #%s deleted itself", user.id)
    db.session.delete(user)
    db.session.flush()
