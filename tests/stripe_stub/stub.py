"""StripeStub: the server, request handling, faults, events and webhook delivery."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ._billing import BillingMixin
from ._checkout import CheckoutMixin
from ._objects import ObjectsMixin
from ._pages import PagesMixin
from ._resources import ResourcesMixin
from ._util import API_VERSION, StripeError, decode_form, fixture, new_id

ROUTES = [
    ("/v1/customers", "GET", "customers_list"),
    ("/v1/customers", "POST", "customers_create"),
    ("/v1/customers/<id>", "GET", "customers_retrieve"),
    ("/v1/customers/<id>", "POST", "customers_update"),
    ("/v1/customers/<id>", "DELETE", "customers_delete"),
    ("/v1/products", "GET", "products_list"),
    ("/v1/products", "POST", "products_create"),
    ("/v1/products/<id>", "GET", "products_retrieve"),
    ("/v1/products/<id>", "POST", "products_update"),
    ("/v1/prices", "GET", "prices_list"),
    ("/v1/prices", "POST", "prices_create"),
    ("/v1/prices/<id>", "GET", "prices_retrieve"),
    ("/v1/prices/<id>", "POST", "prices_update"),
    ("/v1/checkout/sessions", "GET", "sessions_list"),
    ("/v1/checkout/sessions", "POST", "sessions_create"),
    ("/v1/checkout/sessions/<id>", "GET", "sessions_retrieve"),
    ("/v1/checkout/sessions/<id>/line_items", "GET", "sessions_line_items"),
    ("/v1/checkout/sessions/<id>/expire", "POST", "sessions_expire"),
    ("/v1/subscriptions", "GET", "subscriptions_list"),
    ("/v1/subscriptions/<id>", "GET", "subscriptions_retrieve"),
    ("/v1/subscriptions/<id>", "POST", "subscriptions_update"),
    ("/v1/subscriptions/<id>", "DELETE", "subscriptions_cancel"),
    ("/v1/invoices", "GET", "invoices_list"),
    ("/v1/invoices/create_preview", "POST", "invoices_preview"),
    ("/v1/invoices/<id>", "GET", "invoices_retrieve"),
    ("/v1/billing_portal/sessions", "POST", "portal_create"),
    ("/v1/events", "GET", "events_list"),
    ("/v1/events/<id>", "GET", "events_retrieve"),
    ("/v1/payment_intents/<id>", "GET", "payment_intents_retrieve"),
    ("/v1/charges", "GET", "charges_list"),
    ("/v1/charges/<id>", "GET", "charges_retrieve"),
    ("/v1/refunds", "POST", "refunds_create"),
    ("/v1/refunds/<id>", "GET", "refunds_retrieve"),
    ("/v1/disputes/<id>", "GET", "disputes_retrieve"),
]


class Delivery(NamedTuple):
    """One webhook delivery attempt: the event, its type and the HTTP status (0: no answer)."""

    event_id: str
    type: str
    status: int


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeStub(PagesMixin, CheckoutMixin, BillingMixin, ResourcesMixin, ObjectsMixin):
    """A stand-in for api.stripe.com on loopback, driven by the real `stripe` SDK.

    Start it once (`start()`), `reset()` between tests, `stop()` at the end. Every emitted event is
    kept in `events`; undelivered ones wait in `outbox` unless `auto_deliver` is on.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, webhook_secret: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.webhook_secret = webhook_secret or "whsec_test_stripestub0123456789abcdefABCDEF"
        self.base_url = f"http://{host}:{port or 12111}"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._local = threading.local()
        self._wake = threading.Event()
        self._generation = 0
        self._urls = Map(
            [Rule(path, methods=[method], endpoint=name) for path, method, name in ROUTES],
            strict_slashes=False,
        )
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, event, log, fault and delivery setting (the server keeps running)."""
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
            self._db: dict[str, dict[str, Any]] = {}
            self._extra: dict[str, dict[str, Any]] = {}
            self._idempotency: dict[str, tuple[Any, str]] = {}
            self._faults: list[tuple[str, float]] = []
            self.events: list[dict[str, Any]] = []
            self.outbox: list[dict[str, Any]] = []
            self.deliveries: list[Delivery] = []
            self.delivery_errors: list[BaseException] = []
            self.requests: list[dict[str, Any]] = []
            self.server_errors: list[str] = []
            self.deliver_to: Callable[[bytes, dict[str, str]], int] | None = None
            self.webhook_url: str | None = None
            self.auto_deliver = False
            self.clock: int | None = None
            self.api_version = API_VERSION

    def start(self) -> StripeStub:
        if self._server is None:
            server = make_server(
                self.host, self.port, self, threaded=True, request_handler=_QuietHandler
            )
            self.base_url = f"http://{self.host}:{server.server_port}"
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, name="stripe-stub", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._wake.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StripeStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults -------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next `n` API requests answer `status` with an error body (5xx: api_error)."""
        with self._lock:
            self._faults.extend([("fail", float(status))] * n)

    def timeout_next(self, n: int = 1, seconds: float = 12.0) -> None:
        """The next `n` API requests sleep `seconds` before they are handled and answered."""
        with self._lock:
            self._faults.extend([("timeout", float(seconds))] * n)

    # --- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith("/v1/"):
            response = self._api_request(request)
        else:
            response = self._page_request(request)
        return response(environ, start_response)

    def _api_request(self, request: Request) -> Response:
        params = decode_form(request.query_string.decode("latin-1"))
        if request.method in ("POST", "DELETE"):
            params.update(decode_form(request.get_data(as_text=True)))
        method, path = request.method, request.path
        idem = request.headers.get("Idempotency-Key") or None
        with self._lock:
            self.requests.append(
                {"method": method, "path": path, "params": params, "idempotency_key": idem}
            )
            fault = self._faults.pop(0) if self._faults else None
            generation, wake = self._generation, self._wake
        headers = {"Request-Id": new_id("req_", 14), "Stripe-Version": self.api_version}
        if request.headers.get("Stripe-Version"):
            headers["Stripe-Version"] = request.headers["Stripe-Version"]
        if idem:
            headers["Idempotency-Key"] = idem
        if fault and fault[0] == "timeout":
            wake.wait(fault[1])
            if generation != self._generation or self._server is None:
                return _json(500, _error_body(StripeError("Stub reset.", type="api_error")), {})
        elif fault:
            return _json(int(fault[1]), _fault_body(int(fault[1])), headers)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            message = (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY')."
            )
            return _json(401, _error_body(StripeError(message)), headers)
        if not auth[7:].startswith(("sk_test_", "sk_live_", "rk_test_")):
            key = auth[7:]
            message = f"Invalid API Key provided: {key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}"
            return _json(401, _error_body(StripeError(message)), headers)
        try:
            endpoint, args = self._urls.bind("stub").match(path, method)
        except (NotFound, MethodNotAllowed):
            message = (
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/."
            )
            return _json(404, _error_body(StripeError(message, status=404)), headers)
        handler = getattr(self, f"api_{endpoint}")
        scoped = idem if method in ("POST", "DELETE") else None
        try:
            with self._operation(request_id=headers["Request-Id"], idempotency_key=idem):
                cached = self._idempotency.get(scoped) if scoped else None
                if cached is not None:
                    if cached[0] != (method, path, params):
                        raise StripeError(
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idem}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                    headers["Idempotent-Replayed"] = "true"
                    text = cached[1]
                else:
                    text = json.dumps(handler(params, **args), indent=2)
                    if scoped:
                        self._idempotency[scoped] = ((method, path, params), text)
        except StripeError as exc:
            return _json(exc.status, _error_body(exc), headers)
        except Exception as exc:
            self.server_errors.append(traceback.format_exc())
            error = StripeError(f"Stub failure: {exc!r}", status=500, type="api_error")
            return _json(500, _error_body(error), headers)
        return Response(text, 200, headers, content_type="application/json")

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
            request = urllib.request.Request(
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


def _error_body(exc: StripeError) -> dict[str, Any]:
    return {"error": exc.body}


def _fault_body(status: int) -> dict[str, Any]:
    if status >= 500:
        error = StripeError("An unknown error occurred (injected by the stub).", type="api_error")
    elif status == 429:
        error = StripeError("Too many requests hit the API too quickly.", code="rate_limit")
    elif status == 402:
        error = StripeError("Your card was declined.", type="card_error", code="card_declined")
    elif status == 409:
        error = StripeError("This object cannot be accessed right now.", code="lock_timeout")
    else:
        error = StripeError(f"Injected error {status}.")
    return _error_body(error)


def _json(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(json.dumps(body, indent=2), status, headers, content_type="application/json")
