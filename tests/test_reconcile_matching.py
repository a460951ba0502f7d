"""Reconcile never guesses (issue 14.6): a subscription is matched by the Stripe customer id stored
on the member; the metadata `user_id` counts only when the customer's email is that member's;
anything else is a conflict, reported and never applied.
"""

import pytest
from sqlalchemy import select, text

from membership.access import membership_of
from membership.auth.services import create_user, find_user_by_email
from membership.billing.catalogue import sync_tier
from membership.extensions import db
from membership.models import AuditEvent, Subscription, SubscriptionConflict, Tier, User
from tests.conftest import USING_POSTGRES, connect_webhooks, stripe_settings
from tests.test_billing import checkout, session_id_of


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(stripe_stub)


@pytest.fixture
def supporter(app):
    tier = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
    db.session.add(tier)
    db.session.flush()
    sync_tier(tier)
    db.session.commit()
    return tier


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    db.session.expire_all()
    return result


def paid_checkout(app, login, user, stub) -> str:
    """The member pays; Stripe's webhooks are lost. Returns the subscription id."""
    client = app.test_client()
    login(client, user.email)
    stub.complete_checkout(session_id_of(checkout(client)))
    stub.outbox.clear()
    return next(o["id"] for o in stub._db.values() if o.get("object") == "subscription")


def wipe_database() -> None:
    """An empty database, as on a new server (ids start at 1 again)."""
    db.session.rollback()
    tables = db.metadata.sorted_tables
    if USING_POSTGRES:
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(table.delete())
    db.session.commit()


def test_members_import_into_a_fresh_database_then_reconcile_never_guesses(
    app, make_user, login, stripe_stub, supporter, tmp_path
):
    alice = make_user("alice@example.org", display_name="Alice")
    bob = make_user("bob@example.org", display_name="Bob")
    assert (alice.id, bob.id) == (1, 2)
    subscription_id = paid_checkout(app, login, bob, stripe_stub)  # metadata user_id = "2"
    export = tmp_path / "members.csv"
    assert run(app, "members", "export", str(export)).exit_code == 0
    tier_ids = {
        column: getattr(supporter, column)
        for column in ("stripe_product_id", "stripe_monthly_price_id", "stripe_yearly_price_id")
    }

    wipe_database()
    db.session.add(
        Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000, **tier_ids)
    )
    create_user("editor@example.org", "Editor", "an editor's long passphrase", role="admin")
    db.session.commit()
    imported = run(app, "members", "import", str(export))
    assert imported.exit_code == 0, imported.output
    new_alice = find_user_by_email("alice@example.org")
    new_bob = find_user_by_email("bob@example.org")
    assert (new_alice.id, new_bob.id) == (2, 3), "the ids moved: #2 is now Alice"
    assert new_bob.stripe_customer_id is None

    result = run(app, "stripe", "reconcile")
    assert result.exit_code == 0, result.output
    assert f"CONFLICT subscription {subscription_id} not applied" in result.output
    assert "member #2 (alice@example.org)" in result.output
    assert "member #3 has that email" in result.output
    assert "1 subscription(s) NOT applied" in result.output
    assert db.session.scalars(select(Subscription)).all() == []
    assert not membership_of(new_alice).is_paying
    conflict = db.session.scalar(select(SubscriptionConflict))
    assert conflict.stripe_subscription_id == subscription_id
    assert conflict.claimed_user_id == 2 and conflict.customer_email == "bob@example.org"
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "billing.subscription_conflict")
    )

    again = run(app, "stripe", "reconcile")
    assert db.session.scalars(select(SubscriptionConflict)).all() == [conflict]
    assert "CONFLICT" in again.output, "still reported, still not applied"

    # The administrator stores Bob's customer id on Bob: now it matches, by the customer id.
    new_bob.stripe_customer_id = conflict.stripe_customer_id
    db.session.commit()
    fixed = run(app, "stripe", "reconcile")
    assert "CONFLICT" not in fixed.output
    record = db.session.scalar(select(Subscription))
    assert record.user_id == new_bob.id
    assert membership_of(new_bob).is_paying and not membership_of(new_alice).is_paying
    assert db.session.scalar(select(SubscriptionConflict.dismissed_at)) is not None


def test_metadata_counts_when_the_customer_email_is_the_members(
    app, make_user, login, stripe_stub, supporter
):
    carol = make_user("carol@example.org")
    paid_checkout(app, login, carol, stripe_stub)
    carol.stripe_customer_id = None  # e.g. cleared by an import
    db.session.commit()
    result = run(app, "stripe", "reconcile")
    assert "CONFLICT" not in result.output
    record = db.session.scalar(select(Subscription))
    assert record.user_id == carol.id
    db.session.refresh(carol)
    assert carol.stripe_customer_id == record.stripe_customer_id, "stored for next time"


def test_the_stored_customer_id_wins_over_the_metadata(
    app, make_user, login, stripe_stub, supporter
):
    dan = make_user("dan@example.org")
    erin = make_user("erin@example.org")
    subscription_id = paid_checkout(app, login, dan, stripe_stub)
    stripe_stub._db[subscription_id]["metadata"]["user_id"] = str(erin.id)
    run(app, "stripe", "reconcile")
    assert db.session.scalar(select(Subscription.user_id)) == dan.id


def test_a_webhook_with_a_colliding_user_id_is_not_applied(
    app, make_user, login, stripe_stub, supporter
):
    connect_webhooks(stripe_stub, app)
    frank = make_user("frank@example.org")
    client = app.test_client()
    login(client, frank.email)
    stripe_stub.complete_checkout(session_id_of(checkout(client)))
    customer_id = db.session.scalar(select(User.stripe_customer_id).where(User.id == frank.id))
    frank.stripe_customer_id = None
    stripe_stub._db[customer_id]["email"] = "somebody.else@example.org"
    db.session.commit()
    assert set(stripe_stub.deliver()) == {200}
    assert (
        db.session.scalars(select(Subscription).where(Subscription.user_id.is_not(None))).all()
        == []
    )
    assert not membership_of(frank).is_paying
    conflict = db.session.scalar(select(SubscriptionConflict))
    assert "somebody.else@example.org" in conflict.reason


# --- the admin page ---------------------------------------------------------------------------


@pytest.fixture
def conflict(app):
    record = SubscriptionConflict(
        stripe_subscription_id="sub_conflict",
        stripe_customer_id="cus_other",
        customer_email="bob@example.org",
        claimed_user_id=2,
        reason="metadata names member #2 (alice@example.org) but the Stripe customer's email is "
        "bob@example.org",
    )
    db.session.add(record)
    db.session.commit()
    return record


def test_the_dashboard_and_the_conflicts_page_show_open_conflicts(admin_client, conflict):
    dashboard = admin_client.get("/admin").get_data(as_text=True)
    assert "billing-conflicts-notice" in dashboard and "1 Stripe subscription" in dashboard
    page = admin_client.get("/admin/billing/conflicts").get_data(as_text=True)
    assert "sub_conflict" in page and "alice@example.org" in page


def test_dismissing_needs_a_note_and_is_audited(admin_client, conflict):
    url = f"/admin/billing/conflicts/{conflict.id}/dismiss"
    refused = admin_client.submit(url, {"note": "  "}, page="/admin/billing/conflicts")
    assert refused.status_code == 422
    assert "Say what was done" in refused.get_data(as_text=True)
    db.session.refresh(conflict)
    assert conflict.dismissed_at is None
    assert not db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "billing.conflict_dismiss")
    )

    done = admin_client.submit(
        url, {"note": "Customer id stored on Bob"}, page="/admin/billing/conflicts"
    )
    assert done.status_code == 302
    db.session.refresh(conflict)
    assert conflict.dismissed_at is not None and conflict.dismissed_by_id == admin_client.user.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "billing.conflict_dismiss")
    )
    assert event.details["note"] == "Customer id stored on Bob"
    assert "billing-conflicts-notice" not in admin_client.get("/admin").get_data(as_text=True)


def test_readers_cannot_see_or_dismiss_conflicts(signed_in, conflict):
    assert signed_in.get("/admin/billing/conflicts").status_code == 403
    response = signed_in.post(f"/admin/billing/conflicts/{conflict.id}/dismiss", data={"note": "x"})
    assert response.status_code in (400, 403)
    db.session.refresh(conflict)
    assert conflict.dismissed_at is None


@pytest.mark.parametrize("claimed", ["99999999999", "2147483648", "²", "١٢", "-1", "1e3"])
def test_a_user_id_no_member_can_have_is_no_claim(app, claimed):
    """Metadata past the id column's range or in other digits claims nobody (no database error)."""
    from membership.billing import matching

    subscription = {"id": "sub_x", "customer": {"id": "cus_x", "email": "a@example.org"}}
    subscription["metadata"] = {"user_id": claimed}
    assert matching.match_member(subscription).user is None
