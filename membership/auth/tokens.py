"""Signed, expiring tokens for links sent by email."""

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from membership.crypto import signing_keys


class TokenInvalid(Exception):
    """The token was tampered with or made for something else."""


class TokenExpired(TokenInvalid):
    """The token is genuine but too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # Signed with SECRET_KEY; links signed with a key in SECRET_KEY_FALLBACKS still open.
    return URLSafeTimedSerializer(signing_keys(current_app.config), salt=f"membership.{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict:
    """Return the payload, or raise TokenExpired / TokenInvalid."""
    serializer = _serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired("token expired") from exc
    except BadSignature as exc:
        raise TokenInvalid(str(exc)) from exc
    if not isinstance(payload, dict):
        raise TokenInvalid("unexpected payload")
    return payload
