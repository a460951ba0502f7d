"""`flask members export` and `flask members import`: the admin area's CSV, from a shell."""

import sys
from collections.abc import Iterable

import click
from flask.cli import AppGroup

from membership.admin.members_csv import csv_lines
from membership.admin.members_io import (
    ImportRefused,
    apply_import,
    export_rows,
    filtered_members_query,
    parse_import,
)
from membership.audit import record
from membership.extensions import db

members_group = AppGroup("members", help="Export and import members as CSV.")


def _progress(label: str):
    def wrap(items: Iterable) -> Iterable:
        items = list(items)
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


@members_group.command("export")
@click.argument("file", type=click.File("wb"), default="-")
@click.option("--q", "q", default="", help="Email or name prefix.")
@click.option("--status", default="", help="active, suspended or banned.")
@click.option("--label", default="", help="Only members with this label.")
def members_export(file, q: str, status: str, label: str) -> None:
    """Write the members as CSV to FILE (standard output by default)."""
    filters = {
        key: value for key, value in {"q": q, "status": status, "label": label}.items() if value
    }
    record(None, "members.export", target_type="members", filters=filters, via="cli")
    db.session.commit()
    for chunk in csv_lines(export_rows(filtered_members_query(filters))):
        file.write(chunk.encode("utf-8"))


@members_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check the file and show the plan; write nothing.")
def members_import(file, dry_run: bool) -> None:
    """Import members from a CSV FILE: the whole file, or nothing if any row has a problem."""
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException("The file is not UTF-8 text. Save it as CSV (UTF-8).") from exc
    plan = parse_import(text, progress=_progress("Checking"))
    for error in plan.errors:
        click.echo(f"row {error.row}: {error.message}", err=True)
    if plan.errors:
        raise click.ClickException(f"{len(plan.errors)} problem(s); nothing was imported.")
    counts = plan.counts()
    summary = f"{counts['create']} new, {counts['update']} updated, {counts['unchanged']} unchanged"
    if dry_run:
        for action in plan.actions:
            if action.kind != "unchanged":
                click.echo(
                    f"row {action.row}: {action.kind} {action.email}: {'; '.join(action.changes)}"
                )
        click.echo(f"Dry run, nothing written: {summary}.")
        return
    try:
        apply_import(plan, None, progress=_progress("Importing"))
    except ImportRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Imported: {summary}.")
