"""One guard for the whole admin blueprint: staff only, moderators only where allowed."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

# Endpoints a moderator may open; everything else under /admin is for administrators.
MODERATOR_ENDPOINTS: set[str] = {
    "admin.index",
    "admin.comments",
    "admin.moderate_comments",
    "admin.suspend_comment_author",
}


def require_staff():
    """Anonymous: to the login page. Readers: 403. Moderators: their endpoints only."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.is_admin:
        if current_user.totp_enabled_at is None:
            flash("Administrators must use two-factor sign-in. Please set it up first.", "info")
            return redirect(url_for("account.two_factor"))
        return None
    if current_user.role == "moderator" and request.endpoint in MODERATOR_ENDPOINTS:
        return None
    abort(403, "This part of the site is for the newsroom's staff.")
