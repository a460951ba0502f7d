"""StripeStub: the server, request handling, faults, events and webhook delivery."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ._billing import BillingMixin
from ._builders import BuildersMixin
from ._checkout import CheckoutMixin
from ._drivers import DriversMixin
from ._events import Delivery, EventsMixin
from ._pages import PagesMixin
from ._payments import PaymentsMixin
from ._preview import PreviewMixin
from ._resources import ResourcesMixin
from ._schema import SCHEMAS, check_shape, check_values
from ._store import StoreMixin
from ._util import API_VERSION, StripeError, decode_form, new_id

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


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeStub(
    PagesMixin,
    DriversMixin,
    CheckoutMixin,
    PreviewMixin,
    BillingMixin,
    PaymentsMixin,
    ResourcesMixin,
    BuildersMixin,
    StoreMixin,
    EventsMixin,
):
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
        """Forget all objects, events, logs, faults and delivery settings (the server runs on)."""
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
            self._db: dict[str, dict[str, Any]] = {}
            self._extra: dict[str, dict[str, Any]] = {}
            self._idempotency: dict[str, tuple[Any, str]] = {}
            self._faults: list[tuple[str, float, str | None]] = []
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
            # A short poll interval: shutdown() waits for it, and every test session (one per
            # mutant under `make mutation`) stops the server once (the default is 0.5 s).
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="stripe-stub",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
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

    def fail_next(self, n: int = 1, status: int = 500, *, path: str | None = None) -> None:
        """The next `n` API requests (to `path` only, if given) answer `status` with an error
        body (5xx: api_error); requests to other paths go through (a partial outage)."""
        with self._lock:
            self._faults.extend([("fail", float(status), path)] * n)

    def timeout_next(self, n: int = 1, seconds: float = 12.0, *, path: str | None = None) -> None:
        """The next `n` API requests (to `path` only, if given) sleep `seconds` before they are
        handled and answered."""
        with self._lock:
            self._faults.extend([("timeout", float(seconds), path)] * n)

    def _take_fault(self, path: str) -> tuple[str, float, str | None] | None:
        for index, fault in enumerate(self._faults):
            if fault[2] in (None, path):
                return self._faults.pop(index)
        return None

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
            fault = self._take_fault(path)
            generation, wake = self._generation, self._wake
        headers = {"Request-Id": new_id("req_", 14), "Stripe-Version": self.api_version}
        if request.headers.get("Stripe-Version"):
            headers["Stripe-Version"] = request.headers["Stripe-Version"]
        if idem:
            headers["Idempotency-Key"] = idem
        if fault and fault[0] == "timeout":
            wake.wait(fault[1])
            if generation != self._generation:
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
                # Refused before anything runs: Stripe saves no idempotent result for these.
                check_shape(params, SCHEMAS[endpoint])
                check_values(params)
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
