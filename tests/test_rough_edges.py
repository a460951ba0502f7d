"""Rough edges of the reader pages: error pages, pages without Stripe, gates, tags, emails."""

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import Tag

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ("account", "admin", "articles", "auth", "billing", "comments", "sponsors")


def test_the_404_page_has_the_header_navigation_and_a_footer(client, make_article):
    make_article()  # creates the "World" section
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'aria-label="Sections"' in page
    assert 'href="/sections/world"' in page or ">World</a>" in page
    assert '<footer class="site-footer">' in page
    assert "We could not find that page." in page


def test_the_sponsor_page_without_stripe_explains_and_offers_no_button(client):
    page = client.get("/sponsor").get_data(as_text=True)
    assert "Payments are not set up yet" in page
    assert "Continue to payment" not in page


def test_a_sponsor_checkout_without_stripe_warns_once(client):
    response = client.submit(
        "/sponsor/checkout",
        {"amount": "10", "frequency": "once", "recognition": "anonymous"},
        page="/sponsor",
    )
    assert response.status_code == 503
    assert response.get_data(as_text=True).count("Payments are not set up yet") == 1


def test_the_empty_sponsor_wall_invites_instead_of_thanking(client):
    page = client.get("/sponsors").get_data(as_text=True)
    assert "These readers pay" not in page
    assert "could be the first" in page
    assert 'href="/sponsor"' in page


def test_monthly_or_yearly_shows_its_selected_state(client):
    page = client.get("/membership?interval=year").get_data(as_text=True)
    assert '<a href="/membership?interval=year" aria-current="true">Yearly</a>' in page
    css = (ROOT / "static" / "site.css").read_text()
    assert ".interval-switch a[aria-current]" in css


@pytest.mark.parametrize(
    ("access", "reason"),
    [
        ("paid", "This story is for subscribers, and so is its discussion."),
        ("members", "This story is for registered readers, and so is its discussion."),
    ],
)
def test_a_locked_story_invites_once_and_says_why_its_discussion_is_shut(
    client, make_article, access, reason
):
    make_article(slug="locked", access_level=access)
    page = client.get("/articles/locked").get_data(as_text=True)
    assert reason in page
    assert page.count(">Sign in</a>") == 2, "the header's and the paywall's, nothing more"
    assert "Log in" not in page
    assert 'name="body"' not in page


def test_a_free_reader_is_told_why_they_cannot_join_a_subscribers_discussion(
    app, make_user, login, make_article
):
    make_article(slug="locked", access_level="paid")
    reader = make_user("free@example.org")
    client = app.test_client()
    login(client, reader.email)
    page = client.get("/articles/locked").get_data(as_text=True)
    assert "This story is for subscribers, and so is its discussion." in page
    assert 'name="body"' not in page
    refused = client.submit(
        "/articles/locked/comments", {"body": "Let me in"}, page="/articles/locked"
    )
    assert refused.status_code in (302, 403)


def test_demo_tags_keep_the_editors_spelling(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    names = set(db.session.scalars(select(Tag.name)))
    assert "AI" in names and "Ai" not in names
    assert "local government" in names
    assert db.session.scalar(select(Tag.slug).where(Tag.name == "local government")) == (
        "local-government"
    )


@pytest.mark.parametrize("template", ["confirm_email", "email_change_confirm", "reset_password"])
def test_the_fallback_link_of_an_email_wraps_on_a_phone(template):
    html = (ROOT / "templates" / "email" / f"{template}.html").read_text()
    fallback = html[html.index("Or paste this link") :]
    assert "word-break:break-all" in fallback and "overflow-wrap:anywhere" in fallback


def test_web_imports_no_feature():
    """Features register their CSP sources with web.py; web.py never imports a feature."""
    tree = ast.parse((ROOT / "membership" / "web.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    features = {
        name for name in imported if name.split(".")[1:2] and name.split(".")[1] in FEATURES
    }
    assert features == set()


def test_the_stripe_form_action_sources_reach_the_policy(app, make_user, login):
    """The registered set still widens the CSP of a page that continues to Stripe."""
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    client = app.test_client()
    policy = client.get("/membership").headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in policy
    assert "http://127.0.0.1:9" in policy
    assert "checkout.stripe.com" not in client.get("/").headers["Content-Security-Policy"]
