"""Test drivers: what a customer or Stripe's billing engine would do, with the events it emits."""

from __future__ import annotations

from typing import Any

from ._util import add_interval


def _details(email: str | None, name: str | None) -> dict[str, Any]:
    return {
        "address": None,
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


DECLINE = {
    "type": "card_error",
    "code": "card_declined",
    "decline_code": "generic_decline",
    "message": "Your card was declined.",
    "param": None,
}


class DriversMixin:
    # --- checkout -----------------------------------------------------------------------------

    def complete_checkout(
        self,
        session_id: str,
        *,
        paid: bool = True,
        email: str | None = None,
        name: str | None = None,
        amount: int | None = None,
    ) -> dict[str, Any]:
        """The customer pays. Subscription mode emits customer.subscription.created, invoice.paid,
        checkout.session.completed; payment mode payment_intent.succeeded, charge.succeeded,
        checkout.session.completed. `paid=False`: an async payment still pending (see
        `async_payment`). `email`/`name` are what the customer typed; `amount` is the amount
        chosen for a pay-what-you-want price."""
        with self._operation(raise_errors=True):
            session = self._get("checkout.session", session_id)
            if session["status"] != "open":
                raise ValueError(f"Checkout Session {session_id} is {session['status']}, not open")
            customer = self._db[session["customer"]] if session["customer"] else None
            email = email or session["customer_email"] or (customer or {}).get("email")
            email = email or "customer@example.com"
            name = name or (customer or {}).get("name")
            if session["mode"] == "subscription":
                self._complete_subscription(session, customer, paid, email, name)
            else:
                self._complete_payment(session, customer, paid, email, name, amount)
            return self._render(session)

    def _complete_subscription(
        self,
        session: dict[str, Any],
        customer: dict[str, Any] | None,
        paid: bool,
        email: str,
        name: str | None,
    ) -> None:
        extra = self._extra[session["id"]]
        if customer is None:
            customer = self._new_customer(email=email, name=name)
        items = [(self._db[i["price"]], i["quantity"]) for i in extra["line_items"]]
        data = extra["subscription_data"]
        sub = self._new_subscription(
            customer,
            [(price, qty) for price, qty in items if price["recurring"]],
            metadata=data.get("metadata"),
            description=data.get("description"),
            status="active" if paid else "incomplete",
        )
        now = self._now()
        self._extra[sub["id"]] = {
            "pending": [
                self._invoice_line(
                    "",
                    price,
                    price["unit_amount"] * qty,
                    start=now,
                    end=now,
                    subscription=sub["id"],
                    item=None,
                    description=self._db[price["product"]]["name"],
                )
                for price, qty in items
                if not price["recurring"]
            ],
            "session": session["id"],
        }
        invoice = self._subscription_invoice(sub, "subscription_create", paid=paid)
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            customer=customer["id"],
            customer_details=_details(email, name),
            subscription=sub["id"],
            invoice=invoice["id"],
            amount_subtotal=invoice["subtotal"],
            amount_total=invoice["total"],
        )
        self._emit("customer.subscription.created", sub)
        if paid:
            self._emit("invoice.paid", invoice)
        self._emit("checkout.session.completed", session)

    def _complete_payment(
        self,
        session: dict[str, Any],
        customer: dict[str, Any] | None,
        paid: bool,
        email: str,
        name: str | None,
        amount: int | None,
    ) -> None:
        extra = self._extra[session["id"]]
        total = session["amount_total"]
        if total is None:
            custom = self._db[extra["line_items"][0]["price"]]["custom_unit_amount"]
            total = amount if amount is not None else custom["preset"] or custom["minimum"]
            if total is None:
                raise ValueError("This pay-what-you-want session needs an amount")
            low, high = custom["minimum"] or 1, custom["maximum"]
            if total < low or (high is not None and total > high):
                raise ValueError(f"amount {total} is outside [{low}, {high}]")
            session.update(amount_subtotal=total, amount_total=total)
            extra["line_items"][0]["amount"] = total
        if customer is None and session["customer_creation"] == "always":
            customer = self._new_customer(email=email, name=name)
        data = extra["payment_intent_data"]
        intent = self._new_payment(
            amount=total,
            currency=session["currency"],
            customer=customer["id"] if customer else None,
            email=email,
            name=name,
            metadata=data.get("metadata") or {},
            description=data.get("description") or None,
            succeeded=paid,
        )
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            payment_intent=intent["id"],
            customer=customer["id"] if customer else None,
            customer_details=_details(email, name),
        )
        if paid:
            self._emit("payment_intent.succeeded", intent)
            self._emit("charge.succeeded", self._db[intent["latest_charge"]])
        self._emit("checkout.session.completed", session)

    def async_payment(self, session_id: str, succeeded: bool) -> dict[str, Any]:
        """Settle a session completed with `paid=False`: emits
        checkout.session.async_payment_succeeded or _failed (after the invoice events in
        subscription mode)."""
        with self._operation(raise_errors=True):
            session = self._get("checkout.session", session_id)
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise ValueError(f"Checkout Session {session_id} has no pending payment")
            details = session["customer_details"] or {}
            if session["mode"] == "payment":
                intent = self._db[session["payment_intent"]]
                if succeeded:
                    self._charge_for(intent, email=details.get("email"), name=details.get("name"))
                else:
                    intent.update(
                        status="requires_payment_method",
                        processing=None,
                        last_payment_error=dict(DECLINE),
                    )
            else:
                sub = self._db[session["subscription"]]
                invoice = self._db[session["invoice"]]
                before = self._render(sub)
                if succeeded:
                    self._settle(invoice)
                    sub["status"] = "active"
                    self._emit("invoice.paid", invoice)
                else:
                    invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1)
                    sub["status"] = "incomplete_expired"
                    self._emit("invoice.payment_failed", invoice)
                self._emit("customer.subscription.updated", sub, self._changed(before, sub))
            if succeeded:
                session["payment_status"] = "paid"
            outcome = "succeeded" if succeeded else "failed"
            self._emit(f"checkout.session.async_payment_{outcome}", session)
            return self._render(session)

    # --- renewals -----------------------------------------------------------------------------

    def _settle(self, invoice: dict[str, Any]) -> None:
        now = self._now()
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            attempted=True,
            attempt_count=invoice["attempt_count"] + 1,
            next_payment_attempt=None,
            auto_advance=False,
        )
        invoice["status_transitions"]["paid_at"] = now
        self._pay_invoice(invoice, self._db[invoice["customer"]])

    def _advance(self, sub: dict[str, Any]) -> None:
        for item in sub["items"]["data"]:
            recurring = item["price"]["recurring"]
            start = item["current_period_end"]
            end = add_interval(start, recurring["interval"], recurring["interval_count"])
            item.update(current_period_start=start, current_period_end=end)

    def _live_subscription(self, subscription_id: str) -> dict[str, Any]:
        sub = self._get("subscription", subscription_id)
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise ValueError(f"Subscription {subscription_id} has ended ({sub['status']})")
        return sub

    def pay_renewal(self, subscription_id: str) -> dict[str, Any]:
        """The next period is paid (or the failing invoice finally is): emits invoice.paid and
        customer.subscription.updated. Returns the invoice."""
        with self._operation(raise_errors=True):
            sub = self._live_subscription(subscription_id)
            if sub["cancel_at_period_end"]:
                raise ValueError(
                    f"Subscription {subscription_id} ends at the period end: "
                    "use cancel_at_period_end_reached()"
                )
            before = self._render(sub)
            latest = self._db.get(sub["latest_invoice"] or "")
            if latest and latest["status"] == "open":
                invoice = latest
                self._settle(invoice)
            else:
                self._advance(sub)
                invoice = self._subscription_invoice(sub, "subscription_cycle", paid=True)
            sub["status"] = "active"
            self._emit("invoice.paid", invoice)
            self._emit("customer.subscription.updated", sub, self._changed(before, sub))
            return self._render(invoice)

    def fail_payment(self, subscription_id: str) -> dict[str, Any]:
        """A renewal charge is declined (again): the invoice stays open with one more attempt and
        the subscription goes past_due. Emits invoice.payment_failed and
        customer.subscription.updated. Returns the invoice."""
        with self._operation(raise_errors=True):
            sub = self._live_subscription(subscription_id)
            before = self._render(sub)
            latest = self._db.get(sub["latest_invoice"] or "")
            if latest and latest["status"] == "open":
                invoice = latest
                invoice["attempt_count"] += 1
            else:
                self._advance(sub)
                invoice = self._subscription_invoice(sub, "subscription_cycle", paid=False)
            invoice.update(attempted=True, next_payment_attempt=self._now() + 3 * 86400)
            sub["status"] = "past_due"
            self._emit("invoice.payment_failed", invoice)
            self._emit("customer.subscription.updated", sub, self._changed(before, sub))
            return self._render(invoice)

    def exhaust_retries(
        self, subscription_id: str, final_status: str = "canceled"
    ) -> dict[str, Any]:
        """Smart Retries give up: "canceled" (emits customer.subscription.deleted) or "unpaid"
        (emits customer.subscription.updated). Returns the subscription."""
        if final_status not in ("canceled", "unpaid"):
            raise ValueError("final_status must be 'canceled' or 'unpaid'")
        with self._operation(raise_errors=True):
            sub = self._live_subscription(subscription_id)
            latest = self._db.get(sub["latest_invoice"] or "")
            if latest and latest["status"] == "open":
                latest["next_payment_attempt"] = None
            if final_status == "canceled":
                self._end_subscription(sub, reason="payment_failed")
            else:
                before = self._render(sub)
                sub["status"] = "unpaid"
                self._emit("customer.subscription.updated", sub, self._changed(before, sub))
            return self._render(sub)

    def cancel_at_period_end_reached(self, subscription_id: str) -> dict[str, Any]:
        """The period of a subscription set to cancel at its end is over: status canceled,
        emits customer.subscription.deleted. Returns the subscription."""
        with self._operation(raise_errors=True):
            sub = self._live_subscription(subscription_id)
            if not sub["cancel_at_period_end"]:
                raise ValueError(f"Subscription {subscription_id} is not set to cancel")
            self._end_subscription(sub, reason="cancellation_requested")
            return self._render(sub)
