"""Membership pages: plans, checkout, success, billing portal, cancel, resume, change plan."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from membership.access import membership_of
from membership.billing import services
from membership.billing import stripe_gateway as gateway
from membership.billing.forms import ButtonForm, PlanForm
from membership.extensions import db, limiter
from membership.web import register_csp_sources, use_csp_sources

bp = Blueprint("billing", __name__, url_prefix="/membership")
STRIPE_REDIRECTS = "stripe-redirects"


def stripe_redirect_sources() -> dict[str, list[str]]:
    """Forms that continue to Stripe's hosted pages need them in CSP form-action."""
    sources = ["https://checkout.stripe.com", "https://billing.stripe.com"]
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        sources.append(f"{parts.scheme}://{parts.netloc}")
    return {"form-action": sources}


bp.record_once(
    lambda state: register_csp_sources(state.app, STRIPE_REDIRECTS, stripe_redirect_sources)
)


def allow_stripe_redirects() -> None:
    """Forms here redirect to Stripe's hosted pages: let the browser follow (CSP form-action)."""
    use_csp_sources(STRIPE_REDIRECTS)


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr


def _refused(error: services.BillingRefused | gateway.PaymentProviderError, status: int):
    db.session.rollback()
    return render_template("billing/problem.html", message=error.message), status


@bp.route("")
def plans():
    """The tiers, monthly or yearly, and the reader's current plan."""
    allow_stripe_redirects()
    interval = "year" if request.args.get("interval") == "year" else "month"
    membership = membership_of(current_user if current_user.is_authenticated else None)
    return render_template(
        "billing/plans.html",
        tiers=services.active_tiers(),
        interval=interval,
        membership=membership,
        form=PlanForm(formdata=None),
        payments_ready=gateway.is_configured(),
    )


@bp.route("/checkout", methods=["POST"])
@limiter.limit("10/minute", key_func=_user_key)
def checkout():
    """Start Stripe Checkout for the chosen tier and interval (303 to Stripe)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for("billing.plans")))
    form = PlanForm()
    if not form.validate_on_submit():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return render_template("billing/problem.html", message=message), 422
    try:
        url = services.start_checkout(current_user, form.tier.data, form.interval.data)
    except services.BillingRefused as error:
        return _refused(error, error.status)
    except gateway.PaymentProviderError as error:
        return _refused(error, 503 if error.retryable else 502)
    db.session.commit()
    return redirect(url, code=303)


@bp.route("/success")
@login_required
def success():
    """Back from Checkout: fulfil if Stripe says it is paid, else wait for the webhook."""
    session_id = request.args.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        return render_template("billing/problem.html", message="Unknown checkout."), 404
    try:
        done = services.fulfil_from_success_page(session_id, current_user)
    except services.BillingRefused as error:
        return _refused(error, error.status)
    except gateway.PaymentProviderError:
        db.session.rollback()
        done = False
    db.session.commit()
    return render_template(
        "billing/success.html", done=done, membership=membership_of(current_user)
    )


@bp.route("/portal", methods=["POST"])
@login_required
def portal():
    """Stripe's billing portal: cards, invoices (303 to Stripe)."""
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("account.index"))
    try:
        url = services.open_billing_portal(current_user)
    except services.BillingRefused as error:
        return _refused(error, error.status)
    except gateway.PaymentProviderError as error:
        return _refused(error, 503)
    db.session.commit()
    return redirect(url, code=303)


def _cancellation(cancel: bool, message: str):
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("account.index"))
    try:
        services.set_cancel_at_period_end(current_user, cancel)
    except services.BillingRefused as error:
        return _refused(error, error.status)
    except gateway.PaymentProviderError as error:
        return _refused(error, 503)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("account.index"))


@bp.route("/cancel", methods=["POST"])
@login_required
def cancel():
    """Cancel at the end of the period already paid."""
    return _cancellation(True, "Your membership will end at the end of the current period.")


@bp.route("/resume", methods=["POST"])
@login_required
def resume():
    """Take back a cancellation before the period ends."""
    return _cancellation(False, "Your membership will renew as before.")


@bp.route("/change", methods=["GET", "POST"])
@login_required
def change():
    """Preview a change of plan (GET, or POST without `confirm`), then apply it (POST confirm)."""
    allow_stripe_redirects()
    source = request.form if request.method == "POST" else request.args
    form = PlanForm(source, meta={"csrf": False})
    if not form.validate():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        return render_template("billing/problem.html", message=message), 422
    try:
        plan = services.plan_tier_change(current_user, form.tier.data, form.interval.data)
        if request.method == "POST" and request.form.get("confirm") == "yes":
            services.apply_tier_change(current_user, plan)
            db.session.commit()
            flash(f"Your plan is now {plan.tier.name}.", "success")
            return redirect(url_for("account.index"))
    except services.BillingRefused as error:
        return _refused(error, error.status)
    except gateway.PaymentProviderError as error:
        return _refused(error, 503)
    return render_template("billing/change.html", plan=plan, form=ButtonForm(formdata=None))
