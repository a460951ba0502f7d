"""Who may open which admin page: each admin endpoint is declared once, here.

An endpoint missing from `ENDPOINT_AREAS` is for administrators only, so a new admin route is
closed to editors and moderators until someone decides otherwise (the guard test walks every route
against this table).
"""

from membership.models import Role, User

# The areas of the admin area and the roles (besides administrators) that may open them.
AREAS: dict[str, frozenset[str]] = {
    "landing": frozenset({Role.EDITOR, Role.MODERATOR}),
    # Articles, their sections and tags, and how comments work on them.
    "editorial": frozenset({Role.EDITOR}),
    # Comment queues and readers' reports.
    "moderation": frozenset({Role.MODERATOR}),
}

ENDPOINT_AREAS: dict[str, str] = {
    "admin.index": "landing",
    "admin.articles": "editorial",
    "admin.new_article": "editorial",
    "admin.edit_article": "editorial",
    "admin.preview_article": "editorial",
    "admin.publish_article": "editorial",
    "admin.unpublish_article": "editorial",
    "admin.comment_settings": "editorial",
    "admin.comments": "moderation",
    "admin.moderate_comments": "moderation",
    "admin.suspend_comment_author": "moderation",
}


def may_open(user: User, endpoint: str | None) -> bool:
    """Whether this signed-in user's role lets them open the admin endpoint."""
    if user.role == Role.ADMIN:
        return True
    area = ENDPOINT_AREAS.get(endpoint or "")
    return area is not None and user.role in AREAS[area]


def endpoints_for(role: str) -> set[str]:
    """Every admin endpoint a role may open (administrators: see `may_open`)."""
    return {endpoint for endpoint, area in ENDPOINT_AREAS.items() if role in AREAS[area]}
