"""Passkeys (WebAuthn) with py_webauthn: registration, sign-in, and the challenges in between.

Challenges live in the database, not in the cookie: the browser holds only a random handle, the
row is deleted by the first attempt that uses it (whatever the outcome), and it lapses after
`CHALLENGE_SECONDS`. So an assertion cannot be replayed and an old cookie cannot bring a
challenge back. The relying party id and the expected origin come from `SITE_URL`.
"""

import hashlib
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import webauthn
from flask import current_app
from sqlalchemy import delete, select
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from membership.extensions import db
from membership.models import User, WebAuthnChallenge, WebAuthnCredential
from membership.models.types import utcnow

log = logging.getLogger(__name__)

CHALLENGE_SECONDS = 300
TIMEOUT_MS = 120_000
MAX_PASSKEYS = 20
NAME_MAX = 60
REGISTER = "register"
SIGN_IN = "sign-in"
SECOND_FACTOR = "second-factor"


class PasskeyError(Exception):
    """A ceremony that failed; the message is safe to show."""


def rp_id() -> str:
    """The relying party id: the host name of SITE_URL."""
    return urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"


def expected_origin() -> str:
    """The origin the browser must report: SITE_URL's scheme and host."""
    parts = urlsplit(current_app.config["SITE_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def user_handle(user: User) -> bytes:
    """The WebAuthn user handle: the account id as 8 bytes (no email or name in it)."""
    return user.id.to_bytes(8, "big")


def _digest(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def _new_challenge(purpose: str, user: User | None) -> tuple[str, bytes]:
    """Store a fresh challenge; returns the browser's handle for it and the challenge."""
    now = utcnow()
    # Lapsed challenges of abandoned ceremonies are swept as new ones are made.
    db.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= now))
    handle = secrets.token_urlsafe(32)
    challenge = secrets.token_bytes(32)
    db.session.add(
        WebAuthnChallenge(
            handle_hash=_digest(handle),
            purpose=purpose,
            user_id=user.id if user is not None else None,
            challenge=challenge,
            expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )
    db.session.flush()
    return handle, challenge


def take_challenge(handle: object, purpose: str, user: User | None) -> bytes:
    """The challenge behind the handle, deleted on the way: it verifies at most once."""
    if not isinstance(handle, str) or not handle or len(handle) > 100:
        raise PasskeyError("Start again: this sign-in attempt has expired.")
    row = db.session.scalar(
        select(WebAuthnChallenge).where(WebAuthnChallenge.handle_hash == _digest(handle))
    )
    if row is None:
        raise PasskeyError("Start again: this sign-in attempt has expired.")
    # Whoever deletes the row owns the challenge; a concurrent second use finds nothing to delete.
    deleted = db.session.execute(
        delete(WebAuthnChallenge).where(WebAuthnChallenge.id == row.id)
    ).rowcount
    if (
        deleted != 1
        or row.purpose != purpose
        or row.expires_at <= utcnow()
        or row.user_id != (user.id if user is not None else None)
    ):
        raise PasskeyError("Start again: this sign-in attempt has expired.")
    return row.challenge


def discard_challenge(handle: object) -> None:
    """Drop a challenge that will not be used (the browser asked for a new one)."""
    if isinstance(handle, str) and handle:
        db.session.execute(
            delete(WebAuthnChallenge).where(WebAuthnChallenge.handle_hash == _digest(handle))
        )


def passkeys_of(user: User) -> list[WebAuthnCredential]:
    """The user's passkeys, oldest first."""
    return list(
        db.session.scalars(
            select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user.id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=c.credential_id) for c in passkeys_of(user)]


def registration_options(user: User) -> tuple[str, str]:
    """Options for navigator.credentials.create(): a discoverable credential, user verified."""
    if len(passkeys_of(user)) >= MAX_PASSKEYS:
        raise PasskeyError(f"You can keep at most {MAX_PASSKEYS} passkeys. Remove one first.")
    handle, challenge = _new_challenge(REGISTER, user)
    options = webauthn.generate_registration_options(
        rp_id=rp_id(),
        rp_name=current_app.config["SITE_NAME"],
        user_id=user_handle(user),
        user_name=user.email,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    return handle, webauthn.options_to_json(options)


def clean_name(name: object) -> str:
    """A passkey's label: trimmed, 1 to 60 characters."""
    if not isinstance(name, str) or not name.strip():
        raise PasskeyError("Give the passkey a name, such as the device it lives on.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise PasskeyError(f"A passkey's name has at most {NAME_MAX} characters.")
    if any(ord(char) < 32 for char in name):
        raise PasskeyError("A passkey's name cannot contain control characters.")
    return name


def _as_json(credential: object) -> str:
    """The browser's credential as the JSON text py_webauthn parses."""
    if isinstance(credential, dict):
        return json.dumps(credential)
    raise PasskeyError("The browser sent no passkey.")


def register(user: User, handle: object, credential: object, name: object) -> WebAuthnCredential:
    """Verify an attestation and keep the new passkey; nothing is stored if any check fails."""
    challenge = take_challenge(handle, REGISTER, user)
    label = clean_name(name)
    try:
        parsed = parse_registration_credential_json(_as_json(credential))
        verified = webauthn.verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            require_user_verification=True,
        )
    except PasskeyError:
        raise
    except Exception as exc:
        # The payload is attacker-controlled bytes: any parsing or verification failure,
        # whatever the library raises, is a refusal.
        log.info("refused a passkey registration for account #%s: %s", user.id, exc)
        raise PasskeyError("The passkey could not be verified. Please try again.") from exc
    taken = db.session.scalar(
        select(WebAuthnCredential.id).where(
            WebAuthnCredential.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise PasskeyError("This passkey is already registered.")
    record = WebAuthnCredential(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=label,
    )
    db.session.add(record)
    db.session.flush()
    log.info("account #%s added passkey #%s", user.id, record.id)
    return record


def authentication_options(purpose: str, user: User | None = None) -> tuple[str, str]:
    """Options for navigator.credentials.get(): any discoverable passkey, or this user's."""
    handle, challenge = _new_challenge(purpose, user)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id(),
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(user) if user is not None else [],
        user_verification=UserVerificationRequirement.REQUIRED
        if purpose == SIGN_IN
        else UserVerificationRequirement.PREFERRED,
    )
    return handle, webauthn.options_to_json(options)


def authenticate(handle: object, credential: object, purpose: str, user: User | None = None):
    """Verify an assertion; returns the passkey's owner. `user`: whose second factor it must be.

    Signing in with a passkey alone needs user verification (PIN or biometrics), so the passkey
    is two factors in one; as a second factor after a password, presence is enough.
    """
    challenge = take_challenge(handle, purpose, user)
    try:
        parsed = parse_authentication_credential_json(_as_json(credential))
    except Exception as exc:
        raise PasskeyError("The passkey could not be verified. Please try again.") from exc
    record = db.session.scalar(
        select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id)
    )
    if record is None or (user is not None and record.user_id != user.id):
        raise PasskeyError("This passkey is not registered here.")
    owner = db.session.get(User, record.user_id)
    handle_sent = parsed.response.user_handle
    if handle_sent is not None and handle_sent != user_handle(owner):
        raise PasskeyError("This passkey is not registered here.")
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=record.public_key,
            credential_current_sign_count=record.sign_count,
            require_user_verification=purpose == SIGN_IN,
        )
    except Exception as exc:
        # A wrong origin, RP id, signature or a sign count that went backwards (a cloned key).
        log.info("refused a passkey assertion for passkey #%s: %s", record.id, exc)
        raise PasskeyError("The passkey could not be verified. Please try again.") from exc
    if not owner.is_active:
        raise PasskeyError("This account cannot sign in.")
    record.sign_count = verified.new_sign_count
    record.last_used_at = utcnow()
    log.info("account #%s signed in with passkey #%s", owner.id, record.id)
    return owner


def rename(record: WebAuthnCredential, name: object) -> None:
    """Give a passkey a new label (checked like a new one)."""
    record.name = clean_name(name)


def remove(record: WebAuthnCredential) -> None:
    """Forget a passkey: it signs no one in once the caller commits."""
    log.info("account #%s removed passkey #%s", record.user_id, record.id)
    db.session.delete(record)
