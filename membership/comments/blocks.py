"""The HTML of one comment in the shared discussion, built in Python.

A discussion page shows up to a few hundred comments, and rebuilding it after every write is
the hot path: a Jinja macro call per comment cost more than the rest of the page. These
functions build the same markup with f-strings; everything a reader typed (names, bodies,
badge labels) goes through `escape` or `render_comment`, ids and counts are integers.

The markup is shared by every reader (see comments/discussion.py): nothing here may depend on
who is looking. `<!--own:ID-->` and `<!--reply:ID-->` are where a reader's own marks go, and
`like_button`/`report_link` are matched exactly by `personalise_discussion`.

A comment row (`comments/queries.py`, `discussion_rows`) has: id, author_id, status,
created_at, featured_at, edited, body, like_count, author_name, author_role, paying, sponsor,
reply_to_name.
"""

from datetime import datetime
from functools import lru_cache

from markupsafe import Markup, escape

from membership.comments.rendering import render_comment

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
PLACEHOLDERS = {
    "deleted": "This comment was deleted by its author.",
    "removed": "This comment was removed by a moderator.",
}
HIDDEN = "This comment is hidden while a moderator reviews it."
STAFF_BADGE = '<span class="badge badge-staff">Staff</span>'
MEMBER_BADGE = '<span class="badge badge-paid">Member</span>'
SPONSOR_BADGE = '<span class="badge badge-sponsor">Sponsor</span>'


@lru_cache(maxsize=8192)
def like_button(comment_id: int, pressed: bool = False) -> Markup:
    """Like (a toggle button): a plain POST without JavaScript, in place with htmx."""
    # Plain formatting of an integer id: nothing to escape (and this runs for every comment).
    return Markup(  # noqa: S704
        f'<button type="submit" form="comment-actions" formaction="/comments/{comment_id:d}/like" '
        f'hx-post="/comments/{comment_id:d}/like" class="action action-like for-actors for-others" '
        f'id="like-{comment_id:d}" aria-pressed="{"true" if pressed else "false"}">Like</button>'
    )


@lru_cache(maxsize=8192)
def report_link(comment_id: int) -> Markup:
    """Report: a page without JavaScript, a form opened under the comment with htmx."""
    return Markup(  # noqa: S704
        f'<a class="action for-actors for-others" href="/comments/{comment_id:d}/report" '
        f'hx-get="/comments/{comment_id:d}/report" hx-target="#r{comment_id:d}" '
        'hx-swap="innerHTML">Report</a>'
    )


@lru_cache(maxsize=4096)
def initials(name: str | None) -> str:
    """Up to two initials for the avatar ("Rosa Reader" -> "RR")."""
    words = [word for word in (name or "").split() if word[:1].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def _time(at: datetime, href: str, zero_padded_day: bool) -> str:
    """The time link: exact UTC time for the browser's relative time, the date as fallback."""
    # Month names from a table rather than strftime: locale-independent, and per comment.
    day = f"{at.day:02d}" if zero_padded_day else str(at.day)
    month = MONTHS[at.month - 1]
    clock = f"{at.hour:02d}:{at.minute:02d}"
    return (
        f'<a class="comment-time" href="{href}"><time datetime="{at.isoformat()}" '
        f'title="{day} {month} {at.year}, {clock} UTC" data-relative>'
        f"{day} {month[:3]} {at.year}, {clock}</time></a>"
    )


def _byline(row, name: str, indent: str, zero_padded_day: bool) -> str:
    """Avatar, name, badges and time (the header of a comment)."""
    badges = ""
    if row.author_role not in (None, "reader"):
        badges = STAFF_BADGE
    if row.paying:
        badges += MEMBER_BADGE
    elif row.sponsor:
        badges += SPONSOR_BADGE
    edited = '<span class="comment-edited">(edited)</span>' if row.edited else ""
    return (
        f'{indent}<header class="comment-meta">\n'
        f'{indent}  <span class="avatar avatar-{(row.author_id or 0) % 6}" aria-hidden="true">'
        f"{escape(initials(name))}</span>\n"
        f'{indent}  <span class="comment-byline">\n'
        f'{indent}    <strong class="comment-author">{escape(name)}</strong>{badges}\n'
        f"{indent}    {_time(row.created_at, f'#c{row.id}', zero_padded_day)}{edited}\n"
        f"{indent}  </span>\n"
        f"{indent}</header>"
    )


def _likes(count: int) -> str:
    return f"{count} like{'' if count == 1 else 's'}"


@lru_cache(maxsize=2048)
def comment_block(row, reply_link: str | None) -> str:
    """One comment (or the placeholder of a hidden one that has replies).

    `reply_link` is the discussion's Reply link with `{id}` for the comment id, or None when
    the discussion takes no comments. The HTML depends on nothing but the row (every column
    shown, badges included) and the link, so each worker keeps the latest few thousand: a
    rebuild after one new comment builds one block and finds the others.
    """
    comment_id = row.id
    name = row.author_name
    label = escape(name) if name is not None else "a former reader"
    status = row.status
    classes = "comment" if status == "published" else f"comment comment-{status}"
    if row.featured_at is not None:
        classes += " is-featured"
    opening = f'\n<article id="c{comment_id}" class="{classes}" aria-label="Comment by {label}">\n'
    if status != "published":
        text = PLACEHOLDERS.get(status, HIDDEN)
        return f'{opening}    <p class="placeholder">{text}</p>\n</article>'
    reply_to = ""
    if row.reply_to_name:
        reply_to = f'<p class="in-reply-to">In reply to {escape(row.reply_to_name)}</p>'
    likes = row.like_count
    hidden = "" if likes else " visually-hidden"
    reply = reply_link.format(id=comment_id) if reply_link is not None else ""
    feature = "Unfeature" if row.featured_at is not None else "Feature"
    return (
        f"{opening}"
        f"{_byline(row, name if name is not None else 'Former reader', '    ', False)}"
        f"{reply_to}\n"
        f'    <div class="comment-body">{render_comment(row.body)}</div>\n'
        f'    <footer class="comment-actions">\n'
        f"      {like_button(comment_id)}\n"
        f'      <span class="like-count{hidden}">{_likes(likes)}</span>{reply}\n'
        f"      <!--own:{comment_id}-->\n"
        f"      {report_link(comment_id)}\n"
        f'      <button type="submit" form="comment-actions" '
        f'formaction="/comments/{comment_id}/feature" hx-post="/comments/{comment_id}/feature" '
        f'hx-target="#comments" class="action for-staff">{feature}</button>\n'
        f"    </footer>\n"
        f'    <div class="reply-slot" id="r{comment_id}"><!--reply:{comment_id}--></div>\n'
        f"</article>"
    )


def featured_block(row) -> str:
    """A featured comment at the top of the discussion, linking to its place."""
    name = row.author_name
    label = escape(name) if name is not None else "a former reader"
    likes = ""
    if row.like_count:
        likes = f'<span class="like-count">{_likes(row.like_count)}</span>'
    return (
        f'\n<article class="comment comment-featured" aria-label="Featured comment by {label}">\n'
        f"{_byline(row, name if name is not None else 'Former reader', '  ', True)}\n"
        f'  <div class="comment-body">{render_comment(row.body)}</div>\n'
        f'  <footer class="comment-actions">{likes}\n'
        f'    <a class="action" href="/comments/{row.id}">Go to the comment</a>\n'
        f"  </footer>\n"
        f"</article>"
    )


def reply_link_for(slug: str, sort: str) -> str:
    """The Reply link of one discussion, with `{id}` left for each comment's id."""
    path = str(escape(f"/articles/{slug}")).replace("{", "{{").replace("}", "}}")
    return (
        f'<a class="action" href="{path}?reply_to={{id}}&amp;sort={escape(sort)}#r{{id}}" '
        f'hx-get="/comments/{{id}}/reply" hx-target="#r{{id}}" hx-swap="innerHTML">Reply</a>'
    )


def thread_items(threads, replies, reply_link: str | None, visible: int) -> str:
    """The `<li class="thread">` items: each thread with its first replies, the rest folded."""
    parts: list[str] = []
    append = parts.append
    for thread in threads:
        append(f'\n        <li class="thread">\n          {comment_block(thread, reply_link)}')
        group = replies.get(thread.id)
        if group:
            shown = "".join(f"<li>{comment_block(r, reply_link)}</li>" for r in group[:visible])
            append(f'\n            <ol class="replies">{shown}\n            </ol>')
            more = len(group) - visible
            if more > 0:
                noun = "reply" if more == 1 else "replies"
                rest = "".join(f"<li>{comment_block(r, reply_link)}</li>" for r in group[visible:])
                append(
                    '\n              <details class="more-replies">\n'
                    f'                <summary><span class="when-closed">Show {more} more {noun}'
                    f'</span><span class="when-open">Hide {more} {noun}</span></summary>\n'
                    f'                <ol class="replies">{rest}\n                </ol>\n'
                    "              </details>"
                )
        append("\n        </li>")
    return "".join(parts)


def featured_items(featured) -> str:
    """The featured comments, one `<li>` each."""
    return "".join(f"<li>{featured_block(row)}</li>" for row in featured)
