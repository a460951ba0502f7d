"""Sponsorship rules: checkout, fulfilment from verified Stripe events, refunds, disputes.

Nothing is stored before Stripe says money arrived: the gift's details travel in the Checkout
Session's metadata, and one idempotent function turns a paid session (or a paid invoice of a
monthly gift) into rows. So an abandoned or failed checkout leaves nothing behind.
"""

import hashlib
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from membership.access import LIVE_STATUSES
from membership.billing import stripe_gateway as gateway
from membership.billing.services import customer_id_for
from membership.extensions import db
from membership.mail import external_url, queue_email
from membership.models import (
    Article,
    ArticleStatus,
    Frequency,
    Recognition,
    Sponsorship,
    SponsorshipPayment,
    SponsorshipStatus,
    User,
)
from membership.models.types import utcnow
from membership.settings import get_setting

log = logging.getLogger(__name__)
KIND = "sponsorship"


class SponsorshipRefused(Exception):
    """A sponsorship action the rules do not allow; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


def bounds() -> tuple[int, int]:
    return int(get_setting("sponsor_min")), int(get_setting("sponsor_max"))


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


def start_checkout(
    user: User | None,
    *,
    amount: Decimal,
    frequency: str,
    recognition: str,
    message: str,
    article_slug: str | None,
    requester_key: str,
    public_name: str,
) -> str:
    """Validate on the server again and create the Checkout Session; returns its URL."""
    low, high = bounds()
    if not isinstance(amount, Decimal) or not low <= amount <= high or amount != round(amount, 2):
        raise SponsorshipRefused(f"Choose an amount between {low:,} and {high:,}.", 422)
    if frequency not in (Frequency.ONCE, Frequency.MONTHLY):
        raise SponsorshipRefused("Choose once or monthly.", 422)
    if recognition not in set(Recognition):
        raise SponsorshipRefused("Choose how you want to appear on the wall.", 422)
    if len(message) > 500:
        raise SponsorshipRefused("Messages are at most 500 characters.", 422)
    public_name = " ".join(public_name.split())[:80]
    signed_in = user is not None and user.is_authenticated
    if signed_in and (user.is_suspended or user.is_banned):
        raise SponsorshipRefused("Your account is suspended: payments are not possible now.")
    if frequency == Frequency.MONTHLY and not (signed_in and user.is_confirmed):
        raise SponsorshipRefused(
            "Monthly sponsorships need a confirmed account, so that you can change or stop them."
        )
    article = None
    if article_slug:
        article = db.session.scalar(
            select(Article).where(
                Article.slug == article_slug, Article.status == ArticleStatus.PUBLISHED
            )
        )
    currency = str(get_setting("currency"))
    minor = to_minor(amount)
    metadata = {
        "kind": KIND,
        "frequency": frequency,
        "recognition": recognition,
        "message": message,
        "article": str(article.id) if article is not None else "",
        "user_id": str(user.id) if signed_in else "",
        "name": public_name or (user.display_name if signed_in else ""),
    }
    name = "Monthly sponsorship" if frequency == Frequency.MONTHLY else "Sponsorship"
    price_data = {
        "currency": currency,
        "unit_amount": minor,
        "product_data": {"name": f"{name} of the newsroom"},
    }
    params: dict = {
        "client_reference_id": str(user.id) if signed_in else None,
        "metadata": metadata,
        "success_url": external_url("sponsors.thanks") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": external_url("sponsors.sponsor"),
    }
    if frequency == Frequency.MONTHLY:
        price_data["recurring"] = {"interval": "month"}
        params.update(mode="subscription", subscription_data={"metadata": metadata})
    else:
        params.update(
            mode="payment", submit_type="donate", payment_intent_data={"metadata": metadata}
        )
    params["line_items"] = [{"price_data": price_data, "quantity": 1}]
    customer_id = customer_id_for(user) if signed_in else None
    if customer_id:
        params["customer"] = customer_id
    params = {key: value for key, value in params.items() if value is not None}
    # The requester is part of the scope: two guests giving the same gift must not share one
    # session. The gateway adds the digest of the parameters (amount, metadata, customer...).
    requester = hashlib.sha256(requester_key.encode()).hexdigest()[:16]
    session = gateway.create_checkout_session(
        params, key_scope=f"sponsor-{requester}-{int(time.time() // 600)}"
    )
    return session["url"]


# --- fulfilment -------------------------------------------------------------------------------


def _metadata(obj: dict) -> dict:
    return obj.get("metadata") or {}


def is_sponsorship(obj: dict) -> bool:
    return _metadata(obj).get("kind") == KIND


def _user_from(metadata: dict, email: str | None) -> User | None:
    if str(metadata.get("user_id")).isdigit():  # our metadata: the account's id, or ""
        user = db.session.get(User, int(metadata["user_id"]))
        if user is not None:
            return user
    if email:
        # A guest whose email already belongs to a confirmed account: link at once.
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is not None and user.is_confirmed:
            return user
    return None


def _upsert(key_column, key_value: str, values: dict) -> Sponsorship:
    """The gift recorded under `key_value`, created from `values` the first time."""
    sponsorship = db.session.scalar(select(Sponsorship).where(key_column == key_value))
    if sponsorship is not None:
        return sponsorship
    sponsorship = Sponsorship(**values)
    try:
        with db.session.begin_nested():
            db.session.add(sponsorship)
    except IntegrityError:  # a concurrent delivery created it first
        return db.session.scalar(select(Sponsorship).where(key_column == key_value))
    return sponsorship


def _new_sponsorship_values(metadata: dict, *, email, name, amount, currency, customer) -> dict:
    user = _user_from(metadata, email)
    recognition = metadata.get("recognition")
    if recognition not in set(Recognition):
        recognition = Recognition.ANONYMOUS
    article_id = metadata.get("article")
    return {
        "user_id": user.id if user else None,
        "email": (email or (user.email if user else None) or None),
        "display_name": (metadata.get("name") or name or (user.display_name if user else "") or "")[
            :80
        ],
        "frequency": metadata.get("frequency") or Frequency.ONCE,
        "amount": amount,
        "currency": currency,
        "message": metadata.get("message") or "",  # Stripe keeps at most 500 characters
        "recognition": recognition,
        "show_badge": recognition != Recognition.ANONYMOUS,
        "article_id": int(article_id) if str(article_id).isdigit() else None,
        "stripe_customer_id": customer,
    }


def fulfil_session(session: dict) -> Sponsorship | None:
    """Turn a completed sponsorship checkout into a gift (idempotent; any number of calls)."""
    if not is_sponsorship(session):
        return None
    metadata = _metadata(session)
    details = session.get("customer_details") or {}
    # Never "no_payment_required": a gift is at least the minimum amount, with no coupons.
    paid = session.get("payment_status") == "paid"
    values = _new_sponsorship_values(
        metadata,
        email=details.get("email"),  # what the sponsor typed (we never prefill customer_email)
        name=details.get("name"),
        amount=int(session["amount_total"]),  # a completed Checkout Session has both
        currency=session["currency"],
        customer=stripe_id(session.get("customer")),
    )
    if session.get("mode") == "subscription":
        subscription_id = stripe_id(session.get("subscription"))
        if not subscription_id:
            return None
        values.update(stripe_subscription_id=subscription_id)
        sponsorship = _upsert(Sponsorship.stripe_subscription_id, subscription_id, values)
    else:
        intent_id = stripe_id(session.get("payment_intent"))
        if not intent_id:
            return None
        values.update(stripe_payment_intent_id=intent_id)
        sponsorship = _upsert(Sponsorship.stripe_payment_intent_id, intent_id, values)
        if paid:
            _record_one_time_payment(sponsorship, intent_id)
    sponsorship.stripe_checkout_session_id = session["id"]
    # A new gift starts pending (the model's default); a bank debit still on its way stays so,
    # out of the wall, the goal and the badges, until its money arrives.
    if paid and sponsorship.status == SponsorshipStatus.PENDING:
        monthly = sponsorship.frequency == Frequency.MONTHLY
        sponsorship.status = SponsorshipStatus.ACTIVE if monthly else SponsorshipStatus.PAID
    db.session.flush()
    if paid:
        _thank(sponsorship)
    return sponsorship


def fail_session(session: dict) -> None:
    """An asynchronous payment (bank debit) that did not go through."""
    intent_id = stripe_id(session.get("payment_intent"))
    if intent_id:
        db.session.execute(
            update(Sponsorship)
            .where(Sponsorship.stripe_payment_intent_id == intent_id)
            .values(status=SponsorshipStatus.FAILED)
        )


def stripe_id(value) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _add_payment(sponsorship: Sponsorship, reference: str, charge: dict | None, amount: int):
    exists = db.session.scalar(
        select(SponsorshipPayment.id).where(SponsorshipPayment.stripe_reference == reference)
    )
    if exists is not None:
        return
    payment = SponsorshipPayment(
        sponsorship_id=sponsorship.id,
        stripe_reference=reference,
        stripe_charge_id=(charge or {}).get("id"),
        amount=amount,
        amount_refunded=int((charge or {}).get("amount_refunded") or 0),
        disputed=bool((charge or {}).get("disputed")),
        receipt_url=(charge or {}).get("receipt_url"),
        paid_at=datetime.fromtimestamp((charge or {}).get("created") or time.time(), UTC),
    )
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError:
        pass  # a concurrent delivery recorded it


def _record_one_time_payment(sponsorship: Sponsorship, intent_id: str) -> None:
    intent = gateway.retrieve_payment_intent(intent_id)
    charge = intent.get("latest_charge")  # expanded by the gateway: a charge, not an id
    amount = int(intent["amount_received"])  # what a succeeded payment collected
    _add_payment(sponsorship, intent_id, charge, amount)


def record_invoice(invoice: dict) -> None:
    """A monthly gift's invoice was paid (the first one or a renewal): count it once."""
    invoice = gateway.retrieve_invoice(invoice["id"])
    # Read at our API version, where the invoice names its subscription only under `parent`.
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = stripe_id(details.get("subscription"))
    if not subscription_id or invoice.get("status") != "paid":
        return
    subscription = gateway.retrieve_subscription(subscription_id)
    if not is_sponsorship(subscription):
        return
    sponsorship = sync_subscription(subscription)
    charge = None
    for payment in ((invoice.get("payments") or {}).get("data")) or []:
        intent_id = stripe_id((payment.get("payment") or {}).get("payment_intent"))
        if intent_id:
            intent = gateway.retrieve_payment_intent(intent_id)
            charge = intent.get("latest_charge")  # expanded by the gateway
    _add_payment(sponsorship, invoice["id"], charge, int(invoice["amount_paid"]))
    db.session.flush()
    _thank(sponsorship)


def sync_subscription(subscription: dict) -> Sponsorship:
    """A monthly gift's current state from Stripe's subscription (created if still missing)."""
    # Our gifts are one item at one fixed price; Stripe always returns its amount and currency.
    price = subscription["items"]["data"][0]["price"]
    metadata = _metadata(subscription)
    # No email or name of Stripe's here: the account in our metadata supplies both.
    values = _new_sponsorship_values(
        metadata,
        email=None,
        name=None,
        amount=int(price["unit_amount"]),
        currency=price["currency"],
        customer=stripe_id(subscription.get("customer")),
    )
    values.update(stripe_subscription_id=subscription["id"])
    sponsorship = _upsert(Sponsorship.stripe_subscription_id, subscription["id"], values)
    sponsorship.amount = int(price["unit_amount"])  # the reader may have changed it
    if subscription.get("status") in ("canceled", "incomplete_expired", "unpaid"):
        sponsorship.status = SponsorshipStatus.CANCELED
        sponsorship.canceled_at = sponsorship.canceled_at or utcnow()
    elif subscription.get("status") in LIVE_STATUSES:
        sponsorship.status = SponsorshipStatus.ACTIVE
    # Else (first seen `incomplete` or `paused`): a new gift stays pending, the model's default,
    # out of the wall, the goal and the badges until its first payment arrives.
    db.session.flush()
    return sponsorship


def _thank(sponsorship: Sponsorship) -> None:
    """One thank-you per gift (the first payment), with the receipt details."""
    if sponsorship.thanked_at is not None or not sponsorship.email:
        return
    sponsorship.thanked_at = utcnow()
    payment = db.session.scalar(
        select(SponsorshipPayment)
        .where(SponsorshipPayment.sponsorship_id == sponsorship.id)
        .order_by(SponsorshipPayment.paid_at)
    )
    queue_email(
        sponsorship.email,
        "Thank you for sponsoring our journalism",
        "sponsor_thanks",
        sponsorship=sponsorship,
        payment=payment,
        wall_url=external_url("sponsors.wall"),
        account_url=external_url("account.index"),
    )


def apply_charge(charge_id: str) -> None:
    """A refund (full or partial): the payment's refunded amount follows Stripe's charge."""
    charge = gateway.retrieve_charge(charge_id)
    payment = db.session.scalar(
        select(SponsorshipPayment).where(SponsorshipPayment.stripe_charge_id == charge["id"])
    )
    # Every payment we record keeps the id of the charge Stripe made for it (_add_payment).
    if payment is None:
        return
    payment.amount_refunded = int(charge["amount_refunded"])
    log.info("sponsorship payment #%s refunded %s", payment.id, payment.amount_refunded)


def apply_dispute(dispute_id: str) -> None:
    """Open or lost disputes take the payment out of totals; a won dispute puts it back."""
    dispute = gateway.retrieve_dispute(dispute_id)
    payment = db.session.scalar(
        select(SponsorshipPayment).where(
            SponsorshipPayment.stripe_charge_id == stripe_id(dispute.get("charge"))
        )
    )
    if payment is not None:
        payment.disputed = dispute.get("status") != "won"


def link_guest_gifts(user: User) -> None:
    """When an email is confirmed, gifts made as a guest with it join the account."""
    db.session.execute(
        update(Sponsorship)
        .where(Sponsorship.user_id.is_(None), Sponsorship.email == user.email)
        .values(user_id=user.id)
    )
