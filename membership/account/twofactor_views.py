"""Turning two-factor sign-in on and off from the account page (admins must have it)."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from membership.account.views import bp
from membership.auth import twofactor
from membership.auth.decorators import recent_login_required
from membership.auth.forms import DisableTwoFactorForm, EnableTwoFactorForm
from membership.auth.passwords import verify_password
from membership.extensions import db


@bp.route("/two-factor", methods=["GET"])
@login_required
@recent_login_required
def two_factor():
    """Status, or the QR code and secret to set up an authenticator app."""
    secret = None
    if current_user.totp_enabled_at is None:
        secret = twofactor.pending_secret(current_user, create=True)
        db.session.commit()
    return _page(secret)


def _page(secret: str | None, status: int = 200, *, enable_form=None, recovery_codes=None):
    uri = twofactor.provisioning_uri(current_user, secret) if secret else None
    return render_template(
        "account/two_factor.html",
        secret=secret,
        qr=twofactor.qr_code_svg(uri) if uri else None,
        enable_form=enable_form or EnableTwoFactorForm(formdata=None),
        disable_form=DisableTwoFactorForm(formdata=None),
        recovery_codes=recovery_codes,
        remaining=twofactor.unused_recovery_codes(current_user),
    ), status


@bp.route("/two-factor/enable", methods=["POST"])
@login_required
@recent_login_required
def enable_two_factor():
    """Confirm the app works by entering one code; shows the recovery codes once."""
    form = EnableTwoFactorForm()
    if current_user.totp_enabled_at is not None:
        return redirect(url_for("account.two_factor"))
    secret = twofactor.pending_secret(current_user, create=False)
    if secret is None:
        db.session.commit()  # an expired setup was cleared
        flash("That setup expired. Scan the new code and try again.", "error")
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        codes = twofactor.enable(current_user, secret, form.code.data)
        if codes is not None:
            db.session.commit()
            flash("Two-factor sign-in is on. Keep your recovery codes somewhere safe.", "success")
            return _page(None, recovery_codes=codes)
        form.code.errors.append("That code does not match. Check the time on your phone.")
    return _page(secret, 422, enable_form=form)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
@recent_login_required
def new_recovery_codes():
    """Replace the recovery codes (the old ones stop working)."""
    if current_user.totp_enabled_at is None:
        return redirect(url_for("account.two_factor"))
    codes = twofactor.new_recovery_codes(current_user)
    db.session.commit()
    return _page(None, recovery_codes=codes)


@bp.route("/two-factor/disable", methods=["POST"])
@login_required
@recent_login_required
def disable_two_factor():
    """Turn two-factor sign-in off (administrators then lose the admin area until it is on)."""
    form = DisableTwoFactorForm()
    if form.validate_on_submit() and verify_password(
        current_user.password_hash, form.password.data
    ):
        twofactor.disable(current_user)
        db.session.commit()
        flash("Two-factor sign-in is off.", "info")
        return redirect(url_for("account.two_factor"))
    flash("That is not your password.", "error")
    return redirect(url_for("account.two_factor"))
