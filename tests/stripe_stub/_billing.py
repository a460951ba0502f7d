"""Subscriptions: creation, the subscription API, invoice previews and the renewal drivers."""

from __future__ import annotations

import copy
import math
from typing import Any

from ._util import (
    StripeError,
    add_interval,
    apply_metadata,
    as_list,
    check_known,
    fixture,
    list_object,
    new_id,
    pname,
    to_bool,
    to_int,
)

ENDED = ("canceled", "incomplete_expired")
PRORATIONS = ("create_prorations", "always_invoice", "none")
UPDATE_PARAMS = {
    "add_invoice_items", "application_fee_percent", "automatic_tax", "billing_cycle_anchor",
    "billing_thresholds", "cancel_at", "cancel_at_period_end", "cancellation_details",
    "collection_method", "days_until_due", "default_payment_method", "default_source",
    "default_tax_rates", "description", "discounts", "invoice_settings", "items", "metadata",
    "off_session", "on_behalf_of", "pause_collection", "payment_behavior", "payment_settings",
    "pending_invoice_item_interval", "proration_behavior", "proration_date", "transfer_data",
    "trial_end", "trial_from_plan", "trial_settings",
}  # fmt: skip


def _round(value: float) -> int:
    """Round half away from zero, as money is."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


class BillingMixin:
    # --- building blocks --------------------------------------------------------------------

    def _new_subscription(
        self,
        customer: dict[str, Any],
        lines: list[tuple[dict[str, Any], int]],
        *,
        metadata: Any,
        description: Any,
        status: str,
    ) -> dict[str, Any]:
        now = self._now()
        sub_id = new_id("sub_")
        recurring = lines[0][0]["recurring"]
        end = add_interval(now, recurring["interval"], recurring["interval_count"])
        items = [self._sub_item(sub_id, price, qty, now, end) for price, qty in lines]
        sub = fixture("subscription")
        sub.update(
            id=sub_id,
            customer=customer["id"],
            created=now,
            start_date=now,
            billing_cycle_anchor=now,
            billing_cycle_anchor_config=None,
            billing_mode={"type": "classic", "flexible": None, "updated_at": None},
            billing_schedules=[],
            billing_thresholds=None,
            cancel_at=None,
            cancel_at_period_end=False,
            canceled_at=None,
            cancellation_details={"comment": None, "feedback": None, "reason": None},
            currency=lines[0][0]["currency"],
            default_payment_method=new_id("pm_"),
            description=description or None,
            ended_at=None,
            items=list_object(items, f"/v1/subscription_items?subscription={sub_id}"),
            latest_invoice=None,
            metadata={},
            next_pending_invoice_item_invoice=None,
            pause_collection=None,
            pending_invoice_item_interval=None,
            pending_update=None,
            status=status,
            transfer_data=None,
            trial_end=None,
            trial_start=None,
            managed_payments={"enabled": False},
        )
        sub["automatic_tax"]["liability"] = None
        apply_metadata(sub, metadata)
        return self._put(sub)

    def _sub_item(
        self, sub_id: str, price: dict[str, Any], qty: int, start: int, end: int
    ) -> dict[str, Any]:
        item = fixture("subscription_item")
        item.update(
            id=new_id("si_", 14),
            created=start,
            price=copy.deepcopy(price),
            plan=self._plan_for(price),
            quantity=qty,
            subscription=sub_id,
            current_period_start=start,
            current_period_end=end,
            billing_thresholds=None,
            metadata={},
        )
        return item

    def _item_line(self, invoice_id: str, sub: dict[str, Any], item: dict[str, Any]) -> dict:
        price = self._db.get(item["price"]["id"], item["price"])
        product = self._db.get(price["product"], {}).get("name", "Subscription")
        amount = (price["unit_amount"] or 0) * item["quantity"]
        cost = _money(price["unit_amount"] or 0, price["currency"])
        interval = price["recurring"]["interval"]
        return self._invoice_line(
            invoice_id,
            price,
            amount,
            start=item["current_period_start"],
            end=item["current_period_end"],
            subscription=sub["id"],
            item=item["id"],
            description=f"{item['quantity']} \u00d7 {product} (at {cost} / {interval})",
        )

    def _subscription_invoice(
        self,
        sub: dict[str, Any],
        reason: str,
        *,
        paid: bool,
        lines: list[dict[str, Any]] | None = None,
        invoice_id: str | None = None,
    ) -> dict[str, Any]:
        """A subscription invoice (one line per item unless `lines`), made the latest invoice."""
        invoice_id = invoice_id or new_id("in_")
        if lines is None:
            lines = [self._item_line(invoice_id, sub, item) for item in sub["items"]["data"]]
            lines += self._extra.setdefault(sub["id"], {}).pop("pending", [])
        for line in lines:
            line["invoice"] = invoice_id
        customer = self._db[sub["customer"]]
        invoice = self._new_invoice(
            customer,
            lines,
            invoice_id=invoice_id,
            currency=sub["currency"],
            billing_reason=reason,
            subscription=sub,
            paid=paid,
        )
        if paid:
            self._pay_invoice(invoice, customer)
        sub["latest_invoice"] = invoice_id
        return invoice

    def _end_subscription(self, sub: dict[str, Any], *, reason: str) -> None:
        now = self._now()
        sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
        sub["cancellation_details"]["reason"] = reason
        self._emit("customer.subscription.deleted", sub)

    def _proration_lines(
        self, sub: dict[str, Any], item: dict[str, Any], new: dict[str, Any], qty: int, when: int
    ) -> list[dict[str, Any]]:
        """Credit for the unused time on the old price and charge for the rest on the new one."""
        start, end = item["current_period_start"], item["current_period_end"]
        fraction = min(max((end - when) / (end - start), 0.0), 1.0) if end > start else 0.0
        old_price = self._db.get(item["price"]["id"], item["price"])
        old_amount = (old_price["unit_amount"] or 0) * item["quantity"]
        total = _round(((new["unit_amount"] or 0) * qty - old_amount) * fraction)
        credit = -_round(old_amount * fraction)
        names = [self._db.get(p["product"], {}).get("name", "plan") for p in (old_price, new)]
        return [
            self._invoice_line(
                "",
                old_price,
                credit,
                start=when,
                end=end,
                subscription=sub["id"],
                item=item["id"],
                description=f"Unused time on {names[0]} after {when}",
                proration=True,
            ),
            self._invoice_line(
                "",
                new,
                total - credit,
                start=when,
                end=end,
                subscription=sub["id"],
                item=item["id"],
                description=f"Remaining time on {names[1]} after {when}",
                proration=True,
            ),
        ]

    def _item_changes(
        self, sub: dict[str, Any], entries: Any, prefix: str
    ) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None, int, bool]]:
        """Parse `items[i][...]`: (existing item or None, new price or None, quantity, deleted)."""
        changes = []
        by_id = {item["id"]: item for item in sub["items"]["data"]} if sub else {}
        for index, entry in enumerate(as_list(entries)):
            name = f"{prefix}[{index}]"
            if not isinstance(entry, dict):
                raise StripeError("Invalid array", param=name)
            item = None
            if entry.get("id"):
                item = by_id.get(entry["id"])
                if item is None:
                    raise StripeError(
                        f"No such subscription item: '{entry['id']}'",
                        code="resource_missing",
                        param=pname(name, "id"),
                    )
            if entry.get("price") and entry.get("price_data"):
                raise StripeError(
                    "You may only specify one of these parameters: price, price_data.",
                    param=name,
                )
            price = None
            if entry.get("price"):
                price = self._get("price", entry["price"], pname(name, "price"))
            elif entry.get("price_data"):
                price = self._new_price(
                    entry["price_data"], pname(name, "price_data"), allow_product_data=False
                )
            if price is not None:
                if not price["recurring"]:
                    raise StripeError(
                        "The price specified is set to `type=one_time` but this field only "
                        "accepts prices with `type=recurring`.",
                        param=pname(name, "price"),
                    )
                if sub and price["currency"] != sub["currency"]:
                    raise StripeError(
                        "The price's currency does not match the subscription's currency.",
                        param=pname(name, "price"),
                    )
            if item is None and price is None:
                raise StripeError(
                    "Missing required param: price.",
                    code="parameter_missing",
                    param=pname(name, "price"),
                )
            default_qty = item["quantity"] if item else 1
            qty = to_int(entry.get("quantity", default_qty), pname(name, "quantity"), minimum=1)
            deleted = to_bool(entry.get("deleted", "false"), pname(name, "deleted"))
            changes.append((item, price, qty, deleted))
        return changes

    # --- API ----------------------------------------------------------------------------------

    def api_subscriptions_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("subscription", id), params.get("expand"))

    def api_subscriptions_list(self, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("status") or None
        wanted = {
            None: lambda s: s not in ENDED,
            "all": lambda s: True,
            "ended": lambda s: s in ENDED,
        }.get(status, lambda s: s == status)
        items = [
            self._render(sub)
            for sub in self._all("subscription")
            if wanted(sub["status"])
            and (not params.get("customer") or sub["customer"] == params["customer"])
            and (
                not params.get("price")
                or any(i["price"]["id"] == params["price"] for i in sub["items"]["data"])
            )
        ]
        return self._page(items, params, "/v1/subscriptions")

    def api_subscriptions_update(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        check_known(params, UPDATE_PARAMS)
        sub = self._get("subscription", id)
        if sub["status"] in ENDED and set(params) - {"metadata", "cancellation_details", "expand"}:
            raise StripeError(
                "A canceled subscription can only update its cancellation_details and metadata."
            )
        behavior = params.get("proration_behavior") or "create_prorations"
        if behavior not in PRORATIONS:
            raise StripeError(
                f"Invalid proration_behavior: must be one of {', '.join(PRORATIONS)}",
                param="proration_behavior",
            )
        when = self._now()
        if params.get("proration_date"):
            when = to_int(params["proration_date"], "proration_date")
        with self._atomic():
            changes = self._item_changes(sub, params.get("items"), "items")
        before = self._render(sub)
        prorations: list[dict[str, Any]] = []
        for item, price, qty, deleted in changes:
            if item is None:
                anchor = sub["items"]["data"][0]
                new = self._sub_item(
                    sub["id"],
                    price,
                    qty,
                    anchor["current_period_start"],
                    anchor["current_period_end"],
                )
                sub["items"]["data"].append(new)
                continue
            if deleted:
                sub["items"]["data"].remove(item)
                continue
            new_price = price or self._db.get(item["price"]["id"], item["price"])
            changed = new_price["id"] != item["price"]["id"] or qty != item["quantity"]
            if changed and behavior != "none":
                prorations += self._proration_lines(sub, item, new_price, qty, when)
            item.update(price=copy.deepcopy(new_price), plan=self._plan_for(new_price))
            item["quantity"] = qty
        if "cancel_at_period_end" in params:
            self._set_cancel(sub, to_bool(params["cancel_at_period_end"], "cancel_at_period_end"))
        details = params.get("cancellation_details")
        if isinstance(details, dict):
            for key in ("comment", "feedback"):
                if key in details:
                    sub["cancellation_details"][key] = details[key] or None
        if "description" in params:
            sub["description"] = params["description"] or None
        apply_metadata(sub, params.get("metadata"))
        invoice = None
        if prorations and behavior == "always_invoice":
            invoice = self._subscription_invoice(
                sub, "subscription_update", paid=True, lines=prorations
            )
        elif prorations:
            self._extra.setdefault(sub["id"], {}).setdefault("pending", []).extend(prorations)
        previous = self._changed(before, sub)
        if previous:
            self._emit("customer.subscription.updated", sub, previous)
        if invoice is not None:
            self._emit("invoice.paid", invoice)
        return self._render(sub, params.get("expand"))

    def _set_cancel(self, sub: dict[str, Any], flag: bool) -> None:
        sub["cancel_at_period_end"] = flag
        if flag:
            sub["cancel_at"] = max(i["current_period_end"] for i in sub["items"]["data"])
            sub["canceled_at"] = self._now()
            sub["cancellation_details"]["reason"] = "cancellation_requested"
        else:
            sub.update(cancel_at=None, canceled_at=None)
            sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}

    def api_subscriptions_cancel(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        check_known(params, {"cancellation_details", "invoice_now", "prorate"})
        sub = self._get("subscription", id)
        if sub["status"] in ENDED:
            raise StripeError(f"This subscription ({id}) has already been canceled.")
        details = params.get("cancellation_details")
        if isinstance(details, dict):
            for key in ("comment", "feedback"):
                if key in details:
                    sub["cancellation_details"][key] = details[key] or None
        sub["canceled_at"] = self._now()
        self._end_subscription(sub, reason="cancellation_requested")
        return self._render(sub, params.get("expand"))
