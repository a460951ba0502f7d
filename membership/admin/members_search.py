"""Finding members: the filters of /admin/members (and of the export), and its pager.

Built for 100,000 members: prefix searches that indexes serve (`_search`), a count that stops
at COUNT_CAP, and plan, tier and sponsor filters as correlated EXISTS that only the rows a page
or the capped count reads ever probe (`_has_live_subscription`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import Select, and_, exists, func, or_, select

from membership.access import LIVE_STATUSES, sponsor_condition
from membership.extensions import db
from membership.models import MemberLabel, Role, Subscription, Tier, User
from membership.models.types import utcnow

SORTS = {
    "newest": (User.created_at.desc(), User.id.desc()),
    "oldest": (User.created_at.asc(), User.id.asc()),
    "email": (User.email.asc(),),
    "name": (User.display_name.asc(), User.id.asc()),
}


def _date(value: str | None, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


def _like_prefix(column, q: str):
    """`column LIKE 'q%'` with q's wildcards escaped."""
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return column.like(pattern, escape="\\")


def _search(q: str):
    """Email or name starting with `q` (lower case), in a form each database's indexes serve.

    PostgreSQL: `LIKE 'q%'` on the email (`ix_users_email_pattern`) and on
    `lower(display_name)` (`ix_users_display_name_lower`), both with pattern operator classes.
    SQLite: its LIKE ignores ASCII case, so it can use `ix_users_display_name_nocase` (a NOCASE
    index) for the name; the email index is BINARY, so the email gets an explicit range too.
    """
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    email = _like_prefix(User.email, q)
    if sqlite:
        email = and_(User.email >= q, User.email < q + "\U0010ffff", email)
    if "@" in q:
        return email
    name = User.display_name if sqlite else func.lower(User.display_name)
    return or_(email, _like_prefix(name, q))


def _has_live_subscription(tier_id=None):
    """EXISTS a live subscription of the member (to `tier_id` if given).

    Correlated on purpose: every query here stops early (a page of 50, a count capped at
    COUNT_CAP), so probing `ix_subscriptions_user_id_status` for the rows read is cheaper than
    hashing every live subscription first; an exact count over 100,000 members is what made
    the per-row probes slow before.
    """
    condition = exists().where(
        Subscription.user_id == User.id, Subscription.status.in_(LIVE_STATUSES)
    )
    return condition if tier_id is None else condition.where(Subscription.tier_id == tier_id)


def filtered_members_query(args: Mapping) -> Select:
    """Members matching the list's filters (q, status, tier, plan, sponsor, joined, 2FA, label)."""
    now = utcnow()
    query = select(User)
    q = (args.get("q") or "").strip().lower()[:254]
    if q:
        query = query.where(_search(q))
    if args.get("status") in ("active", "suspended", "banned"):
        query = query.where(User.status == args["status"])
    if args.get("role") in tuple(Role):
        query = query.where(User.role == args["role"])
    tier = args.get("tier")
    if tier:
        tier_id = select(Tier.id).where(Tier.slug == tier).scalar_subquery()
        query = query.where(
            or_(_has_live_subscription(tier_id), User.complimentary_tier_id == tier_id)
        )
    plan = args.get("plan")
    complimentary = and_(
        User.complimentary_tier_id.is_not(None),
        or_(User.complimentary_until.is_(None), User.complimentary_until > now),
    )
    if plan == "paying":
        query = query.where(_has_live_subscription())
    elif plan == "complimentary":
        query = query.where(complimentary)
    elif plan == "free":
        query = query.where(~complimentary, ~_has_live_subscription())  # not paying_condition
    if args.get("sponsor") == "yes":
        query = query.where(sponsor_condition(now))
    joined_from, joined_to = _date(args.get("from")), _date(args.get("to"), end=True)
    if joined_from:
        query = query.where(User.created_at >= joined_from)
    if joined_to:
        query = query.where(User.created_at <= joined_to)
    if args.get("twofa") == "on":
        query = query.where(User.totp_enabled_at.is_not(None))
    elif args.get("twofa") == "off":
        query = query.where(User.totp_enabled_at.is_(None))
    if args.get("label"):
        query = query.where(
            exists().where(MemberLabel.user_id == User.id, MemberLabel.label == args["label"])
        )
    return query.order_by(*SORTS.get(args.get("sort") or "newest", SORTS["newest"]))


@dataclass(frozen=True)
class MemberPage:
    """One page of the members list, with a count that stops at COUNT_CAP.

    Counting every match of a broad filter costs a scan of the whole selection on each page
    view; past COUNT_CAP the page says "10,000+" instead, and Next is known from one extra row.
    """

    items: list[User]
    page: int
    per_page: int
    total: int
    capped: bool

    @property
    def pages(self) -> int:
        return max(-(-self.total // self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total or (
            self.capped and len(self.items) == self.per_page
        )

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def total_text(self) -> str:
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"

    @property
    def pages_text(self) -> str:
        return f"{self.pages:,}+" if self.capped else f"{self.pages:,}"


COUNT_CAP = 1_000


def members_page(query: Select, page: int, per_page: int) -> MemberPage:
    """A page of `query` (offset pages) and its count, capped at COUNT_CAP."""
    rows = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    items = rows[:per_page]
    matches = query.with_only_columns(User.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(matches)) or 0
    return MemberPage(items, page, per_page, min(total, COUNT_CAP), total > COUNT_CAP)
