"""The sponsors wall, the monthly goal and the totals: net of refunds and disputes."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, select

from membership.extensions import db
from membership.models import Article, Sponsorship, SponsorshipPayment, User
from membership.models.types import utcnow
from membership.settings import get_setting

# Stopped monthly gifts stay on the wall: the money was given.
LIVE = ("paid", "active", "canceled")
NET = case(
    (SponsorshipPayment.disputed.is_(True), 0),
    else_=SponsorshipPayment.amount - SponsorshipPayment.amount_refunded,
)


@dataclass(frozen=True)
class WallEntry:
    name: str
    amount: int | None  # None when the sponsor chose not to show it
    currency: str
    frequency: str
    message: str
    since: datetime


@dataclass(frozen=True)
class Level:
    name: str
    minimum: int  # minor units
    entries: list[WallEntry]


def _net_per_sponsorship():
    """Net money received per sponsorship (subquery)."""
    return (
        select(
            SponsorshipPayment.sponsorship_id.label("sponsorship_id"),
            func.sum(NET).cast(Integer).label("net"),
        )
        .group_by(SponsorshipPayment.sponsorship_id)
        .subquery()
    )


def wall() -> list[Level]:
    """Live gifts with money still received, as each sponsor chose, newest first, by level."""
    net = _net_per_sponsorship()
    rows = db.session.execute(
        select(Sponsorship, net.c.net)
        .join(net, net.c.sponsorship_id == Sponsorship.id)
        .where(Sponsorship.status.in_(LIVE), net.c.net > 0)
        .order_by(Sponsorship.created_at.desc(), Sponsorship.id.desc())
    ).all()
    levels = sorted(
        ((str(name), int(minimum) * 100) for name, minimum in get_setting("sponsor_levels")),
        key=lambda level: level[1],
    )
    grouped: dict[str, list[WallEntry]] = {name: [] for name, _ in levels}
    for sponsorship, _net in rows:
        level = next(
            (name for name, minimum in reversed(levels) if sponsorship.amount >= minimum),
            levels[0][0],
        )
        anonymous = sponsorship.recognition == "anonymous"
        grouped[level].append(
            WallEntry(
                name="Anonymous" if anonymous else (sponsorship.display_name or "A reader"),
                amount=sponsorship.amount if sponsorship.recognition == "name_amount" else None,
                currency=sponsorship.currency,
                frequency=sponsorship.frequency,
                message="" if anonymous else sponsorship.message,
                since=sponsorship.created_at,
            )
        )
    return [Level(name, minimum, grouped[name]) for name, minimum in reversed(levels)]


@dataclass(frozen=True)
class Goal:
    amount: int  # minor units a month; 0 when no goal is set
    raised: int
    text: str

    @property
    def percent(self) -> int:
        return min(100, round(self.raised * 100 / self.amount)) if self.amount else 0


def monthly_goal() -> Goal:
    """Progress: active monthly gifts, each counted at its amount minus what its latest payment
    lost to refunds or disputes."""
    latest = (
        select(
            SponsorshipPayment.sponsorship_id,
            func.max(SponsorshipPayment.paid_at).label("paid_at"),
        )
        .group_by(SponsorshipPayment.sponsorship_id)
        .subquery()
    )
    lost = case(
        (SponsorshipPayment.disputed.is_(True), SponsorshipPayment.amount),
        else_=SponsorshipPayment.amount_refunded,
    )
    raised = db.session.scalar(
        select(func.coalesce(func.sum(Sponsorship.amount - func.coalesce(lost, 0)), 0))
        .select_from(Sponsorship)
        .join(latest, latest.c.sponsorship_id == Sponsorship.id)
        .join(
            SponsorshipPayment,
            (SponsorshipPayment.sponsorship_id == Sponsorship.id)
            & (SponsorshipPayment.paid_at == latest.c.paid_at),
        )
        .where(Sponsorship.frequency == "monthly", Sponsorship.status == "active")
    )
    return Goal(
        amount=int(get_setting("sponsor_goal_amount") or 0) * 100,
        raised=max(int(raised or 0), 0),
        text=str(get_setting("sponsor_goal_text") or ""),
    )


def totals_since(start: datetime) -> int:
    """Net sponsorship money received since `start`."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(NET), 0)).where(SponsorshipPayment.paid_at >= start)
        )
        or 0
    )


def totals_by_month(months: int = 12) -> list[tuple[str, int]]:
    """(YYYY-MM, net) for the last `months` months, oldest first (months without gifts: 0)."""
    now = utcnow()
    keys = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(now.year * 12 + now.month - 1 - back, 12)
        keys.append(f"{year:04d}-{month + 1:02d}")
    start = datetime.strptime(keys[0], "%Y-%m").replace(tzinfo=now.tzinfo)
    rows = db.session.execute(
        select(SponsorshipPayment.paid_at, NET).where(SponsorshipPayment.paid_at >= start)
    ).all()
    totals: dict[str, int] = dict.fromkeys(keys, 0)
    for paid_at, net in rows:
        key = paid_at.strftime("%Y-%m")
        if key in totals:
            totals[key] += int(net)
    return list(totals.items())


def totals_by_article(limit: int = 20) -> list[tuple[str, str, int]]:
    """(title, slug, net) of the stories that brought the most sponsorship money."""
    rows = db.session.execute(
        select(Article.title, Article.slug, func.sum(NET).cast(Integer))
        .join(Sponsorship, Sponsorship.article_id == Article.id)
        .join(SponsorshipPayment, SponsorshipPayment.sponsorship_id == Sponsorship.id)
        .group_by(Article.id, Article.title, Article.slug)
        .order_by(func.sum(NET).desc())
        .limit(limit)
    ).all()
    return [(title, slug, int(net or 0)) for title, slug, net in rows]


def sponsors_of(user: User) -> list[Sponsorship]:
    return list(
        db.session.scalars(
            select(Sponsorship)
            .where(Sponsorship.user_id == user.id)
            .order_by(Sponsorship.created_at.desc())
        )
    )
