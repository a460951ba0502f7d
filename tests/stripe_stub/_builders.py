"""Builders that turn Stripe's example objects into ours: customers, products, prices,
invoices, payment intents and charges."""

from __future__ import annotations

import copy
from typing import Any

from ._util import (
    StripeError,
    apply_metadata,
    fixture,
    list_object,
    new_id,
    pname,
    to_bool,
    to_int,
)

INTERVALS = ("day", "week", "month", "year")
_DESCRIPTIONS = {
    "subscription_create": "Subscription creation",
    "subscription_cycle": "Subscription cycle",
    "subscription_update": "Subscription update",
}


class BuildersMixin:
    # --- builders ---------------------------------------------------------------------------

    def _new_customer(
        self, *, email: Any = None, name: Any = None, metadata: Any = None, **fields: Any
    ) -> dict[str, Any]:
        customer = fixture("customer")
        customer.update(
            id=new_id("cus_", 14),
            created=self._now(),
            email=email or None,
            name=name or None,
            metadata={},
            currency=None,
            discount=None,
            address=None,
            shipping=None,
            invoice_prefix=new_id("", 8).upper(),
        )
        customer["invoice_settings"]["rendering_options"] = None
        for key, value in fields.items():
            if key in customer and key not in ("id", "object"):
                customer[key] = value or None
        apply_metadata(customer, metadata)
        return self._put(customer)

    def _new_product(self, params: dict[str, Any], param: str = "") -> dict[str, Any]:
        name = params.get("name")
        if not name:
            raise StripeError(
                "Missing required param: name.",
                code="parameter_missing",
                param=pname(param, "name"),
            )
        product = fixture("product")
        now = self._now()
        product.update(
            id=params.get("id") or new_id("prod_", 14),
            created=now,
            updated=now,
            name=name,
            description=params.get("description") or None,
            active=to_bool(params.get("active", "true"), pname(param, "active")),
            default_price=None,
            metadata={},
            package_dimensions=None,
            type="service",
            images=list(params.get("images") or []),
            statement_descriptor=params.get("statement_descriptor") or None,
            tax_code=params.get("tax_code") or None,
            unit_label=params.get("unit_label") or None,
            url=params.get("url") or None,
        )
        if product["id"] in self._db:
            raise StripeError(
                f"Product already exists: {product['id']}", code="resource_already_exists"
            )
        apply_metadata(product, params.get("metadata"))
        return self._put(product)

    def _new_price(
        self, params: dict[str, Any], param: str = "", *, allow_product_data: bool = True
    ) -> dict[str, Any]:
        """A price from `/v1/prices` params or from an inline `price_data[...]` (prefix `param`)."""
        currency = str(params.get("currency") or "").lower()
        if len(currency) != 3:
            raise StripeError(
                "Missing required param: currency.",
                code="parameter_missing",
                param=pname(param, "currency"),
            )
        if params.get("product"):
            product = self._get("product", params["product"], pname(param, "product"))
        elif params.get("product_data") and allow_product_data:
            product = self._new_product(params["product_data"], pname(param, "product_data"))
        elif params.get("product_data"):
            raise StripeError(
                f"Received unknown parameter: {pname(param, 'product_data')}",
                code="parameter_unknown",
                param=pname(param, "product_data"),
            )
        else:
            raise StripeError(
                "Missing required param: product.",
                code="parameter_missing",
                param=pname(param, "product"),
            )
        custom = params.get("custom_unit_amount")
        custom_enabled = isinstance(custom, dict) and to_bool(custom.get("enabled", "false"), "x")
        unit_amount = None
        if "unit_amount" in params and params["unit_amount"] != "":
            unit_amount = to_int(params["unit_amount"], pname(param, "unit_amount"), minimum=0)
        elif not custom_enabled:
            raise StripeError(
                "Missing required param: unit_amount.",
                code="parameter_missing",
                param=pname(param, "unit_amount"),
            )
        recurring = None
        if params.get("recurring"):
            interval = params["recurring"].get("interval")
            if interval not in INTERVALS:
                raise StripeError(
                    f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}",
                    code="parameter_invalid_string",
                    param=pname(param, "recurring") + "[interval]",
                )
            count = params["recurring"].get("interval_count", 1)
            recurring = {
                "interval": interval,
                "interval_count": to_int(
                    count, pname(param, "recurring") + "[interval_count]", minimum=1
                ),
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
        if custom_enabled and recurring:
            raise StripeError(
                "custom_unit_amount is not supported for recurring prices.",
                param=pname(param, "custom_unit_amount"),
            )
        price = fixture("price")
        price.update(
            id=new_id("price_"),
            created=self._now(),
            currency=currency,
            product=product["id"],
            active=to_bool(params.get("active", "true"), pname(param, "active")),
            unit_amount=unit_amount,
            unit_amount_decimal=None if unit_amount is None else str(unit_amount),
            custom_unit_amount=None,
            recurring=recurring,
            type="recurring" if recurring else "one_time",
            transform_quantity=None,
            lookup_key=None,
            nickname=params.get("nickname") or None,
            tax_behavior=params.get("tax_behavior") or "unspecified",
            metadata={},
        )
        if custom_enabled:
            price["custom_unit_amount"] = {
                k: (
                    to_int(custom[k], pname(param, "custom_unit_amount") + f"[{k}]")
                    if custom.get(k)
                    else None
                )
                for k in ("maximum", "minimum", "preset")
            }
        apply_metadata(price, params.get("metadata"))
        return self._put(price)

    def _plan_for(self, price: dict[str, Any]) -> dict[str, Any] | None:
        if not price.get("recurring"):
            return None
        plan = fixture("plan")
        plan.update(
            id=price["id"],
            active=price["active"],
            amount=price["unit_amount"],
            amount_decimal=price["unit_amount_decimal"],
            created=price["created"],
            currency=price["currency"],
            interval=price["recurring"]["interval"],
            interval_count=price["recurring"]["interval_count"],
            metadata=copy.deepcopy(price["metadata"]),
            nickname=price["nickname"],
            product=price["product"],
            transform_usage=None,
        )
        return plan

    def _invoice_line(
        self,
        invoice_id: str,
        price: dict[str, Any],
        amount: int,
        *,
        start: int,
        end: int,
        subscription: str | None,
        item: str | None,
        description: str,
        proration: bool = False,
    ) -> dict[str, Any]:
        line = fixture("line_item")
        line.update(
            id=new_id("il_"),
            invoice=invoice_id,
            amount=amount,
            subtotal=amount,
            currency=price["currency"],
            description=description,
            period={"start": start, "end": end},
            quantity=1,
            subscription=subscription,
            taxes=[],
            pretax_credit_amounts=[],
            metadata={},
            pricing={
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": price["unit_amount_decimal"],
            },
            parent={
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": new_id("ii_") if proration else None,
                    "proration": proration,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription,
                    "subscription_item": item,
                },
            },
        )
        return line

    def _new_invoice(
        self,
        customer: dict[str, Any],
        lines: list[dict[str, Any]],
        *,
        invoice_id: str,
        currency: str,
        billing_reason: str,
        subscription: dict[str, Any] | None,
        paid: bool,
        preview: bool = False,
    ) -> dict[str, Any]:
        """An invoice for `lines`; a `preview` is neither stored nor counted on the customer."""
        now = self._now()
        total = sum(line["amount"] for line in lines)
        due = max(total, 0)
        invoice = fixture("invoice")
        sequence = customer.get("next_invoice_sequence") or 1
        if not preview:
            customer["next_invoice_sequence"] = sequence + 1
        invoice.update(
            id=invoice_id,
            created=now,
            effective_at=now,
            customer=customer["id"],
            customer_email=customer.get("email"),
            customer_name=customer.get("name"),
            customer_address=None,
            customer_shipping=None,
            currency=currency,
            billing_reason=billing_reason,
            number=f"{customer.get('invoice_prefix') or 'STUB'}-{sequence:04d}",
            # No top-level `subscription` since API 2025-03-31: the fixture's null stays, and
            # `parent.subscription_details` below names the subscription.
            lines=list_object(lines, f"/v1/invoices/{invoice_id}/lines"),
            subtotal=total,
            subtotal_excluding_tax=total,
            total=total,
            total_excluding_tax=total,
            amount_due=due,
            amount_paid=due if paid else 0,
            amount_remaining=0 if paid else due,
            amount_overpaid=0,
            attempt_count=1 if due else 0,
            attempted=bool(due),
            auto_advance=not paid,
            due_date=None,
            from_invoice=None,
            last_finalization_error=None,
            next_payment_attempt=None,
            period_start=min((ln["period"]["start"] for ln in lines), default=now),
            period_end=max((ln["period"]["end"] for ln in lines), default=now),
            shipping_cost=None,
            shipping_details=None,
            status="paid" if paid else "open",
            status_transitions={
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now if paid else None,
                "voided_at": None,
            },
            webhooks_delivered_at=now,
            hosted_invoice_url=f"{self.base_url}/invoice/{invoice_id}",
            invoice_pdf=f"{self.base_url}/invoice/{invoice_id}?format=pdf",
            total_pretax_credit_amounts=[],
            total_taxes=[],
            parent={
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": copy.deepcopy(subscription["metadata"]),
                    "subscription": subscription["id"],
                }
                if subscription
                else None,
            },
        )
        if not subscription:
            invoice["parent"] = None
        if preview:
            invoice.update(
                number=None,
                status="draft",
                amount_paid=0,
                amount_remaining=due,
                attempt_count=0,
                attempted=False,
                hosted_invoice_url=None,
                invoice_pdf=None,
                webhooks_delivered_at=None,
                starting_balance=customer.get("balance", 0),
                ending_balance=None,
            )
            invoice["status_transitions"].update(finalized_at=None, paid_at=None)
            return invoice
        if total < 0:
            customer["balance"] = customer.get("balance", 0) + total
            invoice["ending_balance"] = customer["balance"]
        return self._put(invoice)
