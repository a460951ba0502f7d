"""The discussion's HTML: built once for every reader, then marked cheaply for one reader.

`shared_discussion_html(article, sort, page, may_comment)` renders what every reader sees
alike. It reads no viewer, no session and no CSRF token, so it is cached (shared by every
worker and instance) under (article id, discussion version, sort, page, may_comment).
`personalise_discussion(html, marks)` then adds what is personal, by plain string substitution
on the server, so the page works without JavaScript:

- `<!--actions-->`: the page's one CSRF token, in one hidden form (signed-in readers only).
  Every Like and Feature button belongs to it (the `form` attribute), and htmx's Delete
  includes it: no token per comment.
- `<!--viewer-->`: classes on the discussion (`can-act`, `is-staff`) that the stylesheet uses
  to show the Like/Report and Feature controls to the readers who may use them.
- `<!--form-->`: the comment box, or the reason the reader cannot comment, and the reader's own
  comments that wait for a moderator.
- per comment, only for the reader's own few marks: `is-own` on their comments with the
  Edit/Delete links at `<!--own:ID-->`, the pressed Like button, "Reported" instead of the
  Report link, and the reply form at `<!--reply:ID-->`.

The markers cannot be forged: comment text and names are escaped, so no reader can write `<!--`.
Relative times ("5 minutes ago") are computed in the browser (static/site.js) from the exact
time in `<time datetime>`, so cached HTML never shows a stale "just now".
"""

import uuid
from dataclasses import dataclass, field

from flask import current_app, g, render_template, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from membership.cache import cached_fragment, fresh_seconds, kept_in_process
from membership.comments.blocks import (
    comment_block,
    featured_items,
    like_button,
    reply_link_for,
    report_link,
    thread_items,
)
from membership.comments.forms import CommentForm
from membership.comments.queries import (
    ViewerMarks,
    clean_sort,
    load_comment_row,
    load_discussion,
    load_viewer_marks,
)
from membership.comments.services import EDIT_WINDOW, Gate, GateReason, comment_gate
from membership.extensions import db
from membership.models import Article, Comment, CommentStatus, User
from membership.models.types import utcnow

ACTIONS = "<!--actions-->"
VIEWER = "<!--viewer-->"
FORM = "<!--form-->"
THREADS_START = "<!--threads-->"
THREADS_END = "<!--/threads-->"
# Replies shown under a thread before "Show N more replies".
VISIBLE_REPLIES = 3


@dataclass
class Personal:
    """One reader's marks on a discussion page, ready to be substituted into the shared HTML."""

    marks: ViewerMarks = field(default_factory=ViewerMarks)
    csrf_token: str = ""
    classes: str = ""
    form_html: str = ""
    reply_forms: dict[int, str] = field(default_factory=dict)


# --- the pieces both the template and the personalisation build (they must match exactly) ----


def actions_form(csrf_token: str) -> Markup:
    """The page's one hidden form with the CSRF token, which every Like and Feature button and
    the in-place Delete use (instead of a token per comment)."""
    return Markup(
        '<form id="comment-actions" method="post" action="/comments/actions" hidden>'
        '<input type="hidden" name="csrf_token" value="{}"></form>'
    ).format(csrf_token)


def reported_note() -> Markup:
    return Markup('<span class="action-note for-others">Reported</span>')


def own_actions(comment_id: int, editable: bool) -> Markup:
    """Edit (within the edit window) and Delete, for the author only."""
    edit = Markup(
        '<a class="action" href="/comments/{0}/edit" hx-get="/comments/{0}/edit">Edit</a>'
    ).format(comment_id)
    delete = Markup(
        '<a class="action action-danger" href="/comments/{0}/delete" '
        'hx-post="/comments/{0}/delete" hx-include="#comment-actions" '
        'hx-confirm="Delete your comment? Replies to it stay.">Delete</a>'
    ).format(comment_id)
    return (edit if editable else Markup("")) + delete


# --- shared and personal -------------------------------------------------------------------


def shared_discussion_html(article: Article, sort: str, page: int, may_comment: bool) -> str:
    """The discussion as every reader sees it, from the shared cache (membership/cache.py).

    The key holds every version the HTML depends on: the article (its id and creation time, so
    that a re-created database never meets old copies), its discussion version (bumped in the
    transaction of every comment write), the sort, the page and whether Reply links are shown.
    What no version covers (supporter badges, display names) expires with PAGE_CACHE_SECONDS.
    """
    key = (
        "discussion",
        article.id,
        article.created_at.timestamp(),
        article.discussion_version,
        sort,
        page,
        may_comment,
    )
    return cached_fragment(
        key,
        lambda: build_shared_discussion_html(article, sort, page, may_comment),
        fresh_seconds(),
    )


def build_shared_discussion_html(article: Article, sort: str, page: int, may_comment: bool) -> str:
    """Render the shared discussion from the database (what the cache stores)."""
    discussion = load_discussion(article, sort, page)
    reply_link = reply_link_for(article.slug, discussion.sort) if may_comment else None
    # The template is rendered without the request's context processors: no `current_user`,
    # no `csrf_token()` can reach the shared HTML. The comments themselves are built in Python
    # (comments/blocks.py): a macro call per comment was most of the rebuild's time.
    template = current_app.jinja_env.get_template("comments/_discussion.html")
    return template.render(
        article=article,
        discussion=discussion,
        may_comment=may_comment,
        # Safe: every piece was escaped where it was built (comments/blocks.py).
        featured_items=Markup(featured_items(discussion.featured)),  # noqa: S704
        thread_items=Markup(  # noqa: S704
            thread_items(discussion.threads, discussion.replies, reply_link, VISIBLE_REPLIES)
        ),
    )


def personalise_discussion(html: str, personal: Personal) -> Markup:
    """Insert the token, the comment box and the reader's own marks into the shared HTML.

    Each mark is found with `str.find` and the page is joined once at the end: the cost grows
    with the reader's marks, not with the length of the discussion times the marks.
    """
    edits: list[tuple[int, int, str]] = []

    def edit(needle: str, replacement: str, start: int = 0) -> int:
        at = html.find(needle, start)
        if at >= 0:
            edits.append((at, len(needle), replacement))
        return at

    if personal.csrf_token:  # a visitor's page carries no form and no token at all
        edit(ACTIONS, actions_form(personal.csrf_token))
    edit(VIEWER, personal.classes)
    edit(FORM, personal.form_html)
    marks = personal.marks
    for comment_id in marks.liked_ids:
        edit(like_button(comment_id), like_button(comment_id, True))
    for comment_id in marks.reported_ids:
        edit(report_link(comment_id), reported_note())
    for comment_id in marks.own_ids:
        opening = f'<article id="c{comment_id}" class="comment'
        start = edit(opening, opening + " is-own")
        if start >= 0:
            actions = own_actions(comment_id, comment_id in marks.editable_ids)
            edit(f"<!--own:{comment_id}-->", actions, start)
    for comment_id, form_html in personal.reply_forms.items():
        edit(f"<!--reply:{comment_id}-->", form_html)
    if not edits:
        # Safe: the shared HTML was escaped when it was rendered.
        return Markup(html)  # noqa: S704
    edits.sort()
    parts: list[str] = []
    position = 0
    for at, length, replacement in edits:
        if at < position:  # two marks can never overlap; skip rather than corrupt the page
            continue
        parts.append(html[position:at])
        parts.append(replacement)
        position = at + length
    parts.append(html[position:])
    # Safe: the shared HTML and every inserted piece were escaped when they were rendered.
    return Markup("".join(parts))  # noqa: S704


def threads_part(html: str) -> str:
    """Only the thread items of a shared page (what "load more" appends)."""
    start = html.find(THREADS_START)
    end = html.find(THREADS_END)
    if start < 0 or end < 0:
        return ""
    return html[start + len(THREADS_START) : end]


def viewer_marks(article: Article, viewer: User | None) -> ViewerMarks:
    """The reader's marks (one statement, unless read with the article), or none for a
    visitor."""
    if viewer is None:
        return ViewerMarks()
    read_with_article = g.get("viewer_marks", {}).get((article.id, viewer.id))
    if read_with_article is not None:
        return read_with_article
    return load_viewer_marks(article, viewer.id, utcnow() - EDIT_WINDOW)


def remember_viewer_marks(article: Article, viewer: User, marks: ViewerMarks) -> None:
    """Marks the page read in the article's own statement (`viewer_marks_columns`)."""
    g.setdefault("viewer_marks", {})[(article.id, viewer.id)] = marks


def personal_for(
    article: Article,
    viewer: User | None,
    gate: Gate,
    *,
    sort: str,
    comment_form=None,
    comment_error: str | None = None,
    reply_forms: dict[int, str] | None = None,
) -> Personal:
    """Everything personal about the discussion for this reader, in one query."""
    marks = viewer_marks(article, viewer)
    personal = Personal(marks=marks, reply_forms=reply_forms or {})
    if viewer is not None:
        # Only a signed-in reader gets a token: a visitor's page stays cookie-free (cacheable).
        personal.csrf_token = generate_csrf()
        classes = []
        if viewer.is_in_good_standing:
            classes.append("can-act")
        if viewer.is_staff:
            classes.append("is-staff")
        personal.classes = "".join(f" {name}" for name in classes)
    # The box most pages show is the same for every reader in the same place: an empty comment
    # box, or the reason there is none (except "confirm your email", which names the reader).
    unchanged = (
        comment_form is FRESH_COMMENT_BOX
        if gate.allowed
        else comment_form is None and gate.reason != GateReason.UNCONFIRMED
    )
    if unchanged and not comment_error and not marks.pending:
        personal.form_html = usual_comment_box(
            article, gate, clean_sort(sort), personal.csrf_token or ""
        )
        return personal
    if comment_form is FRESH_COMMENT_BOX:
        comment_form = CommentForm(formdata=None)
    personal.form_html = render_template(
        "comments/_viewer.html",
        article=article,
        gate=gate,
        comment_form=comment_form,
        comment_error=comment_error,
        pending=marks.pending,
        sort=clean_sort(sort),
    )
    return personal


# The usual comment box: rendered once per (story, sort, gate) and process, with placeholders
# for the page's CSRF token and the form's fresh submission id.
FRESH_COMMENT_BOX = object()
_TOKEN_PLACEHOLDER = "csrf-token-placeholder-2f0c1d"  # noqa: S105  (a marker, not a secret)
_SUBMISSION_PLACEHOLDER = "submission-id-placeholder-9a7e4b"
COMMENT_BOXES_KEPT = 1024


def usual_comment_box(article: Article, gate: Gate, sort: str, csrf_token: str) -> str:
    """The comment box with nothing typed yet, or why this reader cannot comment."""

    def build() -> str:
        form = None
        if gate.allowed:
            form = CommentForm(formdata=None)
            if hasattr(form, "csrf_token"):  # absent when WTF_CSRF_ENABLED is off
                form.csrf_token.current_token = _TOKEN_PLACEHOLDER
            form.submission_id.data = _SUBMISSION_PLACEHOLDER
        return render_template(
            "comments/_viewer.html",
            article=article,
            gate=gate,
            comment_form=form,
            comment_error=None,
            pending=[],
            sort=sort,
        )

    key = (request.script_root, article.slug, sort, gate)
    html = kept_in_process("comment_boxes", key, build, COMMENT_BOXES_KEPT)
    return html.replace(_TOKEN_PLACEHOLDER, csrf_token).replace(
        _SUBMISSION_PLACEHOLDER, uuid.uuid4().hex
    )


def reply_form_html(article: Article, parent: Comment, sort: str, form=None, error=None) -> str:
    """The reply form under `parent` (with the errors of a refused reply, if any)."""
    return render_template(
        "comments/_reply.html",
        form=form or CommentForm(formdata=None, reply_to=parent.id),
        article=article,
        sort=clean_sort(sort),
        parent=parent,
        error=error,
    )


def reply_parent(article: Article, comment_id: int | None) -> Comment | None:
    """The published comment of this article that a reader wants to answer, with its author."""
    if not comment_id:
        return None
    return db.session.scalar(
        select(Comment)
        .options(joinedload(Comment.author))
        .where(
            Comment.id == comment_id,
            Comment.article_id == article.id,
            Comment.status == CommentStatus.PUBLISHED,
        )
    )


def discussion_markup(
    article: Article,
    viewer: User | None,
    sort: str,
    page: int,
    *,
    comment_form=None,
    comment_error: str | None = None,
    reply_to: int | None = None,
) -> Markup:
    """The discussion for this reader: the shared HTML (cacheable) with their marks added, the
    comment box and, under the comment it answers, a reply form."""
    sort, page = clean_sort(sort), max(page, 1)  # no cache entry for a made-up sort
    gate = comment_gate(viewer, article)
    reply_forms: dict[int, str] = {}
    top_form = None
    if gate.allowed:
        reply_form = None
        if comment_form is not None and comment_form.reply_to.data:
            reply_to, reply_form = comment_form.reply_to.data, comment_form
        else:
            top_form = comment_form
        parent = reply_parent(article, reply_to)
        if parent is not None:
            reply_forms[parent.id] = reply_form_html(article, parent, sort, reply_form)
        top_form = top_form or FRESH_COMMENT_BOX
    personal = personal_for(
        article,
        viewer,
        gate,
        sort=sort,
        comment_form=top_form,
        comment_error=comment_error,
        reply_forms=reply_forms,
    )
    shared = shared_discussion_html(article, sort, page, gate.allowed)
    return personalise_discussion(shared, personal)


def threads_markup(article: Article, viewer: User | None, sort: str, page: int) -> Markup:
    """Only the threads of one page ("Show more comments"), from the same shared HTML."""
    sort, page = clean_sort(sort), max(page, 1)
    may_comment = comment_gate(viewer, article).allowed
    shared = threads_part(shared_discussion_html(article, sort, page, may_comment))
    return personalise_discussion(shared, Personal(marks=viewer_marks(article, viewer)))


# --- one comment, for the in-place answers -------------------------------------------------


def single_comment_html(comment: Comment, article: Article, may_comment: bool) -> str:
    """One comment as the shared page shows it (for an in-place update), not yet personal."""
    row = load_comment_row(comment.id)
    if row is None:
        return ""
    reply_link = reply_link_for(article.slug, "oldest") if may_comment else None
    return comment_block(row, reply_link)
