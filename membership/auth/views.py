"""Registration, email confirmation, sign-in and out, password reset."""

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

from membership.auth import services, twofactor
from membership.auth.forms import (
    EmailOnlyForm,
    LoginForm,
    ReauthenticateForm,
    RegisterForm,
    ResetPasswordForm,
    TwoFactorForm,
)
from membership.auth.passwords import verify_password
from membership.auth.second_factor import has_passkey, needs_second_factor
from membership.auth.sessions import (
    mark_reauthenticated,
    sign_in,
    sign_out,
    touch_current_session,
)
from membership.auth.signin import (
    PENDING_2FA,
    pending_second_factor,
    start_second_factor,
)
from membership.extensions import db, limiter
from membership.models import User
from membership.urls import is_safe_redirect, next_url
from membership.web import register_after_request_step

bp = Blueprint("auth", __name__)
# Session activity is stamped after each response (web.py runs the step, importing no feature).
bp.record_once(lambda state: register_after_request_step(state.app, touch_current_session))
TokenOutcome = services.TokenOutcome


def _account_key() -> str:
    """Rate-limit key for the account named in the form, whoever's IP it comes from."""
    return "account:" + services.normalize_email(request.form.get("email", ""))[:254]


def _login_ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _login_account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _email_ip_limit() -> str:
    return current_app.config["EMAIL_LIMIT_PER_IP"]


def _form_status(form) -> int:
    """422 for a form sent back with errors, 200 for a first view."""
    return 422 if form.errors else 200


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_email_ip_limit, methods=["POST"])
def register():
    """Create an account; the same answer whether or not the email is taken."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        services.register(
            form.email.data,
            form.display_name.data,
            form.password.data,
            next_path=next_url("") or None,
        )
        db.session.commit()
        return redirect(url_for("auth.check_email"))
    return render_template("auth/register.html", form=form), _form_status(form)


@bp.route("/register/check-email")
def check_email():
    """Where registration lands: look for the confirmation link."""
    return render_template("auth/check_email.html")


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Show a confirm button (GET changes nothing), then confirm the address (POST)."""
    if request.method == "POST":
        outcome, _user = services.confirm_email(token)
        db.session.commit()
        if outcome == TokenOutcome.OK:
            flash("Thank you, your email address is confirmed.", "success")
            back = next_url("")
            if current_user.is_authenticated:
                return redirect(back or url_for("account.index"))
            return redirect(url_for("auth.login", next=back or None))
    else:
        outcome, _user = services.check_confirmation(token)
    status = 200 if outcome in (TokenOutcome.OK, TokenOutcome.ALREADY_USED) else 400
    form = EmailOnlyForm(formdata=None)
    return render_template("auth/confirm.html", outcome=outcome, token=token, form=form), status


@bp.route("/confirm/resend", methods=["GET", "POST"])
@limiter.limit(_email_ip_limit, methods=["POST"])
@limiter.limit("3/hour", key_func=_account_key, methods=["POST"])
def resend_confirmation():
    """Send a fresh confirmation link; the same answer for unknown emails."""
    form = EmailOnlyForm()
    if current_user.is_authenticated and request.method == "POST" and not form.email.data:
        form.email.data = current_user.email
        form.email.raw_data = [current_user.email]
    if form.validate_on_submit():
        services.resend_confirmation(form.email.data)
        db.session.commit()
        flash("If an unconfirmed account uses that address, we have sent it a new link.", "info")
        return redirect(next_url(url_for("auth.check_email")))
    if current_user.is_authenticated and not form.email.data:
        form.email.data = current_user.email
    return render_template("auth/resend.html", form=form), _form_status(form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_ip_limit, methods=["POST"])
@limiter.limit(_login_account_limit, key_func=_account_key, methods=["POST"])
def login():
    """Sign in with email and password; one generic error for every failure."""
    if current_user.is_authenticated:
        return redirect(next_url(url_for("articles.home")))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            destination = next_url(url_for("articles.home"))
            if needs_second_factor(user):
                # The password is right; the session starts only after the second factor.
                start_second_factor(user, remember=form.remember.data, destination=destination)
                db.session.commit()
                return redirect(url_for("auth.two_factor"))
            sign_in(
                user,
                remember=form.remember.data,
                ip_address=request.remote_addr,
                user_agent=request.user_agent.string,
            )
            db.session.commit()
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(destination)
        db.session.commit()
        form.password.errors.append("Incorrect email or password.")
        form.password.data = ""
    return render_template("auth/login.html", form=form), _form_status(form)


def _pending_key() -> str:
    return f"2fa:{(session.get(PENDING_2FA) or {}).get('uid')}"


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_account_limit, key_func=_pending_key, methods=["POST"])
def two_factor():
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    pending = pending_second_factor()
    if pending is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        user = db.session.get(User, pending["uid"])
        if (
            user is not None
            and user.is_active
            and twofactor.verify_second_factor(user, form.code.data)
        ):
            destination = pending.get("next") or url_for("articles.home")
            sign_in(
                user,
                remember=pending.get("remember", False),
                ip_address=request.remote_addr,
                user_agent=request.user_agent.string,
            )
            db.session.commit()
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(destination if is_safe_redirect(destination) else "/")
        db.session.commit()
        form.code.errors.append("That code is not valid. Try the next one from your app.")
    user = db.session.get(User, pending["uid"])
    return render_template(
        "auth/two_factor.html",
        form=form,
        has_totp=user is not None and user.totp_enabled_at is not None,
        has_passkey=user is not None and has_passkey(user),
    ), _form_status(form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: the server-side session dies, so a copied cookie dies with it."""
    if current_user.is_authenticated:
        sign_out()
        db.session.commit()
        flash("You are signed out.", "info")
    return redirect(url_for("articles.home"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_account_limit, key_func=lambda: f"user:{current_user.id}", methods=["POST"])
def reauthenticate():
    """Confirm the password before a sensitive change."""
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.password.data):
            mark_reauthenticated()
            db.session.commit()
            return redirect(next_url(url_for("account.index")))
        form.password.errors.append("Incorrect password.")
    return render_template("auth/reauthenticate.html", form=form), _form_status(form)


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit(_email_ip_limit, methods=["POST"])
@limiter.limit("5/hour", key_func=_account_key, methods=["POST"])
def reset_request():
    """Ask for a reset link; the same answer whether or not the account exists."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("auth/reset_sent.html")
    return render_template("auth/reset_request.html", form=form), _form_status(form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_email_ip_limit, methods=["POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link (valid one hour, once)."""
    outcome, user = services.user_for_reset_token(token)
    if outcome != TokenOutcome.OK:
        return render_template("auth/reset_invalid.html", outcome=outcome), 400
    form = ResetPasswordForm()
    form.user_email = user.email
    if form.validate_on_submit():
        services.reset_password(user, form.password.data)
        if current_user.is_authenticated:
            sign_out()
        db.session.commit()
        flash("Your password has been changed. Please sign in with it.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), _form_status(form)
