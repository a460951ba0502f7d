"""Posting, editing, deleting, liking, reporting and featuring comments; reply-email unsubscribe.

Every action is a plain form POST answered with a redirect. When htmx sends it (`HX-Request`),
the answer is instead the part of the page it changes: the comment, or the whole discussion,
with an `HX-Trigger-After-Settle` event that static/site.js announces in the live region.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from membership.articles.views import published_article_or_404, render_article
from membership.comments import services
from membership.comments.discussion import (
    reply_form_html,
    reply_parent,
    threads_markup,
)
from membership.comments.forms import ButtonForm, CommentForm, EditCommentForm, ReportForm
from membership.comments.inplace import (
    comment_html,
    current_reader,
    discussion_html,
    fragment,
    in_place,
    note,
)
from membership.comments.queries import PAGE_SIZE, clean_sort, page_of
from membership.comments.rendering import render_comment
from membership.extensions import db, limiter
from membership.models import Article, ArticleStatus, Comment
from membership.models.types import utcnow
from membership.urls import page_number
from membership.web import FRIENDLY_ERRORS

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


def _public_comment_or_404(comment_id: int) -> tuple[Comment, Article]:
    """A comment under a published story (what anyone may open by its address)."""
    comment, article = _comment_or_404(comment_id)
    # The same test as published_article_or_404, on the article already loaded.
    published = article.status == ArticleStatus.PUBLISHED and article.published_at is not None
    if not published or article.published_at > utcnow():
        abort(404)
    return comment, article


def _back_to(comment: Comment, article: Article, *, just_counted: bool = False):
    """To the comment in its discussion, on the page (oldest first) that shows it.

    `just_counted`: the article's comment count was updated in this request, so a short
    discussion is known to fit on the first page without counting threads. (Threads shown are
    published comments plus rare placeholders of hidden ones, hence the margin.)
    """
    short = just_counted and article.comment_count < PAGE_SIZE // 2
    page = 1 if short else page_of(comment)
    args = {"cpage": page} if page > 1 else {}
    return redirect(
        url_for("articles.article", slug=article.slug, _anchor=f"c{comment.id}", **args)
    )


def _refused(error: services.CommentRefused, comment: Comment, article: Article):
    """A refused action on a comment: the message on a small page with the right status."""
    db.session.rollback()
    if in_place():
        return fragment(
            note(error.message), error.status, HX_Retarget=f"#r{comment.id}", HX_Reswap="innerHTML"
        )
    return render_template(
        "comments/refused.html", message=error.message, article=article, comment=comment
    ), error.status


@bp.errorhandler(429)
def too_many(error):
    """The hourly limit: in place, a note above the comment box (never an error page swapped
    into the discussion); otherwise the site's error page."""
    message = FRIENDLY_ERRORS[429]
    if in_place():
        response = fragment(
            note(message), 429, message=message, HX_Retarget="#comment-form", HX_Reswap="afterbegin"
        )
    else:
        page = render_template("errors/error.html", code=429, title=error.name, message=message)
        response = make_response(page, 429)
    for name, value in error.get_headers():
        if name.lower() == "retry-after":
            response.headers[name] = value
    return response


@bp.route("/articles/<slug>/discussion")
def discussion(slug: str):
    """The discussion alone (sort, load more) for htmx; the article page for everyone else."""
    article = published_article_or_404(slug)
    sort = clean_sort(request.args.get("sort"))
    page = page_number("cpage")
    if not in_place():
        args = {"sort": sort} | ({"cpage": page} if page > 1 else {})
        return redirect(url_for("articles.article", slug=slug, _anchor="comments", **args))
    if request.args.get("part") == "threads":
        html = threads_markup(article, current_reader(), sort, page)
        return fragment(html, message="More comments loaded", focus="more-comments")
    labels = {"newest": "newest first", "liked": "most liked first"}
    message = f"Comments sorted {labels.get(sort, 'oldest first')}"
    return fragment(discussion_html(article), message=message)


@bp.route("/articles/<slug>/comments", methods=["POST"])
@limiter.limit(_hourly_limit, key_func=_user_key)
def post(slug: str):
    """Post a comment or a reply; refused with 403 where the page offers no form."""
    article = published_article_or_404(slug)
    viewer = current_reader()
    gate = services.comment_gate(viewer, article)
    if not gate.allowed:
        return _post_refused(article, 403, comment_error=gate.message)
    form = CommentForm()
    if not form.validate_on_submit():
        return _post_refused(article, 422, comment_form=form)
    reply_to = None
    if form.reply_to.data:
        reply_to = db.session.get(Comment, form.reply_to.data)
        if reply_to is None:
            form.reply_to.data = None
            gone = "That comment no longer exists."
            return _post_refused(article, 422, comment_form=form, comment_error=gone)
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
        return _post_refused(article, error.status, comment_form=form, comment_error=error.message)
    held = comment.status == "pending"
    back = None
    if created and not in_place():
        # The page of the redirect is counted in this transaction, which sees the new comment:
        # counted after the commit, it would open a second transaction (two more round trips).
        back = _back_to(comment, article, just_counted=True)
    if created:
        # Nothing read after this commit changes in the answer, so the signed-in user and the
        # article need not be selected again once it expires them.
        session = db.session()
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
    else:
        db.session.rollback()  # a resubmitted form: nothing new, and no new pace stamp
    if in_place():
        message = "Comment posted"
        if held:
            message = "Your comment will appear once a moderator has read it"
        focus = "pending-title" if held else f"c{comment.id}"
        return fragment(discussion_html(article), message=message, focus=focus)
    if created and held:
        flash("Thank you. Your comment will appear once a moderator has read it.", "info")
    elif created:
        flash("Your comment is posted.", "success")
    return back or _back_to(comment, article)


def _post_refused(article: Article, status: int, **personal):
    """The form again, with its errors: in place, or on the article page."""
    if in_place():
        return fragment(discussion_html(article, **personal), status, message="Not posted")
    return render_article(article, status, **personal)


@bp.route("/comments/<int:comment_id>")
def permalink(comment_id: int):
    """A comment's address: the comment in its discussion (or, for htmx, the comment alone)."""
    comment, article = _public_comment_or_404(comment_id)
    if in_place():
        return fragment(comment_html(comment, article), focus=f"c{comment.id}")
    return _back_to(comment, article)


@bp.route("/comments/<int:comment_id>/reply")
def reply(comment_id: int):
    """The reply form under the comment it answers."""
    comment, article = _public_comment_or_404(comment_id)
    if not in_place():
        return redirect(
            url_for(
                "articles.article",
                slug=article.slug,
                reply_to=comment.id,
                sort=request.args.get("sort", "oldest"),
                _anchor=f"r{comment.id}",
            )
        )
    gate = services.comment_gate(current_reader(), article)
    parent = reply_parent(article, comment.id)
    if not gate.allowed or parent is None:
        message = gate.message or "That comment cannot be replied to."
        return fragment(note(message), 403 if not gate.allowed else 422, message=message)
    html = reply_form_html(article, parent, request.args.get("sort", "oldest"))
    return fragment(html, focus=f"reply-body-{comment.id}")


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
        if in_place():
            html = comment_html(comment, article)
            return fragment(html, message="Comment updated", focus=f"c{comment.id}")
        flash("Your comment is updated.", "success")
        return _back_to(comment, article)
    status = 422 if form.errors else 200
    if in_place():
        html = render_template(
            "comments/_edit_inline.html", form=form, comment=comment, article=article
        )
        return fragment(html, status, focus=f"edit-body-{comment.id}")
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
        if in_place():
            db.session.refresh(comment)
            if comment.reply_count:
                html = comment_html(comment, article)
            else:
                html = Markup('<p class="comment-gone" id="c{}" tabindex="-1">{}</p>').format(
                    comment.id, "Your comment is deleted."
                )
            return fragment(html, message="Comment deleted", focus=f"c{comment.id}")
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
    if in_place():
        db.session.refresh(comment)
        message = "Liked" if liked else "Like taken back"
        html = comment_html(comment, article)
        return fragment(html, message=message, focus=f"like-{comment.id}")
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
        thanks = "Thank you. A moderator will look at this comment."
        again = "You have already reported this comment."
        if in_place():
            db.session.refresh(comment)
            message = thanks if created else again
            html = comment_html(comment, article)
            return fragment(html, message=message, focus=f"c{comment.id}")
        flash(thanks if created else again, "success" if created else "info")
        return _back_to(comment, article)
    status = 422 if form.errors else 200
    if in_place():
        html = render_template(
            "comments/_report_inline.html", form=form, comment=comment, article=article
        )
        return fragment(
            html,
            status,
            focus=f"report-{comment.id}",
            HX_Retarget=f"#r{comment.id}",
            HX_Reswap="innerHTML",
        )
    return render_template(
        "comments/report.html", form=form, comment=comment, article=article
    ), status


@bp.route("/comments/<int:comment_id>/feature", methods=["POST"])
@login_required
def feature(comment_id: int):
    """Moderators: show a comment first, under "Featured" (or take it back)."""
    comment, article = _comment_or_404(comment_id)
    try:
        featured = services.feature_comment(current_user, comment, not comment.is_featured)
    except services.CommentRefused as error:
        return _refused(error, comment, article)
    db.session.commit()
    message = "Comment featured" if featured else "Comment no longer featured"
    if in_place():
        return fragment(discussion_html(article), message=message, focus=f"c{comment.id}")
    flash(f"{message}.", "success")
    return _back_to(comment, article)


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
