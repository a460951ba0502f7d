"""Stripe subscriptions that reconcile or a webhook could not attach without guessing.

The page lists them for an administrator to sort out in Stripe or on the member's record; the
app never applies them. Dismissing one (with a note) is audited.
"""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from membership import audit
from membership.admin.blueprint import bp
from membership.extensions import db
from membership.models import SubscriptionConflict
from membership.models.types import utcnow

RECENTLY_DISMISSED = 20


class DismissConflictForm(FlaskForm):
    """Dismiss a conflict once it is dealt with; the note goes into the audit log."""

    note = StringField(
        "What was done",
        validators=[
            DataRequired("Say what was done about it."),
            Length(max=500, message="At most 500 characters."),
        ],
    )


@bp.app_template_global()
def open_billing_conflicts() -> int:
    """How many conflicts wait for an administrator (the dashboard shows it)."""
    return (
        db.session.scalar(
            select(func.count(SubscriptionConflict.id)).where(
                SubscriptionConflict.dismissed_at.is_(None)
            )
        )
        or 0
    )


def _page(form: DismissConflictForm | None = None, failed_id: int | None = None, status=200):
    open_ = db.session.scalars(
        select(SubscriptionConflict)
        .where(SubscriptionConflict.dismissed_at.is_(None))
        .order_by(SubscriptionConflict.first_seen_at.desc(), SubscriptionConflict.id.desc())
    ).all()
    dismissed = db.session.scalars(
        select(SubscriptionConflict)
        .where(SubscriptionConflict.dismissed_at.is_not(None))
        .order_by(SubscriptionConflict.dismissed_at.desc())
        .limit(RECENTLY_DISMISSED)
    ).all()
    return render_template(
        "admin/billing_conflicts.html",
        conflicts=open_,
        dismissed=dismissed,
        form=form or DismissConflictForm(formdata=None),
        failed_id=failed_id,
    ), status


@bp.route("/billing/conflicts")
def billing_conflicts():
    """Subscriptions whose Stripe customer and metadata disagree about the member."""
    return _page()


@bp.route("/billing/conflicts/<int:conflict_id>/dismiss", methods=["POST"])
def dismiss_billing_conflict(conflict_id: int):
    """Mark a conflict dealt with (audited); nothing is attached by this."""
    conflict = db.get_or_404(SubscriptionConflict, conflict_id)
    form = DismissConflictForm()
    if conflict.dismissed_at is not None:
        flash("That conflict was already dismissed.", "info")
        return redirect(url_for("admin.billing_conflicts"))
    if not form.validate_on_submit():
        return _page(form, conflict.id, 422)
    conflict.dismissed_at = utcnow()
    conflict.dismissed_by_id = current_user.id
    audit.record(
        current_user,
        "billing.conflict_dismiss",
        conflict,
        stripe_subscription=conflict.stripe_subscription_id,
        note=form.note.data.strip(),
    )
    db.session.commit()
    flash(f"Conflict on {conflict.stripe_subscription_id} dismissed.", "success")
    return redirect(url_for("admin.billing_conflicts"))
