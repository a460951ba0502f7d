"""/admin/members: search, filters, bulk actions, and one member's page and actions."""

from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from membership.access import membership_of
from membership.account.services import delete_account_by_admin
from membership.admin import members as rules
from membership.admin.blueprint import bp
from membership.auth.decorators import recent_login_required
from membership.auth.sessions import active_sessions, is_recent_login
from membership.billing.stripe_gateway import PaymentProviderError
from membership.extensions import db
from membership.models import Comment, MemberNote, Tier, User
from membership.sponsors.queries import sponsors_of
from membership.urls import page_number

PER_PAGE = 50


@bp.route("/members")
def members():
    """Search and filter members (fast at 100,000: indexed prefix search, one page at a time)."""
    query = rules.filtered_members_query(request.args)
    page = rules.members_page(query, page_number(), PER_PAGE)
    ids = [user.id for user in page.items]
    return render_template(
        "admin/members.html",
        page=page,
        labels=rules.labels_for(ids),
        tiers=rules.tiers_for(ids),
        filters=rules.live_filters(request.args),
        all_labels=rules.all_labels(),
        all_tiers=db.session.scalars(select(Tier).order_by(Tier.position)).all(),
    )


@bp.route("/members/bulk", methods=["POST"])
@recent_login_required
def members_bulk():
    """Apply an action to the whole filtered selection (confirmed with a checkbox)."""
    filters = rules.live_filters(request.form)
    if request.form.get("confirm") != "yes":
        flash("Tick the confirmation box to apply the action to every selected member.", "error")
        return redirect(url_for("admin.members", **filters))
    try:
        count = rules.bulk(
            rules.filtered_members_query(filters),
            request.form.get("action", ""),
            request.form.get("value", ""),
            current_user,
        )
    except rules.MemberActionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.members", **filters))
    db.session.commit()
    flash(f"Done for {count} member(s).", "success")
    return redirect(url_for("admin.members", **filters))


@bp.route("/members/<int:user_id>")
def member(user_id: int):
    """Profile, membership, sponsorships, comments, reports, sessions, timeline, notes."""
    user = db.get_or_404(User, user_id)
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    dashboard = "https://dashboard.stripe.com/" + ("test/" if key.startswith("sk_test") else "")
    return render_template(
        "admin/member.html",
        member=user,
        membership=membership_of(user),
        stripe_dashboard=dashboard,
        sponsorships=sponsors_of(user),
        comments=rules.comments_of(user),
        reports=rules.reports_against(user),
        sessions=active_sessions(user),
        timeline=rules.timeline(user),
        notes=db.session.scalars(
            select(MemberNote).where(MemberNote.user_id == user.id).order_by(MemberNote.id.desc())
        ).all(),
        labels=rules.labels_for([user.id]).get(user.id, []),
        tiers=db.session.scalars(select(Tier).where(Tier.monthly_price > 0)).all(),
        comment_count=db.session.scalar(
            select(func.count(Comment.id)).where(Comment.author_id == user.id)
        ),
    )


def _until(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise rules.MemberActionError("Dates are written YYYY-MM-DD.") from exc


ACTIONS = {
    "suspend": lambda user, form: rules.suspend_member(
        user, form.get("reason", ""), _until(form.get("until")), current_user
    ),
    "ban": lambda user, form: rules.ban_member(user, form.get("reason", ""), current_user),
    "reactivate": lambda user, form: rules.reactivate_member(user, current_user),
    "grant_comp": lambda user, form: rules.grant_complimentary(
        user, _tier(form.get("tier")), _until(form.get("until")), current_user
    ),
    "end_comp": lambda user, form: rules.end_complimentary(user, current_user),
    "resend_confirmation": lambda user, form: rules.resend_confirmation(user, current_user),
    "sign_out": lambda user, form: rules.sign_out_everywhere(user, current_user),
    "note": lambda user, form: rules.add_note(user, form.get("body", ""), current_user),
    "add_label": lambda user, form: rules.add_label(user, form.get("label", ""), current_user),
    "remove_label": lambda user, form: rules.remove_label(
        user, form.get("label", ""), current_user
    ),
}
# Destructive actions need a password typed in the last 15 minutes (SECURITY 15).
DESTRUCTIVE = {"ban", "delete", "sign_out", "suspend"}


def _tier(slug: str | None) -> Tier:
    tier = db.session.scalar(select(Tier).where(Tier.slug == (slug or "")))
    if tier is None:
        raise rules.MemberActionError("Choose a tier.")
    return tier


@bp.route("/members/<int:user_id>/<action>", methods=["POST"])
def member_action(user_id: int, action: str):
    """One confirmed action on one member; written to the audit log."""
    if action not in ACTIONS and action != "delete":
        abort(404)
    user = db.get_or_404(User, user_id)
    if action in DESTRUCTIVE and not is_recent_login():
        flash("Confirm your password, then repeat the action.", "info")
        return redirect(
            url_for("auth.reauthenticate", next=url_for("admin.member", user_id=user.id))
        )
    if request.form.get("confirm") != "yes":
        flash("Tick the confirmation box first.", "error")
        return redirect(url_for("admin.member", user_id=user.id))
    try:
        if action == "delete":
            if user.id == current_user.id or user.is_admin:
                raise rules.MemberActionError("Administrators cannot be deleted from here.")
            delete_account_by_admin(user, current_user)
            db.session.commit()
            flash("The member was deleted; their subscriptions were cancelled first.", "success")
            return redirect(url_for("admin.members"))
        ACTIONS[action](user, request.form)
    except rules.MemberActionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.member", user_id=user.id))
    except PaymentProviderError as error:
        db.session.rollback()
        flash(f"Stripe could not be reached, nothing changed. {error.message}", "error")
        return redirect(url_for("admin.member", user_id=user.id))
    db.session.commit()
    flash("Done.", "success")
    return redirect(url_for("admin.member", user_id=user.id))
