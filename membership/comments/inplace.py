"""In-place answers for htmx: the changed part of the page, and what to announce.

A request sent by htmx carries `HX-Request: true`. The comment views answer it with a fragment
(one comment, a form, or the whole discussion) and an `HX-Trigger-After-Settle` event, which
static/site.js turns into an `aria-live` announcement and a move of the focus.
"""

import json

from flask import make_response, request
from flask_login import current_user
from markupsafe import Markup

from membership.comments import services
from membership.comments.discussion import (
    Personal,
    discussion_markup,
    personalise_discussion,
    single_comment_html,
    viewer_marks,
)
from membership.models import Article, Comment
from membership.urls import page_number


def in_place() -> bool:
    """Sent by htmx: answer with the changed part of the page, not a redirect."""
    return request.headers.get("HX-Request") == "true"


def current_reader():
    """The signed-in reader, or None."""
    return current_user if current_user.is_authenticated else None


def fragment(html, status: int = 200, *, message: str = "", focus: str = "", **headers):
    """An in-place answer; `message` is announced, `focus` is the id of what takes focus."""
    response = make_response(html, status)
    response.vary.add("HX-Request")
    if message or focus:
        response.headers["HX-Trigger-After-Settle"] = json.dumps(
            {"discussion": {"message": message, "focus": focus}}
        )
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def comment_html(comment: Comment, article: Article) -> Markup:
    """One comment with this reader's marks, for an in-place answer."""
    viewer = current_reader()
    may_comment = services.comment_gate(viewer, article).allowed
    personal = Personal(marks=viewer_marks(article, viewer))
    return personalise_discussion(single_comment_html(comment, article, may_comment), personal)


def discussion_html(article: Article, **personal) -> Markup:
    """The whole discussion for this reader (after a post, a sort, a feature)."""
    return discussion_markup(
        article,
        current_reader(),
        request.args.get("sort", "oldest"),
        page_number("cpage"),
        **personal,
    )


def note(message: str) -> Markup:
    """A short error message, shown where the action was."""
    return Markup('<p class="flash flash-error" role="alert">{}</p>').format(message)
