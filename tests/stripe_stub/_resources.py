"""Customers, products, prices, events, portal sessions, payments, refunds and disputes."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

from ._util import (
    StripeError,
    apply_metadata,
    as_list,
    check_known,
    created_filter,
    fixture,
    new_id,
    paginate,
    require,
    to_bool,
)

CUSTOMER_PARAMS = {
    "address", "balance", "cash_balance", "coupon", "description", "email", "invoice_prefix",
    "invoice_settings", "metadata", "name", "next_invoice_sequence", "payment_method", "phone",
    "preferred_locales", "promotion_code", "shipping", "source", "tax", "tax_exempt",
    "tax_id_data", "test_clock", "default_source",
}  # fmt: skip
PRODUCT_PARAMS = {
    "active", "default_price", "default_price_data", "description", "id", "images",
    "marketing_features", "metadata", "name", "package_dimensions", "shippable",
    "statement_descriptor", "tax_code", "type", "unit_label", "url",
}  # fmt: skip
PRICE_PARAMS = {
    "active", "billing_scheme", "currency", "currency_options", "custom_unit_amount",
    "lookup_key", "metadata", "nickname", "product", "product_data", "recurring",
    "tax_behavior", "tiers", "tiers_mode", "transfer_lookup_key", "transform_quantity",
    "unit_amount", "unit_amount_decimal",
}  # fmt: skip
PRICE_UPDATE_PARAMS = {
    "active", "currency_options", "lookup_key", "metadata", "nickname", "tax_behavior",
    "transfer_lookup_key",
}  # fmt: skip


class ResourcesMixin:
    # --- customers --------------------------------------------------------------------------

    def api_customers_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, CUSTOMER_PARAMS)
        _check_email(params.get("email"))
        fields = {k: params[k] for k in ("description", "phone") if k in params}
        customer = self._new_customer(
            email=params.get("email"),
            name=params.get("name"),
            metadata=params.get("metadata"),
            **fields,
        )
        return self._render(customer, params.get("expand"))

    def api_customers_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        customer = self._get("customer", id)
        if customer.get("deleted"):
            return {"id": id, "object": "customer", "deleted": True}
        return self._render(customer, params.get("expand"))

    def api_customers_update(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        check_known(params, CUSTOMER_PARAMS)
        customer = self._live_customer(id)
        _check_email(params.get("email"))
        for key in ("email", "name", "description", "phone"):
            if key in params:
                customer[key] = params[key] or None
        apply_metadata(customer, params.get("metadata"))
        return self._render(customer, params.get("expand"))

    def api_customers_delete(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        """Deleting a customer cancels its subscriptions at once, as Stripe does."""
        customer = self._live_customer(id)
        for sub in self._all("subscription"):
            if sub["customer"] == id and sub["status"] not in ("canceled", "incomplete_expired"):
                self._end_subscription(sub, reason="cancellation_requested")
        self._emit("customer.deleted", customer)
        customer["deleted"] = True
        return {"id": id, "object": "customer", "deleted": True}

    def api_customers_list(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            self._render(c)
            for c in self._all("customer")
            if not c.get("deleted")
            and (not params.get("email") or c["email"] == params["email"])
            and created_filter(params.get("created"), c["created"])
        ]
        return self._page(items, params, "/v1/customers")

    def _live_customer(self, customer_id: Any, param: str | None = None) -> dict[str, Any]:
        customer = self._get("customer", customer_id, param)
        if customer.get("deleted"):
            raise StripeError(
                f"No such customer: '{customer_id}'",
                status=400 if param else 404,
                code="resource_missing",
                param=param or "id",
            )
        return customer

    def _page(self, items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict:
        page = paginate(items, params, url)
        for path in as_list(params.get("expand")):
            self._expand(page, str(path).split("."), str(path))
        return page

    # --- products and prices ----------------------------------------------------------------

    def api_products_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, PRODUCT_PARAMS)
        product = self._new_product(params)
        if params.get("default_price_data"):
            price = self._new_price({**params["default_price_data"], "product": product["id"]})
            product["default_price"] = price["id"]
        return self._render(product, params.get("expand"))

    def api_products_update(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        check_known(params, PRODUCT_PARAMS - {"id", "type", "default_price_data"})
        product = self._get("product", id)
        if "name" in params and not params["name"]:
            raise StripeError("You must specify a name.", param="name")
        if params.get("default_price"):
            price = self._get("price", params["default_price"], "default_price")
            if price["product"] != id:
                raise StripeError(
                    "The default price must belong to this product.", param="default_price"
                )
        for key in ("name", "description", "url", "unit_label", "statement_descriptor"):
            if key in params:
                product[key] = params[key] or None
        if "default_price" in params:
            product["default_price"] = params["default_price"] or None
        if "active" in params:
            product["active"] = to_bool(params["active"], "active")
        apply_metadata(product, params.get("metadata"))
        product["updated"] = self._now()
        return self._render(product, params.get("expand"))

    def api_products_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("product", id), params.get("expand"))

    def api_products_list(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = as_list(params.get("ids"))
        active = params.get("active")
        items = [
            self._render(p)
            for p in self._all("product")
            if (not ids or p["id"] in ids)
            and (active in (None, "") or p["active"] == to_bool(active, "active"))
        ]
        return self._page(items, params, "/v1/products")

    def api_prices_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, PRICE_PARAMS)
        lookup_key = params.get("lookup_key") or None
        transfer = to_bool(params.get("transfer_lookup_key", "false"), "transfer_lookup_key")
        self._check_lookup_key(lookup_key, transfer, None)
        price = self._new_price(params)
        if lookup_key:
            self._take_lookup_key(lookup_key, price)
        return self._render(price, params.get("expand"))

    def api_prices_update(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        check_known(params, PRICE_UPDATE_PARAMS)
        price = self._get("price", id)
        transfer = to_bool(params.get("transfer_lookup_key", "false"), "transfer_lookup_key")
        if "lookup_key" in params:
            self._check_lookup_key(params["lookup_key"] or None, transfer, id)
            price["lookup_key"] = None
            if params["lookup_key"]:
                self._take_lookup_key(params["lookup_key"], price)
        if "active" in params:
            price["active"] = to_bool(params["active"], "active")
        for key in ("nickname", "tax_behavior"):
            if key in params:
                price[key] = params[key] or None
        apply_metadata(price, params.get("metadata"))
        return self._render(price, params.get("expand"))

    def api_prices_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._render(self._get("price", id), params.get("expand"))

    def api_prices_list(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = [str(k) for k in as_list(params.get("lookup_keys"))]
        if len(keys) > 10:
            raise StripeError("You may pass at most 10 lookup keys.", param="lookup_keys")
        active, recurring = params.get("active"), params.get("recurring") or {}
        items = [
            self._render(p)
            for p in self._all("price")
            if (not keys or p["lookup_key"] in keys)
            and (active in (None, "") or p["active"] == to_bool(active, "active"))
            and (not params.get("product") or p["product"] == params["product"])
            and (not params.get("currency") or p["currency"] == params["currency"])
            and (not params.get("type") or p["type"] == params["type"])
            and (
                not recurring.get("interval")
                or (p["recurring"] or {}).get("interval") == recurring["interval"]
            )
            and created_filter(params.get("created"), p["created"])
        ]
        return self._page(items, params, "/v1/prices")

    def _check_lookup_key(self, key: str | None, transfer: bool, own: str | None) -> None:
        if not key or transfer:
            return
        for price in self._all("price"):
            if price["lookup_key"] == key and price["id"] != own:
                raise StripeError(
                    f"A price (`{price['id']}`) already uses that lookup key.",
                    param="lookup_key",
                )

    def _take_lookup_key(self, key: str, price: dict[str, Any]) -> None:
        for other in self._all("price"):
            if other["lookup_key"] == key:
                other["lookup_key"] = None
        price["lookup_key"] = key

    # --- events -----------------------------------------------------------------------------

    def api_events_list(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("type") and params.get("types"):
            raise StripeError("You may only specify one of type and types.", param="types")
        patterns = as_list(params.get("types")) or as_list(params.get("type"))
        items = [
            copy.deepcopy(e)
            for e in reversed(self.events)
            if (not patterns or any(fnmatch.fnmatchcase(e["type"], str(p)) for p in patterns))
            and created_filter(params.get("created"), e["created"])
        ]
        return self._page(items, params, "/v1/events")

    def api_events_retrieve(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        for event in self.events:
            if event["id"] == id:
                return copy.deepcopy(event)
        raise StripeError(f"No such event: '{id}'", status=404, code="resource_missing", param="id")

    # --- billing portal ---------------------------------------------------------------------

    def api_portal_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {"customer", "return_url", "configuration", "flow_data", "locale", "on_behalf_of"},
        )
        customer = self._live_customer(require(params, "customer"), "customer")
        session = fixture("billing_portal.session")
        session.update(
            id=new_id("bps_"),
            created=self._now(),
            customer=customer["id"],
            configuration=params.get("configuration") or "bpc_stripestubdefault",
            flow=None,
            livemode=False,
            locale=params.get("locale") or None,
            return_url=params.get("return_url") or None,
        )
        session["url"] = f"{self.base_url}/portal/{session['id']}"
        self._put(session)
        return self._render(session, params.get("expand"))


def _check_email(email: Any) -> None:
    if email and ("@" not in str(email) or len(str(email)) > 512):
        raise StripeError(f"Invalid email address: {email}", code="email_invalid", param="email")
