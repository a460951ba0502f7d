"""Secrets at rest: encrypted with keys derived from SECRET_KEY (and its fallbacks) by HKDF.

A stored value reads `v1:<Fernet token>`. Fernet (AES-128-CBC with HMAC-SHA256, from the
`cryptography` package) authenticates what it decrypts, so a value made under a key that is no
longer configured is refused (logged, and read as missing) instead of decrypting to garbage.
The version prefix leaves room for another scheme later; plaintext from before the encryption
migration has no prefix and is refused.

Encryption always uses the current SECRET_KEY; decryption tries it, then each of
SECRET_KEY_FALLBACKS, so a key can be rotated without losing anything
(`flask --app app rotate-secrets` then re-encrypts every value with the current key).
"""

import base64
import logging
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)

PREFIX = "v1:"
# Fixed context: a key derived here is useless to anything else that derives from SECRET_KEY.
HKDF_INFO = b"membership secrets at rest v1"
HKDF_SALT = b"membership.crypto"


class SecretUnreadable(Exception):
    """A stored secret that no configured key can decrypt (or that was never encrypted)."""


def derive_key(secret_key: str | bytes) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) derived from one SECRET_KEY."""
    material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(material))


def secret_keys(config) -> list[str | bytes]:
    """The current SECRET_KEY first, then the fallbacks, newest first as configured."""
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [key for key in keys if key]


def signing_keys(config) -> list[str | bytes]:
    """Keys for itsdangerous signers: oldest first, the current SECRET_KEY last (it signs)."""
    fallbacks = [key for key in config.get("SECRET_KEY_FALLBACKS") or [] if key]
    return [*reversed(fallbacks), config["SECRET_KEY"]]


def configure_key_rotation(app) -> None:
    """Make Flask-WTF's CSRF tokens honour SECRET_KEY_FALLBACKS as Flask's session cookie does.

    Flask-WTF signs with one key (WTF_CSRF_SECRET_KEY or SECRET_KEY); itsdangerous accepts a
    list, signing with the last and verifying with any, so a form opened before a rotation can
    still be submitted after it. An explicit WTF_CSRF_SECRET_KEY is left alone.
    """
    app.config["SECRET_KEY_FALLBACKS"] = list(app.config.get("SECRET_KEY_FALLBACKS") or [])
    if app.config.get("WTF_CSRF_SECRET_KEY") is None and app.config.get("SECRET_KEY"):
        app.config["WTF_CSRF_SECRET_KEY"] = signing_keys(app.config)


class Box:
    """Encrypts with the first key and decrypts with any of them."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise SecretUnreadable("no SECRET_KEY is configured")
        self._fernet = MultiFernet([Fernet(derive_key(key)) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise SecretUnreadable("value is not encrypted with a known scheme")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable("no configured key decrypts this value") from exc

    def rotate(self, stored: str) -> str:
        """The same plaintext, encrypted again under the current key."""
        return self.encrypt(self.decrypt(stored))


def current_box() -> Box:
    """The box for the running app's keys (cached per app; config does not change at run time)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    keys = secret_keys(app.config)
    cached = app.extensions.get("secrets_box")
    if cached is None or cached[0] != keys:
        cached = (keys, Box(keys))
        app.extensions["secrets_box"] = cached
    return cached[1]


class EncryptedField:
    """A model attribute whose column (`column_attr`) holds the ciphertext.

    Reading gives the plaintext, or None when no configured key decrypts it (logged: a secret
    made under a key dropped from the fallbacks stops working rather than breaking the page);
    assigning encrypts under the current key. Needs an application context, which requests and
    `flask` commands always have.
    """

    def __init__(self, column_attr: str) -> None:
        self.column_attr = column_attr

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        stored = getattr(instance, self.column_attr)
        if stored is None:
            return None
        try:
            return current_box().decrypt(stored)
        except SecretUnreadable:
            log.warning(
                "%s #%s: %s cannot be decrypted with the configured keys",
                type(instance).__name__,
                getattr(instance, "id", None),
                self.name,
            )
            return None

    def __set__(self, instance, value: str | None) -> None:
        setattr(instance, self.column_attr, None if value is None else current_box().encrypt(value))
