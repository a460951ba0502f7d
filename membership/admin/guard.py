"""One guard for the whole admin blueprint: staff only, each role only where it may go."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from membership.admin.permissions import may_open
from membership.auth.second_factor import has_second_factor


def require_staff():
    """Anonymous: to the login page. Readers and other roles' pages: 403. No 2FA: set it up."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not current_user.is_staff:
        abort(403, "This part of the site is for the newsroom's staff.")
    if not has_second_factor(current_user):
        flash("Staff must use two-factor sign-in. Please set it up first.", "info")
        return redirect(url_for("account.two_factor"))
    if not may_open(current_user, request.endpoint):
        abort(403, "Your role does not include this part of the admin area.")
    return None
