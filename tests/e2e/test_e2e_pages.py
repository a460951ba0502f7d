"""Every page of `pages.PAGES`: no serious or critical axe-core violation at desktop and phone
widths, and no sideways scrolling 375 pixels wide."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.actions import sign_in, sign_in_with_code
from tests.e2e.harness import (
    BLOCKING_IMPACTS,
    DESKTOP,
    PHONE,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    without_known_app_bugs,
)
from tests.e2e.pages import DEMO_ARTICLE, PAGES, PageSpec


@pytest.fixture(scope="module")
def discussion(site_data):
    """Comments on the demo story by two other readers (a thread with a reply), so the checked
    article page carries the discussion's markup: badges, likes, replies, report links."""
    first = "discussion-first@example.org"
    second = "discussion-second@example.org"
    site_data.create_user(first, "Marta Lindqvist")
    site_data.create_user(second, "Jonas Ekberg")
    parent = site_data.post_comment(
        first, DEMO_ARTICLE, "Good to see the utilities sharing data rather than money."
    )
    site_data.post_comment(second, DEMO_ARTICLE, "Agreed. Leak detection first.", reply_to=parent)
    return parent


@pytest.fixture(scope="module")
def wall(site_data):
    """Paid gifts at each level and recognition, so the checked wall carries its entries."""
    site_data.add_paid_sponsorship("Ingrid Halvorsen", 15000, message="For the council coverage.")
    site_data.add_paid_sponsorship("Pia Sandberg", 2500, frequency="monthly")
    site_data.add_paid_sponsorship("Tove Berg", 1000, recognition="name_only")
    site_data.add_paid_sponsorship("Hidden Giver", 500, recognition="anonymous")


@pytest.fixture(scope="module")
def reported(site_data, discussion):
    """A reported comment, so the checked moderation queue carries its table and forms."""
    site_data.create_user("discussion-reporter@example.org", "Nils Aronsson")
    site_data.report_comment(discussion, "discussion-reporter@example.org", "spam")


@pytest.fixture(scope="module")
def path_ids(site_data, discussion) -> dict[str, int]:
    """The ids the admin paths of `PAGES` need: a reader with comments, and the demo story."""
    from sqlalchemy import select

    from membership.models import Article

    with site_data.session() as session:
        article = session.scalar(select(Article.id).where(Article.slug == DEMO_ARTICLE))
    return {"member": site_data.user("discussion-first@example.org")["id"], "article": article}


@pytest.fixture
def open_page(
    new_context, make_reader, make_admin, site_data, discussion, wall, reported, path_ids
):
    """Open a listed page in a fresh browser of the given size, as its viewer."""

    def open_(spec: PageSpec, viewport: dict):
        page = new_context(viewport=viewport).new_page()
        if spec.viewer == "reader":
            email, name = make_reader("Checker")
            site_data.post_comment(email, DEMO_ARTICLE, "My own comment, with edit and delete.")
            sign_in(page, email, display_name=name)
        elif spec.viewer == "admin":
            email, name, secret = make_admin("Checking Editor")
            sign_in_with_code(page, email, secret, display_name=name)
        elif spec.viewer is not None:
            raise AssertionError(f"unknown viewer {spec.viewer!r}")
        path = spec.path.format(**path_ids)
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        expect(page.get_by_role("heading", level=1)).to_have_text(spec.heading)
        return page

    return open_


def blocking_violations(page) -> list[dict]:
    violations = without_known_app_bugs(axe_violations(page))
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


@pytest.mark.parametrize("spec", PAGES, ids=[spec.name for spec in PAGES])
def test_no_serious_or_critical_axe_violation_at_desktop_width(open_page, spec):
    page = open_page(spec, DESKTOP)
    blocking = blocking_violations(page)
    assert blocking == [], f"{spec.path} at 1280px:\n{describe_violations(blocking)}"


@pytest.mark.parametrize("spec", PAGES, ids=[spec.name for spec in PAGES])
def test_on_a_phone_no_sideways_scrolling_and_no_serious_axe_violation(open_page, spec):
    page = open_page(spec, PHONE)
    overflow = horizontal_overflow(page)
    assert overflow["viewport"] == PHONE["width"]
    assert overflow["scrollWidth"] <= overflow["viewport"], overflow
    assert overflow["culprits"] == [], overflow
    blocking = blocking_violations(page)
    assert blocking == [], f"{spec.path} at 375px:\n{describe_violations(blocking)}"


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_form_fields_carry_no_none_aria_values(page, path):
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    fields = page.locator("input:not([type=hidden]), textarea")
    assert fields.count() > 0
    assert page.locator('[aria-invalid="None"], [aria-describedby="None"]').count() == 0
