"""The admin dashboard (figures, charts, statement count) and the audit log."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from membership.admin.dashboard import add_months, month_start
from membership.extensions import db
from membership.models import (
    AuditEvent,
    Comment,
    CommentReport,
    Sponsorship,
    SponsorshipPayment,
    Subscription,
    Tier,
    User,
)
from membership.models.types import utcnow

# --- helpers ------------------------------------------------------------------------------------


def stat(page: str, name: str) -> str:
    """The value of one figure card."""
    match = re.search(
        rf'id="stat-{name}">\s*<dt>[^<]*</dt>\s*<dd class="stat-value">([^<]*)</dd>', page
    )
    assert match, f"no figure {name}"
    return match.group(1)


def table_rows(page: str, table_id: str) -> dict[str, list[str]]:
    """Row header -> cells of the table captioned `table_id` (or with that id)."""
    match = re.search(rf'id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    rows = {}
    for header, cells in re.findall(
        r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', match.group(0), re.S
    ):
        rows[header] = re.findall(r"<td>([^<]*)</td>", cells)
    return rows


def label(moment) -> str:
    return moment.strftime("%B %Y")


def subscription(user, tier, *, status="active", interval="month", amount, created, ended=None):
    db.session.add(
        Subscription(
            user_id=user.id if user else None,
            tier_id=tier.id,
            stripe_subscription_id=f"sub_{user.id if user else 'x'}_{status}_{amount}",
            stripe_customer_id=f"cus_{user.id if user else 'x'}",
            interval=interval,
            amount=amount,
            currency="usd",
            status=status,
            created_at=created,
            ended_at=ended,
        )
    )


def payment(reference, amount, paid_at, *, refunded=0, disputed=False):
    sponsorship = Sponsorship(
        frequency="once",
        amount=amount,
        currency="usd",
        recognition="anonymous",
        status="paid",
        created_at=paid_at,
    )
    db.session.add(sponsorship)
    db.session.flush()
    db.session.add(
        SponsorshipPayment(
            sponsorship_id=sponsorship.id,
            stripe_reference=reference,
            amount=amount,
            amount_refunded=refunded,
            disputed=disputed,
            paid_at=paid_at,
        )
    )


# --- the known dataset --------------------------------------------------------------------------


@pytest.fixture
def dataset(app, admin_client, make_user, make_article):
    """Tiers, members, subscriptions, gifts, comments and reports whose figures are known.

    Everything "this month" or "today" happens at `now` (taken before the request), so the
    figures hold whatever the time of day or day of the month the suite runs.
    """
    now = utcnow()
    this_month = month_start(now)
    long_ago = add_months(this_month, -6)
    supporter = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
    patron = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000, position=1)
    db.session.add_all([supporter, patron])
    db.session.flush()

    alice = make_user("alice@example.org", created_at=long_ago)  # active, monthly
    bob = make_user("bob@example.org", created_at=long_ago)  # past due: still paying
    carol = make_user("carol@example.org")  # active, yearly: a twelfth a month
    dave = make_user("dave@example.org", created_at=long_ago)  # canceled this month
    make_user("erin@example.org", complimentary_tier_id=patron.id)  # complimentary
    make_user("frank@example.org", confirmed=False)  # unconfirmed reader
    olga = make_user("olga@example.org", created_at=long_ago)  # left three months ago
    nina = make_user("nina@example.org", created_at=long_ago)  # first payment never went through

    subscription(alice, supporter, amount=500, created=add_months(this_month, -2) + timedelta(10))
    subscription(bob, patron, status="past_due", amount=1500, created=this_month - timedelta(5))
    subscription(carol, patron, interval="year", amount=15000, created=now)
    subscription(
        dave,
        supporter,
        status="canceled",
        amount=500,
        created=add_months(this_month, -2) + timedelta(3),
        ended=now,
    )
    subscription(
        olga,
        supporter,
        status="canceled",
        amount=700,
        created=add_months(this_month, -5),
        ended=add_months(this_month, -3) + timedelta(1),
    )
    subscription(nina, patron, status="incomplete_expired", amount=9900, created=now, ended=now)

    payment("pi_plain", 2500, now)
    payment("pi_refunded", 1000, now, refunded=400)
    payment("pi_disputed", 3000, now, disputed=True)
    payment("pi_last_month", 700, this_month - timedelta(hours=1))
    payment("pi_last_year", 9999, this_month.replace(month=1) - timedelta(days=40))

    story = make_article()
    comments = [
        Comment(article_id=story.id, author_id=alice.id, body="Today 1", created_at=now),
        Comment(article_id=story.id, author_id=bob.id, body="Today 2", created_at=now),
        Comment(
            article_id=story.id, author_id=bob.id, body="Yesterday", created_at=now - timedelta(1)
        ),
    ]
    db.session.add_all(comments)
    db.session.flush()
    db.session.add_all(
        [
            CommentReport(comment_id=comments[0].id, reporter_id=bob.id, reason="spam"),
            CommentReport(comment_id=comments[1].id, reporter_id=alice.id, reason="abuse"),
            CommentReport(
                comment_id=comments[2].id,
                reporter_id=alice.id,
                reason="other",
                status="dismissed",
            ),
        ]
    )
    db.session.commit()
    return now


# --- figures ------------------------------------------------------------------------------------


def test_dashboard_figures_from_a_known_dataset(admin_client, dataset):
    now = dataset
    response = admin_client.get("/admin")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The admin, alice, bob, carol, dave, erin, frank, olga, nina.
    assert stat(page, "members") == "9"
    assert stat(page, "confirmed") == "8"  # all but frank
    assert stat(page, "paying") == "4"  # alice, bob (past due), carol, erin (complimentary)
    # 500 monthly + 1,500 past due + 15,000 yearly / 12; canceled and never-paid left out.
    assert stat(page, "mrr") == "$32.50"
    assert stat(page, "new") == "4"  # the admin, carol, erin and frank
    assert stat(page, "churned") == "1"  # dave; olga left earlier, nina never paid
    # 2,500 + (1,000 - 400 refunded) + 0 for the disputed payment.
    assert stat(page, "sponsorships-month") == "$31"
    this_year = 3100 + (700 if now.month > 1 else 0)
    assert stat(page, "sponsorships-year") == f"${this_year / 100:,.0f}"
    assert stat(page, "comments-today") == "2"
    assert stat(page, "open-reports") == "2"
    assert 'href="/admin/comments"' in page

    tiers = table_rows(page, "paying-by-tier")
    assert tiers == {"Supporter": ["1", "0", "1"], "Patron": ["2", "1", "3"]}


def test_dashboard_series_per_month(admin_client, dataset):
    now = dataset
    this_month = month_start(now)
    page = admin_client.get("/admin").get_data(as_text=True)

    mrr = table_rows(page, "chart-mrr-caption")
    assert len(mrr) == 12
    assert list(mrr)[-1] == label(now)
    assert mrr[label(now)] == ["$32.50"]  # the current month reads now
    # At the end of last month: alice, bob and dave (who left this month).
    assert mrr[label(add_months(this_month, -1))] == ["$25"]
    assert mrr[label(add_months(this_month, -2))] == ["$10"]  # alice and dave
    assert mrr[label(add_months(this_month, -3))] == ["$0"]  # olga left in that month
    assert mrr[label(add_months(this_month, -4))] == ["$7"]  # olga

    members = table_rows(page, "chart-members-caption")
    assert len(members) == 12
    # (new accounts, accounts at the month's end): four this month, five six months ago.
    assert members[label(now)] == ["4", "9"]
    assert members[label(add_months(this_month, -1))] == ["0", "5"]
    assert members[label(add_months(this_month, -6))] == ["5", "5"]
    assert members[label(add_months(this_month, -7))] == ["0", "0"]

    sponsorships = table_rows(page, "chart-sponsorships-caption")
    assert sponsorships[label(now)] == ["$31"]
    assert sponsorships[label(add_months(this_month, -1))] == ["$7"]
    assert len(sponsorships) == 12


def test_charts_are_inline_svg_images_each_followed_by_its_table(admin_client, dataset):
    page = admin_client.get("/admin").get_data(as_text=True)
    charts = re.findall(r"<svg\b[^>]*>.*?</svg>", page, re.S)
    assert len(charts) == 3
    for chart in charts:
        opening = re.match(r"<svg\b[^>]*>", chart).group(0)
        assert 'role="img"' in opening
        title_id = re.search(r'aria-labelledby="([^"]+)"', opening).group(1)
        desc_id = re.search(r'aria-describedby="([^"]+)"', opening).group(1)
        assert re.search(rf'<title id="{title_id}">[^<]+</title>', chart)
        assert re.search(rf'<desc id="{desc_id}">[^<]+</desc>', chart)
        assert "<rect" in chart or "<polyline" in chart
        after = page[page.index(chart) + len(chart) :]
        next_table, next_svg = after.find("<table"), after.find("<svg")
        assert next_table != -1 and (next_svg == -1 or next_table < next_svg)
    # Nothing loaded from elsewhere, and no script needed.
    assert re.findall(r'<script[^>]*src="([^"]+)"', page) == ["/static/site.js"]
    assert "cdn" not in page.lower()
    # Bars and dots carry the month's value; the bar of the current month is drawn.
    assert f"<title>{label(dataset)}: $31</title>" in page
    assert f"<title>{label(dataset)}: $32.50</title>" in page


def test_tables_have_header_scopes(admin_client, dataset):
    page = admin_client.get("/admin").get_data(as_text=True)
    assert page.count("<table") == 4
    assert "<th>" not in page and "<th " not in page.replace("<th scope=", "")


def test_moderators_get_a_page_leading_to_comment_moderation(make_staff_client):
    client = make_staff_client("moderator")
    response = client.get("/admin")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/admin/comments"' in page
    assert "stat-members" not in page and "<svg" not in page


# --- statements ---------------------------------------------------------------------------------


def add_members(count: int, start: int, article_id: int, tier_id: int) -> None:
    """Members with a subscription, a gift and a comment each, in a few statements."""
    now = utcnow()
    users = [
        User(
            email=f"member{number}@example.org",
            display_name=f"Member {number}",
            password_hash="not-a-real-hash",
            email_confirmed_at=now,
            created_at=now - timedelta(days=number % 400),
        )
        for number in range(start, start + count)
    ]
    db.session.add_all(users)
    db.session.flush()
    for user in users:
        db.session.add(
            Subscription(
                user_id=user.id,
                tier_id=tier_id,
                stripe_subscription_id=f"sub_{user.id}",
                stripe_customer_id=f"cus_{user.id}",
                interval="year" if user.id % 2 else "month",
                amount=5000 if user.id % 2 else 500,
                currency="usd",
                status="active" if user.id % 3 else "canceled",
                created_at=user.created_at,
                ended_at=None if user.id % 3 else now,
            )
        )
        db.session.add(Comment(article_id=article_id, author_id=user.id, body="Hello"))
        payment(f"pi_member_{user.id}", 1000, user.created_at)
    db.session.commit()


def statements_for(client, url: str) -> int:
    client.get(url)  # warm-up: the settings cache and the session touch
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return count


def test_dashboard_statements_do_not_grow_with_members(admin_client, make_article):
    tier = Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000)
    db.session.add(tier)
    db.session.commit()
    story = make_article()
    add_members(10, 0, story.id, tier.id)
    few = statements_for(admin_client, "/admin")
    add_members(190, 10, story.id, tier.id)
    many = statements_for(admin_client, "/admin")
    page = admin_client.get("/admin").get_data(as_text=True)
    assert stat(page, "members") == "201"  # the figures did see the new members
    assert many == few
    assert few <= 20


# --- the audit log ------------------------------------------------------------------------------


@pytest.fixture
def audit_trail(admin_client, make_user):
    """Events by two staff members on several targets over several days."""
    admin = admin_client.user
    moderator = make_user("mod@example.org", role="moderator")
    member = make_user("member@example.org")
    now = utcnow()

    def add(actor, action, target_type, target_id, days_ago, marker, ip="203.0.113.9"):
        db.session.add(
            AuditEvent(
                actor_id=actor.id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                details={"marker": marker},
                ip_address=ip,
                created_at=now - timedelta(days=days_ago),
            )
        )

    add(admin, "article.save", "article", 7, 10, "m-article-save")
    add(admin, "article.publish", "article", 7, 9, "m-article-publish")
    add(moderator, "comment.hide", "comment", 3, 5, "m-comment-hide", ip="198.51.100.4")
    add(admin, "member.suspend", "user", member.id, 2, "m-member-suspend")
    add(admin, "settings.update", "settings", None, 0, "m-settings")
    db.session.commit()
    return {"now": now, "member": member, "moderator": moderator}


def markers(client, query: str = "", status: int = 200) -> list[str]:
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == status
    # Only the fixture's markers: a random token on the page (CSRF, nonce) may contain "m-x".
    return re.findall(
        r"m-(?:article-save|article-publish|comment-hide|member-suspend|settings)\b",
        response.get_data(as_text=True),
    )


def test_audit_log_lists_everything_newest_first(admin_client, audit_trail):
    response = admin_client.get("/admin/audit")
    page = response.get_data(as_text=True)
    assert markers(admin_client) == [
        "m-settings",
        "m-member-suspend",
        "m-comment-hide",
        "m-article-publish",
        "m-article-save",
    ]
    member = audit_trail["member"]
    # Who, on whom (a member links to their page), from where.
    assert f'<a href="/admin/members/{member.id}">member@example.org</a>' in page
    assert "mod@example.org" in page and "198.51.100.4" in page
    assert "article #7" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?action=article", ["m-article-publish", "m-article-save"]),
        ("?action=article.pub", ["m-article-publish"]),
        ("?action=%25", []),  # LIKE wildcards are taken literally
        ("?actor=MOD@example.org", ["m-comment-hide"]),
        ("?target_type=user", ["m-member-suspend"]),
        ("?target_type=article&action=article.save", ["m-article-save"]),
    ],
)
def test_audit_log_filters(admin_client, audit_trail, query, expected):
    assert markers(admin_client, query) == expected


def test_audit_log_filters_by_date_range(admin_client, audit_trail):
    now = audit_trail["now"]
    since = (now - timedelta(days=9)).date().isoformat()
    until = (now - timedelta(days=2)).date().isoformat()
    assert markers(admin_client, f"?since={since}&until={until}") == [
        "m-member-suspend",
        "m-comment-hide",
        "m-article-publish",
    ]
    day = (now - timedelta(days=5)).date().isoformat()
    assert markers(admin_client, f"?since={day}&until={day}") == ["m-comment-hide"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?since=yesterday", "Not a valid date value."),
        ("?since=2025-03-10&until=2025-03-01", "The end date cannot be before the start date."),
    ],
)
def test_bad_audit_filters_are_explained(admin_client, audit_trail, query, message):
    response = admin_client.get(f"/admin/audit{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "m-article-save" not in page


def test_audit_log_pages_by_fifty_and_keeps_the_filters(admin_client, audit_trail):
    admin = admin_client.user
    now = utcnow()
    db.session.add_all(
        AuditEvent(
            actor_id=admin.id,
            action="bulk.label",
            target_type="user",
            target_id=None,
            details={"n": number},
            created_at=now - timedelta(minutes=number),
        )
        for number in range(51)
    )
    db.session.commit()
    first = admin_client.get("/admin/audit?action=bulk").get_data(as_text=True)
    assert first.count("<code>bulk.label</code>") == 50
    assert "51 entries match the filters." in first
    assert "Page 1 of 2" in first
    assert 'href="/admin/audit?page=2&amp;action=bulk"' in first
    second = admin_client.get("/admin/audit?action=bulk&page=2").get_data(as_text=True)
    assert second.count("<code>bulk.label</code>") == 1
    assert "<strong>n</strong>: 50" in second  # the oldest one


def test_audit_log_is_append_only(app, admin_client, audit_trail):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/audit")]
    assert rules
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    token = admin_client.csrf_token("/admin/settings")
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = admin_client.open("/admin/audit", method=method, data={"csrf_token": token})
        assert response.status_code == 405, method
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


@pytest.mark.parametrize("role", ["moderator", "editor"])
def test_audit_log_is_for_administrators(audit_trail, make_staff_client, role):
    client = make_staff_client(role)
    assert client.get("/admin/audit").status_code == 403


def test_dashboard_lists_the_stories_that_brought_sponsorships(admin_client, make_article):
    from membership.models import Sponsorship, SponsorshipPayment

    article = make_article(slug="port-story", title="Port story")
    gift = Sponsorship(
        frequency="once",
        amount=4200,
        currency="usd",
        recognition="anonymous",
        status="paid",
        article_id=article.id,
    )
    db.session.add(gift)
    db.session.flush()
    db.session.add(SponsorshipPayment(sponsorship_id=gift.id, stripe_reference="pi_1", amount=4200))
    db.session.commit()
    page = admin_client.get("/admin").get_data(as_text=True)
    section = page.split("Stories that brought sponsorships")[1]
    assert "Port story" in section and "$42" in section
