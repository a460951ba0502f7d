"""Comment safety and cost: XSS corpus and generated text, concurrent posts, SQL per page."""

import re
import threading
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from membership.comments.rendering import render_comment
from membership.extensions import db
from membership.models import Comment, CommentLike
from membership.models.types import utcnow

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '"><script>alert(document.cookie)</script>',
    "'><img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    'http://example.org/"onmouseover="alert(1)',
    "https://example.org/<script>alert(1)</script>",
    "https://example.org/'onfocus='alert(1)' autofocus x='",
    '<div style="background:url(javascript:alert(1))">',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>x</a>",
    "{{ 7*7 }} {% raw %}",
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "`-alert(1)-`",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]


class CommentMarkup(HTMLParser):
    """Collect every tag and attribute inside the rendered comment bodies of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.depth:
            self.tags.append((tag, attributes))
            if tag not in ("br",):
                self.depth += 1
        elif "comment-body" in (attributes.get("class") or "").split():
            self.depth = 1

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1


def assert_inert(html: str, *, whole_page: bool = True) -> None:
    """Only <p>, <br> and http(s) links with rel=nofollow noopener ugc: nothing runs."""
    parser = CommentMarkup()
    parser.feed(html if whole_page else f'<div class="comment-body">{html}</div>')
    for tag, attributes in parser.tags:
        assert tag in {"p", "br", "a"}, (tag, attributes)
        if tag == "a":
            assert set(attributes) == {"href", "rel"}, attributes
            assert re.match(r"^https?://", attributes["href"]), attributes
            assert attributes["rel"] == "nofollow noopener ugc"
        else:
            assert attributes == {}, (tag, attributes)
    assert "<script" not in html.lower().split("</main>")[0].split('id="comments"')[-1]


def test_xss_corpus_is_inert_on_the_page(client, article, make_user):
    author = make_user("author@example.org")
    start = utcnow() - timedelta(hours=1)
    db.session.add_all(
        Comment(article_id=article.id, author_id=author.id, body=payload, created_at=start)
        for payload in XSS_CORPUS
    )
    db.session.commit()
    html = client.get("/articles/harbor-story").get_data(as_text=True)
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the text is shown, escaped"


def test_xss_payload_posted_through_the_form_is_stored_as_written(app, article, make_user, login):
    author = make_user("author@example.org", created_at=utcnow() - timedelta(days=5))
    client = app.test_client()
    login(client, author.email)
    payload = XSS_CORPUS[1]
    response = client.submit(
        "/articles/harbor-story/comments", {"body": payload}, page="/articles/harbor-story"
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Comment.body)) == payload
    assert_inert(client.get("/articles/harbor-story").get_data(as_text=True))


def test_links_become_safe_anchors():
    html = render_comment("See https://example.org/a?b=1&c=2. Or http://x.test/path)")
    assert (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener ugc">'
        "https://example.org/a?b=1&amp;c=2</a>." in html
    )
    assert '<a href="http://x.test/path" rel="nofollow noopener ugc">' in html
    assert_inert(str(html), whole_page=False)


HOSTILE_PIECES = st.sampled_from(
    ["<", ">", '"', "'", "&", "/", "=", "`", "\n", "\n\n", " ", "javascript:", "http://", "https://",
     "onerror=", "<script>", "</a>", "<a href=", "&#x3C;", "\\", "\u2028", "data:"]
)  # fmt: skip


@settings()
@given(st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=8)), max_size=40).map("".join))
def test_generated_text_never_renders_executable_html(text):
    assert_inert(str(render_comment(text)), whole_page=False)


# --- concurrency (SECURITY 25) --------------------------------------------------------------


def _concurrent_posts(app, client, data: dict, count: int = 10) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(count)

    def send():
        barrier.wait()
        statuses.append(client.post("/articles/harbor-story/comments", data=data).status_code)

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.parametrize("with_submission_id", [True, False])
def test_ten_concurrent_identical_posts_make_one_comment(
    app, article, make_user, login, with_submission_id
):
    author = make_user("clicker@example.org", created_at=utcnow() - timedelta(days=5))
    client = app.test_client()
    login(client, author.email)
    page = client.get("/articles/harbor-story").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', page))
    if not with_submission_id:
        fields.pop("submission_id")
    statuses = _concurrent_posts(app, client, {**fields, "body": "Posted in a hurry"})
    assert db.session.scalar(select(db.func.count(Comment.id))) == 1
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(302) >= 1


# --- statements per article page (issue: the same number whatever the comment count) ----------


def _statements_for(client, url: str) -> int:
    count = 0

    def counter(*args, **kwargs):
        nonlocal count
        count += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return count


def _fill(article, authors, comments: int) -> None:
    base = utcnow() - timedelta(days=2)
    tops = []
    for number in range(comments):
        author = authors[number % len(authors)]
        if number % 3 == 2 and tops:
            parent = tops[-1]
            comment = Comment(
                article_id=article.id,
                author_id=author.id,
                thread_id=parent.id,
                reply_to_id=parent.id,
                body=f"Reply {number}",
                created_at=base + timedelta(seconds=number),
            )
        else:
            comment = Comment(
                article_id=article.id,
                author_id=author.id,
                body=f"Comment {number}",
                created_at=base + timedelta(seconds=number),
            )
            tops.append(comment)
        db.session.add(comment)
        db.session.flush()
    for comment in tops[:20]:
        db.session.add(CommentLike(comment_id=comment.id, user_id=authors[0].id))
    db.session.commit()


@pytest.mark.parametrize("signed_in_reader", [False, True])
def test_article_page_statements_do_not_grow_with_comments(
    app, make_article, make_user, login, signed_in_reader
):
    authors = [
        make_user(f"author{n}@example.org", paying=True)
        if n % 2
        else make_user(f"author{n}@example.org")
        for n in range(8)
    ]
    small, large = make_article(slug="small"), make_article(slug="large")
    _fill(small, authors, 5)
    _fill(large, authors, 500)
    client = app.test_client()
    if signed_in_reader:
        login(client, authors[0].email)
    # Warm-up: settings cache, the session's activity stamp, and what each process keeps per
    # story (its tags and its empty comment box), as on a running site.
    client.get("/articles/small")
    client.get("/articles/large")
    few = _statements_for(client, "/articles/small")
    many = _statements_for(client, "/articles/large")
    print(f"statements per article page: {few} (5 comments), {many} (500 comments)")
    assert few == many, (few, many)
    assert many <= 10, many


def test_a_commenters_name_is_escaped_wherever_the_discussion_shows_it(client, article, make_user):
    """The byline, the avatar, the comment's label, "In reply to" and the featured list are
    built in Python (comments/blocks.py): the name is text everywhere."""
    name = '"><script>alert(1)</script><!--own:999-->'
    author = make_user("author@example.org", display_name=name)
    other = make_user("other@example.org", display_name="Olga")
    start = utcnow() - timedelta(hours=1)
    thread = Comment(article_id=article.id, author_id=other.id, body="First.", created_at=start)
    db.session.add(thread)
    db.session.flush()
    reply = Comment(
        article_id=article.id,
        author_id=author.id,
        thread_id=thread.id,
        reply_to_id=thread.id,
        body="A reply.",
        created_at=start + timedelta(minutes=1),
        featured_at=start,
    )
    db.session.add(reply)
    db.session.flush()
    db.session.add(
        Comment(
            article_id=article.id,
            author_id=other.id,
            thread_id=thread.id,
            reply_to_id=reply.id,
            body="An answer to the reply.",
            created_at=start + timedelta(minutes=2),
        )
    )
    thread.reply_count = 2
    article.comment_count = 3
    db.session.commit()
    html = client.get("/articles/harbor-story").get_data(as_text=True)
    discussion = html.split('id="comments"', 1)[1]
    assert "<script>alert(1)" not in discussion
    assert "<!--own:999-->" not in discussion, "a name cannot forge a personal mark"
    escaped = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--own:999--&gt;"
    assert f'<strong class="comment-author">{escaped}</strong>' in discussion
    assert f'aria-label="Comment by {escaped}"' in discussion
    assert f'aria-label="Featured comment by {escaped}"' in discussion
    assert f'<p class="in-reply-to">In reply to {escaped}</p>' in discussion
