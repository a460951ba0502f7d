"""`flask set-role EMAIL ROLE`: give an existing account a role from the command line."""

import click
from flask.cli import with_appcontext

from membership.admin.roles import RoleChangeError, change_role
from membership.auth.second_factor import has_second_factor
from membership.auth.services import find_user_by_email
from membership.extensions import db


@click.command("set-role")
@with_appcontext
@click.argument("email")
@click.argument("role")
def set_role(email: str, role: str) -> None:
    """Make an account a reader, editor, moderator or admin (audited; its sessions end)."""
    if len(email) > 254 or "\x00" in email:
        raise click.ClickException("No account uses that email address.")
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException("No account uses that email address.")
    try:
        changed = change_role(None, user, role)
    except RoleChangeError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    if not changed:
        click.echo(f"{user.email} is already {user.role}.")
        return
    click.echo(f"{user.email} is now {user.role}.")
    if user.is_staff and not has_second_factor(user):
        click.echo("Staff need two-factor sign-in: they will be asked to set it up.")
