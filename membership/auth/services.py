"""Account rules: registration, confirmation, sign-in, reset. Services flush; views commit."""

import hashlib
import logging
from enum import StrEnum

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from membership.auth import passwords, tokens
from membership.auth.sessions import revoke_sessions
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import AccountStatus, Role, User
from membership.models.types import utcnow
from membership.sponsors.services import link_guest_gifts

log = logging.getLogger(__name__)

CONFIRM = "confirm-email"
RESET = "reset-password"
CHANGE_EMAIL = "change-email"


class TokenOutcome(StrEnum):
    OK = "ok"
    ALREADY_USED = "already-used"
    EXPIRED = "expired"
    INVALID = "invalid"


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively: store them lower-cased and trimmed."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    email: str,
    display_name: str,
    password: str,
    *,
    role: str = Role.READER,
    confirmed: bool = False,
) -> User:
    """Add a user with a hashed password; the caller checked that the email is free."""
    user = User(
        email=normalize_email(email),
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password),
        role=role,
        status=AccountStatus.ACTIVE,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def register(
    email: str, display_name: str, password: str, *, next_path: str | None = None
) -> User | None:
    """Create an account and send the confirmation link.

    A taken email gets no new account: its owner is told that someone tried to register with it,
    and the visitor sees the same page as for a new account, so nobody learns who is a member.
    """
    existing = find_user_by_email(email)
    if existing is not None:
        if not existing.is_confirmed and not existing.is_banned:
            send_confirmation(existing, next_path=next_path)
        elif not existing.is_banned:
            queue_email(
                existing.email,
                "Someone tried to register with your email",
                "register_existing",
                user=existing,
                login_url=external_url("auth.login"),
                reset_url=external_url("auth.reset_request"),
            )
        log.info("registration attempt for an existing account #%s", existing.id)
        return None
    try:
        with db.session.begin_nested():
            user = create_user(email, display_name, password)
    except IntegrityError:
        # A simultaneous registration of the same address won: answer as for a taken email.
        log.info("registration raced another one for the same email")
        return None
    send_confirmation(user, next_path=next_path)
    log.info("registered account #%s", user.id)
    return user


def send_confirmation(user: User, *, next_path: str | None = None) -> None:
    """Email a link that confirms the user's current address (and returns to `next_path`)."""
    token = tokens.make_token(CONFIRM, {"uid": user.id, "email": user.email})
    queue_email(
        user.email,
        "Confirm your email address",
        "confirm_email",
        user=user,
        confirm_url=external_url("auth.confirm", token=token, next=next_path or None),
        max_age_hours=current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 3600,
    )


def resend_confirmation(email: str) -> None:
    """Send a new link if an unconfirmed account has this email; silent otherwise."""
    user = find_user_by_email(email)
    if user is not None and not user.is_confirmed and not user.is_banned:
        send_confirmation(user)


def check_confirmation(token: str) -> tuple[TokenOutcome, User | None]:
    """What a confirmation link would do, without doing it (GET must not change data)."""
    try:
        payload = tokens.read_token(CONFIRM, token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    except tokens.TokenExpired:
        return TokenOutcome.EXPIRED, None
    except tokens.TokenInvalid:
        return TokenOutcome.INVALID, None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        return TokenOutcome.INVALID, None
    if user.is_confirmed:
        return TokenOutcome.ALREADY_USED, user
    return TokenOutcome.OK, user


def confirm_email(token: str) -> tuple[TokenOutcome, User | None]:
    """Confirm the address in the token; a token works once (for its address)."""
    outcome, user = check_confirmation(token)
    if outcome == TokenOutcome.OK:
        user.email_confirmed_at = utcnow()
        link_guest_gifts(user)
        log.info("account #%s confirmed its email", user.id)
    return outcome, user


def authenticate(email: str, password: str) -> User | None:
    """The user these credentials belong to, or None; upgrades outdated hashes on the way."""
    user = find_user_by_email(email)
    if user is None:
        passwords.burn_verification_time(password)
        log.info("failed login for an unknown email")
        return None
    if not passwords.verify_password(user.password_hash, password):
        log.info("failed login for account #%s", user.id)
        return None
    if user.is_banned:
        log.info("refused login for banned account #%s", user.id)
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    log.info("login for account #%s", user.id)
    return user


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password does, so a reset link dies with the old password."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Email a one-hour reset link if the account exists; silent otherwise."""
    user = find_user_by_email(email)
    if user is None or user.is_banned:
        log.info("password reset requested for an unknown or banned email")
        return
    token = tokens.make_token(RESET, {"uid": user.id, "pw": _password_fingerprint(user)})
    queue_email(
        user.email,
        "Reset your password",
        "reset_password",
        user=user,
        reset_url=external_url("auth.reset_password", token=token),
    )
    log.info("password reset requested for account #%s", user.id)


def user_for_reset_token(token: str) -> tuple[TokenOutcome, User | None]:
    """The user a reset link is for, if it is genuine, fresh and unused."""
    try:
        payload = tokens.read_token(RESET, token, current_app.config["RESET_TOKEN_MAX_AGE"])
    except tokens.TokenExpired:
        return TokenOutcome.EXPIRED, None
    except tokens.TokenInvalid:
        return TokenOutcome.INVALID, None
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.is_banned:
        return TokenOutcome.INVALID, None
    if payload.get("pw") != _password_fingerprint(user):
        return TokenOutcome.ALREADY_USED, None
    return TokenOutcome.OK, user


def set_password(user: User, new_password: str) -> None:
    """Store a new password and tell the owner by email."""
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    queue_email(
        user.email,
        "Your password was changed",
        "password_changed",
        user=user,
        reset_url=external_url("auth.reset_request"),
    )


def reset_password(user: User, new_password: str) -> None:
    """Finish a reset: new password, every session ended, nobody signed in."""
    set_password(user, new_password)
    revoke_sessions(user)
    # Following the emailed link proves the user owns the address.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    log.info("password reset completed for account #%s", user.id)


def email_is_taken(email: str) -> bool:
    return bool(
        db.session.scalar(select(func.count(User.id)).where(User.email == normalize_email(email)))
    )
