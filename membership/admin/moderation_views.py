"""/admin/comments: the moderation queues, for moderators and administrators."""

from datetime import UTC, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from membership.admin import members as member_rules
from membership.admin import moderation
from membership.admin.blueprint import bp
from membership.extensions import db
from membership.models import Comment, User
from membership.urls import page_number


@bp.route("/comments")
def comments():
    """Reported, held for review, and recently hidden comments."""
    kind = request.args.get("queue", "reported")
    kind = kind if kind in moderation.QUEUES else "reported"
    page = db.paginate(
        moderation.queue(kind), page=page_number(), per_page=moderation.PAGE_SIZE, error_out=False
    )
    ids = [comment.id for comment in page.items]
    authors = {
        user.id: user
        for user in db.session.scalars(
            db.select(User).where(User.id.in_({c.author_id for c in page.items if c.author_id}))
        )
    }
    return render_template(
        "admin/comments.html",
        kind=kind,
        page=page,
        reports=moderation.reports_for(ids),
        authors=authors,
        stories=moderation.stories_of(page.items),
    )


@bp.route("/comments/moderate", methods=["POST"])
def moderate_comments():
    """Approve, hide or delete the ticked comments."""
    kind = request.form.get("queue", "reported")
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()][:500]
    try:
        count = moderation.moderate(ids, request.form.get("action", ""), current_user)
    except moderation.ModerationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.comments", queue=kind))
    db.session.commit()
    flash(f"{count} comment(s) updated.", "success")
    return redirect(url_for("admin.comments", queue=kind))


@bp.route("/comments/<int:comment_id>/suspend-author", methods=["POST"])
def suspend_comment_author(comment_id: int):
    """Stop the author of a comment from commenting (a suspension with a reason and end)."""
    comment = db.get_or_404(Comment, comment_id)
    author = db.session.get(User, comment.author_id) if comment.author_id else None
    try:
        if author is None:
            raise member_rules.MemberActionError("This comment has no author any more.")
        until = None
        if request.form.get("until"):
            try:
                until = datetime.strptime(request.form["until"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError as exc:
                raise member_rules.MemberActionError("Dates are written YYYY-MM-DD.") from exc
        member_rules.suspend_member(author, request.form.get("reason", ""), until, current_user)
    except member_rules.MemberActionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.comments", queue=request.form.get("queue", "reported")))
    db.session.commit()
    flash(f"{author.display_name} can no longer comment.", "success")
    return redirect(url_for("admin.comments", queue=request.form.get("queue", "reported")))
