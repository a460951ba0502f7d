"""Cross-cutting request handling: request ids, security headers, error pages, mail delivery."""

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping

from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from membership.extensions import db
from membership.mail import wake_committed_mail

log = logging.getLogger(__name__)

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
BASE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
CSP_REGISTRY = "membership.csp_sources"
AFTER_REQUEST_STEPS = "membership.after_request_steps"
# Seconds a reader (or a client) is told to wait while the database is unreachable.
DATABASE_RETRY_AFTER = 5
PRESERVED_ERROR_HEADERS = {"allow", "retry-after", "www-authenticate"}
FRIENDLY_ERRORS = {
    400: "The request could not be understood. Check the form and try again.",
    403: "You do not have permission to do that.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    413: "What you sent is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. The error has been logged.",
    503: "The service is briefly unavailable. Please try again shortly.",
}


class RequestIdFilter(logging.Filter):
    """Add the current request id (or "-") to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def allow_csp_sources(directive: str, *sources: str) -> None:
    """Widen the Content-Security-Policy for this response only (e.g. Stripe's hosts)."""
    extra = g.setdefault("csp_extra", {})
    extra.setdefault(directive, []).extend(sources)


CspSources = Callable[[], Mapping[str, Iterable[str]]]


def register_csp_sources(app: Flask, name: str, sources: CspSources) -> None:
    """A feature names a set of extra CSP sources; pages opt in with `use_csp_sources(name)`.

    `sources` is called per request (it may read the app's config). Features register at
    blueprint registration, so this module never imports a feature (no import circle).
    """
    app.extensions.setdefault(CSP_REGISTRY, {})[name] = sources


def register_after_request_step(app: Flask, step: Callable[[], None]) -> None:
    """A feature's bookkeeping after each response (e.g. session activity); mail goes last."""
    app.extensions.setdefault(AFTER_REQUEST_STEPS, []).append(step)


def use_csp_sources(name: str) -> str:
    """Widen this response's CSP by a registered set; returns "" so templates can call it."""
    registry = current_app.extensions.get(CSP_REGISTRY, {})
    if name not in registry:
        raise KeyError(f"no CSP sources registered under {name!r}")
    for directive, sources in registry[name]().items():
        allow_csp_sources(directive, *sources)
    return ""


def content_security_policy() -> str:
    policy = {key: list(values) for key, values in BASE_CSP.items()}
    for directive, sources in g.get("csp_extra", {}).items():
        policy.setdefault(directive, ["'self'"]).extend(sources)
    return "; ".join(f"{key} {' '.join(values)}" for key, values in policy.items())


def register_request_hooks(app: Flask) -> None:
    """Install the hooks and the error handlers on the app."""

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex

    @app.before_request
    def refuse_nul_characters() -> None:
        """No text accepts NUL (PostgreSQL cannot store it): a clear 400, not a 500."""
        values = [str(value) for value in (request.view_args or {}).values()]
        sources = [request.args]
        if request.method in ("POST", "PUT", "PATCH") and request.endpoint != "stripe.webhook":
            sources.append(request.form)
        for source in sources:
            for key, items in source.lists():
                values.append(key)
                values.extend(items)
        if any("\x00" in value for value in values):
            abort(400, "Text cannot contain NUL characters.")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy()
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config["HSTS_ENABLED"]:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if g.get("request_id"):
            headers["X-Request-ID"] = g.request_id
        if _is_private_page():
            headers["Cache-Control"] = "no-store"
            headers["Vary"] = "Cookie"
        return response

    @app.after_request
    def finish_request(response):
        """Record session activity, then queue delivery of the emails this request committed."""
        steps = [*app.extensions.get(AFTER_REQUEST_STEPS, []), wake_committed_mail]
        for step in steps:
            try:
                step()
            except Exception:
                # Neither may undo the response: the emails stay in the outbox for the sweep.
                db.session.rollback()
                log.exception("after-request step %s failed", step.__name__)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        response = make_response(_error_page(error.code or 500, error), error.code)
        # Keep the headers that give the error its meaning (Allow on 405, Retry-After on 429).
        for name, value in error.get_headers():
            if name.lower() in PRESERVED_ERROR_HEADERS:
                response.headers[name] = value
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        log.info("CSRF rejected: %s", error.description)
        message = "Your form expired or was sent from elsewhere. Reload the page and try again."
        return render_template(
            "errors/error.html", code=400, title="Form expired", message=message, sections=[]
        ), 400

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        # The rule, not the path: paths can carry tokens (reset and confirmation links).
        route = request.url_rule.rule if request.url_rule else "(no route)"
        if database_unavailable(error):
            # An outage, not a bug: one line per request (no traceback), and a 503 that tells
            # the reader (and the load balancer) to come back shortly.
            log.warning("database unavailable on %s %s: %s", request.method, route, error.orig)
            _rollback_quietly()
            # Loading the signed-in reader for the page's header needs the database too.
            g._login_user = current_app.login_manager.anonymous_user()
            response = make_response(_error_page(503, ServiceUnavailable()), 503)
            response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
            return response
        log.exception("unhandled error on %s %s", request.method, route)
        _rollback_quietly()
        return _error_page(500, InternalServerError()), 500

    app.add_template_global(static_url)

    @app.context_processor
    def template_globals() -> dict:
        from membership.access import membership_of
        from membership.settings import site_name

        return {
            "site_name": site_name(),
            "request_id": g.get("request_id"),
            "membership_of": membership_of,
            # e.g. the failed-payment banner, whose form continues to Stripe
            "use_csp_sources": use_csp_sources,
        }


def static_url(filename: str) -> str:
    """`url_for("static", ...)`, built once per file and process: every page links the same
    stylesheets and scripts, and the app is mounted at one place for its whole life."""
    urls: dict = current_app.extensions.setdefault("static_urls", {})
    url = urls.get(filename)
    if url is None:
        url = urls[filename] = url_for("static", filename=filename)
    return url


def database_unavailable(error: BaseException) -> bool:
    """The database cannot be reached or dropped the connection (a restart, a failover, a
    network cut): the request may succeed if tried again, so it is a 503, not a 500."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _rollback_quietly() -> None:
    """Roll back; on a connection that is already gone, the rollback itself may fail."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback failed after a database error", exc_info=True)


def _is_private_page() -> bool:
    """Signed-in and admin pages must never be stored by a browser or a proxy; nor may a page
    for a browser whose session holds anything (a form's CSRF token, a flash message)."""
    if request.path.startswith("/admin") or session:
        return True
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:
        return False


def _error_page(code: int, error: HTTPException):
    message = FRIENDLY_ERRORS.get(code) or error.description
    if code in (400, 403, 404) and error.description and not _is_default(error):
        message = error.description
    return render_template(
        "errors/error.html",
        code=code,
        title=error.name,
        message=message,
        sections=_sections_or_none() if code < 500 else [],
    )


def _sections_or_none() -> list:
    """The header's sections, or none while the database is unreachable (the page still renders)."""
    from sqlalchemy import select

    from membership.models import Section

    try:
        with db.session.no_autoflush:
            return list(
                db.session.scalars(select(Section).order_by(Section.position, Section.name))
            )
    except SQLAlchemyError:
        db.session.rollback()
        return []


def _is_default(error: HTTPException) -> bool:
    return error.description == type(error).description
