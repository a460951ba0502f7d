"""Access decorators for views."""

from functools import wraps

from flask import flash, redirect, request, url_for
from flask_login import current_user

from membership.auth.sessions import is_recent_login


def recent_login_required(view):
    """Ask for the password again unless the user signed in within the last 15 minutes."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not is_recent_login():
            flash("For your security, please enter your password again, then repeat.", "info")
            # A POST's form cannot survive the detour; come back to the page that holds it.
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.reauthenticate", next=target or url_for("account.index")))
        return view(*args, **kwargs)

    return wrapped
