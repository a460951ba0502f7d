"""Sponsorships (one-time and monthly gifts) and the payments that fund them."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from membership.extensions import db
from membership.models.types import UTCDateTime, utcnow


class Frequency(enum.StrEnum):
    ONCE = "once"
    MONTHLY = "monthly"


class Recognition(enum.StrEnum):
    NAME_AND_AMOUNT = "name_amount"
    NAME_ONLY = "name_only"
    ANONYMOUS = "anonymous"


class SponsorshipStatus(enum.StrEnum):
    PENDING = "pending"  # an asynchronous payment method has not settled yet
    PAID = "paid"  # a one-time gift that arrived
    ACTIVE = "active"  # a monthly gift that renews
    CANCELED = "canceled"  # a monthly gift that stopped
    FAILED = "failed"  # the payment never arrived


class Sponsorship(db.Model):
    """One reader's (or guest's) gift: what they give and how they want to be recognised."""

    __tablename__ = "sponsorships"
    __table_args__ = (
        CheckConstraint("frequency IN ('once', 'monthly')", name="frequency"),
        CheckConstraint(
            "recognition IN ('name_amount', 'name_only', 'anonymous')", name="recognition"
        ),
        CheckConstraint(
            "status IN ('pending', 'paid', 'active', 'canceled', 'failed')", name="status"
        ),
        CheckConstraint("amount > 0", name="amount"),
        Index(None, "status", "created_at"),
        Index(None, "email"),
        Index(None, "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    frequency: Mapped[str] = mapped_column(String(8))
    # In minor units; for a monthly gift, the current monthly amount.
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(String(500), default="")
    recognition: Mapped[str] = mapped_column(String(16))
    show_badge: Mapped[bool] = mapped_column(Boolean, default=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=SponsorshipStatus.PENDING)
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    thanked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payments: Mapped[list["SponsorshipPayment"]] = relationship(
        back_populates="sponsorship", order_by="SponsorshipPayment.paid_at"
    )


class SponsorshipPayment(db.Model):
    """Money received for a gift: one payment for a one-time gift, one a month for a monthly one."""

    __tablename__ = "sponsorship_payments"
    __table_args__ = (Index(None, "paid_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsorship_id: Mapped[int] = mapped_column(
        ForeignKey("sponsorships.id", ondelete="CASCADE"), index=True
    )
    # The payment intent (one-time) or the invoice (monthly) it came from: counted once.
    stripe_reference: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    amount_refunded: Mapped[int] = mapped_column(Integer, default=0)
    # An open or lost dispute takes the money out of every total until it is won.
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sponsorship: Mapped[Sponsorship] = relationship(back_populates="payments")

    @property
    def net(self) -> int:
        return 0 if self.disputed else max(self.amount - self.amount_refunded, 0)
