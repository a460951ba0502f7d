"""Who may read and who counts as paying: the single place billing plugs into."""

from sqlalchemy import select

from membership.extensions import db
from membership.models import AccessLevel, Article, User
from membership.models.types import utcnow


def has_paid_access(user: User | None) -> bool:
    """An active paying or complimentary membership."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    until = user.complimentary_until
    return until is not None and until > utcnow()


def may_read(user: User | None, article: Article) -> bool:
    """The one answer to "may this user read this article's body?"."""
    if article.access_level == AccessLevel.PUBLIC:
        return True
    if user is None or not user.is_authenticated:
        return False
    if article.access_level == AccessLevel.MEMBERS or user.is_staff:
        return True
    return has_paid_access(user)


def supporter_badges(user_ids: set[int]) -> dict[int, str]:
    """Badge label per author among `user_ids`, in one query (members now; sponsors later)."""
    if not user_ids:
        return {}
    now = utcnow()
    rows = db.session.execute(
        select(User.id).where(User.id.in_(user_ids), User.complimentary_until > now)
    )
    return {user_id: "Member" for (user_id,) in rows}
