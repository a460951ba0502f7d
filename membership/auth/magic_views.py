"""Signing in with a link sent by email: ask for it, open it, press the button."""

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from membership.auth import magic_links
from membership.auth.forms import EmailOnlyForm
from membership.auth.second_factor import needs_second_factor
from membership.auth.services import TokenOutcome
from membership.auth.signin import complete_sign_in, start_second_factor
from membership.auth.views import (
    _account_key,
    _form_status,
    _login_account_limit,
    _login_ip_limit,
    bp,
)
from membership.extensions import db, limiter


@bp.route("/login/email-link", methods=["GET", "POST"])
@limiter.limit(_login_ip_limit, methods=["POST"])
@limiter.limit(_login_account_limit, key_func=_account_key, methods=["POST"])
def magic_link_request():
    """Ask for a sign-in link; the same answer whether or not the account exists."""
    if current_user.is_authenticated:
        return redirect(url_for("articles.home"))
    form = EmailOnlyForm()
    if form.validate_on_submit():
        magic_links.send_sign_in_link(form.email.data)
        db.session.commit()
        return render_template("auth/magic_link_sent.html")
    return render_template("auth/magic_link_request.html", form=form), _form_status(form)


@bp.route("/login/email-link/<token>", methods=["GET", "POST"])
@limiter.limit(_login_ip_limit, methods=["POST"])
def magic_link(token: str):
    """GET shows a button and changes nothing (mail scanners open links); POST signs in."""
    # CSRFProtect has already refused a POST without a valid token.
    if request.method == "POST":
        outcome, user = magic_links.use_link(token)
        if outcome == TokenOutcome.OK:
            destination = url_for("articles.home")
            if needs_second_factor(user):
                start_second_factor(user, remember=False, destination=destination)
                db.session.commit()
                return redirect(url_for("auth.two_factor"))
            return redirect(complete_sign_in(user, remember=False, destination=destination))
        db.session.commit()
    else:
        outcome, _user = magic_links.check_link(token)
    status = 200 if outcome == TokenOutcome.OK else 400
    return render_template("auth/magic_link.html", outcome=outcome, token=token), status
