"""Roles: editor, moderator and admin; the role select, `flask set-role`, the nav by role."""

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from membership.extensions import db
from membership.models import AuditEvent, User, UserSession
from membership.models.types import utcnow
from membership.settings import get_setting
from tests.test_forms_fuzz import WILD

ROLES = ["reader", "editor", "moderator", "admin"]


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def live_sessions(user: User) -> int:
    return db.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
        )
    )


# --- what each role sees ------------------------------------------------------------------------

NAV = {
    "Comments": 'href="/admin/comments"',
    "Members": 'href="/admin/members"',
    "Articles": 'href="/admin/articles"',
    "Tiers": 'href="/admin/tiers"',
    "Settings": 'href="/admin/settings"',
    "Comment settings": 'href="/admin/settings/comments"',
    "Audit log": 'href="/admin/audit"',
}
NAV_BY_ROLE = {
    "editor": {"Articles", "Comment settings"},
    "moderator": {"Comments"},
    "admin": {"Comments", "Members", "Articles", "Tiers", "Settings", "Audit log"},
}


@pytest.mark.parametrize("role", ["editor", "moderator", "admin"])
def test_the_admin_nav_shows_only_what_the_role_may_open(make_staff_client, role):
    client = make_staff_client(role)
    page = client.get("/admin/comments" if role == "moderator" else "/admin/articles")
    assert page.status_code == 200
    nav = page.get_data(as_text=True).split('aria-label="Admin"')[1].split("</nav>")[0]
    shown = {label for label, link in NAV.items() if link in nav}
    assert shown == NAV_BY_ROLE[role]
    for label in shown:
        target = NAV[label].split('"')[1]
        assert client.get(target).status_code == 200, (role, target)


def test_an_editor_runs_articles_and_comment_settings_but_nothing_else(make_staff_client):
    editor = make_staff_client("editor")
    response = editor.submit(
        "/admin/settings/comments",
        {"comment_policy": "closed", "comments_auto_close_days": "7", "report_threshold": "4"},
    )
    assert response.status_code == 302
    assert get_setting("comments_auto_close_days") == 7
    for path in ["/admin/members", "/admin/tiers", "/admin/settings", "/admin/audit"]:
        assert editor.get(path).status_code == 403, path
    assert editor.get("/admin/comments").status_code == 403
    assert editor.get("/admin/members/export.csv").status_code == 403


def test_a_moderator_cannot_open_articles_or_comment_settings(make_staff_client):
    moderator = make_staff_client("moderator")
    assert moderator.get("/admin/comments").status_code == 200
    for path in ["/admin/articles", "/admin/articles/new", "/admin/settings/comments"]:
        assert moderator.get(path).status_code == 403, path


@pytest.mark.parametrize("role", ["editor", "moderator"])
def test_staff_without_a_second_factor_must_set_one_up(app, make_user, login, role):
    user = make_user(f"{role}@example.org", role=role)
    client = app.test_client()
    login(client, user.email)
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/two-factor"


def test_the_site_header_links_staff_to_the_admin_area(make_staff_client, signed_in):
    assert 'href="/admin"' in make_staff_client("editor").get("/account").get_data(as_text=True)
    assert 'href="/admin"' not in signed_in.get("/account").get_data(as_text=True)


# --- the role select on the member page ---------------------------------------------------------


def test_an_admin_makes_a_reader_an_editor_and_it_is_audited(app, admin_client, make_user, login):
    reader = make_user("writer@example.org")
    reader_client = app.test_client()
    login(reader_client, reader.email)
    page = admin_client.get(f"/admin/members/{reader.id}").get_data(as_text=True)
    assert 'name="role"' in page and '<option value="editor"' in page

    response = admin_client.submit(
        f"/admin/members/{reader.id}/role", {"role": "editor"}, page=f"/admin/members/{reader.id}"
    )
    assert response.status_code == 302
    db.session.refresh(reader)
    assert reader.role == "editor"
    [event] = audit_events("member.role")
    assert (event.actor_id, event.target_id) == (admin_client.user.id, reader.id)
    assert event.details == {"old": "reader", "new": "editor"}
    # The reader's session, opened without a second factor, does not carry the new role.
    assert live_sessions(reader) == 0
    assert reader_client.get("/account").status_code == 302


def test_the_audit_log_shows_the_role_change(admin_client, make_user):
    reader = make_user("writer@example.org")
    admin_client.submit(
        f"/admin/members/{reader.id}/role", {"role": "moderator"}, page="/admin/members"
    )
    assert "member.role" in admin_client.get("/admin/audit").get_data(as_text=True)


@pytest.mark.parametrize("role", ["", "superuser", "ADMIN ", "editor\u200b", "x" * 500])
def test_an_unknown_role_is_refused_with_422_and_changes_nothing(admin_client, make_user, role):
    reader = make_user("writer@example.org")
    response = admin_client.submit(
        f"/admin/members/{reader.id}/role", {"role": role}, page="/admin/members"
    )
    if role.strip().lower() == "admin":
        # Case and spaces are forgiven; the role is still one of the four.
        assert response.status_code == 302
        return
    assert response.status_code == 422
    assert "Unknown role" in response.get_data(as_text=True)
    db.session.refresh(reader)
    assert reader.role == "reader"
    assert audit_events("member.role") == []


def test_an_admin_cannot_change_their_own_role(admin_client):
    admin = admin_client.user
    response = admin_client.submit(
        f"/admin/members/{admin.id}/role", {"role": "reader"}, page="/admin/members"
    )
    assert response.status_code == 422
    assert "cannot change your own role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_changing_a_role_needs_a_recent_sign_in(admin_client, make_user):
    reader = make_user("writer@example.org")
    token = admin_client.csrf_token("/admin/members")
    db.session.execute(
        update(UserSession).values(authenticated_at=utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    response = admin_client.post(
        f"/admin/members/{reader.id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 302
    assert "/reauthenticate" in response.headers["Location"]
    db.session.refresh(reader)
    assert reader.role == "reader"


@pytest.mark.parametrize("role", ["editor", "moderator"])
def test_only_administrators_change_roles(make_staff_client, make_user, role):
    reader = make_user("writer@example.org")
    client = make_staff_client(role)
    token = client.csrf_token("/account")
    response = client.post(
        f"/admin/members/{reader.id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 403
    db.session.refresh(reader)
    assert reader.role == "reader"


def test_the_role_form_survives_generated_input(admin_client, make_user):
    """Any role value, repeated or missing, with extra fields: a 302 or a 422, never a 5xx."""
    target_id = make_user("target@example.org").id
    token = admin_client.csrf_token("/admin/members")
    statuses = Counter()

    @settings()
    @given(role=st.one_of(st.sampled_from(ROLES), WILD, st.lists(WILD, max_size=3)))
    @example(role="editor")
    @example(role="\x00")
    def check(role):
        response = admin_client.post(
            f"/admin/members/{target_id}/role", data={"role": role, "csrf_token": token}
        )
        assert response.status_code in (302, 400, 422), (response.status_code, role)
        statuses[response.status_code] += 1
        assert db.session.get(User, target_id).role in ROLES

    check()
    assert statuses[302] and statuses[422], statuses


# --- flask set-role -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_set_role_gives_each_role_and_audits_it(runner, make_user, make_admin, role):
    make_admin("boss@example.org")
    user = make_user("writer@example.org", role="moderator" if role == "reader" else "reader")
    result = runner.invoke(args=["set-role", "Writer@Example.org ", role])
    assert result.exit_code == 0, result.output
    assert f"writer@example.org is now {role}" in result.output
    db.session.refresh(user)
    assert user.role == role
    [event] = audit_events("member.role")
    assert event.actor_id is None and event.details["new"] == role


def test_set_role_twice_says_so_and_audits_once(runner, make_user):
    make_user("writer@example.org")
    assert runner.invoke(args=["set-role", "writer@example.org", "editor"]).exit_code == 0
    again = runner.invoke(args=["set-role", "writer@example.org", "editor"])
    assert again.exit_code == 0 and "already editor" in again.output
    assert len(audit_events("member.role")) == 1


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("nobody@example.org", "editor", "No account uses that email address"),
        ("writer@example.org", "owner", "Unknown role"),
        ("writer@example.org", "", "Unknown role"),
    ],
)
def test_set_role_refuses_bad_input_clearly(runner, make_user, email, role, message):
    make_user("writer@example.org")
    result = runner.invoke(args=["set-role", email, role])
    assert result.exit_code == 1
    assert message in result.output
    assert audit_events("member.role") == []


def test_set_role_will_not_demote_the_last_administrator(runner, make_admin):
    make_admin("boss@example.org")
    result = runner.invoke(args=["set-role", "boss@example.org", "editor"])
    assert result.exit_code == 1
    assert "only administrator" in result.output
    make_admin("second@example.org")
    assert runner.invoke(args=["set-role", "boss@example.org", "editor"]).exit_code == 0


def test_create_admin_then_set_role_back_to_reader(runner, make_admin, make_user):
    make_admin("boss@example.org")
    make_user("writer@example.org")
    result = runner.invoke(args=["create-admin", "writer@example.org"])
    assert result.exit_code == 0 and "Promoted" in result.output
    assert runner.invoke(args=["set-role", "writer@example.org", "reader"]).exit_code == 0
    user = db.session.scalar(select(User).where(User.email == "writer@example.org"))
    assert user.role == "reader"


def test_set_role_survives_generated_arguments(runner, make_user, make_admin):
    """Any email and role text: exit 0 or a clear error (exit 1 or 2), never a traceback."""
    make_admin("boss@example.org")
    make_user("writer@example.org")
    args = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300)

    @settings()
    @given(
        email=st.one_of(st.just("writer@example.org"), args),
        role=st.one_of(st.sampled_from(ROLES), args),
    )
    def check(email, role):
        result = runner.invoke(args=["set-role", email, role])
        assert result.exit_code in (0, 1, 2), (email, role, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        db.session.rollback()

    check()


def test_the_members_list_filters_by_every_role(admin_client, make_user):
    make_user("writer@example.org", role="editor")
    make_user("reader@example.org")
    page = admin_client.get("/admin/members?role=editor").get_data(as_text=True)
    assert "writer@example.org" in page and "reader@example.org" not in page
