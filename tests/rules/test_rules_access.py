"""Who reads the body of which story: the paywall as a reader meets it (issue 15)."""

import pytest

BODY = "The body of the story itself."


@pytest.fixture
def reader_of(app, make_user, login, make_staff_client):
    """A client for one kind of reader."""

    def make(who: str):
        if who == "anonymous":
            return app.test_client()
        if who == "moderator":
            return make_staff_client("moderator")
        client = app.test_client()
        user = make_user(paying=who == "paying member")
        assert login(client, user.email).status_code == 302
        return client

    return make


@pytest.mark.parametrize(
    ("level", "who", "reads"),
    [
        ("public", "anonymous", True),
        ("public", "free reader", True),
        ("public", "paying member", True),
        ("members", "anonymous", False),
        ("members", "free reader", True),
        ("members", "paying member", True),
        ("paid", "anonymous", False),
        ("paid", "free reader", False),
        ("paid", "paying member", True),
        ("paid", "moderator", True),
    ],
)
def test_who_reads_the_body_of_a_story(make_article, reader_of, level, who, reads):
    make_article(slug="story", access_level=level, body=BODY)
    page = reader_of(who).get("/articles/story").get_data(as_text=True)
    assert "A summary." in page
    assert (BODY in page) == reads
