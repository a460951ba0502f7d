"""Reading the portal: listings, pagination, sections and tags, access levels, safe Markdown."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from itertools import count
from urllib.parse import parse_qs, urlsplit

import pytest

from membership.extensions import db
from membership.models import Article, Section, Tag
from membership.models.types import utcnow

PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_section(app):
    def factory(slug: str = "world", name: str | None = None, **fields) -> Section:
        section = Section(slug=slug, name=name or slug.title(), **fields)
        db.session.add(section)
        db.session.commit()
        return section

    return factory


@pytest.fixture
def make_article(app, make_section):
    """Create an article; published an hour ago in the section "world" unless told otherwise."""
    numbers = count(1)
    default_section = []

    def factory(
        title: str | None = None,
        *,
        section: Section | None = None,
        status: str = "published",
        access: str = "public",
        published_at=None,
        hours_ago: float = 1,
        summary: str | None = None,
        body: str = "The body of the story.",
        tags: tuple[Tag, ...] = (),
        slug: str | None = None,
    ) -> Article:
        number = next(numbers)
        if section is None:
            if not default_section:
                default_section.append(make_section("world", "World"))
            section = default_section[0]
        title = title or f"Story number {number}"
        article = Article(
            slug=slug or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
            title=title,
            summary=summary if summary is not None else f"Summary of {title}.",
            body=body,
            author_name="Ines Halvorsen",
            section=section,
            status=status,
            access_level=access,
            published_at=published_at or (utcnow() - timedelta(hours=hours_ago)),
        )
        article.tags.extend(tags)
        db.session.add(article)
        db.session.commit()
        return article

    return factory


def text_of(response) -> str:
    return response.get_data(as_text=True)


def story_body(html: str) -> str:
    """The rendered article body (nh3 allows no <div>, so the first </div> closes it)."""
    start = html.index('<div class="story-body">')
    return html[start : html.index("</div>", start)]


def paywall(html: str) -> str:
    start = html.index('<aside class="paywall"')
    return html[start : html.index("</aside>", start)]


class TagCollector(HTMLParser):
    """Every element and attribute of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def elements_of(html: str):
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector.elements


# --- listings -------------------------------------------------------------------------------


def test_home_lists_published_articles_newest_first(client, make_article):
    make_article("Middle story", hours_ago=5)
    make_article("Newest story", hours_ago=1)
    make_article("Oldest story", hours_ago=30)
    page = text_of(client.get("/"))
    positions = [page.index(title) for title in ("Newest story", "Middle story", "Oldest story")]
    assert positions == sorted(positions)


def test_home_hides_drafts_and_future_articles(client, make_article):
    make_article("Visible story")
    make_article("Draft story", status="draft")
    make_article("Scheduled story", published_at=utcnow() + timedelta(hours=2))
    response = client.get("/")
    assert response.status_code == 200
    page = text_of(response)
    assert "Visible story" in page
    assert "Draft story" not in page and "draft-story" not in page
    assert "Scheduled story" not in page and "scheduled-story" not in page


def test_home_without_articles_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No stories here yet" in text_of(response)


@pytest.fixture
def five_stories(make_app, make_article):
    """Five stories, "Story 1" the newest, two per page."""
    app = make_app(ARTICLES_PER_PAGE=2)
    with app.app_context():
        for number in range(1, 6):
            make_article(f"Story {number}", hours_ago=number)
        yield app.test_client()


TITLES = [f"Story {number}" for number in range(1, 6)]


def titles_on(response) -> list[str]:
    page = text_of(response)
    return [title for title in TITLES if f">{title}</a>" in page]


def test_pagination_pages(five_stories):
    assert titles_on(five_stories.get("/")) == ["Story 1", "Story 2"]
    second = five_stories.get("/?page=2")
    assert second.status_code == 200
    assert titles_on(second) == ["Story 3", "Story 4"]
    assert 'rel="prev"' in text_of(second) and 'rel="next"' in text_of(second)
    assert titles_on(five_stories.get("/?page=3")) == ["Story 5"]


@pytest.mark.parametrize("page", ["4", "99", str(10**20)])
def test_a_page_past_the_end_has_no_articles_and_no_error(five_stories, page):
    response = five_stories.get(f"/?page={page}")
    assert response.status_code in (200, 404), response.status_code
    assert titles_on(response) == []


@pytest.mark.parametrize("page", ["abc", "", "0", "-1", "1.5", "%00"])
def test_a_malformed_page_number_is_not_an_error(five_stories, page):
    response = five_stories.get(f"/?page={page}")
    assert response.status_code in (200, 400, 404), response.status_code
    if response.status_code == 200:
        assert titles_on(response) == ["Story 1", "Story 2"]


# --- sections and tags ----------------------------------------------------------------------


def test_section_page_lists_only_its_published_articles(client, make_section, make_article):
    world = make_section("world", "World", description="News from everywhere else.")
    business = make_section("business", "Business")
    make_article("Harbor treaty signed", section=world)
    make_article("Port hiring rises", section=business)
    make_article("Unfinished world draft", section=world, status="draft")

    response = client.get("/section/world")
    assert response.status_code == 200
    page = text_of(response)
    assert "Harbor treaty signed" in page
    assert "News from everywhere else." in page
    assert "Port hiring rises" not in page
    assert "Unfinished world draft" not in page

    business_page = text_of(client.get("/section/business"))
    assert "Port hiring rises" in business_page and "Harbor treaty signed" not in business_page


def test_tag_page_lists_only_tagged_published_articles(client, make_article):
    climate = Tag(slug="climate", name="Climate")
    db.session.add(climate)
    make_article("Emission talks stall", tags=(climate,))
    make_article("Budget vote delayed")
    make_article("Climate draft", tags=(climate,), status="draft")

    response = client.get("/tag/climate")
    assert response.status_code == 200
    page = text_of(response)
    assert "Emission talks stall" in page
    assert "Budget vote delayed" not in page
    assert "Climate draft" not in page


@pytest.mark.parametrize("path", ["/section/no-such-section", "/tag/no-such-tag"])
def test_unknown_section_or_tag_is_404(client, make_article, path):
    make_article("Some story")
    assert client.get(path).status_code == 404


# --- the article page -----------------------------------------------------------------------


def test_published_article_page_shows_the_story(client, make_article):
    make_article("Water partnership signed", body="Engineers from both utilities will meet.")
    response = client.get("/articles/water-partnership-signed")
    assert response.status_code == 200
    page = text_of(response)
    assert "Water partnership signed" in page
    assert "Engineers from both utilities will meet." in story_body(page)


def test_draft_article_is_404(client, make_article):
    make_article("Secret draft", status="draft", body="DRAFT-BODY-MARKER")
    response = client.get("/articles/secret-draft")
    assert response.status_code == 404
    assert "DRAFT-BODY-MARKER" not in text_of(response)


def test_scheduled_article_is_404_before_its_publication_time(client, make_article):
    make_article(
        "Embargoed results",
        published_at=utcnow() + timedelta(days=1),
        body="EMBARGOED-BODY-MARKER",
    )
    response = client.get("/articles/embargoed-results")
    assert response.status_code == 404
    assert "EMBARGOED-BODY-MARKER" not in text_of(response)


def test_published_article_without_a_date_is_not_an_error(client, make_article):
    article = make_article("Undated story")
    article.published_at = None
    db.session.commit()
    assert "Undated story" not in text_of(client.get("/"))
    response = client.get("/articles/undated-story")
    assert response.status_code in (200, 404), response.status_code


def test_unknown_article_is_404(client):
    assert client.get("/articles/nothing-here").status_code == 404


# --- access levels --------------------------------------------------------------------------


@pytest.fixture
def members_story(make_article):
    return make_article(
        "Council budget analysis",
        access="members",
        summary="What the budget means for Millbrook.",
        body="MEMBERS-BODY-MARKER: the line-by-line analysis.",
    )


@pytest.fixture
def paid_story(make_article):
    return make_article(
        "Port authority investigation",
        access="paid",
        summary="Six months of records requests.",
        body="PAID-BODY-MARKER: what the records show.",
    )


def test_members_article_invites_anonymous_readers_to_sign_in(client, members_story):
    response = client.get(f"/articles/{members_story.slug}")
    assert response.status_code == 200
    page = text_of(response)
    assert "What the budget means for Millbrook." in page
    assert "MEMBERS-BODY-MARKER" not in page
    invitation = paywall(page)
    assert "registered readers" in invitation
    links = [dict(attrs).get("href", "") for tag, attrs in elements_of(invitation) if tag == "a"]
    sign_in = [urlsplit(link) for link in links if urlsplit(link).path == "/login"]
    assert sign_in, links
    assert parse_qs(sign_in[0].query)["next"] == [f"/articles/{members_story.slug}"]
    assert 'href="/register"' in invitation

    home = text_of(client.get("/"))
    assert "Council budget analysis" in home and "MEMBERS-BODY-MARKER" not in home


def test_members_article_body_is_shown_to_a_signed_in_reader(signed_in, members_story):
    response = signed_in.get(f"/articles/{members_story.slug}")
    assert response.status_code == 200
    page = text_of(response)
    assert "MEMBERS-BODY-MARKER" in story_body(page)
    assert '<aside class="paywall"' not in page
    assert response.headers.get("Cache-Control") == "no-store"


def test_members_article_body_is_shown_to_an_unconfirmed_reader(
    client, login, make_user, members_story
):
    make_user("waiting@example.org", confirmed=False)
    assert login(client, "waiting@example.org", PASSWORD).status_code == 302
    assert "MEMBERS-BODY-MARKER" in text_of(client.get(f"/articles/{members_story.slug}"))


def test_paid_article_body_is_hidden_from_anonymous_readers(client, paid_story):
    page = text_of(client.get(f"/articles/{paid_story.slug}"))
    assert "Six months of records requests." in page
    assert "PAID-BODY-MARKER" not in page
    assert "for subscribers" in paywall(page)


def test_paid_article_body_is_hidden_from_a_signed_in_reader(signed_in, paid_story):
    response = signed_in.get(f"/articles/{paid_story.slug}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Six months of records requests." in page
    assert "PAID-BODY-MARKER" not in page
    invitation = paywall(page)
    assert "for subscribers" in invitation
    assert "/login" not in invitation


@pytest.mark.parametrize("role", ["admin", "moderator"])
def test_paid_article_body_is_shown_to_staff(client, login, make_user, paid_story, role):
    make_user(f"{role}@example.org", role=role)
    assert login(client, f"{role}@example.org", PASSWORD).status_code == 302
    page = text_of(client.get(f"/articles/{paid_story.slug}"))
    assert "PAID-BODY-MARKER" in story_body(page)
    assert '<aside class="paywall"' not in page


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_is_rendered(client, make_article):
    make_article(
        "Formatted story",
        body="Intro with *emphasis* and a [link](https://example.org/report).\n\n"
        "## What comes next\n\n- first point\n- second point\n",
    )
    body = story_body(text_of(client.get("/articles/formatted-story")))
    assert "<h2>What comes next</h2>" in body
    assert "<em>emphasis</em>" in body
    assert "<li>first point</li>" in body
    assert re.search(r'<a href="https://example.org/report"[^>]*>link</a>', body)


HOSTILE_BODY = """## Heading survives

<script>alert(1)</script>

<img src=x onerror=alert(1)>

<svg onload=alert(1)></svg> <a href="javascript:alert(1)">raw link</a>

<iframe src="javascript:alert(1)"></iframe>

[x](javascript:alert(1)) [y](JAVASCRIPT:alert(1)) [z](  javascript:alert(1))

[w](&#106;avascript:alert(1))

![img](javascript:alert(1)) <javascript:alert(1)> [d](data:text/html;base64,PHNjcmlwdD4=)

[v](vbscript:msgbox(1)) [ok](https://example.org/fine)
"""


def test_markdown_is_sanitised(client, make_article):
    make_article("Hostile story", body=HOSTILE_BODY)
    response = client.get("/articles/hostile-story")
    assert response.status_code == 200
    page = text_of(response)
    assert "<h2>Heading survives</h2>" in story_body(page)
    assert "<script" not in story_body(page).lower()
    # The only scripts on the page are the site's own files.
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/site.js" defer>',
        '<script src="/static/htmx.min.js" defer>',
    ]
    assert "<iframe" not in page.lower() and "<svg" not in page.lower()

    for tag, attributes in elements_of(page):
        for name, value in attributes:
            assert not name.startswith("on"), f"<{tag} {name}={value!r}>"
            if name in ("href", "src", "action", "formaction") and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not scheme.startswith(("javascript:", "vbscript:", "data:")), (
                    f"<{tag} {name}={value!r}>"
                )
    assert '<a href="https://example.org/fine"' in page


def test_hostile_summary_and_title_are_escaped(client, make_article):
    make_article(
        "<script>alert(1)</script>",
        slug="hostile-title",
        summary='<img src=x onerror="alert(1)">',
    )
    for path in ("/", "/articles/hostile-title"):
        page = text_of(client.get(path))
        assert "<script>alert(1)" not in page
        assert not [
            (tag, name)
            for tag, attrs in elements_of(page)
            for name, _ in attrs
            if name == "onerror"
        ]
