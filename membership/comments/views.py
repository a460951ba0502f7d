"""Posting, editing, deleting, liking and reporting comments; reply-email unsubscribe."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from membership.articles.views import published_article_or_404, render_article
from membership.comments import services
from membership.comments.forms import ButtonForm, CommentForm, EditCommentForm, ReportForm
from membership.comments.rendering import render_comment
from membership.extensions import db, limiter
from membership.models import Article, Comment

bp = Blueprint("comments", __name__)
bp.add_app_template_filter(render_comment, "comment_html")


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr}"


def _hourly_limit() -> str:
    return current_app.config["COMMENT_LIMIT_PER_USER"]


def _comment_or_404(comment_id: int) -> tuple[Comment, Article]:
    comment = db.get_or_404(Comment, comment_id)
    article = db.session.get(Article, comment.article_id)
    return comment, article


def _back_to(comment: Comment, article: Article):
    return redirect(url_for("articles.article", slug=article.slug, _anchor=f"c{comment.id}"))


def _refused(error: services.CommentRefused, comment: Comment, article: Article):
    """A refused action on a comment: the message on a small page with the right status."""
    db.session.rollback()
    return render_template(
        "comments/refused.html", message=error.message, article=article, comment=comment
    ), error.status


@bp.route("/articles/<slug>/comments", methods=["POST"])
@limiter.limit(_hourly_limit, key_func=_user_key)
def post(slug: str):
    """Post a comment or a reply; refused with 403 where the page offers no form."""
    article = published_article_or_404(slug)
    viewer = current_user if current_user.is_authenticated else None
    gate = services.comment_gate(viewer, article)
    if not gate.allowed:
        return render_article(article, 403, comment_error=gate.message)
    form = CommentForm()
    if not form.validate_on_submit():
        return render_article(article, 422, comment_form=form)
    reply_to = None
    if form.reply_to.data:
        reply_to = db.session.get(Comment, form.reply_to.data)
        if reply_to is None:
            form.reply_to.errors.append("That comment no longer exists.")
            return render_article(article, 422, comment_form=form)
    try:
        comment, created = services.post_comment(
            current_user,
            article,
            form.body.data,
            reply_to=reply_to,
            submission_id=form.submission_id.data,
        )
    except services.CommentRefused as error:
        db.session.rollback()
        return render_article(article, error.status, comment_form=form, comment_error=error.message)
    # Read before the commit expires them: the redirect then needs no further SELECT.
    target = url_for("articles.article", slug=article.slug, _anchor=f"c{comment.id}")
    pending = comment.status == "pending"
    if created:
        # The response is a redirect: nothing read after this commit changed in it, so the
        # signed-in user need not be selected again (for the headers) once it expires.
        session = db.session()
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
    else:
        db.session.rollback()  # a resubmitted form: nothing new, and no new pace stamp
    if created and pending:
        flash("Thank you. Your comment will appear once a moderator has read it.", "info")
    elif created:
        flash("Your comment is posted.", "success")
    return redirect(target)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(comment_id: int):
    """Edit your own comment within 15 minutes of posting."""
    comment, article = _comment_or_404(comment_id)
    if comment.author_id != current_user.id:
        abort(403, "You can only edit your own comments.")
    form = EditCommentForm(obj=comment)
    if not services.can_edit(current_user, comment):
        return _refused(
            services.CommentRefused("Comments can be edited for 15 minutes after posting."),
            comment,
            article,
        )
    if form.validate_on_submit():
        try:
            services.edit_comment(current_user, comment, form.body.data)
        except services.CommentRefused as error:
            return _refused(error, comment, article)
        db.session.commit()
        flash("Your comment is updated.", "success")
        return _back_to(comment, article)
    status = 422 if form.errors else 200
    return render_template(
        "comments/edit.html", form=form, comment=comment, article=article
    ), status


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
@login_required
def delete(comment_id: int):
    """Confirm (GET), then delete your own comment (POST)."""
    comment, article = _comment_or_404(comment_id)
    if comment.author_id != current_user.id:
        abort(403, "You can only delete your own comments.")
    form = ButtonForm()
    if form.validate_on_submit():
        services.delete_comment(current_user, comment)
        db.session.commit()
        flash("Your comment is deleted.", "success")
        return redirect(url_for("articles.article", slug=article.slug, _anchor="comments"))
    return render_template("comments/delete.html", form=form, comment=comment, article=article)


@bp.route("/comments/<int:comment_id>/like", methods=["POST"])
@login_required
def like(comment_id: int):
    """Like a comment, or take the like back."""
    comment, article = _comment_or_404(comment_id)
    try:
        liked = services.toggle_like(current_user, comment)
    except services.CommentRefused as error:
        return _refused(error, comment, article)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        db.session.refresh(comment)
        return {"liked": liked, "likes": comment.like_count}
    return _back_to(comment, article)


@bp.route("/comments/<int:comment_id>/report", methods=["GET", "POST"])
@login_required
def report(comment_id: int):
    """Report a comment to the moderators, once per reader."""
    comment, article = _comment_or_404(comment_id)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            _report, created = services.report_comment(
                current_user, comment, form.reason.data, form.details.data or ""
            )
        except services.CommentRefused as error:
            return _refused(error, comment, article)
        db.session.commit()
        if created:
            flash("Thank you. A moderator will look at this comment.", "success")
        else:
            flash("You have already reported this comment.", "info")
        return _back_to(comment, article)
    status = 422 if form.errors else 200
    return render_template(
        "comments/report.html", form=form, comment=comment, article=article
    ), status


@bp.route("/unsubscribe/replies/<token>", methods=["GET", "POST"])
def unsubscribe_replies(token: str):
    """The link in reply emails: one click (GET shows the button, POST acts)."""
    user = services.user_for_unsubscribe_token(token)
    if user is None:
        abort(404, "This unsubscribe link does not work.")
    form = ButtonForm()
    done = False
    if form.validate_on_submit():
        user.notify_replies = False
        db.session.commit()
        done = True
    return render_template("comments/unsubscribe.html", form=form, done=done, email=user.email)
