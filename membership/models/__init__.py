"""The models, imported here so Alembic and the app see every table."""

from membership.models.article import AccessLevel, Article, ArticleStatus, Section, Tag
from membership.models.audit import AuditEvent
from membership.models.billing import Interval, StripeEvent, Subscription, Tier
from membership.models.billing_conflict import SubscriptionConflict
from membership.models.comment import (
    Comment,
    CommentLike,
    CommentReport,
    CommentStatus,
    ReportReason,
    ReportStatus,
)
from membership.models.identity import MagicLink, WebAuthnChallenge, WebAuthnCredential
from membership.models.outbox import OutboxEmail
from membership.models.secrets import PendingTotpSecret
from membership.models.setting import CacheVersion, SiteSetting
from membership.models.sponsorship import (
    Frequency,
    Recognition,
    Sponsorship,
    SponsorshipPayment,
    SponsorshipStatus,
)
from membership.models.user import (
    AccountStatus,
    MemberLabel,
    MemberNote,
    RecoveryCode,
    Role,
    User,
    UserSession,
)

__all__ = [
    "AccessLevel",
    "AccountStatus",
    "Article",
    "ArticleStatus",
    "AuditEvent",
    "CacheVersion",
    "Comment",
    "CommentLike",
    "CommentReport",
    "CommentStatus",
    "Frequency",
    "Interval",
    "MagicLink",
    "MemberLabel",
    "MemberNote",
    "OutboxEmail",
    "PendingTotpSecret",
    "Recognition",
    "RecoveryCode",
    "ReportReason",
    "ReportStatus",
    "Role",
    "Section",
    "SiteSetting",
    "Sponsorship",
    "SponsorshipPayment",
    "SponsorshipStatus",
    "StripeEvent",
    "Subscription",
    "SubscriptionConflict",
    "Tag",
    "Tier",
    "User",
    "UserSession",
    "WebAuthnChallenge",
    "WebAuthnCredential",
]
