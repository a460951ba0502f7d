"""Password hashing (argon2id) and the password policy."""

import unicodedata
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def normalize(password: str) -> str:
    """NFKC-normalise so the same passphrase typed on any keyboard matches."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher().hash(normalize(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, normalize(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with parameters other than today's."""
    return _hasher().check_needs_rehash(password_hash)


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return PasswordHasher(time_cost, memory_cost, parallelism).hash("not-a-real-password")


def burn_verification_time(password: str) -> None:
    """Spend the time of a real check so an unknown email is not faster than a known one."""
    config = current_app.config
    dummy = _dummy_hash(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )
    verify_password(dummy, password)


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, shipped offline with the zxcvbn package."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", display_name: str = "") -> str | None:
    """Why this password is not acceptable, or None. No composition rules, on purpose."""
    normalized = normalize(password)
    if len(normalized) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few words make a strong passphrase."
    if len(normalized) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = normalized.casefold()
    if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
        return "This password is too common. Please choose another."
    if email and folded in {email.casefold(), email.split("@")[0].casefold()}:
        return "Do not use your email address as your password."
    if display_name and folded == display_name.casefold():
        return "Do not use your name as your password."
    if len(set(folded)) < 4:
        return "This password repeats too few characters. Please choose another."
    return None
