"""The admin dashboard: figures and monthly series, and the geometry of their charts.

Every figure comes from an aggregate query, so the dashboard runs the same handful of statements
whatever the number of members. Months and days are UTC calendar months and days.

Approximations, shown on the page too:

- *Members over time* counts the accounts that exist now by the month they signed up in; deleted
  accounts leave no row, so they drop out of every month.
- *Monthly recurring revenue over time* is rebuilt from each subscription's creation and end
  dates and its *current* price: a subscription counts in every month end it spanned, at
  today's amount (monthly price, or yearly price / 12). Past price or plan changes, trials, and
  months spent past due are not replayed; subscriptions that never got paid ("incomplete") are
  left out. Only subscriptions in the site currency are summed.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import and_, case, func, literal_column, or_, select, union_all

from membership.access import LIVE_STATUSES, paying_condition
from membership.extensions import db
from membership.models import (
    Comment,
    CommentReport,
    ReportStatus,
    SponsorshipPayment,
    Subscription,
    Tier,
    User,
)
from membership.sponsors.queries import NET, totals_since

MONTHS = 12
# Subscriptions whose first payment never went through: never members, so never churn either.
NEVER_PAID = ("incomplete", "incomplete_expired")


# --- calendar -----------------------------------------------------------------------------------


def month_start(moment: datetime) -> datetime:
    """Midnight on the first day of `moment`'s month (same time zone)."""
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(start: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before) the month starting at `start`."""
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def month_starts(now: datetime, months: int = MONTHS) -> list[datetime]:
    """The first instants of the last `months` months, the current one last."""
    current = month_start(now)
    return [add_months(current, offset) for offset in range(1 - months, 1)]


def _period_ends(starts: Sequence[datetime], now: datetime) -> list[datetime]:
    """Where each month's figure is read: the month's end, or now for the current month."""
    return [min(add_months(start, 1), now) for start in starts]


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    members: int
    confirmed: int
    paying: int
    new_this_month: int
    churned_this_month: int
    comments_today: int
    open_reports: int


def headline(now: datetime) -> Headline:
    """The counts at the top of the dashboard, in one statement."""
    this_month = month_start(now)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def count(column, *conditions):
        return select(func.count(column)).where(*conditions).scalar_subquery()

    row = db.session.execute(
        select(
            count(User.id),
            count(User.id, User.email_confirmed_at.is_not(None)),
            count(User.id, paying_condition(now)),
            count(User.id, User.created_at >= this_month),
            count(
                Subscription.id,
                Subscription.ended_at >= this_month,
                Subscription.status.not_in(NEVER_PAID),
            ),
            count(Comment.id, Comment.created_at >= today),
            count(CommentReport.id, CommentReport.status == ReportStatus.OPEN),
        )
    ).one()
    return Headline(*(int(value or 0) for value in row))


@dataclass(frozen=True)
class TierCount:
    name: str
    subscribers: int
    complimentary: int

    @property
    def total(self) -> int:
        return self.subscribers + self.complimentary


def _effective_tier(now: datetime):
    """SQL twin of `access.effective_tier_id`: a downgrade keeps the old tier until it lapses."""
    return case(
        (
            and_(
                Subscription.previous_tier_id.is_not(None),
                Subscription.previous_tier_until > now,
            ),
            Subscription.previous_tier_id,
        ),
        else_=Subscription.tier_id,
    )


def paying_by_tier(now: datetime) -> list[TierCount]:
    """Paying members per tier: live subscriptions (active, trialing, past due), then
    complimentary tiers of members without one. One statement."""
    subscribed = select(
        Subscription.user_id.label("user_id"),
        _effective_tier(now).label("tier_id"),
        literal_column("1").label("subscribed"),
    ).where(Subscription.status.in_(LIVE_STATUSES), Subscription.user_id.is_not(None))
    live_subscription = (
        select(Subscription.id)
        .where(Subscription.user_id == User.id, Subscription.status.in_(LIVE_STATUSES))
        .exists()
    )
    complimentary = select(
        User.id.label("user_id"),
        User.complimentary_tier_id.label("tier_id"),
        literal_column("0").label("subscribed"),
    ).where(
        User.complimentary_tier_id.is_not(None),
        or_(User.complimentary_until.is_(None), User.complimentary_until > now),
        ~live_subscription,
    )
    members = union_all(subscribed, complimentary).subquery()

    def distinct_users(subscribed: int):
        return func.count(case((members.c.subscribed == subscribed, members.c.user_id)).distinct())

    rows = db.session.execute(
        select(Tier.name, distinct_users(1), distinct_users(0))
        .select_from(members)
        .outerjoin(Tier, Tier.id == members.c.tier_id)
        .group_by(members.c.tier_id, Tier.name, Tier.position)
        .order_by(Tier.position, Tier.name)
    ).all()
    return [TierCount(name or "(no tier)", int(subs), int(comp)) for name, subs, comp in rows]


def _twelve_times_monthly():
    """A subscription's monthly amount times 12 (exact in integers: yearly price as is)."""
    return case(
        (Subscription.interval == "year", Subscription.amount),
        else_=Subscription.amount * 12,
    )


def mrr_by_currency() -> dict[str, int]:
    """Monthly recurring revenue of live subscriptions, minor units per currency."""
    rows = db.session.execute(
        select(Subscription.currency, func.sum(_twelve_times_monthly()))
        .where(Subscription.status.in_(LIVE_STATUSES))
        .group_by(Subscription.currency)
    ).all()
    return {currency.lower(): round(int(total or 0) / 12) for currency, total in rows}


@dataclass(frozen=True)
class MonthValue:
    month: datetime  # the month's first instant
    value: int

    @property
    def label(self) -> str:
        return self.month.strftime("%B %Y")


def members_by_month(now: datetime, months: int = MONTHS) -> tuple[int, list[MonthValue]]:
    """(accounts before the window, accounts at each month's end), oldest first; one statement."""
    starts = month_starts(now, months)
    ends = _period_ends(starts, now)
    columns = [func.count(case((User.created_at < starts[0], 1)))]
    columns += [func.count(case((User.created_at < end, 1))) for end in ends]
    before, *totals = db.session.execute(select(*columns)).one()
    return int(before or 0), [
        MonthValue(start, int(total or 0)) for start, total in zip(starts, totals, strict=True)
    ]


def mrr_by_month(now: datetime, currency: str, months: int = MONTHS) -> list[MonthValue]:
    """Monthly recurring revenue at each month's end (now, for the current month), rebuilt
    from the subscriptions' dates at their current prices; one statement."""
    starts = month_starts(now, months)

    def alive_at(moment: datetime):
        return and_(
            Subscription.created_at < moment,
            or_(
                and_(Subscription.ended_at.is_(None), Subscription.status.in_(LIVE_STATUSES)),
                Subscription.ended_at >= moment,
            ),
        )

    columns = [
        func.coalesce(func.sum(case((alive_at(end), _twelve_times_monthly()), else_=0)), 0)
        for end in _period_ends(starts, now)
    ]
    totals = db.session.execute(
        select(*columns).where(
            Subscription.status.not_in(NEVER_PAID),
            func.lower(Subscription.currency) == currency.lower(),
        )
    ).one()
    return [
        MonthValue(start, round(int(total or 0) / 12))
        for start, total in zip(starts, totals, strict=True)
    ]


def sponsorships_by_month(now: datetime, months: int = MONTHS) -> list[MonthValue]:
    """Net sponsorship money received in each month (refunds and open or lost disputes taken
    out), the current month included; one statement."""
    starts = month_starts(now, months)
    bounds = [*starts, add_months(starts[-1], 1)]
    paid_at = SponsorshipPayment.paid_at
    columns = [
        func.coalesce(func.sum(case((and_(paid_at >= low, paid_at < high), NET), else_=0)), 0)
        for low, high in pairwise(bounds)
    ]
    totals = db.session.execute(select(*columns).where(paid_at >= starts[0])).one()
    return [MonthValue(start, int(total or 0)) for start, total in zip(starts, totals, strict=True)]


@dataclass(frozen=True)
class SponsorTotals:
    this_month: int
    this_year: int


def sponsorship_totals(now: datetime) -> SponsorTotals:
    year_start = month_start(now).replace(month=1)
    return SponsorTotals(totals_since(month_start(now)), totals_since(year_start))


# --- charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class ChartPoint:
    label: str  # short, under the axis ("Mar")
    sublabel: str  # the year, under January and the first month
    title: str  # "March 2025: $1,200", the tooltip of a bar or dot
    x: float  # centre of the slot
    y: float  # top of the bar, or the dot
    bar_x: float
    bar_width: float
    bar_height: float


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" or "line"
    width: int
    height: int
    left: int
    right: int
    top: int
    baseline: float
    ticks: list[Tick]
    points: list[ChartPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


def nice_step(maximum: int, ticks: int = 4, smallest: int = 1) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least `smallest`) so that `ticks` steps
    reach `maximum`."""
    if maximum <= 0:
        return smallest
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw)
    return max(int(step), smallest)


def chart(
    kind: str,
    series: Sequence[MonthValue],
    fmt: Callable[[int], str] = "{:,}".format,
    *,
    smallest_step: int = 1,
    width: int = 640,
    height: int = 240,
) -> Chart:
    """Coordinates of a bar or line chart of monthly values, in SVG user units.

    `smallest_step` keeps the axis in whole units (100 for amounts in cents)."""
    left, right, top, bottom = 72, 12, 12, 44
    plot_width, plot_height = width - left - right, height - top - bottom
    baseline = top + plot_height
    highest = max((point.value for point in series), default=0)
    step = nice_step(highest, smallest=smallest_step)
    steps = max(1, math.ceil(highest / step))
    ceiling = step * steps
    ticks = [
        Tick(y=round(baseline - plot_height * index / steps, 1), text=fmt(step * index))
        for index in range(steps + 1)
    ]
    slot = plot_width / max(len(series), 1)
    points = []
    for index, point in enumerate(series):
        x = left + slot * (index + 0.5)
        bar_height = plot_height * point.value / ceiling if point.value > 0 else 0
        first = index == 0 or point.month.month == 1
        points.append(
            ChartPoint(
                label=point.month.strftime("%b"),
                sublabel=point.month.strftime("%Y") if first else "",
                title=f"{point.label}: {fmt(point.value)}",
                x=round(x, 1),
                y=round(baseline - bar_height, 1),
                bar_x=round(x - slot * 0.35, 1),
                bar_width=round(slot * 0.7, 1),
                bar_height=round(bar_height, 1),
            )
        )
    return Chart(kind, width, height, left, right, top, baseline, ticks, points)


def describe(series: Sequence[MonthValue], fmt: Callable[[int], str] = "{:,}".format) -> str:
    """A sentence for the chart's <desc>: first, last and highest month."""
    if not series:
        return "No data."
    first, last = series[0], series[-1]
    if all(point.value == 0 for point in series):
        return f"{fmt(0)} in every month from {first.label} to {last.label}."
    highest = max(series, key=lambda point: point.value)
    return (
        f"{fmt(first.value)} in {first.label}, {fmt(last.value)} in {last.label}; "
        f"highest {fmt(highest.value)} in {highest.label}. Every month is in the figures below."
    )
