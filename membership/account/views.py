"""The reader's account page and its actions."""

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from membership.account import services
from membership.account.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    NotificationsForm,
    ProfileForm,
    SignOutOthersForm,
)
from membership.auth.decorators import recent_login_required
from membership.auth.services import TokenOutcome
from membership.auth.sessions import (
    active_sessions,
    current_session,
    forget_browser,
    revoke_sessions,
)
from membership.billing.stripe_gateway import PaymentProviderError
from membership.billing.views import allow_stripe_redirects
from membership.extensions import db
from membership.sponsors.forms import MonthlyAmountForm, RecognitionForm
from membership.sponsors.queries import sponsors_of

bp = Blueprint("account", __name__, url_prefix="/account")


def _render(status: int = 200, **forms):
    """The account page, with any submitted form (and its errors) in place of a blank one."""
    allow_stripe_redirects()  # "Manage billing" posts here, then goes on to Stripe
    user = current_user._get_current_object()
    context = {
        "profile_form": ProfileForm(obj=user, formdata=None),
        "email_form": ChangeEmailForm(formdata=None),
        "password_form": ChangePasswordForm(formdata=None),
        "delete_form": DeleteAccountForm(formdata=None),
        "sessions_form": SignOutOthersForm(formdata=None),
        "notifications_form": NotificationsForm(obj=user, formdata=None),
        "sessions": active_sessions(user),
        "sponsorships": sponsors_of(user),
        "recognition_form": RecognitionForm,
        "amount_form": MonthlyAmountForm(formdata=None),
        "this_session": current_session(),
    }
    context.update(forms)
    return render_template("account/index.html", **context), status


@bp.route("")
@login_required
def index():
    """Profile, email, password, sessions, data export and deletion."""
    return _render()


@bp.route("/profile", methods=["POST"])
@login_required
def update_profile():
    """Change the display name."""
    form = ProfileForm()
    if not form.validate_on_submit():
        return _render(422, profile_form=form)
    services.update_profile(current_user, form.display_name.data)
    db.session.commit()
    flash("Your display name is saved.", "success")
    return redirect(url_for("account.index"))


@bp.route("/notifications", methods=["POST"])
@login_required
def update_notifications():
    """Turn reply emails on or off."""
    form = NotificationsForm()
    if form.validate_on_submit():
        services.set_notifications(current_user, notify_replies=form.notify_replies.data)
        db.session.commit()
        flash("Your email preferences are saved.", "success")
    return redirect(url_for("account.index"))


@bp.route("/email", methods=["POST"])
@login_required
@recent_login_required
def change_email():
    """Start an email change, confirmed at the new address."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user, form.email.data, form.current_password.data)
        except services.WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"We sent a confirmation link to {form.email.data}.", "info")
            return redirect(url_for("account.index"))
    return _render(422, email_form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str):
    """Show the new address with a confirm button, then switch to it (POST)."""
    if request.method == "POST":
        outcome = services.confirm_email_change(token)
        db.session.commit()
        if outcome == TokenOutcome.OK:
            flash("Your email address is changed.", "success")
            return redirect(url_for("account.index"))
        new_email = None
    else:
        outcome, _user, new_email = services.check_email_change(token)
    status = 200 if outcome in (TokenOutcome.OK, TokenOutcome.ALREADY_USED) else 400
    return render_template(
        "account/confirm_email_change.html", outcome=outcome, token=token, new_email=new_email
    ), status


@bp.route("/password", methods=["POST"])
@login_required
@recent_login_required
def change_password():
    """Change the password with the current one; other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.password.data, current_session()
            )
        except services.WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Your password is changed. Other devices were signed out.", "success")
            return redirect(url_for("account.index"))
    return _render(422, password_form=form)


@bp.route("/sessions/sign-out-others", methods=["POST"])
@login_required
def sign_out_other_sessions():
    """End every session but this one."""
    form = SignOutOthersForm()
    if form.validate_on_submit():
        count = revoke_sessions(current_user, keep=current_session())
        db.session.commit()
        flash(f"Signed out of {count} other session(s).", "success")
    return redirect(url_for("account.index"))


@bp.route("/export.json")
@login_required
def export():
    """Download everything we hold about you, as JSON."""
    payload = json.dumps(services.export_data(current_user), indent=2)
    return Response(
        payload,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@bp.route("/delete", methods=["POST"])
@login_required
@recent_login_required
def delete():
    """Delete the account after checking the password."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, form.current_password.data)
        except services.WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        except PaymentProviderError as exc:
            db.session.rollback()
            form.current_password.errors.append(
                f"Your membership could not be cancelled, so nothing was deleted. {exc.message}"
            )
        else:
            db.session.commit()
            forget_browser()
            flash("Your account has been deleted. Thank you for reading.", "info")
            return redirect(url_for("articles.home"))
    return _render(422, delete_form=form)
