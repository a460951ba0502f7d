"""The `flask` commands: create-admin, seed-demo and mail deliver."""

import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.auth.passwords import verify_password
from membership.demo_content import ARTICLES, SECTIONS
from membership.extensions import db
from membership.models import Article, OutboxEmail, Section, Tag, User
from membership.models.article import article_tags
from membership.models.types import utcnow

ADMIN_PASSWORD = "a long admin passphrase here"


def count(model_or_table) -> int:
    return db.session.scalar(select(func.count()).select_from(model_or_table))


def create_admin(runner, email: str, stdin: str | None = ADMIN_PASSWORD + "\n", *options: str):
    return runner.invoke(args=["create-admin", email, *options], input=stdin)


# --- create-admin ---------------------------------------------------------------------------


def test_create_admin_reads_the_password_from_stdin_and_can_sign_in(runner, app, login):
    result = create_admin(runner, "boss@example.org")
    assert result.exit_code == 0, result.output
    assert "Created administrator boss@example.org" in result.output
    assert ADMIN_PASSWORD not in result.output

    admin = db.session.scalar(select(User).where(User.email == "boss@example.org"))
    assert admin is not None
    assert admin.role == "admin" and admin.is_admin
    assert admin.is_confirmed
    assert admin.status == "active"
    assert admin.password_hash != ADMIN_PASSWORD

    client = app.test_client()
    response = login(client, "boss@example.org", ADMIN_PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    account = client.get("/account")
    assert account.status_code == 200
    assert "boss@example.org" in account.get_data(as_text=True)


def test_create_admin_stores_the_email_lower_cased_and_takes_a_name(runner, app, login):
    result = create_admin(
        runner, "  Chief.Editor@Example.ORG ", ADMIN_PASSWORD + "\n", "--name", "Chief"
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User))
    assert (admin.email, admin.display_name) == ("chief.editor@example.org", "Chief")
    assert login(app.test_client(), "chief.editor@example.org", ADMIN_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        pytest.param("short", "at least 12 characters", id="too-short"),
        pytest.param("password1234", "too common", id="common"),
        pytest.param("boss@example.org", "email address", id="is-the-email"),
        pytest.param("aaaaaaaaaaaaaaaa", "too few characters", id="repetitive"),
        pytest.param("", "at least 12 characters", id="empty-stdin"),
    ],
)
def test_create_admin_refuses_a_weak_password_and_creates_nobody(runner, password, message):
    result = create_admin(runner, "boss@example.org", password + "\n" if password else "")
    assert result.exit_code != 0
    assert message in result.output
    assert count(User) == 0


def test_create_admin_refuses_an_invalid_email(runner):
    result = create_admin(runner, "not-an-email")
    assert result.exit_code != 0, result.output
    assert count(User) == 0


def test_create_admin_promotes_an_existing_reader_without_changing_the_password(
    runner, app, make_user, login
):
    reader = make_user("editor@example.org", confirmed=False)
    old_hash = reader.password_hash

    result = create_admin(runner, "Editor@Example.org", "a different passphrase entirely\n")
    assert result.exit_code == 0, result.output
    assert "Promoted editor@example.org" in result.output

    db.session.expire_all()
    promoted = db.session.get(User, reader.id)
    assert promoted.role == "admin"
    assert promoted.is_confirmed
    assert promoted.password_hash == old_hash
    assert count(User) == 1
    assert login(app.test_client(), "editor@example.org").status_code == 302
    assert not verify_password(promoted.password_hash, "a different passphrase entirely")


def test_create_admin_keeps_an_existing_confirmation_date(runner, make_user):
    reader = make_user("editor@example.org", confirmed=True)
    confirmed_at = reader.email_confirmed_at
    assert create_admin(runner, "editor@example.org").exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, reader.id).email_confirmed_at == confirmed_at


# --- seed-demo ------------------------------------------------------------------------------


def seeded_counts() -> dict:
    return {
        "sections": count(Section),
        "articles": count(Article),
        "tags": count(Tag),
        "article_tags": count(article_tags),
    }


def test_seed_demo_creates_sections_and_articles(runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert f"{len(SECTIONS)} sections, {len(ARTICLES)} new article(s)" in result.output

    counts = seeded_counts()
    assert counts["sections"] == 6 == len(SECTIONS)
    assert counts["articles"] == len(ARTICLES)
    assert counts["tags"] == len({tag for item in ARTICLES for tag in item["tags"]})
    assert counts["article_tags"] == sum(len(item["tags"]) for item in ARTICLES)

    home = client.get("/")
    assert home.status_code == 200
    newest = min(ARTICLES, key=lambda item: item["days_ago"])
    assert newest["title"] in home.get_data(as_text=True)
    for slug, name, _description in SECTIONS:
        page = client.get(f"/section/{slug}")
        assert page.status_code == 200 and name in page.get_data(as_text=True)


def test_seed_demo_twice_creates_no_duplicates(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    first = seeded_counts()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "0 new article(s)" in again.output
    assert seeded_counts() == first


def test_seed_demo_restores_a_deleted_article_and_reuses_its_tags(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    first = seeded_counts()
    article = db.session.scalar(select(Article).where(Article.slug == ARTICLES[0]["slug"]))
    db.session.delete(article)
    db.session.commit()

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "1 new article(s)" in result.output
    assert seeded_counts() == first


# --- mail deliver ---------------------------------------------------------------------------


def queue(to: str, **fields) -> OutboxEmail:
    email = OutboxEmail(
        to_address=to,
        subject=f"Hello {to}",
        text_body=f"Plain text for {to}",
        html_body=f"<p>HTML for {to}</p>",
        **fields,
    )
    db.session.add(email)
    db.session.commit()
    return email


def test_mail_deliver_sends_waiting_mail_and_prints_the_count(runner, mailbox):
    first = queue("one@example.org")
    second = queue("two@example.org")
    later = queue("later@example.org", next_attempt_at=utcnow() + timedelta(hours=1))
    done = queue("done@example.org", sent_at=utcnow(), attempts=1)

    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Delivered 2 email(s)." in result.output
    assert len(mailbox.to("one@example.org")) == 1
    assert len(mailbox.to("two@example.org")) == 1
    assert mailbox.to("later@example.org") == []
    assert mailbox.to("done@example.org") == []
    assert (
        mailbox.text_of(mailbox.last("one@example.org")).strip() == "Plain text for one@example.org"
    )

    db.session.expire_all()
    assert db.session.get(OutboxEmail, first.id).sent_at is not None
    assert db.session.get(OutboxEmail, second.id).sent_at is not None
    assert db.session.get(OutboxEmail, later.id).sent_at is None
    assert db.session.get(OutboxEmail, done.id).attempts == 1

    again = runner.invoke(args=["mail", "deliver"])
    assert again.exit_code == 0, again.output
    assert "Delivered 0 email(s)." in again.output
    assert len(mailbox.messages) == 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mail_deliver_keeps_mail_when_smtp_is_down(make_app, mailbox):
    app = make_app(MAIL_PORT=closed_port(), MAIL_TIMEOUT=1)
    with app.app_context():
        email = queue("waiting@example.org")
        result = app.test_cli_runner().invoke(args=["mail", "deliver"])
        assert result.exit_code == 0, result.output
        assert "Delivered 0 email(s)." in result.output
        db.session.expire_all()
        kept = db.session.get(OutboxEmail, email.id)
        assert kept.sent_at is None
        assert kept.attempts == 1
        assert kept.last_error
        assert kept.next_attempt_at > utcnow()
    assert mailbox.messages == []
