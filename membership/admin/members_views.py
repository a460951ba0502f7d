"""/admin/members: search, filters, bulk actions, and one member's page and actions."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from membership.access import membership_of
from membership.admin import member_actions
from membership.admin import members as rules
from membership.admin.blueprint import bp
from membership.admin.moderation import stories_of
from membership.auth.decorators import recent_login_required
from membership.auth.sessions import active_sessions, is_recent_login
from membership.billing.stripe_gateway import PaymentProviderError
from membership.extensions import db
from membership.models import Comment, MemberNote, Tier, User
from membership.sponsors.queries import sponsors_of
from membership.urls import page_number

PER_PAGE = 50
BULK_LABELS = {
    "add_label": "Add a label (label required)",
    "remove_label": "Remove a label (label required)",
    "suspend": "Suspend (reason required)",
}


@bp.route("/members")
def members():
    """Search and filter members (fast at 100,000: indexed prefix search, one page at a time)."""
    query = rules.filtered_members_query(request.args)
    page = rules.members_page(query, page_number(), PER_PAGE)
    ids = [user.id for user in page.items]
    return render_template(
        "admin/members.html",
        page=page,
        bulk_count=_bulk_count(query, page.total or 0),
        bulk_labels=BULK_LABELS,
        labels=rules.labels_for(ids),
        tiers=rules.tiers_for(ids),
        filters=rules.live_filters(request.args),
        all_labels=rules.all_labels(),
        all_tiers=db.session.scalars(select(Tier).order_by(Tier.position)).all(),
    )


def _bulk_count(query, total: int) -> int:
    """How many members a bulk action would touch: the selection less the acting admin."""
    selected = query.where(User.id == current_user.id).order_by(None)
    mine = db.session.scalar(select(func.count()).select_from(selected.subquery())) or 0
    return total - mine


@bp.route("/members/bulk", methods=["POST"])
@recent_login_required
def members_bulk():
    """Apply an action to the whole filtered selection, after one confirmation page."""
    filters = rules.live_filters(request.form)
    action, value = request.form.get("action", ""), request.form.get("value", "").strip()
    back = redirect(url_for("admin.members", **filters))
    if action not in BULK_LABELS:
        flash("Choose what to do with the selected members.", "error")
        return back
    if not value:
        flash("Type the label or the reason first.", "error")
        return back
    query = rules.filtered_members_query(filters)
    if request.form.get("confirmed") != "yes":
        # The selection less the acting administrator, as `rules.bulk` applies it.
        others = query.where(User.id != current_user.id).order_by(None)
        count = db.session.scalar(select(func.count()).select_from(others.subquery())) or 0
        return render_template(
            "admin/confirm.html",
            title=f"{BULK_LABELS[action].split(' (')[0]}: {count:,} members",
            question=_bulk_question(action, value, count),
            action_url=url_for("admin.members_bulk"),
            fields={**filters, "action": action, "value": value},
            button=BULK_LABELS[action].split(" (")[0],
            danger=action == "suspend",
            cancel_url=url_for("admin.members", **filters),
        )
    try:
        count = rules.bulk(query, action, value, current_user)
    except rules.MemberActionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    db.session.commit()
    flash(_bulk_done(action, value, count), "success")
    return back


def _bulk_question(action: str, value: str, count: int) -> str:
    members = f"{count:,} member{'' if count == 1 else 's'}"
    if action == "suspend":
        return (
            f"Suspend {members} (administrators and banned members are skipped) with the "
            f"reason “{value}”? You are not included."
        )
    verb = "Add the label" if action == "add_label" else "Remove the label"
    word = "to" if action == "add_label" else "from"
    return f"{verb} “{value}” {word} {members}? You are not included."


def _bulk_done(action: str, value: str, count: int) -> str:
    members = f"{count:,} member{'' if count == 1 else 's'}"
    if action == "suspend":
        return f"{members} suspended: {value}."
    if action == "add_label":
        return f"{members} labelled “{value}”."
    return f"The label “{value}” is off {members}."


@bp.route("/members/<int:user_id>")
def member(user_id: int):
    """The member's facts, then only the actions that apply, grouped; history below."""
    user = db.get_or_404(User, user_id)
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    dashboard = "https://dashboard.stripe.com/" + ("test/" if key.startswith("sk_test") else "")
    sessions = active_sessions(user)
    comments = rules.comments_of(user)
    labels = rules.labels_for([user.id]).get(user.id, [])
    tiers = db.session.scalars(select(Tier).where(Tier.monthly_price > 0)).all()
    situation = member_actions.Situation(user, current_user, len(sessions), labels, bool(tiers))
    return render_template(
        "admin/member.html",
        member=user,
        membership=membership_of(user),
        stripe_dashboard=dashboard,
        sponsorships=sponsors_of(user),
        comments=comments,
        stories=stories_of(comments),
        reports=rules.reports_against(user),
        sessions=sessions,
        timeline=rules.timeline(user),
        notes=db.session.scalars(
            select(MemberNote).where(MemberNote.user_id == user.id).order_by(MemberNote.id.desc())
        ).all(),
        labels=labels,
        tiers=tiers,
        comment_count=db.session.scalar(
            select(func.count(Comment.id)).where(Comment.author_id == user.id)
        ),
        actions=member_actions.applicable(situation),
        action_labels=member_actions.LABELS,
        is_self=user.id == current_user.id,
    )


# Actions that change access or money need a password typed in the last 15 minutes (SECURITY 15).
RECENT_LOGIN = {"ban", "delete", "sign_out", "suspend"}


@bp.route("/members/<int:user_id>/<action>", methods=["POST"])
def member_action(user_id: int, action: str):
    """One action on one member (dangerous ones after a confirmation page); audited."""
    if action not in member_actions.LABELS:
        abort(404)
    user = db.get_or_404(User, user_id)
    back = redirect(url_for("admin.member", user_id=user.id))
    if action in RECENT_LOGIN and not is_recent_login():
        flash("Confirm your password, then repeat the action.", "info")
        return redirect(
            url_for("auth.reauthenticate", next=url_for("admin.member", user_id=user.id))
        )
    situation = member_actions.Situation(
        user,
        current_user,
        len(active_sessions(user)),
        rules.labels_for([user.id]).get(user.id, []),
        db.session.scalar(select(func.count(Tier.id)).where(Tier.monthly_price > 0)) > 0,
    )
    if action not in member_actions.applicable(situation):
        flash(member_actions.why_not(action, user), "error")
        return back
    try:
        member_actions.check(action, user, request.form)
        if action in member_actions.DANGEROUS and request.form.get("confirmed") != "yes":
            return render_template(
                "admin/confirm.html",
                title=f"{member_actions.LABELS[action]}: {user.display_name}",
                question=member_actions.question(action, user, request.form),
                action_url=url_for("admin.member_action", user_id=user.id, action=action),
                fields={
                    k: request.form.get(k, "") for k in ("reason", "until") if k in request.form
                },
                button=f"{member_actions.LABELS[action]} {user.display_name}",
                danger=True,
                cancel_url=url_for("admin.member", user_id=user.id),
            )
        message = member_actions.perform(action, user, request.form, current_user)
    except rules.MemberActionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    except PaymentProviderError as error:
        db.session.rollback()
        flash(f"Stripe could not be reached, nothing changed. {error.message}", "error")
        return back
    db.session.commit()
    flash(message, "success")
    if action == "delete":
        return redirect(url_for("admin.members"))
    return back
