"""Stripe subscriptions that reconcile could not attach to a member without guessing."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class SubscriptionConflict(db.Model):
    """A subscription whose customer and metadata disagree on the member: reported, not applied."""

    __tablename__ = "subscription_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    # The `user_id` in Stripe's metadata: a number, not a foreign key (it may name no one).
    claimed_user_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
