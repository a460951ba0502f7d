"""Changing a member's role: an administrator's decision, always audited."""

import logging

from sqlalchemy import func, select

from membership.audit import record
from membership.auth.sessions import revoke_sessions
from membership.extensions import db
from membership.models import Role, User

log = logging.getLogger(__name__)

ROLE_CHOICES = [
    (Role.READER, "Reader"),
    (Role.EDITOR, "Editor: articles, sections, tags and comment settings"),
    (Role.MODERATOR, "Moderator: comments and reports"),
    (Role.ADMIN, "Administrator: everything"),
]


class RoleChangeError(Exception):
    """A role change that is refused; the message is shown as is."""


def parse_role(value: object) -> Role:
    """A role from user input, or RoleChangeError naming the valid ones."""
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise RoleChangeError(f"Unknown role. Choose one of: {names}.") from None


def change_role(actor: User | None, user: User, role: object) -> bool:
    """Give `user` the role; False if they had it already. `actor` None means the command line.

    The user's sessions end: a session opened as a reader (perhaps without a second factor) must
    not carry staff rights, and a demoted editor's open tabs lose theirs at once.
    """
    new = parse_role(role)
    old = user.role
    if new == old:
        return False
    if actor is not None and actor.id == user.id:
        raise RoleChangeError("You cannot change your own role; ask another administrator.")
    if old == Role.ADMIN and _administrators() <= 1:
        raise RoleChangeError("This is the only administrator; make someone else one first.")
    if user.is_banned and new != Role.READER:
        raise RoleChangeError("A banned account cannot be given a staff role.")
    user.role = new
    revoke_sessions(user)
    record(actor, "member.role", user, target_type="user", old=str(old), new=str(new))
    log.info("account #%s is now %s (was %s)", user.id, new, old)
    return True


def _administrators() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN)) or 0
