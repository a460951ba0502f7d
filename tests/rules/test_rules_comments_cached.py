"""With the page cache on, anonymous readers see each change to a discussion at once (issue 15).

The cached article page and discussion are keyed by the story's discussion version; every
change a reader makes (an edit, a like, a deletion) must move it, or the old page is served
until the cache expires.
"""

from datetime import timedelta

import pytest

from membership.extensions import db
from membership.models.types import utcnow
from membership.settings import set_setting
from tests.test_comments import ARTICLE_URL, comments, post


@pytest.fixture
def app_config(shared_cache_config):
    return shared_cache_config


def signed_in_reader(app, make_user, login, email: str):
    """An established reader (a month old, so the short posting interval applies), signed in."""
    user = make_user(email, created_at=utcnow() - timedelta(days=30))
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


@pytest.fixture
def author(app, make_user, login):
    return signed_in_reader(app, make_user, login, "rita@example.org")


@pytest.fixture
def liker(app, make_user, login):
    return signed_in_reader(app, make_user, login, "omar@example.org")


def cached_page(app) -> str:
    """The story as an anonymous reader gets it (from the shared cache when it is there)."""
    return app.test_client().get(ARTICLE_URL).get_data(as_text=True)


def test_an_edit_shows_at_once(app, article, author):
    post(author, "Before the edit")
    assert "Before the edit" in cached_page(app)
    [comment] = comments()
    edited = author.submit(f"/comments/{comment.id}/edit", {"body": "After the edit"})
    assert edited.status_code == 302
    page = cached_page(app)
    assert "After the edit" in page and "Before the edit" not in page


def test_a_like_and_its_withdrawal_show_at_once(app, article, author, liker):
    post(author, "Worth a like")
    [comment] = comments()
    assert "1 like<" not in cached_page(app)
    liker.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL)
    assert "1 like<" in cached_page(app)
    liker.submit(f"/comments/{comment.id}/like", page=ARTICLE_URL)
    assert "1 like<" not in cached_page(app)


def test_a_deletion_shows_at_once(app, article, author):
    post(author, "Soon deleted")
    assert "Soon deleted" in cached_page(app)
    [comment] = comments()
    assert author.submit(f"/comments/{comment.id}/delete").status_code == 302
    assert "Soon deleted" not in cached_page(app)


def test_a_newcomers_held_comment_shows_to_its_author_at_once_and_to_nobody_else(
    app, article, make_user, login, liker
):
    """The site holds first comments for a moderator: the author sees theirs, marked as
    waiting, in the page after posting; the cached discussion everyone else gets is unchanged."""
    set_setting("hold_first_comments", 1)
    db.session.commit()
    before = cached_page(app)
    newcomer = app.test_client()
    assert login(newcomer, make_user("nina@example.org").email).status_code == 302
    assert post(newcomer, "My very first comment").status_code == 302
    mine = newcomer.get(ARTICLE_URL).get_data(as_text=True)
    assert "My very first comment" in mine and "hidden pending review" in mine
    assert "My very first comment" not in liker.get(ARTICLE_URL).get_data(as_text=True)
    assert cached_page(app) == before
