"""The object store: ids to objects, rendering with `expand[]`, atomic blocks."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from typing import Any

from ._util import (
    StripeError,
    fixture,
    list_object,
    missing,
)


class StoreMixin:
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
                self._render(p) for p in self._all("invoice_payment") if p["invoice"] == node["id"]
            ]
            return list_object(payments, f"/v1/invoices/{node['id']}/payments")
        return None

    def _session_line_items(self, session_id: str) -> dict[str, Any]:
        items = self._extra.get(session_id, {}).get("line_items", [])
        data = []
        for item in items:
            price = copy.deepcopy(self._db[item["price"]])
            product = self._db.get(price["product"], {})
            amount = (item["amount"] or 0) * item["quantity"]
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


def _expand_list(expand: Any) -> list[str]:
    if expand in (None, ""):
        return []
    if isinstance(expand, str):
        return [expand]
    if isinstance(expand, dict):
        return [str(v) for v in expand.values()]
    return [str(v) for v in expand]
