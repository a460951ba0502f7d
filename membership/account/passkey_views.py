"""The account's passkeys: add (JSON ceremony, static/passkeys.js), rename, remove."""

from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from membership.account.passkey_forms import PasskeyNameForm, RemovePasskeyForm
from membership.account.views import bp
from membership.auth import passkeys
from membership.auth.decorators import recent_login_required
from membership.auth.passkey_views import CHALLENGE_KEY, options_response, refusal
from membership.auth.second_factor import has_second_factor
from membership.auth.sessions import current_session, is_recent_login, revoke_sessions
from membership.auth.views import _login_account_limit
from membership.extensions import db, limiter
from membership.models import WebAuthnCredential


def _own_passkey(passkey_id: int) -> WebAuthnCredential:
    """One of the current user's passkeys; someone else's is a 404, like a missing one."""
    record = db.session.get(WebAuthnCredential, passkey_id)
    if record is None or record.user_id != current_user.id:
        abort(404)
    return record


@bp.route("/passkeys")
@login_required
def passkeys_page():
    """The list of passkeys, with the button that adds one."""
    return _page()


def _page(status: int = 200, rename_form=None, rename_id=None):
    return render_template(
        "account/passkeys.html",
        passkeys=passkeys.passkeys_of(current_user),
        rename_form=rename_form,
        rename_id=rename_id,
        remove_form=RemovePasskeyForm(formdata=None),
        recent=is_recent_login(),
    ), status


@bp.route("/passkeys/options", methods=["POST"])
@login_required
@limiter.limit(_login_account_limit, key_func=lambda: f"passkey-add:{current_user.id}")
def passkey_registration_options():
    """A challenge for the browser to make a new passkey with (recent sign-in only)."""
    if not is_recent_login():
        return refusal("For your security, enter your password again first.", 403)
    try:
        handle, options = passkeys.registration_options(current_user)
    except passkeys.PasskeyError as error:
        return refusal(str(error), 409)
    db.session.commit()
    return options_response(handle, options)


@bp.route("/passkeys", methods=["POST"])
@login_required
@limiter.limit(_login_account_limit, key_func=lambda: f"passkey-add:{current_user.id}")
def add_passkey():
    """Verify the new passkey and keep it; staff gaining their first second factor sign out
    their other sessions, which were opened without one."""
    if not is_recent_login():
        return refusal("For your security, enter your password again first.", 403)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}  # refused below, once the challenge is spent
    first_factor_only = current_user.is_staff and not has_second_factor(current_user)
    try:
        passkeys.register(
            current_user, session.pop(CHALLENGE_KEY, None), body.get("credential"), body.get("name")
        )
    except passkeys.PasskeyError as error:
        # Only the spent challenge's deletion is pending: a failed ceremony stores nothing.
        db.session.commit()
        return refusal(str(error))
    if first_factor_only:
        revoke_sessions(current_user, keep=current_session())
    db.session.commit()
    flash("Your passkey is saved. You can sign in with it from now on.", "success")
    return jsonify(redirect=url_for("account.passkeys_page"))


@bp.route("/passkeys/<int:passkey_id>/rename", methods=["POST"])
@login_required
def rename_passkey(passkey_id: int):
    """Change a passkey's name."""
    record = _own_passkey(passkey_id)
    form = PasskeyNameForm()
    if not form.validate_on_submit():
        return _page(422, rename_form=form, rename_id=record.id)
    try:
        passkeys.rename(record, form.name.data)
    except passkeys.PasskeyError as error:
        form.name.errors = [str(error)]
        return _page(422, rename_form=form, rename_id=record.id)
    db.session.commit()
    flash("The passkey is renamed.", "success")
    return redirect(url_for("account.passkeys_page"))


@bp.route("/passkeys/<int:passkey_id>/remove", methods=["POST"])
@login_required
@recent_login_required
def remove_passkey(passkey_id: int):
    """Remove a passkey: it no longer signs anyone in."""
    record = _own_passkey(passkey_id)
    passkeys.remove(record)
    db.session.commit()
    flash("The passkey is removed.", "info")
    return redirect(url_for("account.passkeys_page"))
