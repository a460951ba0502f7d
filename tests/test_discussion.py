"""The discussion page: featured comments, long threads and discussions, in-place answers for
htmx (and plain redirects without), and the shared HTML with each reader's own marks."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.comments import discussion as discussion_module
from membership.extensions import db
from membership.models import AuditEvent, Comment, CommentLike, CommentReport
from membership.models.types import utcnow
from tests.conftest import add_threads

ARTICLE_URL = "/articles/harbor-story"
HX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')


@pytest.fixture
def people(app, make_user, login):
    """Two signed-in readers (Rita, Omar), a moderator and a visitor, each with a client."""
    old = utcnow() - timedelta(days=30)
    clients = {}
    for key, email, name, role in [
        ("rita", "rita@example.org", "Rita", "reader"),
        ("omar", "omar@example.org", "Omar", "reader"),
        ("mod", "mod@example.org", "Mona", "moderator"),
    ]:
        user = make_user(email, display_name=name, role=role, created_at=old)
        client = app.test_client()
        assert login(client, email).status_code == 302
        client.user = user
        clients[key] = client
    clients["visitor"] = app.test_client()
    return clients


def add_comment(article, author, body, *, reply_to=None, minutes_ago=60, **fields):
    """A published comment written straight to the database."""
    comment = Comment(
        article_id=article.id,
        author_id=author.id,
        body=body,
        thread_id=(reply_to.thread_id or reply_to.id) if reply_to else None,
        reply_to_id=reply_to.id if reply_to else None,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        **fields,
    )
    db.session.add(comment)
    if reply_to is not None:
        db.session.get(Comment, comment.thread_id).reply_count += 1
    article.comment_count += 1
    db.session.commit()
    return comment


def token_of(client, url=ARTICLE_URL) -> str:
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def block_of(html: str, comment_id: int) -> str:
    """The HTML of one comment's <article> (replies are outside it)."""
    start = html.index(f'<article id="c{comment_id}"')
    return html[start : html.index("</article>", start)]


def announced(response) -> dict:
    return json.loads(response.headers["HX-Trigger-After-Settle"])["discussion"]


# --- layout -----------------------------------------------------------------------------------


def test_author_line_badges_time_and_active_sort(people, article, make_user):
    mod = people["mod"].user
    member = make_user("member@example.org", display_name="Maja Member", paying=True)
    staff = add_comment(article, mod, "From the desk")
    paid = add_comment(article, member, "From a member")
    html = people["visitor"].get(ARTICLE_URL + "?sort=newest").get_data(as_text=True)
    staff_block, member_block = block_of(html, staff.id), block_of(html, paid.id)
    assert '<span class="avatar avatar-' in staff_block and ">M</span>" in staff_block
    assert 'class="badge badge-staff">Staff<' in staff_block
    assert 'class="badge badge-paid">Member<' in member_block
    assert "badge-staff" not in member_block
    stamp = paid.created_at
    assert (
        f'<time datetime="{stamp.isoformat()}" title="{stamp.day} {stamp:%B %Y, %H:%M UTC}"'
        in member_block
    )
    assert re.search(
        r'href="/articles/harbor-story\?sort=newest#comments"[^>]*aria-current="true"', html
    )
    assert html.count('aria-current="true"') == 1


def test_featured_comments_come_first_and_featuring_is_audited(people, article):
    rita = people["rita"].user
    first = add_comment(article, rita, "An early thought", minutes_ago=90)
    later = add_comment(article, rita, "The insightful one", minutes_ago=30)
    mod = people["mod"]
    response = mod.submit(f"/comments/{later.id}/feature", page=ARTICLE_URL)
    assert response.status_code == 302
    assert db.session.get(Comment, later.id).is_featured
    html = people["visitor"].get(ARTICLE_URL).get_data(as_text=True)
    featured = html.index('id="featured-title">Featured<')
    assert featured < html.index("The insightful one") < html.index("An early thought")
    assert html.count("The insightful one") == 2, "featured, and in its place in the discussion"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "comment.feature"))
    assert (event.actor_id, event.target_id) == (mod.user.id, later.id)

    mod.submit(f"/comments/{later.id}/feature", page=ARTICLE_URL)
    assert not db.session.get(Comment, later.id).is_featured
    assert "Featured<" not in people["visitor"].get(ARTICLE_URL).get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "comment.unfeature"))
    assert first.featured_at is None


def test_only_moderators_can_feature(people, article):
    comment = add_comment(article, people["omar"].user, "Please feature me")
    response = people["rita"].submit(f"/comments/{comment.id}/feature", page=ARTICLE_URL)
    assert response.status_code == 403
    assert not db.session.get(Comment, comment.id).is_featured
    assert db.session.scalars(select(AuditEvent)).all() == []


def test_long_threads_show_more_replies(people, article):
    rita, omar = people["rita"].user, people["omar"].user
    top = add_comment(article, rita, "Start of a long thread", minutes_ago=100)
    for number in range(5):
        add_comment(article, omar, f"Reply number {number}", reply_to=top, minutes_ago=90 - number)
    html = people["visitor"].get(ARTICLE_URL).get_data(as_text=True)
    more = html.index('<details class="more-replies">')
    assert (
        '<summary><span class="when-closed">Show 2 more replies</span>'
        '<span class="when-open">Hide 2 replies</span></summary>'
    ) in html
    assert all(html.index(f"Reply number {n}") < more for n in range(3))
    assert all(html.index(f"Reply number {n}") > more for n in (3, 4))


def test_load_more_in_place_and_as_a_link(people, article):
    omar = people["omar"].user
    add_threads(article, omar.id, 120)
    visitor = people["visitor"]
    first = visitor.get(ARTICLE_URL).get_data(as_text=True)
    assert (
        'hx-get="/articles/harbor-story/discussion?sort=oldest&amp;cpage=2&amp;part=threads"'
        in first
    )
    assert 'href="/articles/harbor-story?sort=oldest&amp;cpage=2#comments"' in first

    more = visitor.get(ARTICLE_URL + "/discussion?sort=oldest&cpage=2&part=threads", headers=HX)
    assert more.status_code == 200
    part = more.get_data(as_text=True)
    assert part.lstrip().startswith('<li class="thread">')
    assert "Comment number 050" in part and "Comment number 099" in part
    assert "Comment number 049" not in part and "Comment number 100" not in part
    assert "cpage=3" in part and 'id="comments"' not in part
    assert announced(more)["message"] == "More comments loaded"

    plain = visitor.get(ARTICLE_URL + "/discussion?sort=newest&cpage=2&part=threads")
    assert plain.status_code == 302
    assert plain.headers["Location"] == ARTICLE_URL + "?sort=newest&cpage=2#comments"
    last = visitor.get(ARTICLE_URL + "?cpage=3").get_data(as_text=True)
    assert "Comment number 119" in last and "Show more comments" not in last


def test_sort_in_place(people, article):
    rita = people["rita"].user
    add_comment(article, rita, "Older words", minutes_ago=50)
    add_comment(article, rita, "Newer words", minutes_ago=5)
    response = people["omar"].get(ARTICLE_URL + "/discussion?sort=newest", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="comments"')
    assert "<html" not in html and "site-footer" not in html
    assert html.index("Newer words") < html.index("Older words")
    assert announced(response)["message"] == "Comments sorted newest first"
    anonymous = people["visitor"].get(ARTICLE_URL + "/discussion?sort=liked", headers=HX)
    assert "HX-Request" in anonymous.headers["Vary"]


# --- in place with htmx, redirects without ----------------------------------------------------


def test_like_in_place_and_without_javascript(people, article):
    comment = add_comment(article, people["rita"].user, "Likeable")
    omar = people["omar"]
    token = token_of(omar)
    response = omar.post(f"/comments/{comment.id}/like", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<article id="c{comment.id}" class="comment"')
    assert 'aria-pressed="true"' in html and "1 like<" in html
    assert announced(response) == {"message": "Liked", "focus": f"like-{comment.id}"}
    plain = omar.post(f"/comments/{comment.id}/like", data={"csrf_token": token})
    assert plain.status_code == 302
    assert plain.headers["Location"] == f"{ARTICLE_URL}#c{comment.id}"
    assert db.session.scalars(select(CommentLike)).all() == []


def test_post_and_reply_in_place(people, article, mailbox):
    rita = people["rita"]
    page = rita.get(ARTICLE_URL).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', page))
    response = rita.post(
        ARTICLE_URL + "/comments?sort=oldest",
        data={**fields, "body": "Posted in place"},
        headers=HX,
    )
    assert response.status_code == 200
    [comment] = db.session.scalars(select(Comment)).all()
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="comments"') and "Posted in place" in html
    assert announced(response) == {"message": "Comment posted", "focus": f"c{comment.id}"}

    omar = people["omar"]
    form = omar.get(f"/comments/{comment.id}/reply", headers=HX)
    assert form.status_code == 200
    reply_form = form.get_data(as_text=True)
    assert f'<label for="reply-body-{comment.id}">Your reply to Rita</label>' in reply_form
    assert f'name="reply_to" value="{comment.id}"' in reply_form
    assert announced(form)["focus"] == f"reply-body-{comment.id}"
    no_js = omar.get(f"/comments/{comment.id}/reply")
    assert no_js.status_code == 302
    assert (
        no_js.headers["Location"]
        == f"{ARTICLE_URL}?reply_to={comment.id}&sort=oldest#r{comment.id}"
    )
    fields = dict(re.findall(r'name="(csrf_token|submission_id)"[^>]*value="([^"]*)"', reply_form))
    answer = omar.post(
        ARTICLE_URL + "/comments?sort=oldest",
        data={**fields, "reply_to": str(comment.id), "body": "A reply in place"},
        headers=HX,
    )
    assert answer.status_code == 200
    reply = db.session.scalar(select(Comment).where(Comment.reply_to_id == comment.id))
    assert reply.thread_id == comment.id
    assert f'<article id="c{reply.id}"' in answer.get_data(as_text=True)


def test_invalid_post_in_place_keeps_the_form_with_its_error(people, article):
    rita = people["rita"]
    response = rita.post(
        ARTICLE_URL + "/comments", data={"csrf_token": token_of(rita), "body": "  "}, headers=HX
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="comments"')
    assert "Write something before posting." in html
    assert db.session.scalars(select(Comment)).all() == []


def test_reply_form_without_javascript_opens_under_its_comment(people, article):
    comment = add_comment(article, people["rita"].user, "Answer me")
    later = add_comment(article, people["rita"].user, "Later one", minutes_ago=10)
    html = people["omar"].get(f"{ARTICLE_URL}?reply_to={comment.id}").get_data(as_text=True)
    form = html.index(f'id="reply-{comment.id}"')
    assert html.index(f'<article id="c{comment.id}"') < form < html.index(f'id="c{later.id}"')
    assert html.index('<label for="body">Your comment</label>') < form, "the box stays on top"


def test_edit_in_place_with_cancel(people, article):
    rita = people["rita"]
    comment = add_comment(article, rita.user, "Typo here", minutes_ago=2)
    form = rita.get(f"/comments/{comment.id}/edit", headers=HX)
    html = form.get_data(as_text=True).lstrip()
    assert html.startswith(f'<article id="c{comment.id}" class="comment is-own is-editing"')
    assert f'hx-get="/comments/{comment.id}">Cancel</a>' in html
    cancel = rita.get(f"/comments/{comment.id}", headers=HX).get_data(as_text=True)
    assert "Typo here" in cancel and "is-editing" not in cancel
    saved = rita.post(
        f"/comments/{comment.id}/edit",
        data={"csrf_token": token_of(rita), "body": "No typo here"},
        headers=HX,
    )
    assert saved.status_code == 200
    assert "No typo here" in saved.get_data(as_text=True) and "(edited)" in saved.get_data(
        as_text=True
    )
    assert announced(saved)["message"] == "Comment updated"
    page = rita.get(f"/comments/{comment.id}/edit").get_data(as_text=True)
    assert f'href="/articles/harbor-story#c{comment.id}">Cancel</a>' in page
    assert rita.get(f"/comments/{comment.id}").headers["Location"] == f"{ARTICLE_URL}#c{comment.id}"


def test_delete_in_place(people, article):
    rita = people["rita"]
    comment = add_comment(article, rita.user, "Regrettable")
    response = rita.post(
        f"/comments/{comment.id}/delete", data={"csrf_token": token_of(rita)}, headers=HX
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        f'<p class="comment-gone" id="c{comment.id}" tabindex="-1">Your comment is deleted.</p>'
    )
    assert announced(response)["message"] == "Comment deleted"
    assert db.session.get(Comment, comment.id).status == "deleted"


def test_report_in_place(people, article):
    comment = add_comment(article, people["rita"].user, "Off topic")
    omar = people["omar"]
    form = omar.get(f"/comments/{comment.id}/report", headers=HX)
    assert form.headers["HX-Retarget"] == f"#r{comment.id}"
    assert 'value="off-topic"' in form.get_data(as_text=True)
    token = token_of(omar)
    missing = omar.post(
        f"/comments/{comment.id}/report", data={"csrf_token": token, "reason": ""}, headers=HX
    )
    assert missing.status_code == 422 and "Choose a reason." in missing.get_data(as_text=True)
    sent = omar.post(
        f"/comments/{comment.id}/report",
        data={"csrf_token": token, "reason": "off-topic"},
        headers=HX,
    )
    assert sent.status_code == 200
    assert '<span class="action-note for-others">Reported</span>' in sent.get_data(as_text=True)
    assert announced(sent)["message"] == "Thank you. A moderator will look at this comment."
    assert db.session.scalar(select(CommentReport.reason)) == "off-topic"
    page = omar.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="/comments/{comment.id}/report"' not in page
    assert "Reported</span>" in block_of(page, comment.id)


def test_refused_in_place_is_shown_under_the_comment(people, article):
    rita = people["rita"]
    comment = add_comment(article, rita.user, "Mine")
    response = rita.post(
        f"/comments/{comment.id}/like", data={"csrf_token": token_of(rita)}, headers=HX
    )
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == f"#r{comment.id}"
    assert "You cannot like your own comment." in response.get_data(as_text=True)


# --- one shared page, personal marks ----------------------------------------------------------


def test_each_reader_sees_only_their_own_edit_delete_and_likes(people, article):
    rita, omar = people["rita"], people["omar"]
    ritas = add_comment(article, rita.user, "Rita writes", minutes_ago=5)
    omars = add_comment(article, omar.user, "Omar writes", minutes_ago=4)
    old = add_comment(article, rita.user, "Rita, long ago", minutes_ago=60)
    db.session.add(CommentLike(comment_id=omars.id, user_id=rita.user.id))
    db.session.commit()

    page = rita.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="/comments/{ritas.id}/edit"' in page
    assert f'href="/comments/{ritas.id}/delete"' in page
    assert f'href="/comments/{old.id}/edit"' not in page, "the edit window has passed"
    assert f'href="/comments/{old.id}/delete"' in page
    assert f'href="/comments/{omars.id}/edit"' not in page
    assert f'href="/comments/{omars.id}/delete"' not in page
    assert f'id="like-{omars.id}" aria-pressed="true"' in page
    assert f'<article id="c{ritas.id}" class="comment is-own"' in page
    assert f'<article id="c{omars.id}" class="comment"' in page

    page = omar.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="/comments/{omars.id}/delete"' in page
    assert f'href="/comments/{ritas.id}/delete"' not in page
    assert 'aria-pressed="true"' not in page
    assert f'<article id="c{omars.id}" class="comment is-own"' in page
    assert f'<article id="c{ritas.id}" class="comment"' in page

    visitor = people["visitor"].get(ARTICLE_URL)
    html = visitor.get_data(as_text=True)
    assert "/edit" not in html and "/delete" not in html and "is-own" not in html
    assert 'name="csrf_token"' not in html and "Set-Cookie" not in visitor.headers
    assert '<section id="comments" class="discussion"' in html


def test_marks_never_leak_into_the_shared_html(people, article, monkeypatch):
    """Two readers whose requests alternate: the shared HTML is byte-identical for both, and
    carries no token, no own-comment links and no pressed Like."""
    rita, omar = people["rita"], people["omar"]
    ritas = add_comment(article, rita.user, "Rita writes", minutes_ago=5)
    omars = add_comment(article, omar.user, "Omar writes", minutes_ago=4)
    db.session.add(CommentLike(comment_id=omars.id, user_id=rita.user.id))
    db.session.add(CommentLike(comment_id=ritas.id, user_id=omar.user.id))
    db.session.commit()
    shared: list[str] = []
    original = discussion_module.shared_discussion_html

    def recording(*args):
        html = original(*args)
        shared.append(html)
        return html

    monkeypatch.setattr(discussion_module, "shared_discussion_html", recording)
    tokens = set()
    for client in (rita, omar, rita, omar):
        page = client.get(ARTICLE_URL).get_data(as_text=True)
        tokens |= set(TOKEN.findall(page))
    assert len(shared) == 4
    assert len(set(shared)) == 1, "the same HTML for every reader"
    html = shared[0]
    assert all(token not in html for token in tokens)
    assert "<!--actions-->" in html and "<!--viewer-->" in html
    assert 'name="csrf_token"' not in html
    assert "is-own" not in html and 'aria-pressed="true"' not in html
    assert "/edit" not in html and "/delete" not in html
    assert "Rita writes" in html and "Omar writes" in html
    assert "rita@example.org" not in html and "omar@example.org" not in html


def test_one_csrf_token_per_page_whatever_the_number_of_comments(people, article):
    rita, omar = people["rita"], people["omar"]
    add_comment(article, omar.user, "Only one")
    few = rita.get(ARTICLE_URL).get_data(as_text=True)
    for number in range(30):
        add_comment(article, omar.user, f"Another {number}")
    many = rita.get(ARTICLE_URL).get_data(as_text=True)
    assert len(set(TOKEN.findall(many))) == 1
    assert len(TOKEN.findall(few)) == len(TOKEN.findall(many))
    assert many.count('form="comment-actions"') > few.count('form="comment-actions"') >= 1
    assert many.count('id="comment-actions"') == 1


def test_own_pending_comment_is_shown_only_to_its_author(people, article):
    rita = people["rita"]
    add_comment(article, rita.user, "Waiting for a moderator", status="pending")
    mine = rita.get(ARTICLE_URL).get_data(as_text=True)
    assert "Waiting for a moderator" in mine and "hidden pending review" in mine
    assert "Waiting for a moderator" not in people["omar"].get(ARTICLE_URL).get_data(as_text=True)
    assert "Waiting for a moderator" not in people["visitor"].get(ARTICLE_URL).get_data(
        as_text=True
    )


def test_staff_get_the_feature_control_readers_do_not(people, article):
    add_comment(article, people["rita"].user, "Feature-worthy")
    staff = people["mod"].get(ARTICLE_URL).get_data(as_text=True)
    reader = people["omar"].get(ARTICLE_URL).get_data(as_text=True)
    assert '<section id="comments" class="discussion can-act is-staff"' in staff
    assert '<section id="comments" class="discussion can-act"' in reader


def test_comment_addresses_of_an_unpublished_story_are_404(people, make_article):
    draft = make_article(slug="draft-story", status="draft")
    comment = add_comment(draft, people["rita"].user, "Under a draft")
    for path in (f"/comments/{comment.id}", f"/comments/{comment.id}/reply"):
        assert people["omar"].get(path, headers=HX).status_code == 404
        assert people["omar"].get(path).status_code == 404


def test_hourly_limit_in_place_is_a_note_not_an_error_page(make_app, make_user, login):
    app = make_app(COMMENT_LIMIT_PER_USER="1/hour")
    with app.app_context():
        from membership.models import Article, Section

        section = Section(slug="world", name="World", description="", position=0)
        db.session.add(
            Article(
                slug="harbor-story",
                title="Harbor story",
                summary="",
                body="",
                author_name="A",
                section=section,
                status="published",
                published_at=utcnow() - timedelta(hours=1),
            )
        )
        make_user("busy@example.org", created_at=utcnow() - timedelta(days=9))
        client = app.test_client()
        login(client, "busy@example.org")
        token = token_of(client)
        first = client.post(ARTICLE_URL + "/comments", data={"csrf_token": token, "body": "One"})
        assert first.status_code == 302
        second = client.post(
            ARTICLE_URL + "/comments", data={"csrf_token": token, "body": "Two"}, headers=HX
        )
        third = client.post(ARTICLE_URL + "/comments", data={"csrf_token": token, "body": "3"})
    assert second.status_code == 429
    assert second.headers["HX-Retarget"] == "#comment-form"
    assert second.get_data(as_text=True).startswith('<p class="flash flash-error" role="alert">')
    assert third.status_code == 429 and "<html" in third.get_data(as_text=True)


def test_statements_per_page_do_not_grow_with_the_readers_marks(people, article):
    """Own comments, likes, reports and a reply form: still one query for all the marks."""
    from tests.test_comment_safety import _statements_for

    rita, omar = people["rita"], people["omar"]
    first = add_comment(article, omar.user, "Something to answer")
    rita.get(ARTICLE_URL)  # warm-up: settings cache and the session's activity stamp
    bare = _statements_for(rita, ARTICLE_URL)
    for number in range(20):
        own = add_comment(article, rita.user, f"Rita's {number}", minutes_ago=number)
        other = add_comment(article, omar.user, f"Omar's {number}", minutes_ago=number)
        db.session.add(CommentLike(comment_id=other.id, user_id=rita.user.id))
        db.session.add(CommentReport(comment_id=other.id, reporter_id=rita.user.id, reason="spam"))
        assert own.id
    db.session.commit()
    marked = _statements_for(rita, ARTICLE_URL)
    replying = _statements_for(rita, f"{ARTICLE_URL}?reply_to={first.id}")
    assert marked == bare, (bare, marked)
    assert replying == bare + 1, "the answered comment, for the reply form"


def test_a_comments_address_leads_to_the_page_that_shows_it(people, article):
    omar = people["omar"].user
    add_threads(article, omar.id, 60)
    early, late = db.session.scalars(select(Comment).order_by(Comment.id)).all()[::55][:2]
    reply = add_comment(article, people["rita"].user, "Late reply", reply_to=late, minutes_ago=1)
    visitor = people["visitor"]
    assert visitor.get(f"/comments/{early.id}").headers["Location"] == f"{ARTICLE_URL}#c{early.id}"
    for comment in (late, reply):
        location = visitor.get(f"/comments/{comment.id}").headers["Location"]
        assert location == f"{ARTICLE_URL}?cpage=2#c{comment.id}"
        assert f'id="c{comment.id}"' in visitor.get(location).get_data(as_text=True)


SUBMISSION = re.compile(r'name="submission_id" type="hidden" value="([^"]*)"')


def test_the_comment_box_kept_per_process_carries_each_readers_own_token(people, article):
    """The empty comment box is rendered once and reused: each reader's copy still holds their
    own CSRF token (the one their session signs) and a new submission id on every load, so a
    form posted from either page is accepted once."""
    rita, omar = people["rita"], people["omar"]
    pages = [client.get(ARTICLE_URL).get_data(as_text=True) for client in (rita, omar, rita)]
    for page in pages:
        assert "placeholder-" not in page
        assert len(set(TOKEN.findall(page))) == 1, "the comment box uses the page's one token"
    assert TOKEN.search(pages[0]).group(1) != TOKEN.search(pages[1]).group(1)
    submissions = [SUBMISSION.search(page).group(1) for page in pages]
    assert len(set(submissions)) == 3 and all(len(s) == 32 for s in submissions)
    for client, page, body in ((omar, pages[1], "From Omar's page"), (rita, pages[2], "Rita's")):
        fields = {
            "csrf_token": TOKEN.search(page).group(1),
            "submission_id": SUBMISSION.search(page).group(1),
            "body": body,
        }
        assert client.post(f"{ARTICLE_URL}/comments", data=fields).status_code == 302
        assert client.post(f"{ARTICLE_URL}/comments", data=fields).status_code == 302
    bodies = db.session.scalars(select(Comment.body).order_by(Comment.id)).all()
    assert bodies == ["From Omar's page", "Rita's"], "each form posted once"


def test_a_visitor_is_invited_and_a_reader_who_must_confirm_is_named(
    people, article, make_user, login
):
    """The reason there is no comment box is shared; "confirm your email" names the reader."""
    visitor = people["visitor"].get(ARTICLE_URL).get_data(as_text=True)
    assert "Sign in" in visitor and 'name="csrf_token"' not in visitor
    clients = {}
    for email in ("new1@example.org", "new2@example.org"):
        make_user(email, confirmed=False)
        clients[email] = people["rita"].application.test_client()
        assert login(clients[email], email).status_code == 302
    for email in ("new1@example.org", "new2@example.org", "new1@example.org"):
        page = clients[email].get(ARTICLE_URL).get_data(as_text=True)
        assert f"We sent a link to {email}" in page
