"""The object store, expansion, and builders that turn Stripe's example objects into ours."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any

from ._util import (
    StripeError,
    apply_metadata,
    fixture,
    list_object,
    missing,
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


class ObjectsMixin:
    """State lives in `self._db` (id -> object, in creation order) and `self._extra` (private)."""

    _db: dict[str, dict[str, Any]]
    _extra: dict[str, dict[str, Any]]
    clock: int | None
    base_url: str

    # --- store ------------------------------------------------------------------------------

    def _now(self) -> int:
        return self.clock if self.clock is not None else int(time.time())

    def _put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._db[obj["id"]] = obj
        return obj

    def _get(self, kind: str, obj_id: Any, param: str | None = None) -> dict[str, Any]:
        obj = self._db.get(obj_id) if isinstance(obj_id, str) else None
        if obj is None or obj.get("object") != kind:
            raise missing(kind, str(obj_id), param=param)
        return obj

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[None]:
        """Objects created inside (inline prices, draft subscriptions for previews) are dropped."""
        keep = set(self._db)
        try:
            yield
        finally:
            for key in [key for key in self._db if key not in keep]:
                del self._db[key]

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """Objects created inside are dropped again if the block fails."""
        keep = set(self._db)
        try:
            yield
        except BaseException:
            for key in [key for key in self._db if key not in keep]:
                del self._db[key]
            raise

    def _all(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of one kind, newest first."""
        return [obj for obj in reversed(self._db.values()) if obj.get("object") == kind]

    # --- rendering and expansion ------------------------------------------------------------

    def _render(self, obj: dict[str, Any], expand: Any = None) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        if out.get("object") == "subscription":
            for item in out["items"]["data"]:
                price = self._db.get(item["price"]["id"], item["price"])
                item["price"] = copy.deepcopy(price)
                item["plan"] = self._plan_for(price)
        for path in _expand_list(expand):
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, node: Any, parts: list[str], path: str) -> None:
        if len(parts) > 4:
            raise StripeError(
                f"You cannot expand more than 4 levels of a property. Property: {path}",
                param="expand",
            )
        key, rest = parts[0], parts[1:]
        if isinstance(node, dict) and node.get("object") == "list" and key == "data":
            for element in node["data"]:
                if rest:
                    self._expand(element, rest, path)
            return
        if not isinstance(node, dict):
            raise StripeError(f"This property cannot be expanded ({key}).", param="expand")
        value = node.get(key)
        if key not in node or (isinstance(value, str) and value not in self._db):
            generated = self._includable(node, key)
            if generated is None:
                raise StripeError(f"This property cannot be expanded ({key}).", param="expand")
            node[key] = value = generated
        elif isinstance(value, str):
            node[key] = value = self._render(self._db[value])
        if value is not None and rest:
            self._expand(value, rest, path)

    def _includable(self, node: dict[str, Any], key: str) -> dict[str, Any] | None:
        """Fields Stripe only returns when expanded (not ids): session line items, payments."""
        if node.get("object") == "checkout.session" and key == "line_items":
            return self._session_line_items(node["id"])
        if node.get("object") == "invoice" and key == "payments":
            payments = [
                self._render(p)
                for p in self._all("invoice_payment")
                if p["invoice"] == node["id"]
            ]
            return list_object(payments, f"/v1/invoices/{node['id']}/payments")
        return None

    def _session_line_items(self, session_id: str) -> dict[str, Any]:
        items = self._extra.get(session_id, {}).get("line_items", [])
        data = []
        for item in items:
            price = copy.deepcopy(self._db[item["price"]])
            product = self._db.get(price["product"], {})
            amount = item["amount"] * item["quantity"]
            line = fixture("item")
            line.update(
                id=item["id"],
                price=price,
                quantity=item["quantity"],
                description=product.get("name", ""),
                currency=price["currency"],
                amount_subtotal=amount,
                amount_total=amount,
                amount_discount=0,
                amount_tax=0,
                metadata={},
                adjustable_quantity=None,
            )
            data.append(line)
        return list_object(data, f"/v1/checkout/sessions/{session_id}/line_items")

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
                "Missing required param: name.", code="parameter_missing", param=pname(param, "name")
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
                "interval_count": to_int(count, pname(param, "recurring") + "[interval_count]", minimum=1),
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
                k: (to_int(custom[k], pname(param, "custom_unit_amount") + f"[{k}]") if custom.get(k) else None)
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
        """An invoice for `lines`; `preview` builds one without storing it or touching the customer."""
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
            subscription=subscription["id"] if subscription else None,
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


def _expand_list(expand: Any) -> list[str]:
    if expand in (None, ""):
        return []
    if isinstance(expand, str):
        return [expand]
    if isinstance(expand, dict):
        return [str(v) for v in expand.values()]
    return [str(v) for v in expand]
