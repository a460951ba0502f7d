"""Payment intents, charges, invoices (reads), refunds and disputes."""

from __future__ import annotations

import copy
from typing import Any

from ._builders import _DESCRIPTIONS
from ._util import (
    StripeError,
    apply_metadata,
    check_known,
    fixture,
    list_object,
    new_id,
    to_int,
)


class PaymentsMixin:
    # --- builders ----------------------------------------------------------------------------

    def _new_payment(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        email: str | None,
        name: str | None,
        metadata: dict[str, Any],
        description: str | None,
        succeeded: bool = True,
    ) -> dict[str, Any]:
        """A payment intent and, when it succeeded, its charge. Returns the payment intent."""
        now = self._now()
        intent = fixture("payment_intent")
        pi_id = new_id("pi_")
        intent.update(
            id=pi_id,
            amount=amount,
            amount_received=amount if succeeded else 0,
            currency=currency,
            customer=customer,
            created=now,
            canceled_at=None,
            client_secret=f"{pi_id}_secret_{new_id('', 25)}",
            description=description,
            last_payment_error=None,
            next_action=None,
            processing=None if succeeded else {"type": "card"},
            metadata=copy.deepcopy(metadata),
            payment_method=new_id("pm_"),
            payment_method_configuration_details=None,
            receipt_email=email,
            shipping=None,
            status="succeeded" if succeeded else "processing",
            transfer_data=None,
            latest_charge=None,
        )
        self._put(intent)
        if succeeded:
            self._charge_for(intent, email=email, name=name)
        return intent

    def _charge_for(
        self, intent: dict[str, Any], *, email: str | None, name: str | None
    ) -> dict[str, Any]:
        charge = fixture("charge")
        ch_id = new_id("ch_")
        charge.update(
            id=ch_id,
            amount=intent["amount"],
            amount_captured=intent["amount"],
            amount_refunded=0,
            balance_transaction=new_id("txn_"),
            captured=True,
            created=self._now(),
            currency=intent["currency"],
            customer=intent["customer"],
            description=intent["description"],
            disputed=False,
            metadata=copy.deepcopy(intent["metadata"]),
            outcome={
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            paid=True,
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            receipt_email=email,
            receipt_url=f"{self.base_url}/receipt/{ch_id}",
            refunded=False,
            refunds=list_object([], f"/v1/charges/{ch_id}/refunds"),
            shipping=None,
            source=None,
            status="succeeded",
            transfer_data=None,
        )
        charge["billing_details"].update(email=email, name=name)
        intent["latest_charge"] = ch_id
        intent["amount_received"] = intent["amount"]
        intent["status"] = "succeeded"
        intent["processing"] = None
        return self._put(charge)

    def _pay_invoice(self, invoice: dict[str, Any], customer: dict[str, Any]) -> None:
        """Record a paid invoice's payment: a payment intent, its charge, an invoice_payment."""
        if invoice["amount_due"] <= 0:
            return
        intent = self._new_payment(
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer=customer["id"],
            email=customer.get("email"),
            name=customer.get("name"),
            metadata={},
            description=_DESCRIPTIONS.get(invoice["billing_reason"], "Subscription update"),
        )
        record = fixture("invoice_payment")
        record.update(
            id=new_id("inpay_"),
            amount_paid=invoice["amount_due"],
            amount_requested=invoice["amount_due"],
            created=self._now(),
            currency=invoice["currency"],
            invoice=invoice["id"],
            livemode=False,
            payment={"type": "payment_intent", "payment_intent": intent["id"]},
            status="paid",
            status_transitions={"canceled_at": None, "paid_at": self._now()},
        )
        self._put(record)

    # --- payments ---------------------------------------------------------------------------

    def api_payment_intents_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("payment_intent", id), params.get("expand"))

    def api_charges_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("charge", id), params.get("expand"))

    def api_charges_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            self._render(c)
            for c in self._all("charge")
            if (not params.get("customer") or c["customer"] == params["customer"])
            and (
                not params.get("payment_intent") or c["payment_intent"] == params["payment_intent"]
            )
        ]
        return self._page(items, params, "/v1/charges")

    def api_invoices_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("invoice", id), params.get("expand"))

    def api_invoices_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            self._render(i)
            for i in self._all("invoice")
            if all(not params.get(k) or i[k] == params[k] for k in ("customer", "subscription"))
            and (not params.get("status") or i["status"] == params["status"])
        ]
        return self._page(items, params, "/v1/invoices")

    def api_refunds_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {"amount", "charge", "payment_intent", "reason", "metadata", "instructions_email"}
            | {"refund_application_fee", "reverse_transfer", "currency", "customer", "origin"},
        )
        target = params.get("charge") or params.get("payment_intent")
        if not target:
            raise StripeError(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        amount = to_int(params["amount"], "amount", minimum=1) if params.get("amount") else None
        refund = self._refund(target, amount, params.get("reason"), params.get("metadata"))
        return self._render(refund, params.get("expand"))

    def api_refunds_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("refund", id), params.get("expand"))

    def api_disputes_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("dispute", id), params.get("expand"))

    # --- drivers: refunds and disputes ------------------------------------------------------

    def refund(
        self,
        charge_or_payment_intent_id: str,
        amount: int | None = None,
        *,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Refund a charge (what is left, or `amount`): emits charge.refunded, refund.created."""
        with self._operation(raise_errors=True):
            return self._render(self._refund(charge_or_payment_intent_id, amount, reason, None))

    def _refund(self, target: str, amount: int | None, reason: Any, metadata: Any) -> dict:
        if target.startswith("pi_"):
            intent = self._get("payment_intent", target, "payment_intent")
            if not intent["latest_charge"]:
                raise StripeError(
                    "This PaymentIntent does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            target = intent["latest_charge"]
        charge = self._get("charge", target, "charge")
        left = charge["amount_captured"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = left if amount is None else amount
        if amount > left:
            raise StripeError(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                param="amount",
            )
        if reason not in (None, "", "duplicate", "fraudulent", "requested_by_customer"):
            raise StripeError(f"Invalid reason: {reason}", param="reason")
        refund = fixture("refund")
        refund.update(
            id=new_id("re_"),
            amount=amount,
            balance_transaction=new_id("txn_"),
            charge=charge["id"],
            created=self._now(),
            currency=charge["currency"],
            payment_intent=charge["payment_intent"],
            reason=reason or None,
            status="succeeded",
            metadata={},
            customer=charge["customer"],
        )
        apply_metadata(refund, metadata)
        self._put(refund)
        before = self._render(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        self._emit("charge.refunded", charge, self._changed(before, charge))
        self._emit("refund.created", refund)
        return refund

    def dispute(self, charge_id: str, amount: int | None = None, reason: str = "fraudulent") -> str:
        """Open a dispute on a charge (emits charge.dispute.created); returns the dispute id."""
        with self._operation(raise_errors=True):
            charge = self._get("charge", charge_id)
            dispute = fixture("dispute")
            now = self._now()
            dispute.update(
                id=new_id("dp_"),
                amount=charge["amount"] if amount is None else to_int(amount, "amount"),
                charge=charge["id"],
                payment_intent=charge["payment_intent"],
                currency=charge["currency"],
                created=now,
                reason=reason,
                status="needs_response",
                is_charge_refundable=False,
                metadata={},
            )
            dispute["evidence_details"].update(due_by=now + 7 * 86400)
            self._put(dispute)
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute)
            return dispute["id"]

    def close_dispute(self, dispute_id: str, status: str = "lost") -> dict[str, Any]:
        """Close a dispute as "lost" or "won": emits charge.dispute.closed."""
        if status not in ("lost", "won", "warning_closed"):
            raise ValueError(f"status must be lost or won, not {status!r}")
        with self._operation(raise_errors=True):
            dispute = self._get("dispute", dispute_id)
            dispute["status"] = status
            self._emit("charge.dispute.closed", dispute)
            return self._render(dispute)
