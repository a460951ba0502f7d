"""Passkeys for staff: one counts as the second factor, after a password or alone."""

import pytest

from membership.extensions import db
from tests.conftest import PASSWORD
from tests.soft_authenticator import SoftAuthenticator
from tests.test_passkeys import add_passkey, is_signed_in, post_json, refused, sign_in_with_passkey


@pytest.fixture
def editor_with_passkey(app, make_user, login, authenticator):
    """An editor whose only second factor is a passkey, and the browser that added it."""
    editor = make_user("editor@example.org", role="editor")
    client = app.test_client()
    login(client, editor.email)
    assert client.get("/admin").headers["Location"] == "/account/two-factor"
    assert add_passkey(client, authenticator).status_code == 200
    client.user = editor
    return client


def test_a_passkey_counts_as_staff_second_factor(editor_with_passkey, app, authenticator):
    assert editor_with_passkey.get("/admin/articles").status_code == 200
    browser = app.test_client()
    assert sign_in_with_passkey(browser, authenticator).status_code == 200
    assert browser.get("/admin/articles").status_code == 200


def test_staffs_first_passkey_ends_their_other_sessions(app, make_user, login, authenticator):
    editor = make_user("editor@example.org", role="editor")
    first, second = app.test_client(), app.test_client()
    login(first, editor.email)
    login(second, editor.email)
    assert add_passkey(first, authenticator).status_code == 200
    assert is_signed_in(first)
    assert not is_signed_in(second)  # opened with the password alone


def test_staff_with_a_passkey_need_it_after_the_password(editor_with_passkey, app, authenticator):
    editor = editor_with_passkey.user
    browser = app.test_client()
    response = browser.submit("/login", {"email": editor.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/login/two-factor")
    assert not is_signed_in(browser)
    page = browser.get("/login/two-factor").get_data(as_text=True)
    assert "Use a passkey" in page and 'name="code"' not in page
    options = post_json(browser, "/login/two-factor/passkey/options")
    options = options.get_json()
    assert len(options["allowCredentials"]) == 1
    response = post_json(
        browser,
        "/login/two-factor/passkey",
        {"credential": authenticator.get(options)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert browser.get("/admin/articles").status_code == 200


def test_someone_elses_passkey_is_no_second_factor(
    editor_with_passkey, app, make_user, login, authenticator
):
    reader_key = SoftAuthenticator()
    reader_client = app.test_client()
    login(reader_client, make_user("reader@example.org").email)
    assert add_passkey(reader_client, reader_key).status_code == 200
    browser = app.test_client()
    browser.submit("/login", {"email": editor_with_passkey.user.email, "password": PASSWORD})
    options = post_json(browser, "/login/two-factor/passkey/options")
    credential = reader_key.get(options.get_json())
    response = post_json(browser, "/login/two-factor/passkey", {"credential": credential})
    refused(response, "not registered")
    assert not is_signed_in(browser)


def test_the_passkey_step_needs_a_pending_sign_in(app, authenticator):
    browser = app.test_client()
    response = post_json(browser, "/login/two-factor/passkey/options")
    assert response.status_code == 401
    response = post_json(browser, "/login/two-factor/passkey", {"credential": {}})
    assert response.status_code == 401


def test_recovery_codes_keep_working_beside_a_passkey(app, make_admin, login, authenticator):
    from membership.auth.twofactor import new_recovery_codes
    from tests.conftest import sign_in_with_two_factor

    admin = make_admin()
    codes = new_recovery_codes(admin)
    db.session.commit()
    client = app.test_client()
    sign_in_with_two_factor(client, admin)
    assert add_passkey(client, authenticator).status_code == 200
    browser = app.test_client()
    browser.submit("/login", {"email": admin.email, "password": PASSWORD})
    page = browser.get("/login/two-factor").get_data(as_text=True)
    assert 'name="code"' in page and "Use a passkey" in page
    response = browser.submit("/login/two-factor", {"code": codes[0]})
    assert response.status_code == 302
    assert browser.get("/admin").status_code == 200


def test_create_admin_ends_the_password_only_sessions_of_a_reader_with_a_passkey(
    app, make_user, login, authenticator, runner
):
    """A reader's passkey is no second step, so their password-only session must not become an
    administrator's when `create-admin` promotes them; the promotion is audited too."""
    from sqlalchemy import select

    from membership.models import AuditEvent

    reader = make_user("reader@example.org")
    keeper = app.test_client()
    login(keeper, reader.email)
    assert add_passkey(keeper, authenticator).status_code == 200
    browser = app.test_client()
    login(browser, reader.email)  # the password alone signs a reader in
    assert is_signed_in(browser)
    result = runner.invoke(args=["create-admin", reader.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert browser.get("/admin/members").status_code == 302
    assert not is_signed_in(browser)
    audited = select(AuditEvent).where(
        AuditEvent.action == "member.role", AuditEvent.target_id == reader.id
    )
    assert db.session.scalar(audited) is not None
