"""/admin/settings: validation, the audit trail of every change, and the settings taking effect."""

import re

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import AuditEvent, SiteSetting, Tier
from membership.settings import DEFAULTS, get_setting

# The form as it comes with the default settings.
VALID = {
    "comment_policy": "everyone",
    "comments_auto_close_days": "0",
    "report_threshold": "3",
    "hold_first_comments": "0",
    "hold_words": "",
    "sponsor_presets": "5, 10, 25, 50, 100",
    "sponsor_min": "1",
    "sponsor_max": "10000",
    "sponsor_levels": "Friends: 0\nPatrons: 25\nChampions: 100",
    "sponsor_goal_amount": "2000",
    "sponsor_goal_text": "$2,000 a month funds an investigative reporter.",
    "site_name": "",
    "currency": "USD",
}


def save(client, **changes):
    return client.submit("/admin/settings", {**VALID, **changes})


def audit_events(action: str = "settings.update") -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_the_page_shows_the_current_settings_with_a_label_for_every_field(admin_client):
    response = admin_client.get("/admin/settings")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    ids = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page)
    assert len(ids) == len(VALID) + 1  # and the hold_links checkbox
    for field_id in ids:
        assert f'<label for="{field_id}">' in page, field_id
    assert 'value="5, 10, 25, 50, 100"' in page
    assert "Friends: 0\nPatrons: 25\nChampions: 100</textarea>" in page
    assert 'value="USD"' in page
    assert "cannot change while paid tiers are in Stripe with another one" in page


def test_saving_unchanged_settings_records_nothing(admin_client):
    response = save(admin_client)
    assert response.status_code == 302
    assert db.session.scalars(select(SiteSetting)).all() == []
    assert audit_events() == []


def test_changes_are_saved_and_audited_with_old_and_new_values(admin_client):
    response = save(
        admin_client,
        report_threshold="5",
        hold_first_comments="2",
        hold_links="y",
        hold_words="casino\n\n  Free money  \nCASINO\n",
        sponsor_presets="30, 7,14, 7",
        sponsor_levels="Patrons: 25\nFriends: 0",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/settings"
    assert get_setting("report_threshold") == 5
    assert get_setting("hold_first_comments") == 2
    assert get_setting("hold_links") is True
    assert get_setting("hold_words") == ["casino", "Free money"]
    assert get_setting("sponsor_presets") == [7, 14, 30]
    assert get_setting("sponsor_levels") == [["Friends", 0], ["Patrons", 25]]
    [event] = audit_events()
    assert event.actor_id == admin_client.user.id
    assert event.target_type == "settings"
    assert event.ip_address == "127.0.0.1"
    assert event.details == {
        "report_threshold": {"old": 3, "new": 5},
        "hold_first_comments": {"old": 0, "new": 2},
        "hold_links": {"old": False, "new": True},
        "hold_words": {"old": [], "new": ["casino", "Free money"]},
        "sponsor_presets": {"old": [5, 10, 25, 50, 100], "new": [7, 14, 30]},
        "sponsor_levels": {
            "old": [["Friends", 0], ["Patrons", 25], ["Champions", 100]],
            "new": [["Friends", 0], ["Patrons", 25]],
        },
    }
    # The form shows what was saved, and the audit log shows the change.
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "casino\nFree money</textarea>" in page
    assert 'value="7, 14, 30"' in page
    log = admin_client.get("/admin/audit?action=settings").get_data(as_text=True)
    assert "<strong>report threshold</strong>: 3 → 5" in log


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"comment_policy": "anyone"}, "Not a valid choice."),
        ({"comments_auto_close_days": "-1"}, "Enter a whole number from 0 to 3,650 days."),
        ({"report_threshold": "0"}, "Enter a whole number from 1 to 100 reports."),
        ({"report_threshold": ""}, "Enter a number of reports."),
        ({"hold_first_comments": "three"}, "Not a valid integer value."),
        ({"hold_first_comments": "101"}, "Enter a whole number from 0 to 100 comments."),
        ({"hold_words": "spam\n" + "x" * 51}, "is too long: at most 50 characters a line."),
        ({"hold_words": "\n".join(f"word{n}" for n in range(201))}, "At most 200 words"),
        ({"sponsor_presets": "5, ten"}, "“ten” is not a whole amount, like 5 or 25."),
        ({"sponsor_presets": "5, 2.50"}, "“2.50” is not a whole amount, like 5 or 25."),
        ({"sponsor_presets": " , "}, "Enter at least one suggested amount."),
        ({"sponsor_presets": "1,2,3,4,5,6,7,8,9"}, "At most 8 suggested amounts."),
        (
            {"sponsor_presets": "5, 20000"},
            "Suggested amounts must lie between the smallest (1) and the largest gift (10,000).",
        ),
        ({"sponsor_min": "0"}, "Enter a whole number from 1 to 999,999."),
        ({"sponsor_max": "1000000"}, "Enter a whole number from 1 to 999,999."),
        (
            {"sponsor_min": "50", "sponsor_max": "10", "sponsor_presets": "10"},
            "The largest gift cannot be smaller than the smallest.",
        ),
        (
            {"sponsor_levels": "Friends 0"},
            "Line 1: write a level as Name: lowest amount, e.g. Patrons: 25.",
        ),
        (
            {"sponsor_levels": "Friends: 0\nPatrons: lots"},
            "Line 2: write a level as Name: lowest amount, e.g. Patrons: 25.",
        ),
        (
            {"sponsor_levels": "Friends: 0\nfriends: 10"},
            "Line 2: there is already a level called friends.",
        ),
        (
            {"sponsor_levels": "Friends: 0\nPatrons: 0"},
            "Line 2: another level already starts at 0.",
        ),
        ({"sponsor_levels": "  \n"}, "Enter at least one level, e.g. Friends: 0."),
        ({"sponsor_goal_amount": "-5"}, "Enter a whole number from 0 to 10,000,000."),
        ({"sponsor_goal_text": "x" * 201}, "At most 200 characters."),
        ({"site_name": "x" * 81}, "At most 80 characters."),
        ({"currency": "dollars"}, "Enter a three-letter ISO currency code, like USD or EUR."),
        ({"currency": "E1R"}, "Enter a three-letter ISO currency code, like USD or EUR."),
        ({"currency": ""}, "Enter a currency code."),
        # Stripe refuses codes it does not know; the stricter stand-in Stripe showed checkouts
        # in them failing. Zero- and three-decimal currencies would be charged 100x or 10x off.
        ({"currency": "zzz"}, "ZZZ is not a currency Stripe can charge in."),
        ({"currency": "JPY"}, "JPY is not supported here: amounts on this site have two decimal"),
        ({"currency": "kwd"}, "KWD is not supported here: amounts on this site have two decimal"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(admin_client, changes, message):
    # A valid change rides along: it must not be saved either.
    response = save(admin_client, **{"report_threshold": "7", **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Please correct the highlighted field" in page
    assert db.session.scalars(select(SiteSetting)).all() == []
    assert audit_events() == []
    assert get_setting("report_threshold") == DEFAULTS["report_threshold"]


def synced_tier(slug: str, currency: str, product: str | None) -> Tier:
    tier = Tier(
        slug=slug,
        name=slug.title(),
        monthly_price=500,
        yearly_price=5000,
        currency=currency,
        stripe_product_id=product,
    )
    db.session.add(tier)
    db.session.commit()
    return tier


def test_currency_cannot_change_while_paid_tiers_are_in_stripe_in_another(admin_client):
    synced_tier("supporter", "usd", "prod_supporter")
    response = save(admin_client, currency="EUR")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        "The currency cannot change to EUR while paid tiers are in Stripe with another "
        "currency: Supporter (USD)."
    ) in page
    assert "Paid tiers in Stripe now:" in page
    assert get_setting("currency") == "usd"
    assert audit_events() == []
    # Other changes with an unchanged currency still work.
    assert save(admin_client, report_threshold="4").status_code == 302
    assert get_setting("report_threshold") == 4


def test_currency_changes_when_no_paid_tier_is_in_stripe_and_unsynced_tiers_follow(admin_client):
    draft = synced_tier("supporter", "usd", None)
    response = save(admin_client, currency="eur")
    assert response.status_code == 302
    assert get_setting("currency") == "eur"
    [event] = audit_events()
    assert event.details == {"currency": {"old": "usd", "new": "eur"}}
    [moved] = audit_events("tiers.currency")
    assert moved.details == {"tiers": ["supporter"], "new": "eur"}
    db.session.refresh(draft)
    assert draft.currency == "eur"
    assert "Amount (EUR)" in admin_client.get("/sponsor").get_data(as_text=True)


def test_currency_may_change_to_the_one_the_stripe_tiers_use(admin_client):
    synced_tier("supporter", "eur", "prod_supporter")
    assert save(admin_client, currency="EUR").status_code == 302
    assert get_setting("currency") == "eur"


def test_sponsor_presets_and_bounds_apply_on_the_sponsor_page(admin_client, client):
    before = client.get("/sponsor").get_data(as_text=True)
    assert 'data-value="25"' in before
    response = save(admin_client, sponsor_presets="7, 14, 30", sponsor_min="5", sponsor_max="40")
    assert response.status_code == 302
    page = client.get("/sponsor").get_data(as_text=True)
    assert re.findall(r'data-value="(\d+)"', page) == ["7", "14", "30"]
    assert "Amount, from 5 to 40" in page


def test_site_name_appears_in_the_header_and_can_go_back_to_the_configured_one(
    admin_client, client
):
    assert save(admin_client, site_name="  The Harbor Times ").status_code == 302
    assert get_setting("site_name") == "The Harbor Times"
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<a class="brand" href="/">The Harbor Times</a>', page)
    assert "<title>" in page and "The Harbor Times" in page.split("</title>")[0]
    assert "The Civic Ledger" not in page

    assert save(admin_client, site_name="").status_code == 302
    assert get_setting("site_name") is None
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<a class="brand" href="/">The Civic Ledger</a>', page)
    assert [event.details["site_name"] for event in audit_events()] == [
        {"old": None, "new": "The Harbor Times"},
        {"old": "The Harbor Times", "new": None},
    ]


def test_comment_policy_from_the_settings_page_closes_comments(
    admin_client, make_article, make_user, app, login
):
    make_article(slug="open-story")
    reader = make_user("reader@example.org")
    reader_client = app.test_client()
    login(reader_client, reader.email)
    assert 'name="body"' in reader_client.get("/articles/open-story").get_data(as_text=True)
    assert save(admin_client, comment_policy="closed").status_code == 302
    page = reader_client.get("/articles/open-story").get_data(as_text=True)
    assert "Comments are closed on this story." in page


def test_the_comment_settings_page_still_works(admin_client):
    page = admin_client.get("/admin/settings/comments")
    assert page.status_code == 200
    assert 'href="/admin/settings"' in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["moderator", "editor"])
def test_settings_are_for_administrators(make_staff_client, role):
    client = make_staff_client(role)
    assert client.get("/admin/settings").status_code == 403
    token = client.csrf_token("/account")
    response = client.post("/admin/settings", data={**VALID, "csrf_token": token})
    assert response.status_code == 403
    assert db.session.scalars(select(SiteSetting)).all() == []
