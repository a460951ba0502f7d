"""POST /v1/invoices/create_preview: what the next invoice (or a proration) would be."""

from __future__ import annotations

import copy
from typing import Any

from ._billing import PRORATIONS
from ._util import StripeError, add_interval, check_known, new_id, require, to_int

PREVIEW_PARAMS = {
    "automatic_tax", "currency", "customer", "customer_details", "discounts", "invoice_items",
    "issuer", "on_behalf_of", "preview_mode", "schedule", "schedule_details", "subscription",
    "subscription_details",
}  # fmt: skip


class PreviewMixin:
    def api_invoices_preview(self, params: dict[str, Any]) -> dict[str, Any]:
        """Stripe's preview. `always_invoice` shows only the prorations billed now; otherwise the
        next invoice: the new price for the coming period, plus prorations unless `none`."""
        check_known(params, PREVIEW_PARAMS)
        details = params.get("subscription_details") or {}
        if not isinstance(details, dict):
            raise StripeError("Invalid object", param="subscription_details")
        sub = None
        if params.get("subscription"):
            sub = self._get("subscription", params["subscription"], "subscription")
            if params.get("customer") and params["customer"] != sub["customer"]:
                raise StripeError(
                    "The customer does not match the subscription's customer.", param="customer"
                )
        customer = self._live_customer(
            (sub or {}).get("customer") or require(params, "customer"), "customer"
        )
        behavior = details.get("proration_behavior") or "create_prorations"
        if behavior not in PRORATIONS:
            raise StripeError(
                "Invalid proration_behavior.", param="subscription_details[proration_behavior]"
            )
        now = self._now()
        when = now
        if details.get("proration_date"):
            when = to_int(details["proration_date"], "subscription_details[proration_date]")
        with self._scratch():
            changes = self._item_changes(sub, details.get("items"), "subscription_details[items]")
            invoice_id = new_id("upcoming_in_")
            lines: list[dict[str, Any]] = []
            if sub is None:
                if not changes:
                    raise StripeError(
                        "Missing required param: subscription_details[items].",
                        code="parameter_missing",
                        param="subscription_details[items]",
                    )
                draft = self._new_subscription(
                    customer,
                    [(price, qty) for _, price, qty, _ in changes if price],
                    metadata=None,
                    description=None,
                    status="incomplete",
                )
                lines = [self._item_line(invoice_id, draft, i) for i in draft["items"]["data"]]
                currency, target = draft["currency"], None
            else:
                draft = copy.deepcopy(sub)
                target, currency = sub, sub["currency"]
                by_id = {i["id"]: i for i in draft["items"]["data"]}
                for item, price, qty, deleted in changes:
                    if item is None or deleted:
                        continue
                    price = price or item["price"]
                    if behavior != "none" and (
                        price["id"] != item["price"]["id"] or qty != item["quantity"]
                    ):
                        lines += self._proration_lines(sub, item, price, qty, when)
                    by_id[item["id"]].update(price=copy.deepcopy(price), quantity=qty)
                if behavior != "always_invoice":
                    for item in draft["items"]["data"]:
                        line = self._item_line(invoice_id, draft, item)
                        recurring = item["price"]["recurring"]
                        start = item["current_period_end"]
                        end = add_interval(
                            start, recurring["interval"], recurring["interval_count"]
                        )
                        line["period"] = {"start": start, "end": end}
                        lines.append(line)
                    lines += copy.deepcopy(self._extra.get(sub["id"], {}).get("pending", []))
            for line in lines:
                line["invoice"] = invoice_id
            invoice = self._new_invoice(
                customer,
                lines,
                invoice_id=invoice_id,
                currency=currency,
                billing_reason="upcoming" if target else "subscription_create",
                subscription=target,
                paid=False,
                preview=True,
            )
        return invoice
