"""The admin screens: applicable actions, one confirmation step, words instead of codes, links."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.models import AuditEvent, Comment, CommentReport, MemberLabel, Tier, User
from membership.models.types import utcnow


@pytest.fixture
def tier(app):
    tier = Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000)
    db.session.add(tier)
    db.session.commit()
    return tier


def offered(page: str, user: User) -> set[str]:
    """The actions whose forms the member page shows."""
    return set(re.findall(rf'action="/admin/members/{user.id}/(\w+)"', page))


def member_page(admin_client, user: User) -> str:
    response = admin_client.get(f"/admin/members/{user.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_active_confirmed_member_is_offered_no_reactivate_resend_or_end_comp(
    app, admin_client, make_user, login, tier
):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    login(app.test_client(), member.email)
    actions = offered(member_page(admin_client, member), member)
    assert {"reactivate", "resend_confirmation", "end_comp", "remove_label"} & actions == set()
    assert {"suspend", "ban", "sign_out", "delete", "grant_comp", "add_label", "note"} <= actions


def test_a_suspended_unconfirmed_complimentary_member_is_offered_what_applies(
    admin_client, make_user, tier
):
    member = make_user(
        "rosa@example.org",
        display_name="Rosa Reader",
        confirmed=False,
        status="suspended",
        status_reason="spam",
        complimentary_tier_id=tier.id,
    )
    db.session.add(MemberLabel(user_id=member.id, label="press"))
    db.session.commit()
    actions = offered(member_page(admin_client, member), member)
    assert {"reactivate", "resend_confirmation", "end_comp", "remove_label", "ban"} <= actions
    assert "suspend" not in actions, "already suspended"
    assert "sign_out" not in actions, "no session to end"


def test_your_own_page_offers_nothing_that_locks_you_out(admin_client):
    actions = offered(member_page(admin_client, admin_client.user), admin_client.user)
    assert {"suspend", "ban", "delete", "sign_out"} & actions == set()


def test_the_member_page_has_groups_and_no_i_confirm_boxes(admin_client, make_user):
    page = member_page(admin_client, make_user("rosa@example.org", display_name="Rosa Reader"))
    for heading in ("Account", "Membership", "Labels and notes", "Danger zone"):
        assert f">{heading}</h2>" in page
    assert "I confirm" not in page
    assert 'type="checkbox"' not in page


@pytest.mark.parametrize(
    ("fields", "action", "message"),
    [
        ({}, "reactivate", "Rosa Reader is already active."),
        ({}, "resend_confirmation", "Rosa Reader has already confirmed rosa@example.org."),
        ({}, "end_comp", "Rosa Reader has no complimentary membership."),
        ({"status": "banned", "status_reason": "x"}, "ban", "cannot be banned"),
    ],
)
def test_an_action_that_does_not_apply_is_refused_with_its_reason(
    admin_client, make_user, fields, action, message
):
    member = make_user("rosa@example.org", display_name="Rosa Reader", **fields)
    response = admin_client.submit(
        f"/admin/members/{member.id}/{action}",
        {"confirmed": "yes"},
        page=f"/admin/members/{member.id}",
    )
    assert response.status_code == 302
    assert message in member_page(admin_client, member)
    assert db.session.scalars(select(AuditEvent.action)).all() == []


def test_suspending_asks_once_then_says_what_happened(admin_client, make_user):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    form = {"reason": "spam", "until": "2099-01-12"}
    ask = admin_client.submit(
        f"/admin/members/{member.id}/suspend", form, page=f"/admin/members/{member.id}"
    )
    assert ask.status_code == 200
    question = ask.get_data(as_text=True)
    assert "Suspend Rosa Reader until 12 Jan 2099?" in question
    assert "“spam”" in question and 'name="confirmed" value="yes"' in question
    assert db.session.get(User, member.id).status == "active", "asking changes nothing"

    done = admin_client.submit(
        f"/admin/members/{member.id}/suspend",
        {**form, "confirmed": "yes"},
        page=f"/admin/members/{member.id}",
    )
    assert done.status_code == 302
    assert db.session.get(User, member.id).status == "suspended"
    page = member_page(admin_client, member)
    assert "Rosa Reader is suspended until 12 Jan 2099." in page
    assert "Done." not in page


def test_a_bad_reason_is_refused_before_the_confirmation_page(admin_client, make_user):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    response = admin_client.submit(
        f"/admin/members/{member.id}/ban", {"reason": " "}, page=f"/admin/members/{member.id}"
    )
    assert response.status_code == 302
    assert "Give a reason" in member_page(admin_client, member)


def test_the_bulk_panel_never_includes_the_acting_admin(admin_client, make_user):
    for number in range(2):
        make_user(f"reader{number}@example.org")
    page = admin_client.get("/admin/members").get_data(as_text=True)
    assert 'Members <span class="muted">(3)</span>' in page
    assert "Act on all 2 selected members" in page
    assert "Suspend (reason required)" in page
    admin_client.submit(
        "/admin/members/bulk",
        {"action": "add_label", "value": "wave", "confirmed": "yes"},
        page="/admin/members",
    )
    labelled = set(db.session.scalars(select(MemberLabel.user_id)))
    assert admin_client.user.id not in labelled
    assert len(labelled) == 2


def test_only_the_admin_selected_means_no_bulk_panel(admin_client):
    page = admin_client.get("/admin/members?q=admin@").get_data(as_text=True)
    assert "admin@example.org" in page
    assert "Act on all" not in page


def test_the_members_list_keeps_rare_filters_behind_more_filters(admin_client):
    page = admin_client.get("/admin/members").get_data(as_text=True)
    more = page.index("<summary>More filters</summary>")
    assert page.index('id="status"') < more < page.index('id="tier"')
    assert '<details class="more-filters">' in page, "closed while no rare filter is on"
    opened = admin_client.get("/admin/members?twofa=on").get_data(as_text=True)
    assert '<details class="more-filters" open>' in opened


def test_the_audit_log_and_timeline_speak_words_and_keep_the_code(admin_client, make_user):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    admin_client.submit(
        f"/admin/members/{member.id}/suspend",
        {"reason": "spam", "confirmed": "yes"},
        page=f"/admin/members/{member.id}",
    )
    admin_client.submit(
        f"/admin/members/{member.id}/add_label",
        {"label": "Press"},
        page=f"/admin/members/{member.id}",
    )
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "suspended Rosa Reader: spam" in log
    assert "labelled Rosa Reader “press”" in log
    assert 'href="/admin/audit?action=member.suspend"' in log
    filtered = admin_client.get("/admin/audit?action=member.suspend").get_data(as_text=True)
    assert "suspended Rosa Reader" in filtered and "labelled Rosa Reader" not in filtered
    timeline = member_page(admin_client, member)
    admin_name = admin_client.user.display_name
    assert f"{admin_name} suspended Rosa Reader: spam" in timeline
    assert "Staff: member.suspend" not in timeline


def test_the_moderation_queue_links_each_comment_to_its_place(admin_client, make_user, article):
    author = make_user("loud@example.org")
    reporter = make_user("r@example.org")
    comment = Comment(article_id=article.id, author_id=author.id, body="Rant")
    db.session.add(comment)
    db.session.flush()
    db.session.add(CommentReport(comment_id=comment.id, reporter_id=reporter.id, reason="abuse"))
    comment.open_report_count = 1
    db.session.commit()
    page = admin_client.get("/admin/comments").get_data(as_text=True)
    assert f'href="/articles/{article.slug}#c{comment.id}"' in page
    assert article.title in page


def test_articles_newest_first_with_status_filters(admin_client, make_article):
    now = utcnow()
    make_article(slug="old-news", title="Old news", published_at=now - timedelta(days=9))
    make_article(slug="fresh-news", title="Fresh news", published_at=now - timedelta(hours=1))
    make_article(slug="a-draft", title="A draft", status="draft", published_at=None)
    make_article(slug="tomorrow", title="Tomorrow", published_at=now + timedelta(days=1))
    page = admin_client.get("/admin/articles").get_data(as_text=True)
    order = [page.index(title) for title in ("Tomorrow", "Fresh news", "Old news")]
    assert order == sorted(order), "newest first"
    assert "A draft" in page
    for status, shown, hidden in [
        ("draft", {"A draft"}, {"Fresh news", "Tomorrow"}),
        ("scheduled", {"Tomorrow"}, {"Fresh news", "A draft"}),
        ("published", {"Fresh news", "Old news"}, {"Tomorrow", "A draft"}),
    ]:
        page = admin_client.get(f"/admin/articles?status={status}").get_data(as_text=True)
        assert all(title in page for title in shown), status
        assert not any(title in page for title in hidden), status
    assert admin_client.get("/admin/articles?status=nonsense").status_code == 200


def test_the_dashboard_keeps_its_tables_behind_a_disclosure(admin_client):
    page = admin_client.get("/admin").get_data(as_text=True)
    assert page.count("<summary>The figures, month by month</summary>") == 3
    assert 'class="chart-summary"' in page


def test_the_admin_area_has_its_own_footer(admin_client, client):
    admin_page = admin_client.get("/admin/members").get_data(as_text=True)
    assert 'class="admin-footer"' in admin_page
    assert "See membership plans" not in admin_page
    assert "See membership plans" in client.get("/").get_data(as_text=True)


def test_the_timeline_names_the_story_of_each_comment(admin_client, make_user, article):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    db.session.add(Comment(article_id=article.id, author_id=member.id, body="Hello"))
    db.session.commit()
    page = member_page(admin_client, member)
    assert f"Commented on “{article.title}”" in page
    assert f'href="/articles/{article.slug}#c' in page
