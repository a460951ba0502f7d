"""HTML pages a real browser meets: hosted Checkout, the billing portal, invoices and receipts."""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}label{display:block;margin-top:1rem}input{font:inherit;padding:.3rem;"
    "width:100%}button{font:inherit;margin:1rem .5rem 0 0;padding:.4rem 1.2rem}"
    "[role=alert]{color:#a00}table{border-collapse:collapse}td,th{padding:.2rem .6rem;"
    "text-align:left}"
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "an amount you choose"
    return f"{Decimal(amount) / 100:.2f} {(currency or '').upper()}"


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{_e(title)}</h1>{body}</main></body></html>\n"
    )
    return Response(text, status, content_type="text/html; charset=utf-8")


def _redirect(url: str) -> Response:
    return Response("", 303, {"Location": url})


class PagesMixin:
    def _page_request(self, request: Request) -> Response:
        parts = [part for part in request.path.split("/") if part]
        pages = {"pay": self._pay_page, "portal": self._portal_page}
        if len(parts) == 2 and parts[0] in pages:
            return pages[parts[0]](request, parts[1])
        if len(parts) == 2 and parts[0] in ("invoice", "receipt"):
            return self._document_page(parts[0], parts[1])
        if not parts:
            return _page("Stripe stub", "<p>A stand-in for the Stripe API, for tests.</p>")
        return _page("Not found", "<p>There is no such page.</p>", 404)

    # --- hosted checkout ------------------------------------------------------------------------

    def _pay_page(self, request: Request, session_id: str) -> Response:
        with self._lock:
            session = self._db.get(session_id)
            if not session or session.get("object") != "checkout.session":
                return _page("Test checkout", "<p>This checkout session does not exist.</p>", 404)
            session = self._render(session, ["line_items"])
        if session["status"] != "open":
            body = f"<p>This checkout session is {_e(session['status'])}.</p>"
            return _page("Test checkout", body, 410)
        if request.method != "POST":
            return self._checkout_form(session)
        if request.form.get("action") == "cancel":
            if session["cancel_url"]:
                return _redirect(session["cancel_url"])
            return self._checkout_form(session, "This checkout cannot be cancelled.", 400)
        email = request.form.get("email", "").strip() or None
        guest = not session["customer"] and not session["customer_email"]
        if guest and (not email or "@" not in email):
            return self._checkout_form(session, "Enter a valid email address.", 400)
        amount = None
        if session["amount_total"] is None:
            try:
                amount = int(Decimal(request.form.get("amount", "").strip()) * 100)
            except (InvalidOperation, ValueError):
                return self._checkout_form(session, "Enter an amount.", 400)
        name = request.form.get("name", "").strip() or None
        try:
            self.complete_checkout(session_id, email=email, name=name, amount=amount)
        except ValueError as exc:
            return self._checkout_form(session, str(exc), 400)
        return _redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))

    def _checkout_form(
        self, session: dict[str, Any], error: str | None = None, status: int = 200
    ) -> Response:
        rows = []
        for item in session["line_items"]["data"]:
            price = item["price"]
            each = _money(price["unit_amount"], price["currency"])
            if price["recurring"]:
                each += f" per {price['recurring']['interval']}"
            rows.append(
                f"<tr><td>{_e(item['description'])}</td><td>{item['quantity']}</td>"
                f"<td>{_e(each)}</td></tr>"
            )
        body = [
            '<table aria-label="Order summary"><thead><tr><th scope="col">Item</th>'
            '<th scope="col">Quantity</th><th scope="col">Price</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>",
            "<p>Total due today: <strong>"
            f"{_e(_money(session['amount_total'], session['currency']))}</strong></p>",
        ]
        if error:
            body.append(f'<p role="alert">{_e(error)}</p>')
        body.append(f'<form method="post" action="/pay/{_e(session["id"])}">')
        if not session["customer"]:
            fixed = session["customer_email"]
            readonly = " readonly" if fixed else ""
            body.append(
                '<label for="email">Email</label><input id="email" name="email" type="email" '
                f'autocomplete="email" required value="{_e(fixed)}"{readonly}>'
            )
        body.append(
            '<label for="name">Name on card</label>'
            '<input id="name" name="name" autocomplete="cc-name">'
        )
        if session["amount_total"] is None:
            body.append(
                f'<label for="amount">Amount ({_e(session["currency"].upper())})</label>'
                '<input id="amount" name="amount" inputmode="decimal" required>'
            )
        body.append('<button type="submit" name="action" value="pay">Pay</button>')
        if session["cancel_url"]:
            body.append(
                '<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>'
            )
        body.append("</form>")
        return _page("Test checkout", "".join(body), status)

    # --- billing portal -------------------------------------------------------------------------

    def _portal_page(self, request: Request, portal_id: str) -> Response:
        with self._lock:
            portal = self._db.get(portal_id)
            if not portal or portal.get("object") != "billing_portal.session":
                return _page("Test billing portal", "<p>This session does not exist.</p>", 404)
        if request.method == "POST":
            sub_id = request.form.get("subscription", "")
            flag = request.form.get("action") == "cancel"
            with self._operation():
                sub = self._db.get(sub_id)
                if sub and sub["customer"] == portal["customer"] and sub["status"] == "active":
                    before = self._render(sub)
                    self._set_cancel(sub, flag)
                    self._emit("customer.subscription.updated", sub, self._changed(before, sub))
            return _redirect(f"/portal/{portal_id}")
        with self._lock:
            customer = self._db.get(portal["customer"], {})
            subs = [s for s in self._all("subscription") if s["customer"] == portal["customer"]]
            subs = [self._render(s) for s in subs]
        body = [f"<p>Signed in as {_e(customer.get('email') or customer.get('id'))}.</p>"]
        for sub in subs:
            item = sub["items"]["data"][0]
            price = item["price"]
            product = self._db.get(price["product"], {}).get("name", price["id"])
            state = sub["status"]
            if sub["cancel_at_period_end"]:
                state = f"cancels at the end of the period ({item['current_period_end']})"
            body.append(
                f'<section aria-label="{_e(product)}"><h2>{_e(product)}</h2>'
                f"<p>{_e(_money(price['unit_amount'], price['currency']))} per "
                f"{_e(price['recurring']['interval'])}, {_e(state)}</p>"
            )
            if sub["status"] == "active":
                action, label = (
                    ("renew", "Renew plan")
                    if sub["cancel_at_period_end"]
                    else ("cancel", "Cancel plan")
                )
                body.append(
                    f'<form method="post"><input type="hidden" name="subscription" '
                    f'value="{_e(sub["id"])}"><button type="submit" name="action" '
                    f'value="{action}">{label}</button></form>'
                )
            body.append("</section>")
        if not subs:
            body.append("<p>No subscriptions.</p>")
        if portal["return_url"]:
            body.append(f'<p><a href="{_e(portal["return_url"])}">Return to the site</a></p>')
        return _page("Test billing portal", "".join(body))

    # --- invoices and receipts ------------------------------------------------------------------

    def _document_page(self, kind: str, obj_id: str) -> Response:
        title = "Test invoice" if kind == "invoice" else "Test receipt"
        with self._lock:
            obj = self._db.get(obj_id)
            if not obj or obj.get("object") != ("invoice" if kind == "invoice" else "charge"):
                return _page(title, "<p>Not found.</p>", 404)
            obj = self._render(obj)
        amount = obj["amount_paid"] if kind == "invoice" else obj["amount"]
        body = (
            f"<p>Number: {_e(obj.get('number') or obj['id'])}</p>"
            f"<p>Amount paid: {_e(_money(amount, obj['currency']))}</p>"
            f"<p>Status: {_e(obj['status'])}</p>"
        )
        return _page(title, body)
