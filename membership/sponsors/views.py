"""Sponsoring: the form, checkout, thanks, the public wall, and the sponsor's own changes."""

import hashlib

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from membership.billing import stripe_gateway as gateway
from membership.billing.views import allow_stripe_redirects
from membership.extensions import db, limiter
from membership.settings import get_setting
from membership.sponsors import account, queries, services
from membership.sponsors.forms import MonthlyAmountForm, RecognitionForm, SponsorForm

bp = Blueprint("sponsors", __name__)


def _requester_key() -> str:
    """Who is clicking: the account, or this browser's session (double clicks reuse a session)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    token = session.get("csrf_token", "")
    return "guest:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _sponsor_page(form: SponsorForm, status: int = 200, error: str | None = None):
    allow_stripe_redirects()
    return render_template(
        "sponsors/sponsor.html",
        form=form,
        presets=get_setting("sponsor_presets"),
        bounds=services.bounds(),
        currency=get_setting("currency"),
        goal=queries.monthly_goal(),
        error=error,
        payments_ready=gateway.is_configured(),
    ), status


@bp.route("/sponsor")
def sponsor():
    """One-time or monthly sponsorship, with preset amounts and recognition choices."""
    form = SponsorForm(formdata=None, bounds=services.bounds())
    form.article.data = request.args.get("article", "")[:120]
    presets = get_setting("sponsor_presets") or []
    form.amount.data = str(presets[len(presets) // 2]) if presets else ""
    if current_user.is_authenticated:
        form.public_name.data = current_user.display_name
    return _sponsor_page(form)


@bp.route("/sponsor/checkout", methods=["POST"])
@limiter.limit(
    lambda: current_app.config["SPONSOR_CHECKOUT_LIMIT"], key_func=lambda: _requester_key()
)
def checkout():
    """Validate on the server, then 303 to Stripe Checkout."""
    form = SponsorForm(bounds=services.bounds())
    if not form.validate_on_submit():
        return _sponsor_page(form, 422)
    user = current_user if current_user.is_authenticated else None
    try:
        url = services.start_checkout(
            user,
            amount=form.amount.amount,
            frequency=form.frequency.data,
            recognition=form.recognition.data,
            message=(form.message.data or "").strip(),
            article_slug=form.article.data or None,
            requester_key=_requester_key(),
            public_name=form.public_name.data or "",
        )
    except services.SponsorshipRefused as error:
        db.session.rollback()
        return _sponsor_page(form, error.status, error.message)
    except gateway.PaymentProviderError as error:
        db.session.rollback()
        # Without Stripe the page's own notice already says so: no second, identical warning.
        return _sponsor_page(form, 503, error.message if gateway.is_configured() else None)
    db.session.commit()
    return redirect(url, code=303)


@bp.route("/sponsor/thanks")
def thanks():
    """Back from Checkout. The gift is recorded from Stripe's word: the webhook, or a lookup."""
    session_id = request.args.get("session_id", "")
    sponsorship = None
    if session_id.startswith("cs_") and len(session_id) <= 255:
        try:
            sponsorship = services.fulfil_session(gateway.retrieve_checkout_session(session_id))
            db.session.commit()
        except gateway.PaymentProviderError:
            db.session.rollback()
    return render_template("sponsors/thanks.html", sponsorship=sponsorship)


@bp.route("/sponsors")
def wall():
    """The public wall, as each sponsor chose, with the monthly goal."""
    return render_template("sponsors/wall.html", levels=queries.wall(), goal=queries.monthly_goal())


def _own(sponsorship_id: int):
    return account.own_sponsorship(current_user, sponsorship_id)


def _change(apply, success: str):
    """Run one change to the sponsor's own gift; refusals and Stripe outages become a page."""
    try:
        apply()
    except services.SponsorshipRefused as error:
        db.session.rollback()
        return render_template("billing/problem.html", message=error.message), error.status
    except gateway.PaymentProviderError as error:
        db.session.rollback()
        return render_template("billing/problem.html", message=error.message), 503
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("account.index", _anchor="sponsorships"))


@bp.route("/account/sponsorships/<int:sponsorship_id>/recognition", methods=["POST"])
@login_required
def change_recognition(sponsorship_id: int):
    """Change how a gift appears; the wall follows at once."""
    form = RecognitionForm()

    def apply():
        sponsorship = _own(sponsorship_id)
        if not form.validate_on_submit():
            raise services.SponsorshipRefused("Choose how you want to appear on the wall.", 422)
        account.change_recognition(
            sponsorship, form.recognition.data, form.message.data or "", form.show_badge.data
        )

    return _change(apply, "Your sponsorship details are saved.")


@bp.route("/account/sponsorships/<int:sponsorship_id>/amount", methods=["POST"])
@login_required
def change_amount(sponsorship_id: int):
    """A new monthly amount, from the next payment."""
    form = MonthlyAmountForm(bounds=services.bounds())

    def apply():
        sponsorship = _own(sponsorship_id)
        if not form.validate_on_submit():
            message = " ".join(form.amount.errors) or "Enter an amount like 25 or 12.50."
            raise services.SponsorshipRefused(message, 422)
        account.change_monthly_amount(sponsorship, form.amount.amount)

    return _change(apply, "Your monthly amount is changed from the next payment.")


@bp.route("/account/sponsorships/<int:sponsorship_id>/cancel", methods=["POST"])
@login_required
def cancel(sponsorship_id: int):
    """Stop a monthly gift."""
    return _change(
        lambda: account.cancel_monthly(_own(sponsorship_id)),
        "Your monthly sponsorship is stopped. Thank you for your support.",
    )
