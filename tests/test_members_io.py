"""CSV export and import of members: the export (contents, CSV-injection guard, streaming in
batches, the members list's filters), `flask members export|import`, and the round trip into an
empty database. Importing through the admin area and generated files: test_members_import.py.
"""

import csv
import io
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import make_url

from membership.admin import members_io
from membership.admin.members_csv import COLUMNS
from membership.extensions import db
from membership.models import (
    AuditEvent,
    MemberLabel,
    Sponsorship,
    SponsorshipPayment,
    Subscription,
    Tier,
    User,
)
from membership.models.types import utcnow
from tests.conftest import USING_POSTGRES

IMPORT_URL = "/admin/members/import"
EXPORT_URL = "/admin/members/export.csv"
NUL = "\x00"
# Stripe's side of a membership cannot be re-created from a file (see test_round_trip...).
NOT_REIMPORTABLE = ("tier", "subscription_status", "stripe_customer_id", "sponsorship_total")


# --- helpers --------------------------------------------------------------------------------


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def by_email(text: str) -> dict[str, dict[str, str]]:
    return {row["email"]: row for row in rows_of(text)}


def export(client, query: str = "") -> str:
    response = client.get(EXPORT_URL + query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def import_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.import")))


def snapshot() -> tuple:
    """Everything an import may change, to prove that nothing changed."""
    users = db.session.execute(
        select(
            User.email, User.display_name, User.role, User.status, User.status_reason,
            User.suspended_until, User.email_confirmed_at, User.complimentary_tier_id,
            User.complimentary_until, User.password_hash,
        ).order_by(User.id)
    ).all()  # fmt: skip
    labels = db.session.execute(
        select(MemberLabel.user_id, MemberLabel.label).order_by(MemberLabel.user_id, "label")
    ).all()
    return tuple(users), tuple(labels), len(import_events())


def add_tiers() -> dict[str, Tier]:
    tiers = {
        "free": Tier(slug="free", name="Free", position=0),
        "supporter": Tier(slug="supporter", name="Supporter", monthly_price=500, position=1),
        "patron": Tier(slug="patron", name="Patron", monthly_price=1500, position=2),
    }
    db.session.add_all(tiers.values())
    db.session.commit()
    return tiers


@pytest.fixture
def tiers(app):
    return add_tiers()


@pytest.fixture
def populated(app, make_user, tiers, admin_client):
    """Members in every state an export shows (the admin of `admin_client` is one of them)."""
    t0 = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    sam = make_user(
        "subscriber@example.org",
        display_name="Sam Subscriber",
        created_at=t0,
        stripe_customer_id="cus_sam",
    )
    db.session.add(
        Subscription(
            user_id=sam.id,
            tier_id=tiers["patron"].id,
            stripe_subscription_id="sub_sam",
            stripe_customer_id="cus_sam",
            status="active",
            current_period_end=utcnow() + timedelta(days=20),
        )
    )
    gift = Sponsorship(
        user_id=sam.id, frequency="once", amount=1000, currency="usd", recognition="anonymous"
    )
    db.session.add(gift)
    db.session.flush()
    db.session.add_all(
        [
            SponsorshipPayment(sponsorship_id=gift.id, stripe_reference="pi_1", amount=1000),
            SponsorshipPayment(
                sponsorship_id=gift.id, stripe_reference="pi_2", amount=500, amount_refunded=200
            ),
            SponsorshipPayment(
                sponsorship_id=gift.id, stripe_reference="pi_3", amount=300, disputed=True
            ),
        ]
    )
    lapsed = make_user("lapsed@example.org", display_name="Lapsed Subscriber")
    db.session.add(
        Subscription(
            user_id=lapsed.id,
            tier_id=tiers["supporter"].id,
            stripe_subscription_id="sub_lapsed",
            stripe_customer_id="cus_lapsed",
            status="canceled",
        )
    )
    make_user(
        "comp@example.org",
        display_name='=HYPERLINK("http://evil.example","click")',
        complimentary_tier_id=tiers["supporter"].id,
        complimentary_until=datetime(2031, 1, 1, 12, 0, 0, 500000, tzinfo=UTC),
        created_at=t0 + timedelta(days=1),
    )
    make_user(
        "forever@example.org",
        display_name="Zoë Ångström 🙂",
        complimentary_tier_id=tiers["patron"].id,
        confirmed=False,
    )
    make_user(
        "suspended@example.org",
        display_name="+Plus and minus-",
        status="suspended",
        status_reason='Spam, "links"\nand a second line',
        suspended_until=datetime(2030, 6, 1, tzinfo=UTC),
    )
    make_user("banned@example.org", display_name="@handle", status="banned", status_reason="-abuse")
    make_user("moderator@example.org", display_name="'=quoted already", role="moderator")
    make_user("unconfirmed@example.org", display_name="New Reader", confirmed=False)
    users = {user.email: user for user in db.session.scalars(select(User))}
    for email, label in [
        ("subscriber@example.org", "press"),
        ("subscriber@example.org", "founding member"),
        ("comp@example.org", "=sum(a1:a9)"),
        ("banned@example.org", "spam wave"),
    ]:
        db.session.add(MemberLabel(user_id=users[email].id, label=label))
    db.session.commit()
    return users


# --- access ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_and_readers_are_refused(app, client, make_user, login):
    for url in (EXPORT_URL, IMPORT_URL):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    reader = app.test_client()
    login(reader, make_user("reader@example.org").email)
    assert reader.get(EXPORT_URL).status_code == 403
    assert reader.get(IMPORT_URL).status_code == 403


# --- export ---------------------------------------------------------------------------------


def test_export_is_a_streamed_csv_attachment_never_cached(admin_client, populated):
    response = admin_client.get(EXPORT_URL)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    rows = rows_of(response.get_data(as_text=True))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == count(User)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "members.export"))
    assert event is not None and event.actor_id == admin_client.user.id


def test_export_shows_membership_labels_statuses_and_money(admin_client, populated):
    rows = by_email(export(admin_client))
    sam = rows["subscriber@example.org"]
    assert sam["tier"] == "patron" and sam["subscription_status"] == "active"
    assert sam["stripe_customer_id"] == "cus_sam"
    assert sam["labels"] == "founding member;press"
    assert sam["sponsorship_total"] == "1300"  # 1000 + (500 - 200) + 0 for the disputed one
    assert sam["created_at"] == "2021-03-04T05:06:07.891011Z"
    assert sam["confirmed_at"].endswith("Z") and sam["role"] == "reader"
    lapsed = rows["lapsed@example.org"]
    assert (lapsed["tier"], lapsed["subscription_status"]) == ("", "canceled")
    comp = rows["comp@example.org"]
    assert comp["complimentary_tier"] == "supporter"
    assert comp["complimentary_until"] == "2031-01-01T12:00:00.500000Z"
    assert (comp["tier"], comp["sponsorship_total"]) == ("", "0")
    suspended = rows["suspended@example.org"]
    assert suspended["status"] == "suspended"
    assert suspended["status_reason"] == 'Spam, "links"\nand a second line'
    assert suspended["suspended_until"] == "2030-06-01T00:00:00Z"
    unconfirmed = rows["unconfirmed@example.org"]
    assert unconfirmed["confirmed_at"] == ""
    assert rows["moderator@example.org"]["role"] == "moderator"
    assert rows["forever@example.org"]["display_name"] == "Zoë Ångström 🙂"


def test_export_neutralises_spreadsheet_formulas(admin_client, populated):
    rows = by_email(export(admin_client))
    assert (
        rows["comp@example.org"]["display_name"] == """'=HYPERLINK("http://evil.example","click")"""
    )
    assert rows["comp@example.org"]["labels"] == "'=sum(a1:a9)"
    assert rows["suspended@example.org"]["display_name"] == "'+Plus and minus-"
    assert rows["banned@example.org"]["display_name"] == "'@handle"
    assert rows["banned@example.org"]["status_reason"] == "'-abuse"
    # A cell that already starts with quotes before a formula gets one more (removed on import).
    assert rows["moderator@example.org"]["display_name"] == "''=quoted already"
    for row in rows.values():
        for cell in row.values():
            assert not re.match(r"[=+\-@\t\r]", cell), cell


def test_export_takes_the_members_list_filters(admin_client, populated):
    assert set(by_email(export(admin_client, "?status=suspended"))) == {"suspended@example.org"}
    assert set(by_email(export(admin_client, "?label=press"))) == {"subscriber@example.org"}
    assert set(by_email(export(admin_client, "?q=comp"))) == {"comp@example.org"}
    assert set(by_email(export(admin_client, "?q=zzz"))) == set()
    details = [
        event.details
        for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "members.export").order_by(AuditEvent.id)
        )
    ]
    assert details[:2] == [{"filters": {"status": "suspended"}}, {"filters": {"label": "press"}}]


def test_export_queries_per_batch_not_per_member(app, make_user, tiers, monkeypatch):
    def statements_for_export() -> tuple[int, list[list[str]]]:
        seen = []

        def listener(*args):
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = list(members_io.export_rows(members_io.filtered_members_query({})))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen), rows

    def add_members(how_many: int) -> None:
        for _ in range(how_many):
            user = make_user(complimentary_tier_id=tiers["patron"].id)
            db.session.add(MemberLabel(user_id=user.id, label="bulk"))
        db.session.commit()

    add_members(3)
    few, rows = statements_for_export()
    assert len(rows) == 4
    add_members(9)
    many, rows = statements_for_export()
    assert len(rows) == 13
    assert many == few
    # Small batches: every member once, in order, across the batch boundaries.
    monkeypatch.setattr(members_io, "BATCH_SIZE", 5)
    batched, rows = statements_for_export()
    assert [row[0] for row in rows[1:]] == list(
        db.session.scalars(select(User.email).order_by(User.id))
    )
    assert batched > many


# --- the command line -----------------------------------------------------------------------


def test_cli_export_to_stdout_and_to_a_file(app, populated, runner, tmp_path):
    result = runner.invoke(args=["members", "export"])
    assert result.exit_code == 0, result.output
    assert set(by_email(result.stdout)) == set(populated)
    target = tmp_path / "suspended.csv"
    result = runner.invoke(args=["members", "export", str(target), "--status", "suspended"])
    assert result.exit_code == 0, result.output
    assert set(by_email(target.read_bytes().decode())) == {"suspended@example.org"}
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "members.export"))


def test_cli_import_dry_run_then_for_real_with_progress(app, runner, tiers, tmp_path):
    source = tmp_path / "members.csv"
    source.write_bytes(
        b"email,display_name,complimentary_tier\n"
        b"ada@example.org,Ada,patron\ngrace@example.org,Grace,\n"
    )
    before = snapshot()
    result = runner.invoke(args=["members", "import", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "row 2: create ada@example.org: new member; complimentary patron" in result.stdout
    assert "Dry run, nothing written: 2 new, 0 updated, 0 unchanged." in result.stdout
    assert snapshot() == before

    result = runner.invoke(args=["members", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "Checking" in result.stderr and "Importing" in result.stderr
    assert "Imported: 2 new, 0 updated, 0 unchanged." in result.stdout
    emails = set(db.session.scalars(select(User.email)))
    assert emails == {"ada@example.org", "grace@example.org"}
    [event] = import_events()
    assert event.actor_id is None and event.details["create"] == 2


def test_cli_import_with_a_bad_row_imports_nothing(app, runner, tiers, tmp_path):
    source = tmp_path / "members.csv"
    source.write_text("email,complimentary_tier\nada@example.org,patron\nbad,patron\n")
    before = snapshot()
    result = runner.invoke(args=["members", "import", str(source)])
    assert result.exit_code == 1
    assert "row 3: email 'bad' is not valid" in result.stderr
    assert "1 problem(s); nothing was imported." in result.stderr
    assert snapshot() == before


# --- the round trip -------------------------------------------------------------------------


@pytest.fixture
def empty_database_url(tmp_path):
    """A second, empty database with every table: a new SQLite file, or a throwaway PostgreSQL
    database (dropped afterwards) when the suite runs on PostgreSQL."""
    if not USING_POSTGRES:
        yield f"sqlite:///{tmp_path / 'second.sqlite3'}"  # make_app creates its tables
        return
    admin_url = make_url(
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"membership_round_trip_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    yield url
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_round_trip_into_an_empty_database_loses_nothing(
    admin_client, populated, make_app, empty_database_url, tmp_path
):
    first = export(admin_client)
    source = tmp_path / "members.csv"
    source.write_bytes(first.encode("utf-8"))

    second_app = make_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with second_app.app_context():
        assert count(User) == 0
        add_tiers()  # the tiers exist on the new site (created in the admin area or seed-demo)
        runner = second_app.test_cli_runner()
        result = runner.invoke(args=["members", "import", str(source)])
        assert result.exit_code == 0, result.output
        assert f"Imported: {len(populated)} new, 0 updated" in result.stdout
        target = tmp_path / "again.csv"
        result = runner.invoke(args=["members", "export", str(target)])
        assert result.exit_code == 0, result.output
        second = target.read_bytes().decode("utf-8")

    before, after = rows_of(first), rows_of(second)
    assert len(before) == len(after) == len(populated)
    # Stripe's side cannot be re-created from a file: a subscription (its tier and status) and
    # the customer id live in Stripe, sponsorship totals are money received on the old site.
    # The first export really had them, the second has none; every other column survives.
    assert {row["tier"] for row in before} == {"", "patron"}
    assert {row["subscription_status"] for row in before} == {"", "active", "canceled"}
    assert {row["stripe_customer_id"] for row in before} == {"", "cus_sam"}
    assert {row["sponsorship_total"] for row in before} == {"0", "1300"}
    assert {(row["tier"], row["stripe_customer_id"]) for row in after} == {("", "")}
    assert {(row["subscription_status"], row["sponsorship_total"]) for row in after} == {("", "0")}
    kept = [column for column in COLUMNS if column not in NOT_REIMPORTABLE]
    assert [[row[c] for c in kept] for row in after] == [[row[c] for c in kept] for row in before]
    assert second.splitlines()[0] == first.splitlines()[0]
