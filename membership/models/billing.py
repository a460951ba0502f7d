"""Membership tiers, Stripe subscriptions, and the Stripe events already handled."""

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class Interval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


class Tier(db.Model):
    """A membership level: free, or paid monthly/yearly through Stripe."""

    __tablename__ = "tiers"
    __table_args__ = (CheckConstraint("monthly_price >= 0 AND yearly_price >= 0", name="prices"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    benefits: Mapped[list] = mapped_column(JSON, default=list)
    # Prices in minor units (cents) of `currency`.
    monthly_price: Mapped[int] = mapped_column(Integer, default=0)
    yearly_price: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_monthly_price_id: Mapped[str | None] = mapped_column(String(255))
    stripe_yearly_price_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_free(self) -> bool:
        return self.monthly_price == 0 and self.yearly_price == 0

    def price_for(self, interval: str) -> int:
        return self.monthly_price if interval == Interval.MONTH else self.yearly_price

    def stripe_price_for(self, interval: str) -> str | None:
        if interval == Interval.MONTH:
            return self.stripe_monthly_price_id
        return self.stripe_yearly_price_id

    def lookup_key(self, interval: str) -> str:
        """Stable Stripe lookup key: a new price takes it over, old subscribers keep theirs."""
        return f"membership_{self.slug}_{interval}"


class Subscription(db.Model):
    """Our copy of a Stripe subscription to a tier; Stripe is the source of truth."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(None, "user_id", "status"),
        Index(None, "status", "tier_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), index=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    interval: Mapped[str] = mapped_column(String(8), default=Interval.MONTH)
    amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(24))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A downgrade keeps the higher tier until the period the reader paid for ends.
    previous_tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("tiers.id", ondelete="SET NULL")
    )
    previous_tier_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_failed_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    welcomed_tier_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tier: Mapped[Tier | None] = relationship(foreign_keys=[tier_id])
    previous_tier: Mapped[Tier | None] = relationship(foreign_keys=[previous_tier_id])


class StripeEvent(db.Model):
    """A processed Stripe event: the primary key makes every event count once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
