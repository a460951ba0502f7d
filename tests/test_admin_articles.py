"""The admin area's guard, the editors' article workflow and the comment settings."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.admin.permissions import AREAS, ENDPOINT_AREAS, endpoints_for
from membership.extensions import db
from membership.models import Article, AuditEvent, Section
from membership.models.types import utcnow
from tests.test_security import placeholder_url

FORM = {
    "title": "Council Approves Harbor Budget",
    "slug": "",
    "summary": "The council approved the budget.",
    "body": "## What passed\n\nThe **budget** passed 7-2.",
    "author_name": "Dana Reyes",
    "tags": "city hall, budget",
    "cover_image_url": "",
    "access_level": "public",
    "comment_policy": "",
    "published_at": "",
}


@pytest.fixture
def section(app):
    section = Section(slug="world", name="World", description="", position=0)
    db.session.add(section)
    db.session.commit()
    return section


@pytest.fixture
def editor(make_staff_client):
    """A signed-in editor (the role that writes articles), past two-factor sign-in."""
    return make_staff_client("editor")


def admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def test_guard_covers_every_admin_route(app, make_user, login, admin_client, make_staff_client):
    """Every /admin route and method, for every kind of visitor and role (permissions.py)."""
    rules = admin_rules(app)
    assert len(rules) >= 7
    reader = make_user("reader@example.org")
    staff = {role: make_staff_client(role) for role in ("editor", "moderator")}
    # Staff without a second factor: sent to set one up, whatever their role.
    without_2fa = {}
    for role in ("editor", "moderator", "admin"):
        user = make_user(f"{role}-without-2fa@example.org", role=role)
        without_2fa[role] = app.test_client()
        login(without_2fa[role], user.email)
    anonymous, reader_client = app.test_client(), app.test_client()
    login(reader_client, reader.email)
    clients = [anonymous, reader_client, admin_client, *staff.values(), *without_2fa.values()]
    # A valid CSRF token each, so POSTs reach the guard instead of stopping at the CSRF check.
    tokens = {
        client: client.csrf_token("/login" if client is anonymous else "/account")
        for client in clients
    }
    allowed_by_role = {role: endpoints_for(role) for role in staff}
    assert "admin.articles" in allowed_by_role["editor"]
    assert "admin.comments" in allowed_by_role["moderator"]
    for rule in rules:
        url = placeholder_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):

            def send(client, method=method, url=url):
                return client.open(url, method=method, data={"csrf_token": tokens[client]})

            response = send(anonymous)
            assert response.status_code == 302, (method, url)
            assert "/login" in response.headers["Location"]
            assert send(reader_client).status_code == 403, (method, url)
            for role, client in staff.items():
                response = send(client)
                if rule.endpoint in allowed_by_role[role]:
                    assert response.status_code != 403, (role, method, url)
                    assert "/login" not in response.headers.get("Location", ""), (role, url)
                else:
                    assert response.status_code == 403, (role, method, url)
            for role, client in without_2fa.items():
                refused = send(client)
                assert refused.status_code == 302, (role, method, url)
                assert refused.headers["Location"] == "/account/two-factor", (role, method, url)
            assert send(admin_client).status_code not in (401, 403), (method, url)
    assert staff["moderator"].get("/admin").status_code == 200
    assert staff["editor"].get("/admin").status_code == 200


def test_every_declared_permission_names_a_real_route(app):
    """A renamed view cannot leave a stale entry that silently grants nothing (or too much)."""
    endpoints = {rule.endpoint for rule in admin_rules(app)}
    assert set(ENDPOINT_AREAS) <= endpoints
    assert set(ENDPOINT_AREAS.values()) <= set(AREAS)


def test_admin_pages_are_never_cached(editor):
    assert editor.get("/admin/articles").headers["Cache-Control"] == "no-store"


def test_write_preview_publish_and_unpublish(editor, section, client):
    response = editor.submit("/admin/articles/new", {**FORM, "section_id": section.id})
    assert response.status_code == 302
    article = db.session.scalar(select(Article))
    assert (article.slug, article.status) == ("council-approves-harbor-budget", "draft")
    assert sorted(tag.name for tag in article.tags) == ["budget", "city hall"]
    assert client.get("/articles/council-approves-harbor-budget").status_code == 404

    preview = editor.get(f"/admin/articles/{article.id}/preview")
    assert preview.status_code == 200
    assert "<h2>What passed</h2>" in preview.get_data(as_text=True)

    editor.submit(f"/admin/articles/{article.id}/publish", page=f"/admin/articles/{article.id}")
    assert client.get("/articles/council-approves-harbor-budget").status_code == 200
    editor.submit(f"/admin/articles/{article.id}/unpublish", page=f"/admin/articles/{article.id}")
    assert client.get("/articles/council-approves-harbor-budget").status_code == 404

    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["article.save", "article.publish", "article.unpublish"]


def test_scheduled_article_appears_at_its_time(editor, section, client):
    later = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    editor.submit("/admin/articles/new", {**FORM, "section_id": section.id, "published_at": later})
    article = db.session.scalar(select(Article))
    editor.submit(f"/admin/articles/{article.id}/publish", page=f"/admin/articles/{article.id}")
    assert client.get(f"/articles/{article.slug}").status_code == 404
    article.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/articles/{article.slug}").status_code == 200


def test_slug_clash_is_a_form_error(editor, section):
    editor.submit("/admin/articles/new", {**FORM, "section_id": section.id})
    response = editor.submit(
        "/admin/articles/new",
        {**FORM, "section_id": section.id, "slug": "council-approves-harbor-budget"},
    )
    assert response.status_code == 422
    assert "Another article already uses this slug." in response.get_data(as_text=True)
    same_title = editor.submit("/admin/articles/new", {**FORM, "section_id": section.id})
    assert same_title.status_code == 302
    slugs = sorted(db.session.scalars(select(Article.slug)))
    assert slugs == ["council-approves-harbor-budget", "council-approves-harbor-budget-2"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"slug": "Not A Slug!"}, "Lower-case letters, digits and hyphens."),
        ({"access_level": "vip"}, "Not a valid choice."),
        ({"cover_image_url": "javascript:alert(1)"}, "Enter a full address starting with https://"),
        ({"cover_image_url": "//evil.example/x.jpg"}, "or a path on this site starting with /"),
        # Browsers read a backslash as a slash and drop tabs: both are "//evil.example".
        ({"cover_image_url": "/\\evil.example/x.jpg"}, "or a path on this site starting with /"),
        ({"cover_image_url": "/\t/evil.example/x.jpg"}, "or a path on this site starting with /"),
        ({"cover_image_url": "static/cover.jpg"}, "e.g. /static/cover.jpg."),
        ({"section_id": "999"}, "Not a valid choice."),
        ({"published_at": "tomorrow"}, "Not a valid datetime value."),
    ],
)
def test_bad_article_input_is_a_form_error(editor, section, changes, message):
    response = editor.submit("/admin/articles/new", {**FORM, "section_id": section.id, **changes})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Article)).all() == []


@pytest.mark.parametrize(
    "cover", ["/static/covers/harbour.jpg", "https://images.example.org/a.jpg"]
)
def test_a_site_relative_or_full_cover_address_is_accepted(editor, section, cover):
    response = editor.submit(
        "/admin/articles/new", {**FORM, "section_id": section.id, "cover_image_url": cover}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Article.cover_image_url)) == cover


def test_tag_names_keep_the_editors_spelling(editor, section):
    response = editor.submit(
        "/admin/articles/new", {**FORM, "section_id": section.id, "tags": "AI, local government"}
    )
    assert response.status_code == 302
    article = db.session.scalar(select(Article))
    assert sorted(tag.name for tag in article.tags) == ["AI", "local government"]
    assert sorted(tag.slug for tag in article.tags) == ["ai", "local-government"]


def test_comment_settings_change_the_gate(editor, make_article, app, make_user, login):
    make_article(slug="open-story")
    reader = make_user("reader@example.org")
    reader_client = app.test_client()
    login(reader_client, reader.email)
    assert 'name="body"' in reader_client.get("/articles/open-story").get_data(as_text=True)
    response = editor.submit(
        "/admin/settings/comments",
        {"comment_policy": "closed", "comments_auto_close_days": "0", "report_threshold": "3"},
    )
    assert response.status_code == 302
    page = reader_client.get("/articles/open-story").get_data(as_text=True)
    assert "Comments are closed on this story." in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "settings.comments"))
    assert event.details == {"comment_policy": "closed"}


def test_bad_settings_are_refused(editor):
    response = editor.submit(
        "/admin/settings/comments",
        {"comment_policy": "anyone", "comments_auto_close_days": "-1", "report_threshold": "0"},
    )
    assert response.status_code == 422
