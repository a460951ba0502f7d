"""The account page: profile, email change, password change, data export, deletion."""

import json
from datetime import timedelta

from sqlalchemy import select, update

from membership.extensions import db
from membership.models import User, UserSession
from membership.models.types import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "another long harbor passphrase"


def make_login_old(minutes: int = 16) -> None:
    db.session.execute(
        update(UserSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_account_requires_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login?next=%2Faccount" in response.headers["Location"]


def test_change_display_name(signed_in, user):
    response = signed_in.submit(
        "/account/profile", {"display_name": "  Ada   L. "}, page="/account"
    )
    assert response.status_code == 302
    assert db.session.get(User, user.id).display_name == "Ada L."


def test_invalid_display_name_is_a_form_error(signed_in):
    response = signed_in.submit("/account/profile", {"display_name": "x" * 61}, page="/account")
    assert response.status_code == 422
    assert "Field must be between 2 and 60 characters long." in response.get_data(as_text=True)


def test_email_change_is_confirmed_at_the_new_address(signed_in, user, mailbox):
    response = signed_in.submit(
        "/account/email",
        {"email": "ada.new@example.org", "current_password": PASSWORD},
        page="/account",
    )
    assert response.status_code == 302
    assert db.session.get(User, user.id).email == "ada@example.org"
    assert "ada.new@example.org" in mailbox.text_of(mailbox.last("ada@example.org"))
    path = mailbox.link("ada.new@example.org", "/account/email/confirm/").removeprefix(
        "http://portal.test"
    )
    assert signed_in.get(path).status_code == 200
    assert db.session.get(User, user.id).email == "ada@example.org", "GET changes nothing"
    assert signed_in.submit(path).status_code == 302
    assert db.session.get(User, user.id).email == "ada.new@example.org"
    assert "Already done" in signed_in.get(path).get_data(as_text=True)


def test_email_change_to_a_taken_address_tells_its_owner_only(signed_in, make_user, mailbox):
    make_user("taken@example.org")
    response = signed_in.submit(
        "/account/email",
        {"email": "taken@example.org", "current_password": PASSWORD},
        page="/account",
    )
    assert response.status_code == 302
    assert "Someone tried to use your email address" in mailbox.last("taken@example.org")["Subject"]
    assert mailbox.to("ada@example.org") == []


def test_email_change_needs_the_current_password(signed_in, user, mailbox):
    response = signed_in.submit(
        "/account/email",
        {"email": "ada.new@example.org", "current_password": "not my password"},
        page="/account",
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_email_change_needs_a_recent_login(signed_in, mailbox):
    make_login_old()
    response = signed_in.submit(
        "/account/email",
        {"email": "ada.new@example.org", "current_password": PASSWORD},
        page="/account",
    )
    assert response.status_code == 302
    assert "/reauthenticate" in response.headers["Location"]
    assert mailbox.messages == []


def test_password_change_needs_a_recent_login_then_works(signed_in, user, mailbox, login):
    make_login_old()
    form = {
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    refused = signed_in.submit("/account/password", form, page="/account")
    assert "/reauthenticate" in refused.headers["Location"]
    assert (
        signed_in.submit(
            "/reauthenticate?next=/account", {"password": PASSWORD}, page="/reauthenticate"
        ).headers["Location"]
        == "/account"
    )
    response = signed_in.submit("/account/password", form, page="/account")
    assert response.status_code == 302
    assert "Your password was changed" in mailbox.last(user.email)["Subject"]
    assert signed_in.get("/account").status_code == 200, "this session stays signed in"


def test_password_change_needs_the_current_password(signed_in):
    response = signed_in.submit(
        "/account/password",
        {
            "current_password": "wrong password entirely",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
        page="/account",
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, user, login):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)
    laptop.submit(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        page="/account",
    )
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_reauthenticate_refuses_a_wrong_password(signed_in):
    make_login_old()
    response = signed_in.submit("/reauthenticate", {"password": "not it at all"})
    assert response.status_code == 422
    assert "Incorrect password." in response.get_data(as_text=True)


def test_export_contains_my_data_and_no_secrets(signed_in, user):
    response = signed_in.get("/account/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == "ada@example.org"
    assert len(data["sessions"]) == 1
    text = response.get_data(as_text=True)
    assert "argon2" not in text and "token_hash" not in text


def test_delete_account_needs_password_and_confirmation(signed_in, user):
    missing_tick = signed_in.submit(
        "/account/delete", {"current_password": PASSWORD}, page="/account"
    )
    assert missing_tick.status_code == 422
    wrong = signed_in.submit(
        "/account/delete",
        {"current_password": "nope nope nope", "understood": "y"},
        page="/account",
    )
    assert wrong.status_code == 422
    assert db.session.get(User, user.id) is not None


def test_delete_account_erases_the_user_and_signs_out(signed_in, user, mailbox):
    response = signed_in.submit(
        "/account/delete", {"current_password": PASSWORD, "understood": "y"}, page="/account"
    )
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "ada@example.org")) is None
    assert db.session.scalars(select(UserSession)).all() == []
    assert signed_in.get("/account").status_code == 302
    assert "deleted" in mailbox.last("ada@example.org")["Subject"]


def test_one_reader_cannot_act_on_another(app, make_user, login):
    """Account actions always apply to the signed-in reader, whatever the form says."""
    alice = make_user("alice@example.org")
    bob = make_user("bob@example.org", display_name="Bob")
    client = app.test_client()
    login(client, alice.email)
    client.submit(
        "/account/profile",
        {"display_name": "Hacked", "user_id": bob.id, "id": bob.id},
        page="/account",
    )
    assert db.session.get(User, bob.id).display_name == "Bob"
    assert db.session.get(User, alice.id).display_name == "Hacked"
    data = json.loads(client.get(f"/account/export.json?user_id={bob.id}").get_data(as_text=True))
    assert data["account"]["email"] == "alice@example.org"
