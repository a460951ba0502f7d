"""Events: recording state changes, signing and delivering them as webhooks."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ._util import fixture, new_id


class Delivery(NamedTuple):
    """One webhook delivery attempt: the event, its type and the HTTP status (0: no answer)."""

    event_id: str
    type: str
    status: int


class EventsMixin:
    # --- events -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _operation(
        self,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        raise_errors: bool = False,
    ) -> Iterator[None]:
        """Run a state change under the lock; deliver (or queue) its events once it is released."""
        if getattr(self._local, "batch", None) is not None:
            with self._lock:
                yield
            return
        batch: list[dict[str, Any]] = []
        self._local.batch = batch
        self._local.request = {"id": request_id, "idempotency_key": idempotency_key}
        ok = False
        try:
            with self._lock:
                yield
            ok = True
        finally:
            self._local.batch = None
            self._local.request = None
            if batch and ok and self.auto_deliver and self._has_target():
                self._send(batch, raise_errors=raise_errors)
            elif batch:
                with self._lock:
                    self.outbox.extend(batch)

    def _emit(
        self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        event = fixture("event")
        request = getattr(self._local, "request", None) or {"id": None, "idempotency_key": None}
        event.update(
            id=new_id("evt_"),
            type=type_,
            created=self._now(),
            api_version=self.api_version,
            livemode=False,
            pending_webhooks=1 if self._has_target() else 0,
            request=dict(request),
            data={"object": self._render(obj)},
        )
        if previous:
            event["data"]["previous_attributes"] = previous
        self.events.append(event)
        self._local.batch.append(event)
        return event

    def _changed(self, before: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
        """Stripe's `previous_attributes`: the old values of the top-level fields that changed."""
        after = self._render(obj)
        return {key: value for key, value in before.items() if after.get(key) != value}

    # --- webhooks -----------------------------------------------------------------------------

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        """The `Stripe-Signature` header Stripe would send for `payload`."""
        stamp = int(time.time()) if timestamp is None else int(timestamp)
        signed = f"{stamp}.".encode() + payload
        key = (secret or self.webhook_secret).encode()
        return f"t={stamp},v1={hmac.new(key, signed, hashlib.sha256).hexdigest()}"

    def _has_target(self) -> bool:
        return self.deliver_to is not None or bool(self.webhook_url)

    def deliver(
        self,
        events: Iterable[dict[str, Any] | str] | None = None,
        *,
        order: list[int] | None = None,
        duplicate: int = 1,
        drop: Iterable[int | str] = (),
    ) -> list[int]:
        """Send pending (or the given) events; `order`/`drop` index the selection as it stands.

        `order` lists the indexes to send, in that order (unlisted ones stay pending); `drop`
        removes events unsent (an index, an event id or an event type). Returns the statuses.
        """
        if not self._has_target():
            raise RuntimeError("No webhook target: set deliver_to or webhook_url first")
        with self._lock:
            by_id = {event["id"]: event for event in self.events}
            if events is None:
                chosen = list(self.outbox)
            else:
                chosen = [by_id[e] if isinstance(e, str) else e for e in events]
            drops = set()
            for item in drop:
                if isinstance(item, int):
                    drops.add(item)
                else:
                    drops.update(i for i, e in enumerate(chosen) if item in (e["id"], e["type"]))
            indexes = range(len(chosen)) if order is None else order
            sending = [chosen[i] for i in indexes if i not in drops]
            gone = {chosen[i]["id"] for i in drops} | {event["id"] for event in sending}
            self.outbox = [event for event in self.outbox if event["id"] not in gone]
        return self._send(sending, duplicate=duplicate, raise_errors=True)

    def _send(
        self, events: list[dict[str, Any]], *, duplicate: int = 1, raise_errors: bool = False
    ) -> list[int]:
        statuses = []
        for event in events:
            payload = json.dumps(event, indent=2).encode()
            for _ in range(duplicate):
                status = self._post(payload, raise_errors)
                self.deliveries.append(Delivery(event["id"], event["type"], status))
                statuses.append(status)
        return statuses

    def _post(self, payload: bytes, raise_errors: bool) -> int:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": self.sign(payload),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            if self.deliver_to is not None:
                return int(self.deliver_to(payload, headers))
            if not self.webhook_url:
                return 0
            if not self.webhook_url.startswith(("http://", "https://")):
                raise ValueError(f"webhook_url must be http(s): {self.webhook_url!r}")
            request = urllib.request.Request(  # noqa: S310 (scheme checked above)
                self.webhook_url, data=payload, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    return int(answer.status)
            except urllib.error.HTTPError as exc:
                exc.close()
                return int(exc.code)
            except OSError as exc:  # refused, reset, timed out: Stripe would retry later
                self.delivery_errors.append(exc)
                return 0
        except Exception as exc:
            self.delivery_errors.append(exc)
            if raise_errors:
                raise
            return 0
