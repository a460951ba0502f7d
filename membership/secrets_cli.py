"""`flask rotate-secrets`: re-encrypt every secret at rest under the current SECRET_KEY."""

from dataclasses import dataclass, field

import click
from flask.cli import with_appcontext
from sqlalchemy import Table, select, update

from membership.crypto import SecretUnreadable, current_box
from membership.extensions import db
from membership.models import OutboxEmail, PendingTotpSecret, User

BATCH = 500


def encrypted_columns() -> list[tuple[Table, str]]:
    """Every column that holds a secret encrypted by membership/crypto.py."""
    return [
        (User.__table__, "totp_secret"),
        (PendingTotpSecret.__table__, "secret"),
        (OutboxEmail.__table__, "text_body"),
        (OutboxEmail.__table__, "html_body"),
    ]


@dataclass
class RotationReport:
    """How many values were re-encrypted, and which ones no configured key could read."""

    rotated: int = 0
    unreadable: list[str] = field(default_factory=list)


def rotate_secrets() -> RotationReport:
    """Re-encrypt each stored secret with the current key (flushes; the caller commits).

    A value no configured key decrypts is left as it is and reported: dropping the key that made
    it would lose it for good, so the caller should keep that key among the fallbacks.
    """
    box = current_box()
    report = RotationReport()
    for table, name in encrypted_columns():
        column = table.c[name]
        (key,) = table.primary_key.columns
        last = None
        while True:
            query = select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
            if last is not None:
                query = query.where(key > last)
            rows = db.session.execute(query).all()
            if not rows:
                break
            for row_id, stored in rows:
                try:
                    value = box.rotate(stored)
                except SecretUnreadable:
                    report.unreadable.append(f"{table.name}.{name} #{row_id}")
                    continue
                db.session.execute(update(table).where(key == row_id).values({name: value}))
                report.rotated += 1
            last = rows[-1][0]
    db.session.flush()
    return report


@click.command("rotate-secrets")
@with_appcontext
def rotate_secrets_command() -> None:
    """Re-encrypt every secret at rest with the current SECRET_KEY (run after a key rotation)."""
    report = rotate_secrets()
    db.session.commit()
    click.echo(f"Re-encrypted {report.rotated} secret(s) with the current SECRET_KEY.")
    if report.unreadable:
        for item in report.unreadable:
            click.echo(f"unreadable with every configured key: {item}", err=True)
        raise click.ClickException(
            f"{len(report.unreadable)} secret(s) could not be decrypted: keep the key that made "
            "them in SECRET_KEY_FALLBACKS, or clear them (two-factor: turn it off and on again)."
        )
    click.echo("Old keys can now be removed from SECRET_KEY_FALLBACKS once sessions and emailed")
    click.echo("links made under them may expire (30 days for sessions, 3 days for links).")
