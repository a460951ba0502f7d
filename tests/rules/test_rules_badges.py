"""The badge beside a commenter's name follows their membership and gifts (issue 15).

Every reader sees it: "Member" for a paying or complimentary member, "Sponsor" for a recent or
live gift shown on the wall, nothing once either has lapsed.
"""

import re
from datetime import timedelta

import pytest

from membership.extensions import db
from membership.models import Comment, Sponsorship, Subscription, Tier
from membership.models.types import utcnow
from tests.test_comments import ARTICLE_URL

BADGE = re.compile(r'class="badge badge-\w+">(\w+)<')


def badge_beside(client, body: str) -> str | None:
    """The badge shown in the comment whose text is `body`, as an anonymous reader sees it."""
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    block = page.split(body)[0].rsplit('<article id="c', 1)[1]
    found = BADGE.findall(block)
    return found[0] if found else None


def commenter(make_user, article, **fields):
    """A reader who commented on the story; returns the user."""
    user = make_user(**fields)
    db.session.add(Comment(article_id=article.id, author_id=user.id, body=f"By {user.email}"))
    article.comment_count += 1
    db.session.commit()
    return user


def tier() -> Tier:
    row = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000)
    db.session.add(row)
    db.session.commit()
    return row


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("until", "badge"),
    [(None, "Member"), (DAY, "Member"), (-DAY, None)],
    ids=["no end", "ends tomorrow", "ended yesterday"],
)
def test_a_complimentary_member_has_the_badge_until_it_ends(
    client, article, make_user, until, badge
):
    fields = {"complimentary_tier_id": tier().id}
    if until is not None:
        fields["complimentary_until"] = utcnow() + until
    user = commenter(make_user, article, **fields)
    assert badge_beside(client, f"By {user.email}") == badge


@pytest.mark.parametrize(
    ("status", "badge"),
    [
        ("active", "Member"),
        ("trialing", "Member"),
        ("past_due", "Member"),
        ("canceled", None),
        ("incomplete", None),
        ("unpaid", None),
    ],
)
def test_a_subscriber_has_the_badge_while_stripe_expects_payment(
    client, article, make_user, status, badge
):
    user = commenter(make_user, article)
    subscription(user, status)
    assert badge_beside(client, f"By {user.email}") == badge


def test_the_subscription_of_another_reader_gives_no_badge(client, article, make_user):
    user = commenter(make_user, article)
    subscription(make_user(), "active")
    assert badge_beside(client, f"By {user.email}") is None


def subscription(user, status: str) -> None:
    """A subscription of `user` to the paid tier, in Stripe's `status`."""
    db.session.add(
        Subscription(
            user_id=user.id,
            tier_id=tier().id,
            stripe_subscription_id=f"sub_{user.id}",
            stripe_customer_id=f"cus_{user.id}",
            status=status,
            current_period_end=utcnow() + 30 * DAY,
        )
    )
    db.session.commit()


def gift(user, *, status: str, age: timedelta, show_badge: bool = True, frequency: str = "once"):
    db.session.add(
        Sponsorship(
            user_id=user.id,
            email=user.email,
            frequency=frequency,
            amount=2500,
            currency="usd",
            recognition="name_only" if show_badge else "anonymous",
            show_badge=show_badge,
            status=status,
            created_at=utcnow() - age,
        )
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("status", "frequency", "age", "show_badge", "badge"),
    [
        ("paid", "once", 30 * DAY, True, "Sponsor"),
        ("paid", "once", 364 * DAY, True, "Sponsor"),
        ("paid", "once", 365.5 * DAY, True, None),
        ("paid", "once", 30 * DAY, False, None),
        ("active", "monthly", 400 * DAY, True, "Sponsor"),
        ("canceled", "monthly", 30 * DAY, True, None),
        ("pending", "once", DAY, True, None),
        ("failed", "once", DAY, True, None),
    ],
    ids=[
        "a gift last month",
        "a gift 364 days ago",
        "a gift a year and half a day ago",
        "an anonymous gift",
        "a monthly gift started over a year ago",
        "a stopped monthly gift",
        "a bank debit still pending",
        "a bank debit that failed",
    ],
)
def test_a_sponsor_has_the_badge_for_a_year_or_while_giving_monthly(
    client, article, make_user, status, frequency, age, show_badge, badge
):
    user = commenter(make_user, article)
    gift(user, status=status, age=age, show_badge=show_badge, frequency=frequency)
    assert badge_beside(client, f"By {user.email}") == badge


def test_a_member_who_also_gives_shows_member(client, article, make_user):
    user = commenter(make_user, article, complimentary_tier_id=tier().id)
    gift(user, status="paid", age=DAY)
    assert badge_beside(client, f"By {user.email}") == "Member"


def test_a_gift_of_another_reader_gives_no_badge(client, article, make_user):
    user = commenter(make_user, article)
    gift(make_user(), status="paid", age=DAY)
    assert badge_beside(client, f"By {user.email}") is None
