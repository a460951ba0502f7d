"""The discussion section of an article page, shared through the cache where it can be.

Until the comment templates render viewer-independent HTML plus the viewer's marks, only the
anonymous rendering is the same for every reader, so only it is cached. When that work lands,
`discussion_html` becomes the one place to switch over: build the shared HTML with
`cached_fragment(...)` for every reader and add the viewer's marks afterwards.
"""

from flask import current_app, render_template
from markupsafe import Markup

from membership.cache import cached_fragment
from membership.comments.queries import SORTS, load_discussion
from membership.comments.services import Gate, can_edit
from membership.models import Article, User


def _render(
    article: Article, viewer: User | None, gate: Gate, sort: str, page: int, **context
) -> str:
    discussion = load_discussion(article, viewer, sort=sort, page=page)
    return render_template(
        "comments/_discussion.html",
        article=article,
        discussion=discussion,
        gate=gate,
        can_edit=can_edit,
        **context,
    )


def discussion_html(
    article: Article, viewer: User | None, gate: Gate, *, sort: str, page: int, **context
) -> Markup:
    """The discussion's HTML; from the shared cache when nothing in it belongs to the viewer.

    The key holds every version the HTML depends on: the article (its id and creation time,
    so that a re-created database never meets old copies), its discussion version (bumped by
    every comment write), the sort and page, and the comment box's state for an anonymous
    reader (the site's comment policy, auto-close).
    """
    sort = sort if sort in SORTS else "oldest"
    page = max(page, 1)
    shared = (
        viewer is None
        and context.get("comment_form") is None
        and not context.get("comment_error")
        and context.get("replying_to") is None
    )
    if not shared:
        html = _render(article, viewer, gate, sort, page, **context)
    else:
        key = (
            "discussion",
            article.id,
            article.created_at.timestamp(),
            article.discussion_version,
            sort,
            page,
            gate.reason.value,
        )
        html = cached_fragment(
            key,
            lambda: _render(article, None, gate, sort, page, **context),
            int(current_app.config.get("PAGE_CACHE_SECONDS") or 0),
        )
    # Rendered by Jinja with autoescaping: the comment text in it is already escaped.
    return Markup(html)  # noqa: S704
