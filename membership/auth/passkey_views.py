"""Signing in with a passkey: alone (discoverable credentials) or as the second factor.

The browser side is static/passkeys.js; these endpoints speak JSON and take the CSRF token in the
X-CSRFToken header. Every refusal is a 400 with a message the page shows.
"""

from flask import current_app, jsonify, request, session, url_for
from flask_login import current_user

from membership.auth import passkeys
from membership.auth.signin import complete_sign_in, pending_second_factor
from membership.auth.views import _login_ip_limit, bp
from membership.extensions import db, limiter
from membership.models import User
from membership.urls import next_url

CHALLENGE_KEY = "passkey_challenge"


def refusal(message: str, status: int = 400):
    """A JSON error the page shows to the reader."""
    return jsonify(error=message), status


def options_response(handle: str, options: str):
    """Remember the challenge's handle in this browser's session; send the options.

    A challenge this browser was given before and never used is dropped now.
    """
    passkeys.discard_challenge(session.get(CHALLENGE_KEY))
    db.session.commit()
    session[CHALLENGE_KEY] = handle
    return current_app.response_class(options, mimetype="application/json")


def credential_from_body():
    """The credential the browser sent, or None (the service refuses it after spending the
    challenge, so a malformed attempt still uses up its challenge)."""
    body = request.get_json(silent=True)
    return body.get("credential") if isinstance(body, dict) else None


@bp.route("/login/passkey/options", methods=["POST"])
@limiter.limit(_login_ip_limit)
def passkey_options():
    """A challenge for signing in with any passkey this site knows."""
    handle, options = passkeys.authentication_options(passkeys.SIGN_IN)
    db.session.commit()
    return options_response(handle, options)


@bp.route("/login/passkey", methods=["POST"])
@limiter.limit(_login_ip_limit)
def passkey_sign_in():
    """Verify the assertion and sign its owner in: no password, no further step."""
    if current_user.is_authenticated:
        return refusal("You are already signed in.", 409)
    credential = credential_from_body()
    try:
        user = passkeys.authenticate(session.pop(CHALLENGE_KEY, None), credential, passkeys.SIGN_IN)
    except passkeys.PasskeyError as error:
        db.session.commit()  # the challenge is spent even when the attempt fails
        return refusal(str(error))
    destination = next_url(url_for("articles.home"))
    return jsonify(redirect=complete_sign_in(user, remember=False, destination=destination))


def _pending_user() -> User | None:
    pending = pending_second_factor()
    return db.session.get(User, pending["uid"]) if pending else None


@bp.route("/login/two-factor/passkey/options", methods=["POST"])
@limiter.limit(_login_ip_limit)
def passkey_second_factor_options():
    """A challenge for one of the half-signed-in user's passkeys."""
    user = _pending_user()
    if user is None:
        return refusal("Please sign in again.", 401)
    handle, options = passkeys.authentication_options(passkeys.SECOND_FACTOR, user)
    db.session.commit()
    return options_response(handle, options)


@bp.route("/login/two-factor/passkey", methods=["POST"])
@limiter.limit(_login_ip_limit)
def passkey_second_factor():
    """The second step with a passkey instead of a TOTP code."""
    pending = pending_second_factor()
    user = db.session.get(User, pending["uid"]) if pending else None
    if user is None:
        return refusal("Please sign in again.", 401)
    credential = credential_from_body()
    try:
        passkeys.authenticate(
            session.pop(CHALLENGE_KEY, None), credential, passkeys.SECOND_FACTOR, user
        )
    except passkeys.PasskeyError as error:
        db.session.commit()
        return refusal(str(error))
    destination = complete_sign_in(
        user, remember=pending.get("remember", False), destination=pending.get("next")
    )
    return jsonify(redirect=destination)
