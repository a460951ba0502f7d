"""The models, imported here so Alembic and the app see every table."""

from membership.models.article import AccessLevel, Article, ArticleStatus, Section, Tag
from membership.models.outbox import OutboxEmail
from membership.models.user import AccountStatus, Role, User, UserSession

__all__ = [
    "AccessLevel",
    "AccountStatus",
    "Article",
    "ArticleStatus",
    "OutboxEmail",
    "Role",
    "Section",
    "Tag",
    "User",
    "UserSession",
]
