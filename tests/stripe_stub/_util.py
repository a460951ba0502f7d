"""Helpers shared by the stub's modules: ids, time, form decoding, errors, fixtures, lists."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
import secrets
import string
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits
_FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).with_name("fixtures.json")).read_text(encoding="utf-8")
)["resources"]


def fixture(name: str) -> dict[str, Any]:
    """A deep copy of Stripe's example object for resource `name` ("customer", "price", ...)."""
    return copy.deepcopy(_FIXTURES[name])


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class StripeError(Exception):
    """An error answered as Stripe does: `{"error": {...}}` with an HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param


def missing(kind: str, obj_id: str, *, param: str | None = None) -> StripeError:
    """The error for an unknown id: 404 in the path, 400 when referenced by a parameter."""
    return StripeError(
        f"No such {kind}: '{obj_id}'",
        status=400 if param else 404,
        code="resource_missing",
        param=param or "id",
    )


def require(params: dict[str, Any], name: str, label: str | None = None) -> Any:
    value = params.get(name)
    if value in (None, "", {}, []):
        raise StripeError(
            f"Missing required param: {label or name}.",
            code="parameter_missing",
            param=label or name,
        )
    return value


def check_known(params: dict[str, Any], allowed: set[str]) -> None:
    """Stripe refuses parameters it does not know; so does the stub (top level only)."""
    for key in params:
        if key not in allowed and key != "expand":
            raise StripeError(
                f"Received unknown parameter: {key}", code="parameter_unknown", param=key
            )


def to_int(value: Any, param: str, *, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(
            f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
        ) from None
    if minimum is not None and number < minimum:
        raise StripeError(
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=param,
        )
    return number


def to_bool(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise StripeError(f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=param)


def as_list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    return [value]


def apply_metadata(target: dict[str, Any], value: Any) -> None:
    """Merge `metadata[...]` as Stripe does: an empty string removes a key or all of them."""
    if value in (None,):
        return
    if value == "":
        target["metadata"] = {}
        return
    if not isinstance(value, dict):
        raise StripeError("Invalid object", code="parameter_invalid_object", param="metadata")
    meta = dict(target.get("metadata") or {})
    for key, item in value.items():
        if item == "":
            meta.pop(key, None)
        else:
            meta[key] = str(item)
    target["metadata"] = meta


# --- form decoding ----------------------------------------------------------------------------


def _split_key(key: str) -> list[str]:
    if "[" not in key:
        return [key]
    head, rest = key.split("[", 1)
    parts = [head]
    for piece in rest.split("["):
        parts.append(piece[:-1] if piece.endswith("]") else piece)
    return parts


def _listify(value: Any, parent: str | None) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v, k) for k, v in value.items()}
    if parent != "metadata" and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def decode_form(text: str) -> dict[str, Any]:
    """`a[b][0][c]=1&expand[]=x` -> {"a": {"b": [{"c": "1"}]}, "expand": ["x"]}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(root, None)


# --- time ---------------------------------------------------------------------------------------


def add_interval(ts: int, interval: str, count: int = 1) -> int:
    """`ts` moved on by `count` intervals, months clamped to the month's last day like Stripe."""
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    months = count * (12 if interval == "year" else 1)
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


# --- lists --------------------------------------------------------------------------------------


def paginate(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """A Stripe list object for `items` (already newest first) honouring limit/starting_after."""
    limit = to_int(params.get("limit", 10), "limit", minimum=1)
    if limit > 100:
        raise StripeError(
            "This value must be less than or equal to 100.",
            code="parameter_invalid_integer",
            param="limit",
        )
    after, before = params.get("starting_after"), params.get("ending_before")
    ids = [item["id"] for item in items]
    if after:
        if after not in ids:
            raise missing("object", after, param="starting_after")
        items = items[ids.index(after) + 1 :]
    elif before:
        if before not in ids:
            raise missing("object", before, param="ending_before")
        items = items[: ids.index(before)]
        page = items[-limit:]
        return list_object(page, url, has_more=len(items) > len(page))
    return list_object(items[:limit], url, has_more=len(items) > limit)


def list_object(data: list[dict[str, Any]], url: str, *, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def created_filter(value: Any, created: int) -> bool:
    """Stripe's `created` filter: an exact timestamp or {gt, gte, lt, lte}."""
    if value in (None, ""):
        return True
    if not isinstance(value, dict):
        return created == to_int(value, "created")
    checks = {
        "gt": lambda b: created > b,
        "gte": lambda b: created >= b,
        "lt": lambda b: created < b,
        "lte": lambda b: created <= b,
    }
    for op, bound in value.items():
        if op not in checks:
            raise StripeError(
                f"Received unknown parameter: created[{op}]",
                code="parameter_unknown",
                param=f"created[{op}]",
            )
        if not checks[op](to_int(bound, f"created[{op}]")):
            return False
    return True


def pname(prefix: str, name: str) -> str:
    """A nested parameter's wire name: pname("items[0]", "price") -> "items[0][price]"."""
    return f"{prefix}[{name}]" if prefix else name
