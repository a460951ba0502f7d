"""/admin/members/<id>/role: the role select on the member page (administrators only)."""

from flask import flash, make_response, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from membership.admin import roles
from membership.admin.blueprint import bp
from membership.admin.members_views import member
from membership.admin.permissions import may_open
from membership.auth.sessions import is_recent_login
from membership.extensions import db
from membership.models import User


class RoleForm(FlaskForm):
    # Checked by roles.parse_role, which names the valid roles in its refusal.
    role = StringField("Role")


@bp.route("/members/<int:user_id>/role", methods=["POST"])
def member_role(user_id: int):
    """Change a member's role (recent sign-in needed); written to the audit log."""
    user = db.get_or_404(User, user_id)
    back = url_for("admin.member", user_id=user.id)
    if not is_recent_login():
        flash("Confirm your password, then change the role again.", "info")
        return redirect(url_for("auth.reauthenticate", next=back))
    form = RoleForm()
    form.validate_on_submit()  # CSRFProtect has checked the token; the role is checked below
    try:
        changed = roles.change_role(current_user, user, form.role.data)
    except roles.RoleChangeError as error:
        db.session.rollback()
        flash(str(error), "error")
        # The member page again, with the refusal, and a 4xx so scripts see it too.
        response = make_response(member(user.id))
        response.status_code = 422
        return response
    db.session.commit()
    if changed:
        flash(f"{user.display_name} is now {user.role}; their sessions were ended.", "success")
    return redirect(back)


@bp.context_processor
def role_helpers() -> dict:
    """`may_open(endpoint)` for the nav (links show only where the role may go), and the roles."""
    return {
        "may_open": lambda endpoint: may_open(current_user, endpoint),
        "role_choices": roles.ROLE_CHOICES,
    }
