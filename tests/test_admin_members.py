"""/admin/members: search, filters, bulk actions, a member's page and every action on it."""

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from membership.extensions import db
from membership.models import AuditEvent, MemberLabel, Tier, User, UserSession
from membership.models.types import utcnow


@pytest.fixture
def tier(app):
    tier = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000)
    db.session.add(tier)
    db.session.commit()
    return tier


def act(admin_client, user, action, **form):
    """Post an action as its confirmation page does (dangerous actions carry confirmed=yes)."""
    return admin_client.submit(
        f"/admin/members/{user.id}/{action}",
        {"confirmed": "yes", **form},
        page=f"/admin/members/{user.id}",
    )


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_search_by_email_prefix_and_name(admin_client, make_user):
    make_user("alice.walker@example.org", display_name="Alice Walker")
    make_user("bob@example.org", display_name="Bob Stone")
    page = admin_client.get("/admin/members?q=alice").get_data(as_text=True)
    assert "alice.walker@example.org" in page and "bob@example.org" not in page
    page = admin_client.get("/admin/members?q=Bob").get_data(as_text=True)
    assert "bob@example.org" in page and "alice.walker" not in page
    page = admin_client.get("/admin/members?q=bob@example.org").get_data(as_text=True)
    assert "Bob Stone" in page
    # Wildcards in the query are text, not patterns.
    assert "bob@example.org" not in admin_client.get("/admin/members?q=%25").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("status=suspended", "sus@example.org", "free@example.org"),
        ("plan=complimentary", "comp@example.org", "free@example.org"),
        ("plan=free", "free@example.org", "comp@example.org"),
        ("tier=patron", "comp@example.org", "free@example.org"),
        ("twofa=on", "admin@example.org", "free@example.org"),
        ("label=press", "free@example.org", "comp@example.org"),
        ("from=2020-01-01&to=2020-12-31", "old@example.org", "free@example.org"),
        ("sort=email&q=comp", "comp@example.org", "old@example.org"),
    ],
)
def test_filters(admin_client, make_user, tier, query, expected, absent):
    free = make_user("free@example.org")
    db.session.add(MemberLabel(user_id=free.id, label="press"))
    make_user("comp@example.org", complimentary_tier_id=tier.id)
    make_user("sus@example.org", status="suspended", status_reason="x")
    make_user("old@example.org", created_at=utcnow().replace(year=2020, month=6))
    db.session.commit()
    page = admin_client.get(f"/admin/members?{query}").get_data(as_text=True)
    assert expected in page
    assert absent not in page


@pytest.mark.parametrize("query", ["from=yesterday", "status=nonsense", "page=-3", "sort=drop"])
def test_bad_filters_are_ignored_not_errors(admin_client, query):
    assert admin_client.get(f"/admin/members?{query}").status_code == 200


def test_statements_of_the_list_do_not_grow_with_members(app, admin_client, make_user, tier):
    def count_for(url):
        statements = 0

        def counter(*args, **kwargs):
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            assert admin_client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return statements

    for number in range(5):
        make_user(f"few{number}@example.org", complimentary_tier_id=tier.id)
    admin_client.get("/admin/members")  # warm-up: settings cache, session activity stamp
    few = count_for("/admin/members")
    for number in range(120):
        user = make_user(f"many{number}@example.org")
        db.session.add(MemberLabel(user_id=user.id, label="bulk"))
    db.session.commit()
    admin_client.get("/admin/members")
    many = count_for("/admin/members")
    assert few == many, (few, many)


def test_member_page_shows_everything(admin_client, make_user, tier):
    member = make_user("reader@example.org", display_name="Rae", complimentary_tier_id=tier.id)
    page = admin_client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    for text in ("reader@example.org", "Complimentary Patron", "Timeline", "Signed up", "Sessions"):
        assert text in page


def test_suspend_stops_comments_and_is_audited(app, admin_client, make_user, login, make_article):
    make_article(slug="story")
    member = make_user("reader@example.org", created_at=utcnow() - timedelta(days=9))
    reader = app.test_client()
    login(reader, member.email)
    until = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    response = act(admin_client, member, "suspend", reason="Personal attacks", until=until)
    assert response.status_code == 302
    assert db.session.get(User, member.id).status == "suspended"
    assert reader.get("/account").status_code == 302, "the suspension ended the session"
    login(reader, member.email)
    page = reader.get("/articles/story").get_data(as_text=True)
    assert "Personal attacks" in page and 'name="body"' not in page
    assert audit_actions()[-1] == "member.suspend"


def test_ban_ends_sessions_and_blocks_sign_in(app, admin_client, make_user, login):
    member = make_user("reader@example.org")
    reader = app.test_client()
    login(reader, member.email)
    act(admin_client, member, "ban", reason="Spam")
    assert reader.get("/account").status_code == 302
    assert login(reader, member.email).status_code == 422
    assert "member.ban" in audit_actions()


def test_actions_need_confirmation(admin_client, make_user):
    member = make_user("reader@example.org")
    response = admin_client.submit(
        f"/admin/members/{member.id}/ban", {"reason": "Spam"}, page=f"/admin/members/{member.id}"
    )
    assert response.status_code == 200, "the confirmation page, not the deed"
    assert db.session.get(User, member.id).status == "active"


def test_destructive_actions_need_a_recent_login(admin_client, make_user):
    from sqlalchemy import update

    member = make_user("reader@example.org")
    db.session.execute(
        update(UserSession).values(authenticated_at=utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    response = act(admin_client, member, "ban", reason="Spam")
    assert "/reauthenticate" in response.headers["Location"]
    assert db.session.get(User, member.id).status == "active"


@pytest.mark.parametrize(
    ("action", "form", "check", "audit"),
    [
        ("reactivate", {}, lambda u: u.status == "active", "member.reactivate"),
        ("resend_confirmation", {}, lambda u: True, "member.confirmation.resend"),
        ("sign_out", {}, lambda u: True, "member.sessions.revoke"),
        ("note", {"body": "Called about a refund"}, lambda u: True, "member.note"),
        ("add_label", {"label": "Press"}, lambda u: True, "member.label.add"),
        ("grant_comp", {"tier": "patron", "until": "2099-01-01"},
         lambda u: u.complimentary_tier_id is not None, "member.comp.grant"),
    ],
)  # fmt: skip
def test_each_action_and_its_audit_entry(
    app, admin_client, make_user, login, tier, action, form, check, audit, mailbox
):
    member = make_user("reader@example.org", confirmed=False, status="suspended")
    if action == "sign_out":  # only offered while the member has a session
        assert login(app.test_client(), member.email).status_code == 302
    response = act(admin_client, member, action, **form)
    assert response.status_code == 302
    assert check(db.session.get(User, member.id))
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert (event.action, event.target_type, event.target_id) == (audit, "user", member.id)
    assert event.actor_id == admin_client.user.id


def test_grant_then_end_complimentary(admin_client, make_user, tier, make_article):
    member = make_user("reader@example.org")
    act(admin_client, member, "grant_comp", tier="patron")
    assert db.session.get(User, member.id).complimentary_tier_id == tier.id
    act(admin_client, member, "end_comp")
    assert db.session.get(User, member.id).complimentary_tier_id is None


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("suspend", {"reason": ""}),
        ("suspend", {"reason": "x", "until": "2001-01-01"}),
        ("suspend", {"reason": "x", "until": "someday"}),
        ("grant_comp", {"tier": "nope"}),
        ("note", {"body": ""}),
        ("add_label", {"label": "   "}),
    ],
)
def test_bad_action_input_changes_nothing(admin_client, make_user, tier, action, form):
    member = make_user("reader@example.org")
    before = len(audit_actions())
    response = act(admin_client, member, action, **form)
    assert response.status_code == 302
    follow = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in follow
    assert len(audit_actions()) == before
    assert db.session.get(User, member.id).status == "active"


def test_admins_cannot_be_suspended_or_deleted_from_here(admin_client, make_admin):
    other = make_admin("second@example.org")
    act(admin_client, other, "suspend", reason="x")
    act(admin_client, other, "delete")
    assert db.session.get(User, other.id).status == "active"


def test_delete_member(admin_client, make_user):
    member = make_user("reader@example.org")
    member_id = member.id
    response = act(admin_client, member, "delete")
    assert response.headers["Location"].endswith("/admin/members")
    assert db.session.get(User, member_id) is None
    assert "member.delete" in audit_actions()


def test_unknown_action_is_404(admin_client, make_user):
    member = make_user("reader@example.org")
    assert act(admin_client, member, "promote").status_code == 404


def test_bulk_label_and_suspend_on_the_filtered_selection(admin_client, make_user):
    for number in range(3):
        make_user(f"spam{number}@example.org")
    make_user("keep@example.org")
    response = admin_client.submit(
        "/admin/members/bulk",
        {"q": "spam", "action": "add_label", "value": "suspicious", "confirmed": "yes"},
        page="/admin/members",
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(MemberLabel)) == 3
    admin_client.submit(
        "/admin/members/bulk",
        {"label": "suspicious", "action": "suspend", "value": "Spam wave", "confirmed": "yes"},
        page="/admin/members",
    )
    statuses = dict(db.session.execute(select(User.email, User.status)).all())
    assert statuses["spam0@example.org"] == "suspended"
    assert statuses["keep@example.org"] == "active"
    unconfirmed = admin_client.submit(
        "/admin/members/bulk",
        {"q": "keep", "action": "suspend", "value": "x"},
        page="/admin/members",
    )
    assert unconfirmed.status_code == 200
    assert "Suspend 1 member" in unconfirmed.get_data(as_text=True)
    assert (
        db.session.scalar(select(User.status).where(User.email == "keep@example.org")) == "active"
    )


def test_moderators_cannot_open_members(make_staff_client):
    client = make_staff_client("moderator")
    assert client.get("/admin/members").status_code == 403
