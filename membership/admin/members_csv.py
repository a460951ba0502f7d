"""The CSV format of the members export and import: columns, cells, dates, formula guard.

Used by `membership.admin.members_io`, which holds the queries and the import rules.
"""

import base64
import csv
import io
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from membership.auth.services import normalize_email
from membership.models import AccountStatus, Role

COLUMNS = (
    "email", "display_name", "role", "status", "status_reason", "suspended_until",
    "confirmed_at", "created_at", "tier", "subscription_status", "complimentary_tier",
    "complimentary_until", "stripe_customer_id", "labels", "sponsorship_total",
)  # fmt: skip
# Stripe's state and money received: exported for reading, accepted in a file and ignored.
EXPORT_ONLY = ("tier", "subscription_status", "stripe_customer_id", "sponsorship_total")
# Used only when the member is new: an import never rewrites history or changes a role.
NEW_MEMBERS_ONLY = ("role", "confirmed_at", "created_at")
DATES = ("suspended_until", "confirmed_at", "created_at", "complimentary_until")
MAX_LENGTH = {"email": 254, "display_name": 60, "status_reason": 1000, "labels": 2000}
DEFAULT_MAX_LENGTH = 60
MAX_LABEL_LENGTH, MAX_LABELS = 40, 50
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such cells,
# and cells that only put quotes before one, get one more leading quote; import removes it.
FORMULA = re.compile(r"'*[=+\-@\t\r]")
QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")


def iso(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, microseconds kept; empty for None."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else ""


FORMULA_STARTS = frozenset("'=+-@\t\r")


def safe_cell(value: str) -> str:
    # The first-character test spares the regex on nearly every cell of a large export.
    if value and value[0] in FORMULA_STARTS and FORMULA.match(value):
        return "'" + value
    return value


def unescape_cell(cell: str) -> str:
    return cell[1:] if QUOTED_FORMULA.match(cell) else cell


def csv_lines(rows: Iterable[list[str]], chunk_size: int = 16 * 1024) -> Iterator[str]:
    """CSV text for `rows`, in chunks of about `chunk_size` characters (one buffer, reused)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def read_records(text: str) -> tuple[list[list[str]], str | None]:
    """The records of a CSV text, and the problem that stopped reading it (or None)."""
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True):
            records.append(record)
    except csv.Error as exc:
        return records, f"this is not valid CSV: {exc}"
    return records, None


def check_header(header: list[str]) -> list[str]:
    """Problems with the (lower-cased) header row."""
    problems = []
    for position, name in enumerate(header, start=1):
        if name not in COLUMNS:
            problems.append(f"column {position}: unknown column {name[:40]!r}")
        elif header.index(name) < position - 1:
            problems.append(f"column {position}: {name!r} appears twice")
    if "email" not in header:
        problems.append(
            "the first row must be a header naming the columns, with at least email "
            f"(columns: {', '.join(COLUMNS)})"
        )
    if "complimentary_until" in header and "complimentary_tier" not in header:
        problems.append("complimentary_until needs a complimentary_tier column")
    return problems


def parse_date(value: str) -> datetime:
    """A date or an ISO 8601 time (UTC when it has no offset), as an aware UTC datetime."""
    if len(value) > 40:
        raise ValueError(value)
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_cells(cells: dict[str, str], tiers: dict[str, int]) -> tuple[dict, list[str]]:
    """Check one row's cells (column -> text): (values of its non-empty cells, problems).

    Tier slugs become tier ids, dates aware datetimes, labels a frozenset (also when empty).
    """
    values: dict[str, object] = {}
    problems = []
    for name, raw in cells.items():
        value = unescape_cell(raw).strip()
        limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
        if name in EXPORT_ONLY or (not value and name != "labels"):
            continue
        if len(value) > limit:
            problems.append(f"{name} is longer than {limit} characters")
        elif name == "email":
            try:
                normalized = validate_email(value, check_deliverability=False).normalized
                values[name] = normalize_email(normalized)
            except EmailNotValidError as exc:
                problems.append(f"email {value!r} is not valid: {exc}")
        elif name in DATES:
            try:
                values[name] = parse_date(value)
            except (ValueError, OverflowError):
                problems.append(f"{name} {value!r} is not a date (use 2025-12-31 or ISO 8601)")
        elif name == "complimentary_tier":
            if value not in tiers:
                known = ", ".join(sorted(tiers)) or "none"
                problems.append(f"unknown tier {value!r} (known: {known})")
            values[name] = tiers.get(value)
        elif name in ("role", "status"):
            allowed = [str(choice) for choice in (Role if name == "role" else AccountStatus)]
            if value.lower() not in allowed:
                problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
            values[name] = value.lower()
        elif name == "labels":
            # As the members page writes them: spaces collapsed, lower case.
            labels = {" ".join(label.split()).lower() for label in value.split(";")} - {""}
            if any(len(label) > MAX_LABEL_LENGTH for label in labels):
                problems.append(f"a label is longer than {MAX_LABEL_LENGTH} characters")
            if len(labels) > MAX_LABELS:
                problems.append(f"more than {MAX_LABELS} labels")
            values[name] = frozenset(labels)
        elif name == "display_name":
            values[name] = " ".join(value.split())
        else:
            values[name] = value
    if not unescape_cell(cells.get("email", "")).strip():
        problems.append("email is missing")
    if values.get("status") in ("suspended", "banned") and not values.get("status_reason"):
        problems.append(f"a {values['status']} member needs a status_reason")
    return values, problems


def unusable_password_hash() -> str:
    """A well-formed argon2id hash of no password: random salt and digest, today's parameters.

    No password matches it, and checking one costs the time of a real check.
    """
    config = current_app.config

    def b64(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")

    return (
        f"$argon2id$v=19$m={config['ARGON2_MEMORY_COST']},t={config['ARGON2_TIME_COST']},"
        f"p={config['ARGON2_PARALLELISM']}${b64(16)}${b64(32)}"
    )
