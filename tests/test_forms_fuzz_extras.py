"""Fields an attacker adds to the account, comment and sponsor forms change nothing they name.

SECURITY 21: `is_admin`, `role`, `status`, `tier_id`, `user_id`, `email_confirmed_at`,
`complimentary_tier_id`, `author_id`... posted with a genuine form never change anyone's role,
status or tier, nor who owns a comment or a gift. Each property posts generated extras, with
values that would matter if copied (an admin role, the id of another reader, of a real tier), and
compares every account before and after. (Registration: tests/test_forms_fuzz.py.)
"""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from membership.extensions import db
from membership.models import Comment, Sponsorship, Tier, User
from tests.conftest import stripe_settings
from tests.test_forms_fuzz import PRIVILEGED, PRIVILEGED_VALUES

# Names of columns a comment or a gift is owned or counted by (none is a field of the forms).
OWNERSHIP = ["article_id", "thread_id", "reply_to_id", "like_count", "customer", "amount_total"]


@pytest.fixture
def app_config(stripe_stub):
    return stripe_settings(
        stripe_stub,
        SPONSOR_CHECKOUT_LIMIT="100000/minute",
        COMMENT_LIMIT_PER_USER="100000/minute",
    )


@pytest.fixture
def world(app, make_user, login, make_article):
    """A signed-in reader, another reader, a paid tier, and two articles open to comments."""
    reader = make_user("rita@example.org", display_name="Rita")
    other = make_user("otto@example.org", display_name="Otto")
    tier = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000)
    db.session.add(tier)
    db.session.commit()
    client = app.test_client()
    assert login(client, reader.email).status_code == 302
    ids = {"reader": reader.id, "other": other.id, "tier": tier.id}
    return client, ids, make_article(slug="first"), make_article(slug="second")


def extras(ids: dict, *names: str):
    """One to six injected fields, valued like an attack: another reader's id, a tier's id..."""
    values = st.one_of(PRIVILEGED_VALUES, st.sampled_from([str(v) for v in ids.values()]))
    return st.dictionaries(st.sampled_from([*PRIVILEGED, *names]), values, min_size=1, max_size=6)


def accounts() -> dict:
    """What must not move: each account's role, status, confirmation, tier and billing."""
    db.session.expire_all()
    return {
        user.id: (
            user.email,
            user.display_name,
            user.role,
            user.status,
            user.email_confirmed_at,
            user.complimentary_tier_id,
            user.complimentary_until,
            user.stripe_customer_id,
            user.totp_enabled_at,
        )
        for user in db.session.scalars(select(User))
    }


def test_profile_form_changes_only_the_display_name(world):
    client, ids, _first, _second = world
    names = itertools.count()

    @settings()
    @given(extra=extras(ids, "email", "password_hash", "notify_replies"))
    def check(extra):
        before = accounts()
        name = f"Rita {next(names)}"
        response = client.submit(
            "/account/profile", {"display_name": name, **extra}, page="/account"
        )
        assert response.status_code == 302, extra
        expected = dict(before)
        expected[ids["reader"]] = (before[ids["reader"]][0], name, *before[ids["reader"]][2:])
        assert accounts() == expected, extra

    check()


def test_comment_form_posts_as_the_reader_on_the_page_they_are_on(world):
    client, ids, first, second = world
    ids = {**ids, "article": second.id}
    bodies = itertools.count()

    @settings()
    @given(extra=extras(ids, *OWNERSHIP))
    def check(extra):
        # Posting is throttled (one comment per 5 s): each example starts from a quiet reader.
        db.session.execute(update(User).values(last_comment_at=None))
        db.session.commit()
        before = accounts()
        body = f"Comment number {next(bodies)}"
        response = client.submit(
            f"/articles/{first.slug}/comments", {"body": body, **extra}, page="/articles/first"
        )
        assert response.status_code == 302, (extra, response.get_data(as_text=True)[:300])
        comment = db.session.scalar(select(Comment).where(Comment.body == body))
        assert (comment.author_id, comment.article_id, comment.status) == (
            ids["reader"],
            first.id,
            "published",
        ), extra
        assert (comment.thread_id, comment.reply_to_id, comment.like_count) == (None, None, 0)
        assert accounts() == before, extra

    check()
    assert db.session.scalar(select(func.count()).where(Comment.article_id == second.id)) == 0


def test_sponsor_form_gives_as_the_giver_and_nobody_else(world, app, stripe_stub):
    client, ids, _first, _second = world
    guest = app.test_client()
    gift = {"amount": "25", "frequency": "once", "recognition": "name_amount", "message": ""}

    @settings()
    @given(
        extra=extras(ids, *OWNERSHIP, "client_reference_id", "metadata"), signed_in=st.booleans()
    )
    def check(extra, signed_in):
        before = accounts()
        sent_before = len(stripe_stub.requests)
        browser = client if signed_in else guest
        response = browser.submit("/sponsor/checkout", {**gift, **extra}, page="/sponsor")
        assert response.status_code == 303, (extra, response.get_data(as_text=True)[:300])
        (sent,) = [
            r["params"]
            for r in stripe_stub.requests[sent_before:]
            if r["path"] == "/v1/checkout/sessions"
        ]
        giver = str(ids["reader"]) if signed_in else ""
        assert sent["metadata"]["user_id"] == giver, extra
        assert sent.get("client_reference_id", "") == giver, extra
        assert int(sent["line_items"][0]["price_data"]["unit_amount"]) == 2500, extra
        after = accounts()
        if signed_in:
            # The reader's own Stripe customer, made on their first gift: nobody else's.
            reader_after = after[ids["reader"]]
            assert sent["customer"] == reader_after[7]
            assert stripe_stub._db[sent["customer"]]["metadata"]["user_id"] == giver
            before[ids["reader"]] = (*before[ids["reader"]][:7], reader_after[7], None)
        else:
            assert "customer" not in sent, extra
        assert after == before, extra
        # Nothing is recorded before Stripe says the money arrived.
        assert db.session.scalar(select(func.count(Sponsorship.id))) == 0

    check()
