"""Registration and email confirmation."""

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import User

GOOD = {
    "email": "new.reader@example.org",
    "display_name": "New Reader",
    "password": "a river runs through harborview",
    "password_confirm": "a river runs through harborview",
}


def register(client, **changes):
    return client.submit("/register", {**GOOD, **changes})


def test_register_sends_confirmation_and_link_confirms(client, mailbox):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/check-email")
    user = db.session.scalar(select(User).where(User.email == "new.reader@example.org"))
    assert user is not None and not user.is_confirmed
    link = mailbox.link("new.reader@example.org", "/confirm/")
    assert link.startswith("http://portal.test/confirm/")

    path = link.removeprefix("http://portal.test")
    page = client.get(path)
    assert page.status_code == 200
    assert "Confirm my email" in page.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.is_confirmed, "GET must not change data"

    confirmed = client.submit(path)
    assert confirmed.status_code == 302
    db.session.refresh(user)
    assert user.is_confirmed

    again = client.get(path)
    assert "already been used" in again.get_data(as_text=True)


def test_taken_email_gets_the_same_page_and_owner_is_told(client, mailbox, make_user):
    owner = make_user("taken@example.org")
    fresh = register(client, email="fresh@example.org")
    taken = register(client, email="Taken@Example.org")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert db.session.scalar(select(User.id).where(User.email == "taken@example.org")) == owner.id
    assert "tried to create an account" in mailbox.text_of(mailbox.last("taken@example.org"))


def test_banned_email_cannot_register_again(client, mailbox, make_user):
    make_user("banned@example.org", status="banned")
    response = register(client, email="banned@example.org")
    assert response.status_code == 302
    assert mailbox.to("banned@example.org") == []
    assert len(db.session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"email": ""}, "Enter your email address"),
        ({"display_name": ""}, "Choose a display name"),
        ({"password": "short", "password_confirm": "short"}, "at least 12 characters"),
        ({"password": "x" * 129, "password_confirm": "x" * 129}, "at most 128 characters"),
        ({"password": "password1234", "password_confirm": "password1234"}, "too common"),
        ({"password_confirm": "something else entirely"}, "do not match"),
    ],
)
def test_register_rejects_bad_input_with_a_message(client, mailbox, changes, message):
    response = register(client, **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(User)).all() == []
    assert mailbox.messages == []


def test_password_length_counts_characters_after_nfkc(client):
    # "ﬁ" (U+FB01) normalises to "fi": eleven of these are 22 characters, accepted.
    password = "\ufb01" * 6 + " harbor"
    response = register(client, password=password, password_confirm=password)
    assert response.status_code == 302


def test_extra_fields_are_ignored(client):
    register(
        client, is_admin="1", role="admin", status="banned", confirmed_at="2020-01-01", tier="gold"
    )
    user = db.session.scalar(select(User))
    assert (user.role, user.status, user.is_confirmed) == ("reader", "active", False)


def test_resend_confirmation_answers_the_same_for_unknown_emails(client, mailbox, make_user):
    make_user("waiting@example.org", confirmed=False)
    known = client.submit("/confirm/resend", {"email": "waiting@example.org"})
    unknown = client.submit("/confirm/resend", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert len(mailbox.to("waiting@example.org")) == 1
    assert mailbox.to("nobody@example.org") == []


def test_expired_confirmation_link_explains_and_offers_resend(make_app, mailbox):
    app = make_app(CONFIRM_TOKEN_MAX_AGE=-1)
    client = app.test_client()
    with app.app_context():
        register(client)
    path = mailbox.link(GOOD["email"], "/confirm/").removeprefix("http://portal.test")
    response = client.get(path)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "expired" in body and "/confirm/resend" in body


def test_tampered_confirmation_link_is_refused(client, mailbox):
    register(client)
    path = mailbox.link(GOOD["email"], "/confirm/").removeprefix("http://portal.test")
    response = client.submit(path[:-3] + "abc", page=path)
    assert response.status_code == 400
    assert "does not work" in response.get_data(as_text=True)
