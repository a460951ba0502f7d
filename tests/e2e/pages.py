"""The pages every accessibility (axe-core) and phone-width check visits: the one list.

Add a page here and `test_e2e_pages.py` checks it at 1280 and 375 pixels wide. `viewer` says who
looks at it: None (signed out), "reader" (a confirmed reader, signed in) or "admin" (an
administrator signed in with password and TOTP code; moderation carries reported comments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A public demo story (seed-demo) that carries the discussion in the checks.
DEMO_ARTICLE = "harborview-vesterhaven-water-partnership"
DEMO_ARTICLE_TITLE = "Harborview and Vesterhaven Sign Five-Year Water Technology Partnership"


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str
    heading: (
        str | re.Pattern[str]
    )  # the page's h1, so a redirect or an error page cannot pass for it
    viewer: str | None = None


PAGES: list[PageSpec] = [
    PageSpec("home", "/", "Latest news"),
    PageSpec("article", f"/articles/{DEMO_ARTICLE}", DEMO_ARTICLE_TITLE),
    PageSpec("article-signed-in", f"/articles/{DEMO_ARTICLE}", DEMO_ARTICLE_TITLE, "reader"),
    PageSpec("register", "/register", "Create your free account"),
    PageSpec("login", "/login", "Sign in"),
    PageSpec("sign-in-link", "/login/email-link", "Email me a sign-in link"),
    PageSpec("account", "/account", "Your account", "reader"),
    PageSpec("passkeys", "/account/passkeys", "Passkeys", "reader"),
    PageSpec("membership", "/membership", "Support independent journalism"),
    PageSpec("membership-signed-in", "/membership", "Support independent journalism", "reader"),
    PageSpec("sponsor", "/sponsor", "Sponsor independent journalism"),
    PageSpec("sponsor-signed-in", "/sponsor", "Sponsor independent journalism", "reader"),
    PageSpec("sponsors-wall", "/sponsors", "Our sponsors"),
    PageSpec("section", "/section/world", "World"),
    PageSpec("tag", "/tag/local-government", re.compile(r"local government", re.I)),
    PageSpec("reset-password", "/reset-password", "Reset your password"),
    PageSpec("two-factor", "/account/two-factor", "Two-factor sign-in", "reader"),
    # Every admin page. `{member}` and `{article}` are filled in by the checks (the ids of a
    # demo reader with comments, and of the demo story).
    PageSpec("admin-dashboard", "/admin", "Dashboard", "admin"),
    PageSpec("admin-members", "/admin/members", re.compile(r"^Members \(\d[\d,]*\)$"), "admin"),
    PageSpec("admin-member", "/admin/members/{member}", "Marta Lindqvist", "admin"),
    PageSpec("admin-members-import", "/admin/members/import", "Import members", "admin"),
    PageSpec("admin-comments", "/admin/comments", "Comment moderation", "admin"),
    PageSpec("admin-audit", "/admin/audit", "Audit log", "admin"),
    PageSpec("admin-articles", "/admin/articles", "Articles", "admin"),
    PageSpec("admin-article-new", "/admin/articles/new", "New article", "admin"),
    PageSpec("admin-article-edit", "/admin/articles/{article}", DEMO_ARTICLE_TITLE, "admin"),
    PageSpec("admin-tiers", "/admin/tiers", "Membership tiers", "admin"),
    PageSpec("admin-tier-new", "/admin/tiers/new", "New tier", "admin"),
    PageSpec("admin-settings", "/admin/settings", "Settings", "admin"),
    PageSpec("admin-comment-settings", "/admin/settings/comments", "Comment settings", "admin"),
]
