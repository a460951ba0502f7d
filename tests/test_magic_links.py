"""Magic links: emailed, single use, 15 minutes; a button to press (a GET changes nothing)."""

from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from membership.extensions import db
from membership.models import MagicLink, UserSession
from membership.models.types import utcnow
from tests.conftest import totp_code
from tests.test_forms_fuzz import EMAIL, NO_LIMITS, WILD, form_data, post_form

SENT = "If an account uses that address, we have sent it a sign-in link."


def ask_for_link(client, email: str):
    return client.submit("/login/email-link", {"email": email})


def link_path(mailbox, email: str) -> str:
    """The path of the newest sign-in link emailed to `email` (the URL is built from SITE_URL)."""
    url = mailbox.link(email, "/login/email-link/")
    assert url.startswith("http://portal.test/login/email-link/"), url
    return urlsplit(url).path


def press(client, path: str):
    """Press the page's button: POST with a genuine token (a used link's page has no form)."""
    return client.post(path, data={"csrf_token": client.csrf_token("/login")})


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_the_login_page_offers_a_sign_in_link(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/email-link"' in page
    assert "Email me a sign-in link" in page


def test_a_link_signs_in_once_after_pressing_the_button(client, user, mailbox):
    response = ask_for_link(client, "ADA@example.org")
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    path = link_path(mailbox, user.email)
    assert "15 minutes" in mailbox.text_of(mailbox.last(user.email))

    # Opening the link (as a mail scanner does) changes nothing: a button, no session.
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
        assert "Sign me in" in page.get_data(as_text=True)
    assert not signed_in(client)
    assert db.session.scalar(select(MagicLink.used_at)) is None

    response = client.submit(path)
    assert response.status_code == 302
    assert signed_in(client)

    other = client.application.test_client()
    again = press(other, path)
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)
    assert not signed_in(other)
    assert other.get(path).status_code == 400


def test_unknown_and_banned_emails_get_the_same_answer_and_no_mail(client, make_user, mailbox):
    make_user("banned@example.org", status="banned")
    known = make_user("known@example.org")
    answers = [ask_for_link(client, email) for email in ("nobody@example.org", known.email)]
    answers.append(ask_for_link(client, "banned@example.org"))
    assert {answer.status_code for answer in answers} == {200}
    bodies = {answer.get_data(as_text=True).split("<main")[1] for answer in answers}
    assert len(bodies) == 1 and SENT in bodies.pop()
    assert [message["To"] for message in mailbox.messages] == [known.email]
    assert db.session.scalar(select(func.count(MagicLink.id))) == 1


def test_only_a_hash_of_the_token_is_stored(client, user, mailbox):
    ask_for_link(client, user.email)
    token = link_path(mailbox, user.email).rsplit("/", 1)[1]
    stored = db.session.scalar(select(MagicLink.token_hash))
    assert token not in stored and len(stored) == 64


def test_an_expired_link_is_refused(client, user, mailbox):
    ask_for_link(client, user.email)
    path = link_path(mailbox, user.email)
    db.session.execute(update(MagicLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    token = client.csrf_token("/login")
    for response in (client.get(path), client.post(path, data={"csrf_token": token})):
        assert response.status_code == 400
        assert "expired" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_links_last_fifteen_minutes(client, user):
    before = utcnow()
    ask_for_link(client, user.email)
    link = db.session.scalar(select(MagicLink))
    assert timedelta(minutes=14) < link.expires_at - before <= timedelta(minutes=15, seconds=5)


def test_a_new_link_does_not_kill_an_older_unused_one_but_each_works_once(
    client, user, mailbox, app
):
    ask_for_link(client, user.email)
    first = link_path(mailbox, user.email)
    ask_for_link(client, user.email)
    second = link_path(mailbox, user.email)
    assert first != second
    assert press(app.test_client(), first).status_code == 302
    assert press(app.test_client(), second).status_code == 302
    assert press(app.test_client(), first).status_code == 400


def test_staff_still_need_their_second_factor(app, make_admin, mailbox):
    admin = make_admin()
    client = app.test_client()
    ask_for_link(client, admin.email)
    response = client.submit(link_path(mailbox, admin.email))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/two-factor"
    assert not signed_in(client)
    assert client.get("/admin").status_code == 302
    db.session.refresh(admin)
    assert client.submit("/login/two-factor", {"code": totp_code(admin)}).status_code == 302
    assert signed_in(client)
    assert client.get("/admin").status_code == 200


def test_readers_with_two_factor_also_need_it(app, make_user, mailbox):
    import pyotp

    reader = make_user(totp_secret=pyotp.random_base32(), totp_enabled_at=utcnow())
    client = app.test_client()
    ask_for_link(client, reader.email)
    response = client.submit(link_path(mailbox, reader.email))
    assert response.headers["Location"] == "/login/two-factor"
    assert not signed_in(client)


def test_a_link_confirms_an_unconfirmed_address(client, make_user, mailbox):
    reader = make_user("new@example.org", confirmed=False)
    ask_for_link(client, reader.email)
    client.submit(link_path(mailbox, reader.email))
    db.session.refresh(reader)
    assert reader.is_confirmed


def test_signing_in_with_a_link_starts_a_fresh_session(client, user, mailbox):
    ask_for_link(client, user.email)
    path = link_path(mailbox, user.email)
    stale_token = client.csrf_token(path)
    client.post(path, data={"csrf_token": stale_token})
    assert db.session.scalar(select(func.count(UserSession.id))) == 1
    # The CSRF token from before the sign-in is dead (the session was cleared).
    response = client.post(
        "/account/profile", data={"csrf_token": stale_token, "display_name": "X"}
    )
    assert response.status_code == 400


def test_asking_is_rate_limited_per_account_like_login(client, make_user, mailbox):
    target = make_user("target@example.org")
    other = make_user("other@example.org")
    statuses = [ask_for_link(client, target.email).status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]
    assert ask_for_link(client, other.email).status_code == 200
    assert len(mailbox.to(target.email)) == 6


@pytest.mark.parametrize(
    "token", ["x", "not-a-real-token", "a" * 100, "a" * 101, "%00", "..", "é" * 50]
)
def test_a_bad_token_gets_a_clear_400(client, token):
    response = client.get(f"/login/email-link/{token}")
    assert response.status_code == 400
    assert "does not work" in response.get_data(as_text=True) or "NUL" in response.get_data(
        as_text=True
    )


def test_asking_survives_generated_input(make_app):
    """500 examples in CI: any email field, repeated, missing or with extras: never a 5xx."""
    app = make_app(**NO_LIMITS)
    statuses = Counter()

    @settings()
    @given(data=form_data({"email": (EMAIL, WILD)}))
    @example(data={"email": "a@example.org\x00"})
    def check(data):
        response = post_form(app, "/login/email-link", data, statuses)
        assert response.status_code in (200, 400, 422)

    with app.app_context():
        check()
    assert statuses[200] and statuses[422], statuses


def test_opening_generated_tokens_never_signs_in_or_errors(make_app):
    app = make_app(**NO_LIMITS)
    statuses = Counter()
    client = app.test_client()
    token = client.csrf_token("/login")

    @settings()
    @given(token=st.text(min_size=1, max_size=300).filter(lambda t: "/" not in t))
    @example(token="\x00")
    def check(token):
        for response in (
            client.get("/login/email-link/" + token),
            client.post("/login/email-link/" + token, data={"csrf_token": token_for_post}),
        ):
            assert response.status_code in (400, 404), (token, response.status_code)
            statuses[response.status_code] += 1
        assert not signed_in(client)

    token_for_post = token
    with app.app_context():
        check()
    assert statuses[400]


def test_ten_simultaneous_presses_of_one_link_sign_in_once(app, user, mailbox):
    """The link is spent by a conditional UPDATE: one winner, the others find it used."""
    import threading

    ask_for_link(app.test_client(), user.email)
    path = link_path(mailbox, user.email)
    browsers = [app.test_client() for _ in range(10)]
    tokens = [browser.csrf_token("/login") for browser in browsers]
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def press_now(browser, token):
        barrier.wait()
        statuses.append(browser.post(path, data={"csrf_token": token}).status_code)

    threads = [
        threading.Thread(target=press_now, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [400] * 9, statuses
    assert db.session.scalar(select(func.count(UserSession.id))) == 1


def test_asking_is_rate_limited_per_ip_like_login(make_app):
    """The login's per-IP limit applies too: many addresses from one IP get 429 in the end."""
    app = make_app(LOGIN_LIMIT_PER_IP="3/minute")
    with app.app_context():
        client = app.test_client()
        statuses = [
            ask_for_link(client, f"reader{number}@example.org").status_code for number in range(4)
        ]
    assert statuses == [200, 200, 200, 429]
