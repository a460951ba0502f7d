"""The members list and export at scale (issue 11): the capped count, its pager, and an
export whose batches are id ranges with the same content as one big batch."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from membership.admin import members_io, members_search
from membership.extensions import db
from membership.models import (
    Comment,
    MemberLabel,
    Sponsorship,
    SponsorshipPayment,
    Subscription,
    Tier,
    User,
)
from membership.models.types import utcnow
from tests.test_members_io import by_email, export

PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"  # never checked here


def add_readers(count: int, prefix: str = "reader") -> None:
    """`count` plain readers in one statement (named Reader 0001, ...)."""
    now = utcnow()
    db.session.execute(
        insert(User),
        [
            {
                "email": f"{prefix}{n:04d}@example.org",
                "display_name": f"{prefix.title()} {n:04d}",
                "password_hash": PASSWORD_HASH,
                "created_at": now - timedelta(minutes=n),
            }
            for n in range(count)
        ],
    )
    db.session.commit()


def test_the_count_stops_at_the_cap_and_next_pages_still_work(admin_client, monkeypatch):
    monkeypatch.setattr(members_search, "COUNT_CAP", 30)
    monkeypatch.setattr("membership.admin.members_views.PER_PAGE", 20)
    add_readers(45)
    first = admin_client.get("/admin/members?q=reader").get_data(as_text=True)
    assert 'Members <span class="muted">(30+)</span>' in first
    assert "Page 1 of 2+" in first
    second = admin_client.get("/admin/members?q=reader&page=2").get_data(as_text=True)
    assert "Page 2 of 2+" in second
    assert "page=3" in second, "a capped count still offers Next while pages are full"
    third = admin_client.get("/admin/members?q=reader&page=3").get_data(as_text=True)
    assert "reader0044@example.org" in third  # the oldest, on the last page
    assert "page=4" not in third


def test_an_exact_count_below_the_cap(admin_client):
    add_readers(12, prefix="zed")
    page = admin_client.get("/admin/members?q=zed").get_data(as_text=True)
    assert 'Members <span class="muted">(12)</span>' in page
    assert "Page 1 of 1<" in page
    assert page.count("@example.org</span>") == 12


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=Reader 000", {f"reader000{n}@example.org" for n in range(10)}),
        ("q=READER0011", {"reader0011@example.org"}),
        ("q=reader0011@", {"reader0011@example.org"}),
        ("q=50%25", set()),  # "50%": a literal percent sign, not a wildcard
        ("q=r_ader", set()),  # a literal underscore
    ],
)
def test_prefix_search_on_email_and_name(admin_client, query, expected):
    add_readers(12)
    page = admin_client.get(f"/admin/members?{query}").get_data(as_text=True)
    shown = set(re.findall(r'<td class="cell-person">.*?title="([^"]+@example\.org)"', page))
    assert shown == expected


def tier_members(tiers: dict[str, Tier]) -> None:
    """Readers with live, lapsed and complimentary memberships and sponsorships."""
    add_readers(6)
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    for name, tier, status in [
        ("reader0000", "supporter", "active"),
        ("reader0001", "patron", "trialing"),
        ("reader0002", "supporter", "canceled"),
    ]:
        db.session.add(
            Subscription(
                user_id=users[name].id,
                tier_id=tiers[tier].id,
                stripe_subscription_id=f"sub_{name}",
                stripe_customer_id=f"cus_{name}",
                status=status,
                current_period_end=utcnow() + timedelta(days=20),
            )
        )
    users["reader0003"].complimentary_tier_id = tiers["supporter"].id
    db.session.add(
        Sponsorship(
            user_id=users["reader0004"].id,
            frequency="once",
            amount=1000,
            currency="usd",
            recognition="name_only",
            status="paid",
            show_badge=True,
        )
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tier=supporter", {"reader0000", "reader0003"}),
        ("tier=patron", {"reader0001"}),
        ("tier=nonexistent", set()),
        ("plan=paying", {"reader0000", "reader0001"}),
        ("plan=complimentary", {"reader0003"}),
        ("plan=free", {"reader0002", "reader0004", "reader0005", "admin"}),
        ("sponsor=yes", {"reader0004"}),
    ],
)
def test_plan_tier_and_sponsor_filters(admin_client, tiers, query, expected):
    tier_members(tiers)
    page = admin_client.get(f"/admin/members?{query}").get_data(as_text=True)
    shown = set(re.findall(r'<td class="cell-person">.*?title="([^"@]+)@', page))
    assert shown == expected


@pytest.fixture
def tiers(app):
    """A supporter and a patron tier."""
    made = {
        slug: Tier(slug=slug, name=slug.title(), monthly_price=price, yearly_price=price * 10)
        for slug, price in (("supporter", 500), ("patron", 2000))
    }
    db.session.add_all(made.values())
    db.session.commit()
    return made


def test_export_in_id_range_batches_matches_one_batch(admin_client, tiers, monkeypatch):
    """Batches of 2 over a filter that skips members: nobody's data lands on another's row."""
    tier_members(tiers)
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    for name in ("reader0001", "reader0002", "reader0005"):
        db.session.add(MemberLabel(user_id=users[name].id, label=f"label of {name}"))
    for name, amount in (("reader0002", 700), ("reader0005", 300)):
        gift = Sponsorship(
            user_id=users[name].id, frequency="once", amount=amount, currency="usd",
            recognition="anonymous",
        )  # fmt: skip
        db.session.add(gift)
        db.session.flush()
        db.session.add(
            SponsorshipPayment(sponsorship_id=gift.id, stripe_reference=f"pi_{name}", amount=amount)
        )
    # Skipped by the filter below, between members it keeps.
    users["reader0002"].status = "suspended"
    users["reader0002"].status_reason = "spam"
    db.session.commit()
    whole = export(admin_client, "?status=active")
    monkeypatch.setattr(members_io, "BATCH_SIZE", 2)
    batched = export(admin_client, "?status=active")
    assert batched == whole
    rows = by_email(batched)
    assert "reader0002@example.org" not in rows
    assert rows["reader0001@example.org"]["labels"] == "label of reader0001"
    assert rows["reader0001@example.org"]["tier"] == "patron"
    assert rows["reader0003@example.org"]["sponsorship_total"] == "0"
    assert rows["reader0005@example.org"]["sponsorship_total"] == "300"
    assert rows["reader0005@example.org"]["labels"] == "label of reader0005"
    assert rows["reader0000@example.org"]["subscription_status"] == "active"
    everyone = by_email(export(admin_client))
    assert everyone["reader0002@example.org"]["sponsorship_total"] == "700"
    assert everyone["reader0002@example.org"]["subscription_status"] == "canceled"


def test_comments_today_can_use_an_index(app):
    """The dashboard's count of today's comments is an index range, not a scan of comments."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.count(Comment.id)).where(Comment.created_at >= today)
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: force a choice
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars().all()
        else:
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert any("ix_comments_created_at" in line for line in plan), plan
