"""How long a sign-in lasts and what it records, as a reader or an operator meets it (issue 15)."""

import base64
import hashlib
import logging
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from membership.auth.sessions import _expired, current_session, is_recent_login, sign_in
from membership.cache import bump_site_version
from membership.extensions import db
from membership.models import SiteSetting, Subscription, Tier, User, UserSession
from membership.models.types import utcnow
from tests.rules.test_rules_membership import statements_run


def signed_in_hours_ago(hours: float) -> None:
    """Move the sign-in back in time; the reader stayed active, so only its age changes."""
    record = db.session.scalar(select(UserSession))
    shift = timedelta(hours=hours)
    db.session.execute(
        update(UserSession).values(
            created_at=record.created_at - shift,
            authenticated_at=record.authenticated_at - shift,
            expires_at=record.expires_at - shift,
            last_seen_at=utcnow(),
        )
    )
    db.session.commit()


@pytest.mark.parametrize(("hours", "signed_in"), [(23, True), (25, False)])
def test_a_browser_session_without_remember_me_ends_after_24_hours(
    client, user, login, hours, signed_in
):
    login(client, user.email)
    signed_in_hours_ago(hours)
    response = client.get("/account")
    assert (response.status_code == 200) == signed_in
    if not signed_in:
        assert response.headers["Location"].startswith("/login")


def test_remember_me_keeps_an_active_reader_signed_in_for_weeks(client, user, login):
    login(client, user.email, remember="y")
    signed_in_hours_ago(24 * 29)
    assert client.get("/account").status_code == 200
    signed_in_hours_ago(24 * 2)
    assert client.get("/account").status_code == 302, "30 days at most, even when active"


def device(app, login, user, agent: str):
    """A browser with its own user agent, signed in as `user`."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert login(client, user.email).status_code == 302
    return client


def test_the_account_page_lists_only_sessions_still_valid(app, user, login):
    laptop = device(app, login, user, "Laptop/1.0")
    phone = device(app, login, user, "Phone/2.0")
    device(app, login, user, "Tablet/3.0")
    phone.submit("/logout", page="/account")
    tablet = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()[-1]
    tablet.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = laptop.get("/account").get_data(as_text=True)
    assert "Laptop/1.0 <strong>(this device)</strong>" in page
    assert "Phone/2.0" not in page and "Tablet/3.0" not in page
    assert "127.0.0.1" in page


def test_an_idle_reader_session_disappears_from_the_list(app, user, login):
    laptop = device(app, login, user, "Laptop/1.0")
    device(app, login, user, "Phone/2.0")
    phone = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()[-1]
    phone.last_seen_at = utcnow() - timedelta(days=30, minutes=1)
    db.session.commit()
    assert "Phone/2.0" not in laptop.get("/account").get_data(as_text=True)


def test_the_data_export_records_where_and_when_you_signed_in(app, user, login):
    client = device(app, login, user, "X" * 300)
    export = client.get("/account/export.json").get_json()
    [session] = export["sessions"]
    assert session["ip_address"] == "127.0.0.1"
    assert session["user_agent"] == "X" * 255
    assert session["revoked_at"] is None
    signed_in = export["account"]["last_login_at"]
    assert signed_in is not None and signed_in >= (utcnow() - timedelta(minutes=1)).isoformat()


def test_a_browser_without_a_user_agent_is_an_unknown_device(app, user, login):
    client = device(app, login, user, "")
    assert "Unknown device" in client.get("/account").get_data(as_text=True)
    assert client.get("/account/export.json").get_json()["sessions"][0]["user_agent"] is None


@pytest.mark.parametrize(("minutes", "asked"), [(14, False), (16, True)])
def test_an_administrator_confirms_the_password_after_15_minutes(
    admin_client, make_user, minutes, asked
):
    member = make_user("reader@example.org")
    earlier = utcnow() - timedelta(minutes=minutes)
    db.session.execute(update(UserSession).values(authenticated_at=earlier))
    db.session.commit()
    page = f"/admin/members/{member.id}"
    ban = {"reason": "Spam", "confirmed": "yes"}
    response = admin_client.submit(f"{page}/ban", ban, page=page)
    assert ("/reauthenticate" in response.headers["Location"]) == asked
    assert (db.session.get(User, member.id).status == "banned") == (not asked)
    if asked:
        admin_client.submit("/reauthenticate", {"password": "correct horse battery staple"})
        admin_client.submit(f"{page}/ban", ban, page=page)
        assert db.session.get(User, member.id).status == "banned"


@pytest.mark.parametrize(
    ("until", "reason", "notice"),
    [
        (
            (2031, 3, 14, 9, 30),
            "Repeated spam",
            "You were signed out because your account is suspended until 14 March 2031, 09:30"
            " UTC. Reason: Repeated spam. You can sign in again to read; commenting and payments"
            " are paused while the suspension lasts.",
        ),
        (
            None,
            "",
            "You were signed out because your account is suspended until further notice. You"
            " can sign in again to read; commenting and payments are paused while the suspension"
            " lasts.",
        ),
    ],
    ids=["with an end and a reason", "indefinite, no reason"],
)
def test_an_open_tab_is_told_of_the_suspension_in_full(signed_in, user, until, reason, notice):
    import html
    import re
    from datetime import UTC, datetime

    from membership.auth.standing import suspend

    suspend(user, reason=reason, until=datetime(*until, tzinfo=UTC) if until else None)
    db.session.commit()
    page = signed_in.get("/").get_data(as_text=True)
    warnings = re.findall(r'<p class="flash flash-warning">(.*?)</p>', page)
    assert [html.unescape(text) for text in warnings] == [notice]
    assert "Sign in" in page
    assert "suspended" not in signed_in.get("/").get_data(as_text=True), "said once"


def test_signing_out_the_other_sessions_counts_and_ends_only_yours(app, user, make_user, login):
    """Ada has three browsers (one already signed out); Bea is signed in elsewhere."""
    here, laptop, old = app.test_client(), app.test_client(), app.test_client()
    for browser in (here, laptop, old):
        assert login(browser, user.email).status_code == 302
    old.submit("/logout", page="/account")
    bea = app.test_client()
    assert login(bea, make_user("bea@example.org").email).status_code == 302

    response = here.submit("/account/sessions/sign-out-others", page="/account")
    assert response.status_code == 302
    page = here.get("/account").get_data(as_text=True)
    assert "Signed out of 1 other session(s)." in page
    assert laptop.get("/account").status_code == 302, "the laptop is signed out"
    assert bea.get("/account").status_code == 200, "another reader stays signed in"
    again = here.submit("/account/sessions/sign-out-others", page="/account")
    assert again.status_code == 302
    assert "Signed out of 0 other session(s)." in here.get("/account").get_data(as_text=True)


def test_the_account_page_lists_none_of_another_readers_sessions(app, user, make_user, login):
    laptop = device(app, login, user, "Laptop/1.0")
    device(app, login, make_user("bea@example.org"), "BeasPhone/9.0")
    page = laptop.get("/account").get_data(as_text=True)
    assert "Laptop/1.0 <strong>(this device)</strong>" in page
    assert "BeasPhone/9.0" not in page


def test_the_account_page_lists_the_most_recently_used_device_first(app, user, login):
    laptop = device(app, login, user, "Laptop/1.0")
    device(app, login, user, "Phone/2.0")
    device(app, login, user, "Tablet/3.0")
    seen = {"Laptop/1.0": 1, "Phone/2.0": 60, "Tablet/3.0": 5}  # minutes ago
    for record in db.session.scalars(select(UserSession)):
        record.last_seen_at = utcnow() - timedelta(minutes=seen[record.user_agent])
    db.session.commit()
    page = laptop.get("/account").get_data(as_text=True)
    places = [page.index(agent) for agent in ("Laptop/1.0", "Tablet/3.0", "Phone/2.0")]
    assert places == sorted(places)


def test_a_session_token_is_32_random_bytes_and_the_server_keeps_only_its_digest(
    app, client, user, login
):
    """256 bits cannot be guessed; a copy of the database gives no cookie that works."""
    login(client, user.email)
    cookie = client.get_cookie("membership_session").value
    token = app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    record = db.session.scalar(select(UserSession))
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_a_sign_in_from_an_unknown_address_records_none(app, user, login):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ""
    assert login(client, user.email).status_code == 302
    assert client.get("/account/export.json").get_json()["sessions"][0]["ip_address"] is None


def test_an_address_too_long_for_its_column_is_cut_to_45_characters(app, user, login):
    """45 characters hold any IPv6 address; PostgreSQL would refuse a longer value."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "2001:db8::" + "f" * 40
    assert login(client, user.email).status_code == 302
    [session] = client.get("/account/export.json").get_json()["sessions"]
    assert session["ip_address"] == ("2001:db8::" + "f" * 40)[:45]


def test_a_reader_who_has_just_signed_in_counts_as_recently_authenticated(app, user):
    """In the request that signs in, the new row is this browser's session."""
    with app.test_request_context("/login", method="POST"):
        sign_in(user, remember=False, ip_address="127.0.0.1", user_agent="Laptop/1.0")
        assert current_session().user_agent == "Laptop/1.0"
        assert is_recent_login()


def test_a_session_ends_at_the_instant_of_its_expiry_or_idle_timeout(app, user):
    """The instant itself belongs to the end; a microsecond earlier the session is valid."""
    now = utcnow()
    moment = timedelta(microseconds=1)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    lasting = UserSession(expires_at=now + timedelta(days=1), last_seen_at=now)
    assert not _expired(lasting, user, now)
    assert _expired(UserSession(expires_at=now, last_seen_at=now), user, now)
    assert not _expired(UserSession(expires_at=now + moment, last_seen_at=now), user, now)
    idle_since = UserSession(expires_at=now + timedelta(days=1), last_seen_at=now - idle)
    assert _expired(idle_since, user, now)
    idle_since.last_seen_at += moment
    assert not _expired(idle_since, user, now)


def last_seen_minutes_ago(minutes: float) -> None:
    db.session.execute(
        update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def minutes_since_last_seen() -> float:
    return (utcnow() - db.session.scalar(select(UserSession.last_seen_at))).total_seconds() / 60


@pytest.mark.parametrize("app_config", [{"SESSION_TOUCH_INTERVAL": timedelta(hours=1)}])
@pytest.mark.parametrize(("minutes", "recorded"), [(4.5, False), (5.5, True)])
def test_a_staff_session_records_activity_every_5_minutes_even_if_readers_wait_longer(
    client, make_user, login, minutes, recorded
):
    """A sixth of the staff's 30-minute idle timeout: the session never ends more than
    5 minutes early, whatever the site's touch interval for readers."""
    login(client, make_user("editor@example.org", role="admin").email)
    last_seen_minutes_ago(minutes)
    client.get("/account")
    assert (minutes_since_last_seen() < 1) == recorded


def test_a_form_sent_after_a_pause_records_the_activity_in_its_own_commit(app, user, login):
    """A request that writes anyway stamps the session in the same transaction: one commit."""
    laptop, phone = app.test_client(), app.test_client()
    login(phone, user.email)
    login(laptop, user.email)
    token = laptop.csrf_token("/account")
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    commits = []

    def count(connection) -> None:
        commits.append(connection)

    event.listen(db.engine, "commit", count)
    try:
        response = laptop.post("/account/sessions/sign-out-others", data={"csrf_token": token})
    finally:
        event.remove(db.engine, "commit", count)
    assert response.status_code == 302
    assert len(commits) == 1
    here, other = db.session.scalars(select(UserSession).order_by(UserSession.id.desc())).all()
    assert utcnow() - here.last_seen_at < timedelta(minutes=1)
    assert other.revoked_at is not None
    assert utcnow() - other.last_seen_at > timedelta(minutes=9), "only this browser was active"


def test_a_page_view_with_no_activity_to_record_logs_no_error(signed_in, caplog):
    """Most page views have nothing to record: the step after the response then does nothing."""
    with caplog.at_level(logging.ERROR):
        assert signed_in.get("/account").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def paying_member(make_user, kind: str):
    """A reader paying through a live subscription, or holding a complimentary tier."""
    patron = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000)
    db.session.add(patron)
    db.session.flush()
    if kind == "complimentary":
        return make_user("member@example.org", complimentary_tier_id=patron.id)
    member = make_user("member@example.org")
    db.session.add(
        Subscription(
            user_id=member.id,
            tier_id=patron.id,
            stripe_subscription_id="sub_member",
            stripe_customer_id="cus_member",
            status="active",
            current_period_end=utcnow() + timedelta(days=20),
        )
    )
    db.session.commit()
    return member


@pytest.mark.parametrize("kind", ["subscription", "complimentary"])
def test_a_paying_members_plan_is_read_with_the_session_in_one_statement(
    client, make_user, login, kind
):
    """The account page shows the plan with no statement of its own for it (the session
    loader reads the subscription and the tiers with the session row)."""
    login(client, paying_member(make_user, kind).email)
    with statements_run() as statements:
        page = client.get("/account").get_data(as_text=True)
    assert "Patron" in page
    own = [s for s in statements if "FROM tiers" in s or "FROM subscriptions" in s]
    assert own == []


def test_a_signed_in_reader_sees_a_setting_changed_by_another_worker_at_once(signed_in):
    """Each worker keeps the settings under the site version, read along with the session."""
    bump_site_version()
    db.session.commit()
    assert "Harbour Gazette" not in signed_in.get("/account").get_data(as_text=True)
    db.session.add(SiteSetting(key="site_name", value="Harbour Gazette"))
    bump_site_version()  # what another worker's set_setting does; this one keeps its copy
    db.session.commit()
    assert "Harbour Gazette" in signed_in.get("/account").get_data(as_text=True)
