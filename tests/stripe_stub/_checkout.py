"""Checkout Sessions: creation, retrieval, listing, expiry."""

from __future__ import annotations

import copy
from typing import Any

from ._util import (
    StripeError,
    apply_metadata,
    as_list,
    check_known,
    fixture,
    new_id,
    pname,
    require,
    to_int,
)

SESSION_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "automatic_tax",
    "billing_address_collection", "branding_settings", "cancel_url", "client_reference_id",
    "consent_collection", "currency", "custom_fields", "custom_text", "customer",
    "customer_creation", "customer_email", "customer_update", "discounts", "expires_at",
    "invoice_creation", "line_items", "locale", "metadata", "mode", "name_collection",
    "optional_items", "origin_context", "payment_intent_data", "payment_method_collection",
    "payment_method_configuration", "payment_method_data", "payment_method_options",
    "payment_method_types", "permissions", "phone_number_collection", "redirect_on_completion",
    "return_url", "saved_payment_method_options", "setup_intent_data",
    "shipping_address_collection", "shipping_options", "submit_type", "subscription_data",
    "success_url", "tax_id_collection", "ui_mode", "wallet_options",
}  # fmt: skip
MODES = ("payment", "subscription", "setup")
SUBMIT_TYPES = ("auto", "book", "donate", "pay", "subscribe")
_NO_INVOICE = {
    "enabled": False,
    "invoice_data": {
        "account_tax_ids": None,
        "custom_fields": None,
        "description": None,
        "footer": None,
        "issuer": None,
        "metadata": {},
        "rendering_options": None,
    },
}


def _check_url(params: dict[str, Any], name: str) -> None:
    value = params.get(name)
    if value and not str(value).startswith(("http://", "https://")):
        raise StripeError("Not a valid URL", code="url_invalid", param=name)


class CheckoutMixin:
    def api_sessions_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, SESSION_PARAMS)
        mode = require(params, "mode")
        if mode not in MODES:
            raise StripeError(
                f"Invalid mode: must be one of {', '.join(MODES)}",
                code="parameter_invalid_string",
                param="mode",
            )
        if mode == "setup":
            raise StripeError("The stub does not implement `setup` mode.", param="mode")
        require(params, "success_url")
        _check_url(params, "success_url")
        _check_url(params, "cancel_url")
        if params.get("customer") and params.get("customer_email"):
            raise StripeError(
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )
        for name, only in (
            ("subscription_data", "subscription"),
            ("payment_intent_data", "payment"),
        ):
            if params.get(name) and mode != only:
                raise StripeError(f"You can not pass `{name}` in `{mode}` mode.", param=name)
        if params.get("submit_type") and mode != "payment":
            raise StripeError(
                "`submit_type` can only be used in `payment` mode.", param="submit_type"
            )
        if params.get("submit_type") not in (None, "", *SUBMIT_TYPES):
            raise StripeError(
                f"Invalid submit_type: must be one of {', '.join(SUBMIT_TYPES)}",
                param="submit_type",
            )
        if params.get("customer_creation") and (mode != "payment" or params.get("customer")):
            raise StripeError(
                "`customer_creation` can only be used in `payment` mode without `customer`.",
                param="customer_creation",
            )
        if params.get("customer_creation") not in (None, "", "always", "if_required"):
            raise StripeError("Invalid customer_creation.", param="customer_creation")
        customer = None
        if params.get("customer"):
            customer = self._live_customer(params["customer"], "customer")
        entries = as_list(require(params, "line_items"))
        with self._atomic():  # prices made for a refused session must not survive
            items = [self._checkout_item(mode, entry, i) for i, entry in enumerate(entries)]
            prices = [self._db[item["price"]] for item in items]
            if len({p["currency"] for p in prices}) > 1:
                raise StripeError("All line items must use the same currency.", param="line_items")
            recurring = {
                (p["recurring"]["interval"], p["recurring"]["interval_count"])
                for p in prices
                if p["recurring"]
            }
            if mode == "subscription" and not recurring:
                raise StripeError(
                    "You must provide at least one recurring price in `subscription` mode when "
                    "using prices.",
                    param="line_items",
                )
            if len(recurring) > 1:
                raise StripeError(
                    "Checkout does not support multiple prices with different billing intervals.",
                    param="line_items",
                )
            session = self._new_session(params, mode, customer, items, prices[0]["currency"])
        return self._render(session, params.get("expand"))

    def _new_session(
        self,
        params: dict[str, Any],
        mode: str,
        customer: dict[str, Any] | None,
        items: list[dict[str, Any]],
        currency: str,
    ) -> dict[str, Any]:
        now = self._now()
        session = fixture("checkout.session")
        session_id = new_id("cs_test_", 58)
        amounts = [item["amount"] for item in items]
        total = None if None in amounts else sum(i["amount"] * i["quantity"] for i in items)
        creation = None
        if not customer:
            creation = params.get("customer_creation") or (
                "always" if mode == "subscription" else "if_required"
            )
        session.update(
            id=session_id,
            object="checkout.session",
            after_expiration=None,
            allow_promotion_codes=None,
            amount_subtotal=total,
            amount_total=total,
            billing_address_collection=params.get("billing_address_collection") or None,
            cancel_url=params.get("cancel_url") or None,
            client_reference_id=params.get("client_reference_id") or None,
            collected_information=None,
            consent=None,
            consent_collection=None,
            created=now,
            currency=currency,
            currency_conversion=None,
            custom_text={
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            customer=customer["id"] if customer else None,
            customer_creation=creation,
            customer_details=None,
            customer_email=params.get("customer_email") or None,
            discounts=[],
            expires_at=to_int(params["expires_at"], "expires_at")
            if params.get("expires_at")
            else now + 86400,
            invoice=None,
            invoice_creation=None if mode == "subscription" else copy.deepcopy(_NO_INVOICE),
            locale=params.get("locale") or None,
            metadata={},
            mode=mode,
            payment_intent=None,
            payment_method_collection="always",
            payment_method_configuration_details=None,
            payment_status="unpaid",
            permissions=None,
            saved_payment_method_options=None,
            shipping_address_collection=None,
            shipping_cost=None,
            status="open",
            submit_type=params.get("submit_type") or None,
            subscription=None,
            success_url=params["success_url"],
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            ui_mode=params.get("ui_mode") or "hosted",
            url=f"{self.base_url}/pay/{session_id}",
            adaptive_pricing={"enabled": False},
            wallet_options=None,
            managed_payments={"enabled": False},
        )
        apply_metadata(session, params.get("metadata"))
        self._extra[session_id] = {
            "line_items": items,
            "subscription_data": params.get("subscription_data") or {},
            "payment_intent_data": params.get("payment_intent_data") or {},
        }
        return self._put(session)

    def api_sessions_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("checkout.session", id), params.get("expand"))

    def api_sessions_line_items(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        self._get("checkout.session", id)
        items = self._session_line_items(id)["data"]
        return self._page(items, params, f"/v1/checkout/sessions/{id}/line_items")

    def api_sessions_list(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = ("customer", "payment_intent", "subscription", "status")
        items = [
            self._render(s)
            for s in self._all("checkout.session")
            if all(not params.get(k) or s[k] == params[k] for k in keys)
        ]
        return self._page(items, params, "/v1/checkout/sessions")

    def api_sessions_expire(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        session = self._get("checkout.session", id)
        if session["status"] != "open":
            raise StripeError(
                f'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'Checkout Session has a status of "{session["status"]}".',
            )
        session["status"] = "expired"
        self._emit("checkout.session.expired", session)
        return self._render(session, params.get("expand"))

    def _checkout_item(self, mode: str, entry: Any, index: int) -> dict[str, Any]:
        name = f"line_items[{index}]"
        if not isinstance(entry, dict):
            raise StripeError("Invalid array", param="line_items")
        if entry.get("price") and entry.get("price_data"):
            raise StripeError(
                "You may only specify one of these parameters: price, price_data.", param=name
            )
        if entry.get("price"):
            price = self._get("price", entry["price"], pname(name, "price"))
            if not price["active"]:
                raise StripeError(
                    "The price specified is inactive. This field only accepts active prices.",
                    param=pname(name, "price"),
                )
        elif entry.get("price_data"):
            price = self._new_price(entry["price_data"], pname(name, "price_data"))
        else:
            raise StripeError(
                "Missing required param: price.",
                code="parameter_missing",
                param=pname(name, "price"),
            )
        if "quantity" not in entry:
            raise StripeError(
                f"Quantity is required. Add `quantity` to `{name}`.",
                code="parameter_missing",
                param=pname(name, "quantity"),
            )
        quantity = to_int(entry["quantity"], pname(name, "quantity"), minimum=1)
        if mode == "payment" and price["recurring"]:
            raise StripeError(
                "You specified `payment` mode but passed a recurring price. Either switch to "
                "`subscription` mode or use only one-time prices.",
                param=pname(name, "price"),
            )
        if price["custom_unit_amount"] and (mode != "payment" or quantity != 1):
            raise StripeError(
                "Prices with `custom_unit_amount` need `payment` mode and a quantity of 1.",
                param=pname(name, "price"),
            )
        return {
            "id": new_id("li_"),
            "price": price["id"],
            "quantity": quantity,
            "amount": price["unit_amount"],
        }
